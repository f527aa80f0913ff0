using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogitStore.Codecs;
using LogitStore.Fidelity;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Reports;
using LogitStore.Studies.Ids;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Studies.Frontier;

/// <summary>One packed configuration of the frontier study and what was measured on it.</summary>
public sealed record FrontierRow
{
    public required string Setting { get; init; }
    public required string Ids { get; init; }
    public required string Values { get; init; }
    public double MeanKept { get; init; }
    public double RecordBytesPerToken { get; init; }
    public double ValueBytesPerToken { get; init; }
    public double IdBytesPerToken { get; init; }
    public double TokenBytesPerToken { get; init; }
    public double CountBytesPerToken { get; init; }
    public double ResidualBytesPerToken { get; init; }
    public double DictionaryKiB { get; init; }
    public double IdBitsPerId { get; init; }
    public double IdEntropyBitsPerId { get; init; }
    public double MeanKlKept { get; init; }
    public double MaxKlKept { get; init; }
    public double Top1Agreement { get; init; }
    public double MeanKlUntruncated { get; init; }
    public double MeanKdLossError { get; init; }
    public double PackSeconds { get; init; }

    /// <summary>Whole blocks decoded on one thread (0 where not measured).</summary>
    public double BlockDecodePositionsPerSecond { get; init; }

    /// <summary>The ids column alone decoded on one thread (0 where not measured).</summary>
    public double IdsDecodePositionsPerSecond { get; init; }
}

/// <summary>
/// The storage/fidelity frontier: the same synthetic teacher packed with every value codec and the id
/// codecs, per truncation setting; value bytes/token against KL(truncated ‖ decoded), whole-record bytes/token,
/// where the bytes go, the id column next to its empirical entropy. Writes frontier.md, frontier.json, frontier.png.
/// </summary>
public static class FrontierStudy
{
    public const double KlTarget = 0.01;
    public const double Top1Target = 0.995;

