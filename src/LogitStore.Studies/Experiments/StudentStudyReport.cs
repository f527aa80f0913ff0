using System.Globalization;
using System.Text;
using System.Text.Json;
using LogitStore.Reports;

namespace LogitStore.Studies.Experiments;

/// <summary>Held-out loss of a student at one step of its run.</summary>
public sealed record CurvePoint(int Step, double HeldOutLoss);

/// <summary>One student run (one arm, one seed) as the study records it.</summary>
public sealed record StudentRunRecord(
    string Arm, ulong Seed, int Steps, long Tokens,
    double HeldOutLoss, double? HeldOutTop1, double OodLoss, double? OodTop1,
    double SecondsPerStep, double TokensPerSecond, IReadOnlyList<CurvePoint> Curve);

/// <summary>What an arm is and the <c>logitstore train</c> line that runs one seed of it.</summary>
public sealed record ArmDescription(string Name, string Description, string Command)
{
    /// <summary>Bytes/token of the store the arm distils from, when the arm is a point of the store-size curve.</summary>
    public double? StoreBytesPerToken { get; init; }
    public double? StoreKeptEntries { get; init; }
}

/// <summary>The teacher's held-out loss by training step, and the unigram baseline on the same positions.</summary>
public sealed record TeacherCurve(IReadOnlyList<CurvePoint> Points, double UnigramLoss);

/// <summary>Everything a student study's report shows; <see cref="Baseline"/> names the arm the others are compared with.</summary>
public sealed record StudentStudy(
    string Title, IReadOnlyList<string> Preamble, IReadOnlyList<ArmDescription> Arms, IReadOnlyList<StudentRunRecord> Runs,
    string Baseline, string ReproduceCommand, string HeldOutName, string OodName)
{
    public TeacherCurve? Teacher { get; init; }

    /// <summary>The paper's findings against this study's figures (<see cref="PaperFindings"/>).</summary>
    public IReadOnlyList<PaperFinding> Findings { get; init; } = [];
}

