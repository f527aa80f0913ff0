using LogitStore.Studies.Experiments;

namespace LogitStore.Tests.Studies;

public class PaperFindingsTests
{
    private static ArmSummary Arm(string name, int seeds, double loss, double std) =>
        new(name, seeds, loss, std, null, loss, std, null, 10, 0, 1000);

    private static string VerdictOf(IReadOnlyList<ArmSummary> arms, string claimStart) =>
        PaperFindings.Evaluate(arms).Single(f => f.Claim.StartsWith(claimStart, StringComparison.Ordinal)).Verdict;

    [Fact]
    public void ADifferenceBeyondTheSpreads_Counts_OneWithin_DoesNot()
    {
        Assert.Equal("agrees", VerdictOf([Arm("offline", 3, 6.5, 0.05), Arm("lm", 3, 6.9, 0.05)], "PD beats"));
        Assert.Equal("disagrees", VerdictOf([Arm("offline", 3, 7.2, 0.05), Arm("lm", 3, 6.9, 0.05)], "PD beats"));
        Assert.Equal("within the spread", VerdictOf([Arm("offline", 3, 6.85, 0.05), Arm("lm", 3, 6.9, 0.05)], "PD beats"));
    }

    [Fact]
    public void AnArmOfOneSeed_GivesOnlyTheDirection_AndSaysSo()
    {
        var arms = new[] { Arm("pd-star", 1, 6.6, 0), Arm("lm", 3, 6.9, 0.07) };
        Assert.Equal("one seed, leans: agrees", VerdictOf(arms, "PD*"));
        var finding = PaperFindings.Evaluate(arms).Single(f => f.Claim.StartsWith("PD*", StringComparison.Ordinal));
        Assert.Contains("spreads 1 seed, ±0.070", finding.Ours);
        Assert.Equal("not measured", VerdictOf(arms, "WSD schedules"));
    }
}
