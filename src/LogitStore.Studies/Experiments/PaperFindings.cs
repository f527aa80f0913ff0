using System.Globalization;

namespace LogitStore.Studies.Experiments;

/// <summary>One finding of the pre-training distillation paper, our figure for it, and whether the two agree.</summary>
public sealed record PaperFinding(string Claim, string Ours, string Verdict);

/// <summary>
/// Checks the findings of Peng et al., "Pre-training Distillation for Large Language Models: A Design Space
/// Exploration" (2024), against a student study's arms (lower held-out loss is better). A difference counts when it
/// exceeds the two arms' seed spreads added; a finding whose arms have not run yet says so, and one resting on an arm of
/// one seed gives only the direction of the raw differences.
/// </summary>
public static class PaperFindings
{
    private static readonly CultureInfo C = CultureInfo.InvariantCulture;

    public static IReadOnlyList<PaperFinding> Evaluate(IReadOnlyList<ArmSummary> arms)
    {
        ArmSummary? Arm(string name) => arms.FirstOrDefault(a => a.Arm == name);
        var rows = new List<PaperFinding>();

        void Add(string claim, string[] names, Func<ArmSummary[], (string Ours, string Verdict)> judge)
        {
            var found = names.Select(Arm).ToArray();
            if (found.Any(a => a is null))
            {
                string missing = string.Join(", ", names.Where(n => Arm(n) is null));
                rows.Add(new PaperFinding(claim, "arms not run yet: " + missing, "not measured"));
                return;
            }
            var (ours, verdict) = judge(found!);
            // With one seed there is no spread to judge by: give the direction the raw differences take, marked as such.
            if (found.Any(a => a!.Seeds < 2))
                verdict = "one seed, leans: " + judge(found.Select(a => a! with { Seeds = 2, LossStd = 0 }).ToArray()).Verdict;
            rows.Add(new PaperFinding(claim, ours, verdict));
        }

        Add("PD beats LM-only (plain PD +1.6%)", ["offline", "lm"], a => Better(a[0], a[1]) switch
        {
            > 0 => ($"offline {Delta(a[0], a[1])} vs lm ({Percent(a[0], a[1])})", "agrees"),
            < 0 => ($"offline {Delta(a[0], a[1])} vs lm ({Percent(a[0], a[1])})", "disagrees"),
            _ => ($"offline {Delta(a[0], a[1])} vs lm ({Percent(a[0], a[1])})", "within the spread"),
        });
        Add("PD* (top-0.95-50, τ 2, WSD α and LR) beats LM-only, by up to +9–11%", ["pd-star", "lm"], a =>
            ($"pd-star {Delta(a[0], a[1])} vs lm ({Percent(a[0], a[1])})", Verdict(Better(a[0], a[1]))));
        Add("offline ≈ online logits at equal truncation", ["offline", "online"], a =>
            ($"offline {Delta(a[0], a[1])} vs online", Better(a[0], a[1]) == 0 ? "agrees" : "disagrees"));
        Add("recorded-online logits hurt at α 0.9 …", ["recorded-late-a0.9", "recorded-early-a0.9", "lm"], a =>
            ($"late {Delta(a[0], a[2])}, early {Delta(a[1], a[2])} vs lm", Both(-Better(a[0], a[2]), -Better(a[1], a[2]))));
        Add("… and help at α 0.1", ["recorded-late-a0.1", "recorded-early-a0.1", "lm"], a =>
            ($"late {Delta(a[0], a[2])}, early {Delta(a[1], a[2])} vs lm", Both(Better(a[0], a[2]), Better(a[1], a[2]))));
        Add("KD loss: KL ≥ NLL ≫ MSE", ["offline", "offline-nll", "offline-mse"], a =>
            ($"KL {a[0].Loss:F4}, NLL {a[1].Loss:F4}, MSE {a[2].Loss:F4}",
             Better(a[0], a[1]) >= 0 && Better(a[1], a[2]) > 0 ? "agrees" : "disagrees"));
        Add("temperature: τ ≤ 2 is fine, τ ≥ 5 hurts", ["offline-tau0.5", "offline", "offline-tau2", "offline-tau5"], a =>
            (string.Format(C, "τ 0.5 {0:F4}, τ 1 {1:F4}, τ 2 {2:F4}, τ 5 {3:F4}", a[0].Loss, a[1].Loss, a[2].Loss, a[3].Loss),
             a.Take(3).All(x => Better(x, a[3]) > 0) ? "agrees"
                 : a.Take(3).Any(x => Better(x, a[3]) < 0) ? "disagrees"
                 : "within the spread"));
        Add("truncation: top-p-k ≥ top-k ≥ sampled", ["offline", "store-top-k50", "store-sampled50"], a =>
            (string.Format(C, "top-p-k {0:F4}, top-k 50 {1:F4}, 50 draws {2:F4}", a[0].Loss, a[1].Loss, a[2].Loss),
             Better(a[0], a[1]) >= 0 && Better(a[1], a[2]) >= 0 ? "agrees" : "disagrees"));
        Add("WSD schedules help", ["offline-wsd-alpha", "pd-star", "offline"], a =>
            ($"WSD α {Delta(a[0], a[2])}, PD* {Delta(a[1], a[2])} vs offline", Verdict(Math.Max(Better(a[0], a[2]), Better(a[1], a[2])))));
        return rows;
    }

    /// <summary>
    /// +1 when <paramref name="a"/>'s held-out loss is lower than <paramref name="b"/>'s beyond the spreads, −1 when
    /// higher, else 0.
    /// </summary>
    private static int Better(ArmSummary a, ArmSummary b) =>
        !StudentStudyReport.BeyondSpread(a, b) ? 0 : a.Loss < b.Loss ? 1 : -1;

    /// <summary>Agrees when both comparisons go the paper's way (+1), disagrees when either goes against it.</summary>
    private static string Both(int first, int second) =>
        first > 0 && second > 0 ? "agrees" : first < 0 || second < 0 ? "disagrees" : "within the spread";

    private static string Verdict(int better) => better switch { > 0 => "agrees", < 0 => "disagrees", _ => "within the spread" };

    private static string Delta(ArmSummary a, ArmSummary b) =>
        string.Format(C, "{0:+0.000;-0.000} nats (spreads {1}, {2})", a.Loss - b.Loss, Spread(a), Spread(b));

    private static string Spread(ArmSummary a) => a.Seeds < 2 ? "1 seed" : string.Format(C, "±{0:F3}", a.LossStd);

    private static string Percent(ArmSummary a, ArmSummary b) =>
        string.Format(C, "{0:F1}% {1} loss", Math.Abs(100 * (b.Loss - a.Loss) / b.Loss), a.Loss <= b.Loss ? "lower" : "higher");
}