/// <summary>Mean and sample standard deviation over an arm's seeds.</summary>
public sealed record ArmSummary(
    string Arm, int Seeds, double Loss, double LossStd, double? Top1, double OodLoss, double OodLossStd, double? OodTop1,
    double MsPerStep, double MsPerStepStd, double TokensPerSecond)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Writes a student study (the offline-versus-online experiment) as <c>report.md</c> (table of mean ± std over
/// seeds, differences from the baseline arm with whether they exceed the seed spread, step time, commands),
/// <c>results.json</c> (every run with its curve) and <c>curves.png</c> (held-out loss against step, mean over seeds).
/// </summary>
public static class StudentStudyReport
{
    public static IReadOnlyList<ArmSummary> Summarise(StudentStudy study) => Summarise(study.Arms, study.Runs);

    public static IReadOnlyList<ArmSummary> Summarise(IReadOnlyList<ArmDescription> armList, IReadOnlyList<StudentRunRecord> runs) =>
        armList.Select(a => runs.Where(r => r.Arm == a.Name).ToList()).Where(rs => rs.Count > 0).Select(rs =>
        {
            var loss = rs.Select(r => r.HeldOutLoss).ToArray();
            var ood = rs.Select(r => r.OodLoss).ToArray();
            var ms = rs.Select(r => 1000 * r.SecondsPerStep).ToArray();
            return new ArmSummary(
                rs[0].Arm, rs.Count, loss.Average(), Std(loss), MeanOrNull(rs.Select(r => r.HeldOutTop1)), ood.Average(), Std(ood),
                MeanOrNull(rs.Select(r => r.OodTop1)), ms.Average(), Std(ms), rs.Average(r => r.TokensPerSecond));
        }).ToList();

    /// <summary>A difference counts when it exceeds the two arms' seed spreads added (sample standard deviations).</summary>
    public static bool BeyondSpread(ArmSummary a, ArmSummary b) =>
        a.Seeds > 1 && b.Seeds > 1 && Math.Abs(a.Loss - b.Loss) > a.LossStd + b.LossStd;

    public static void Write(string directory, StudentStudy study)
    {
        Directory.CreateDirectory(directory);
        var arms = Summarise(study);
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        File.WriteAllText(
            Path.Combine(directory, "results.json"),
            JsonSerializer.Serialize(new { study.Title, study.Baseline, study.ReproduceCommand, arms, runs = study.Runs }, options));
        if (study.Runs.Any(r => r.Curve.Count > 0)) WriteCurves(Path.Combine(directory, "curves.png"), study);
        if (study.Teacher is { Points.Count: > 0 } teacher) WriteTeacherCurve(Path.Combine(directory, "teacher-curve.png"), teacher);
        if (StoreSizePoints(study, arms).Count > 0) WriteStoreSize(Path.Combine(directory, "store-size.png"), study, arms);
        File.WriteAllText(Path.Combine(directory, "report.md"), Markdown(study, arms));
    }

    private static string Markdown(StudentStudy study, IReadOnlyList<ArmSummary> arms)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"# {study.Title}").AppendLine();
        foreach (var p in study.Preamble) sb.AppendLine(p).AppendLine();
        if (study.Teacher is { Points.Count: > 0 }) sb.AppendLine("![teacher held-out loss against step](teacher-curve.png)").AppendLine();
        sb.AppendLine($"Reproduce: `{study.ReproduceCommand}`").AppendLine();
        var baseline = arms.FirstOrDefault(a => a.Arm == study.Baseline);
        sb.AppendLine(
            $"## Results (mean ± sample std over seeds; Δ against `{study.Baseline}`, " +
            $"* where |Δ| exceeds the two spreads added)").AppendLine();
        sb.AppendLine(
            $"| arm | seeds | {study.HeldOutName} loss | Δ loss | ppl | top-1 agreement with teacher | " +
            $"{study.OodName} loss | Δ {study.OodName} | ms/step | step time vs {study.Baseline} |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var a in arms)
        {
            string delta = baseline is null || a == baseline
                ? ""
                : string.Format(c, "{0:+0.000;-0.000}{1}", a.Loss - baseline.Loss, BeyondSpread(a, baseline) ? " *" : "");
            string oodDelta = baseline is null || a == baseline
                ? ""
                : string.Format(
                    c, "{0:+0.000;-0.000}{1}", a.OodLoss - baseline.OodLoss,
                    a.Seeds > 1 && baseline.Seeds > 1
                        && Math.Abs(a.OodLoss - baseline.OodLoss) > a.OodLossStd + baseline.OodLossStd ? " *" : "");
            string ratio = baseline is null ? "" : string.Format(c, "{0:F2}x", a.MsPerStep / baseline.MsPerStep);
            sb.AppendLine(string.Format(
                c, "| {0} | {1} | {2:F4} ± {3:F4} | {4} | {5:F1} | {6} | " +
                "{7:F4} ± {8:F4} | {9} | {10:F0} ± {11:F0} | {12} |",
                a.Arm, a.Seeds, a.Loss, a.LossStd, delta, a.Perplexity, a.Top1 is { } t ? string.Format(c, "{0:P1}", t) : "n/a",
                a.OodLoss, a.OodLossStd, oodDelta, a.MsPerStep, a.MsPerStepStd, ratio));
        }
        sb.AppendLine().AppendLine("![held-out loss against step](curves.png)").AppendLine();
        if (study.Findings.Count > 0)
        {
            sb.AppendLine("## The paper's findings and ours").AppendLine();
            sb.AppendLine("| finding (Peng et al. 2024) | ours (held-out Brown) | verdict |");
            sb.AppendLine("|---|---|---|");
            foreach (var f in study.Findings) sb.AppendLine($"| {f.Claim} | {f.Ours} | {f.Verdict} |");
            sb.AppendLine();
        }
        var sized = StoreSizePoints(study, arms);
        if (sized.Count > 0)
        {
            sb.AppendLine("## Student quality against store size").AppendLine();
            sb.AppendLine(
                $"| arm | store bytes/token | kept entries/position | seeds | {study.HeldOutName} loss | " +
                $"Δ vs {study.Baseline} |");
            sb.AppendLine("|---|---:|---:|---:|---:|---:|");
            var baselineArm = arms.FirstOrDefault(a => a.Arm == study.Baseline);
            foreach (var (d, a) in sized.OrderBy(x => x.Description.StoreBytesPerToken))
                sb.AppendLine(string.Format(
                    c, "| {0} | {1:F1} | {2:F1} | {3} | {4:F4} ± {5:F4} | {6} |",
                    a.Arm, d.StoreBytesPerToken, d.StoreKeptEntries, a.Seeds, a.Loss, a.LossStd,
                    baselineArm is null ? "" : string.Format(c, "{0:+0.000;-0.000}", a.Loss - baselineArm.Loss)));
            sb.AppendLine().AppendLine("![student held-out loss against store bytes/token](store-size.png)").AppendLine();
        }
        sb.AppendLine("## Arms").AppendLine();
        foreach (var a in study.Arms) sb.AppendLine($"- `{a.Name}`: {a.Description}  \n  `{a.Command}`");
        sb.AppendLine().AppendLine("## Runs").AppendLine();
        sb.AppendLine($"| arm | seed | steps | tokens | {study.HeldOutName} loss | {study.OodName} loss | ms/step | tokens/s |");
        sb.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in study.Runs.OrderBy(r => r.Arm, StringComparer.Ordinal).ThenBy(r => r.Seed))
            sb.AppendLine(string.Format(
                c, "| {0} | {1} | {2} | {3:N0} | {4:F4} | {5:F4} | {6:F0} | {7:N0} |",
                r.Arm, r.Seed, r.Steps, r.Tokens, r.HeldOutLoss, r.OodLoss, 1000 * r.SecondsPerStep, r.TokensPerSecond));
        return sb.ToString();
    }

    private static List<(ArmDescription Description, ArmSummary Summary)> StoreSizePoints(
        StudentStudy study, IReadOnlyList<ArmSummary> arms) =>
        study.Arms.Where(d => d.StoreBytesPerToken is not null)
            .Select(d => (d, arms.FirstOrDefault(a => a.Arm == d.Name)))
            .Where(x => x.Item2 is not null).Select(x => (x.d, x.Item2!)).ToList();

    private static void WriteStoreSize(string path, StudentStudy study, IReadOnlyList<ArmSummary> arms)
    {
        var plot = new LossPlot(
            $"student {study.HeldOutName} loss against the store's size (mean ± std over seeds)", "store bytes/token");
        foreach (var (d, a) in StoreSizePoints(study, arms)) plot.Point(a.Arm, d.StoreBytesPerToken!.Value, a.Loss, a.LossStd);
        if (arms.FirstOrDefault(a => a.Arm == study.Baseline) is { } baseline)
            plot.Level($"{study.Baseline} (no teacher)", baseline.Loss);
        plot.Save(path);
    }

    private static void WriteTeacherCurve(string path, TeacherCurve teacher)
    {
        var plot = new LossPlot("teacher held-out loss against step", "step");
        plot.Curve(
            "teacher, held-out",
            teacher.Points.Select(p => (double)p.Step).ToArray(),
            teacher.Points.Select(p => p.HeldOutLoss).ToArray());
        plot.Level("add-one unigram", teacher.UnigramLoss);
        plot.Save(path);
    }

    private static void WriteCurves(string path, StudentStudy study)
    {
        var plot = new LossPlot($"student {study.HeldOutName} loss (mean over seeds)", "step");
        foreach (var arm in study.Arms)
        {
            var runs = study.Runs.Where(r => r.Arm == arm.Name && r.Curve.Count > 0).ToList();
            if (runs.Count == 0) continue;
            var steps = runs[0].Curve.Select(p => p.Step).Where(s => runs.All(r => r.Curve.Any(p => p.Step == s))).ToArray();
            var mean = steps.Select(s => runs.Average(r => r.Curve.First(p => p.Step == s).HeldOutLoss)).ToArray();
            plot.Curve(arm.Name, steps.Select(s => (double)s).ToArray(), mean, markerSize: 4);
        }
        plot.Save(path);
    }

    private static double Std(double[] x)
    {
        if (x.Length < 2) return 0;
        double m = x.Average();
        return Math.Sqrt(x.Sum(v => (v - m) * (v - m)) / (x.Length - 1));
    }

    private static double? MeanOrNull(IEnumerable<double?> xs)
    {
        var v = xs.Where(x => x is not null).Select(x => x!.Value).ToArray();
        return v.Length == 0 ? null : v.Average();
    }
}