    public sealed record Options
    {
        public ulong Tokens { get; init; } = 262_144;
        public uint Vocab { get; init; } = 100_277;
        public int SequenceLength { get; init; } = 1024;
        public long FidelitySample { get; init; } = 20_000;
        public int[] MvqCodebooks { get; init; } = [2, 4, 8, 16, 32];
        public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "logitstore-frontier");
    }

    public static async Task<IReadOnlyList<FrontierRow>> RunAsync(string outDirectory, Options o, Action<string>? log = null)
    {
        Directory.CreateDirectory(outDirectory);
        var topK50 = new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 50 };
        var topPK100 = new ProcessingOptions { Method = TruncationMethod.TopPK, TopP = 0.95f, TopK = 100 };
        var sampled = new ProcessingOptions { Method = TruncationMethod.Sampled, Draws = 50 };
        var runs = new List<(string Setting, ProcessingOptions P, string Ids, string Values)>();
        foreach (var v in new[] { "f32", "f16", "q8", "q4" }.Concat(o.MvqCodebooks.Select(m => $"mvq:{m}")))
            runs.Add(("top-k 50", topK50, "packed", v));
        runs.Add(("top-k 50", topK50, "ranked", "mvq:4"));
        runs.Add(("top-k 50", topK50, "ranked", "mvq:8"));
        runs.Add(("top-p-k 0.95/100", topPK100, "u32", "f32"));
        runs.Add(("top-p-k 0.95/100", topPK100, "ranked", "q8"));
        runs.Add(("top-p-k 0.95/100", topPK100, "ranked", "mvq:4"));
        runs.Add(("top-p-k 0.95/100", topPK100, "ranked", "mvq:8"));
        runs.Add(("sampled 50", sampled, "u32", "counts"));
        runs.Add(("sampled 50", sampled, "ranked", "counts"));

        var rows = new List<FrontierRow>();
        var source = new SyntheticSource(o.Tokens, o.Vocab, o.SequenceLength, Seed: 1);
        foreach (var (setting, p, ids, values) in runs)
        {
            string dir = Path.Combine(o.WorkDirectory, $"{setting.Replace(' ', '_').Replace('/', '_')}-{ids}-{values.Replace(":", "")}");
            var clock = Stopwatch.StartNew();
            var codecs = new CodecOptions { Ids = IdCodecSpec.Parse(ids), Values = ValueCodecSpec.Parse(values) };
            await SyntheticPack.RunAsync(dir, source, p, codecs, overwrite: true);
            double seconds = clock.Elapsed.TotalSeconds;
            var summary = StoreInspector.Inspect(dir);
            using var store = StoreReader.Open(dir);
            FidelityReport truncated, untruncated;
            using (var r = new SyntheticReference(source, p, untruncated: false))
                truncated = FidelityMeter.Measure(store, r, o.FidelitySample);
            using (var r = new SyntheticReference(source, p, untruncated: true))
                untruncated = FidelityMeter.Measure(store, r, o.FidelitySample);
            var (entropy, idCount) = IdEntropy.Measure(store);
            double tokens = store.Manifest.Totals.Positions;
            var row = new FrontierRow
            {
                Setting = setting, Ids = ids, Values = values,
                MeanKept = summary.MeanKept,
                RecordBytesPerToken = (summary.FileBytes - summary.DictionaryBytes) / tokens,
                ValueBytesPerToken = summary.ColumnBytesPerToken(ColumnKind.Values),
                IdBytesPerToken = summary.ColumnBytesPerToken(ColumnKind.Ids),
                TokenBytesPerToken = summary.ColumnBytesPerToken(ColumnKind.Tokens),
                CountBytesPerToken = summary.ColumnBytesPerToken(ColumnKind.KeptCounts),
                ResidualBytesPerToken = summary.ColumnBytesPerToken(ColumnKind.ResidualMass),
                DictionaryKiB = summary.DictionaryBytes / 1024.0,
                IdBitsPerId = 8 * summary.ColumnBytesPerToken(ColumnKind.Ids) * tokens / Math.Max(1, idCount),
                IdEntropyBitsPerId = entropy,
                MeanKlKept = truncated.MeanKlKept,
                MaxKlKept = truncated.MaxKlKept,
                Top1Agreement = truncated.Top1Agreement,
                MeanKlUntruncated = untruncated.MeanKl,
                MeanKdLossError = truncated.MeanKdLossError,
                PackSeconds = seconds,
            };
            rows.Add(row);
            log?.Invoke(
                $"{setting,-18} ids={ids,-7} values={values,-7} {row.RecordBytesPerToken,7:F2} B/token " +
                $"(values {row.ValueBytesPerToken:F2}), KL kept {row.MeanKlKept:G3}, " +
                $"top-1 {100 * row.Top1Agreement:F2}%  [{seconds:F1} s]");
            Directory.Delete(dir, recursive: true);
        }

        await File.WriteAllTextAsync(
            Path.Combine(outDirectory, "frontier.json"),
            JsonSerializer.Serialize(new { options = o, kl_target = KlTarget, top1_target = Top1Target, rows }, Manifest.JsonOptions));
        await File.WriteAllTextAsync(Path.Combine(outDirectory, "frontier.md"), Markdown(rows, o));
        FrontierPlot.Write(
            Path.Combine(outDirectory, "frontier.png"),
            rows.Where(r => r.Setting == "top-k 50" && r.Ids == "packed")
                .Select(r => new FrontierPlot.Point(r.Values, r.ValueBytesPerToken, r.MeanKlKept)).ToList(),
            KlTarget,
            "top-k 50, synthetic teacher: value bytes/token vs fidelity",
            "value column bytes / token");
        return rows;
    }

    /// <summary>
    /// The cheapest value codec (value bytes/token) of a setting that meets both fidelity targets, with the mean KL
    /// <paramref name="klMargin"/> times below the target.
    /// </summary>
    public static FrontierRow? Cheapest(IEnumerable<FrontierRow> rows, double klMargin = 1) =>
        rows.Where(r => r.MeanKlKept * klMargin <= KlTarget && r.Top1Agreement >= Top1Target)
            .OrderBy(r => r.ValueBytesPerToken)
            .FirstOrDefault();

    /// <summary>
    /// KL margin the default codec keeps: the synthetic teacher is smoother than a trained LM, so its KL flatters every lossy codec.
    /// </summary>
    public const double DefaultKlMargin = 10;

    private static string Markdown(IReadOnlyList<FrontierRow> rows, Options o)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Storage / fidelity frontier (synthetic teacher)");
        sb.AppendLine();
        sb.AppendLine(
            $"Produced by `logitstore bench frontier --tokens {o.Tokens} --out <dir>`: {o.Tokens:N0} tokens of the synthetic Zipf " +
            $"teacher (V = {o.Vocab:N0}, sequences of {o.SequenceLength}) per row, " +
            $"fidelity over {o.FidelitySample:N0} sampled positions. " +
            $"Single-machine reading; bytes and fidelity are deterministic, pack seconds are not.");
        sb.AppendLine();
        sb.AppendLine(
            "`record B/token` counts every shard byte (columns, block and shard headers, index, footer); " +
            "the dictionary files (codebooks, id rank table) are a fixed cost per store, listed in KiB.");
        sb.AppendLine();
        sb.AppendLine(
            $"`KL kept` is KL(truncated ‖ decoded) over the kept set (spec 6.1), what the value codec costs; " +
            $"`KL full` is against the untruncated teacher (truncation + coding). " +
            $"Targets: mean KL kept ≤ {KlTarget}, top-1 ≥ {100 * Top1Target}%.");
        sb.AppendLine();
        sb.AppendLine(
            "| setting | ids | values | kept/token | record B/token | values B/token | ids B/token | tokens | counts | residual | " +
            "dictionaries KiB | ids bits/id | id entropy bits | KL kept mean | KL kept max | top-1 | KL full | KD loss err | pack s |");
        sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in rows)
            sb.AppendLine(
                $"| {r.Setting} | {r.Ids} | {r.Values} | {r.MeanKept:F1} | {r.RecordBytesPerToken:F2} | {r.ValueBytesPerToken:F2} | " +
                $"{r.IdBytesPerToken:F2} | {r.TokenBytesPerToken:F2} | {r.CountBytesPerToken:F2} | {r.ResidualBytesPerToken:F2} | " +
                $"{r.DictionaryKiB:F0} | {r.IdBitsPerId:F2} | {r.IdEntropyBitsPerId:F2} | {r.MeanKlKept:G3} | {r.MaxKlKept:G3} | " +
                $"{100 * r.Top1Agreement:F2}% | {r.MeanKlUntruncated:G3} | {r.MeanKdLossError:G3} | {r.PackSeconds:F1} |");
        sb.AppendLine();
        foreach (var g in rows.GroupBy(r => r.Setting))
        {
            var best = Cheapest(g.Where(r => r.Values != "counts"));
            var plain = g.FirstOrDefault(r => r.Ids == "u32" && r.Values is "f32" or "counts");
            var smallest = g.OrderBy(r => r.RecordBytesPerToken).First();
            sb.Append($"* **{g.Key}**: smallest record {smallest.RecordBytesPerToken:F2} B/token ({smallest.Ids} + {smallest.Values})");
            if (plain is not null && plain != smallest)
                sb.Append(
                    $", {plain.RecordBytesPerToken / smallest.RecordBytesPerToken:F1}× smaller than the plain layout " +
                    $"({plain.Ids} + {plain.Values}, {plain.RecordBytesPerToken:F2} B/token)");
            if (best is not null)
                sb.Append($"; cheapest value codec meeting the fidelity targets: {best.Values} at {best.ValueBytesPerToken:F2} B/token");
            var safe = Cheapest(g.Where(r => r.Values != "counts"), DefaultKlMargin);
            if (safe is not null && safe != best)
                sb.Append($", with a {DefaultKlMargin}× KL margin: {safe.Values} at {safe.ValueBytesPerToken:F2} B/token");
            sb.AppendLine(".");
        }
        sb.AppendLine();
        sb.AppendLine("![value bytes/token against KL](frontier.png)");
        return sb.ToString();
    }
}
