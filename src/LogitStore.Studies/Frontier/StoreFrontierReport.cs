using System.Text;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Reports;
using static LogitStore.Reports.Prose;

namespace LogitStore.Studies.Frontier;

/// <summary>One target of the real-teacher frontier, what was measured against it, and whether it is met.</summary>
public sealed record FrontierTarget(string Target, string Reading, bool Met, string Floor);

/// <summary>
/// Writes what <see cref="StoreFrontierStudy"/> measured as <c>{name}.md</c>, <c>{name}.json</c> and <c>{name}.png</c>:
/// a table per setting (every codec pair, the comparison layouts, each ids codec's bits/id against the store's id
/// entropies) and the targets, met or not.
/// </summary>
public static class StoreFrontierReport
{
    public const double RecordTarget = 40;
    public const double MegatronShareTarget = 0.25;
    public const double SampledTarget = 15;
    public const double PlainShareTarget = 1.0 / 8;
    public const double EntropyRatioTarget = 1.1;

    /// <summary>The strict fidelity of the 40 B/token target: mean KL at most this, and every top-1 kept.</summary>
    public const double StrictKlTarget = 1e-3;

    public const double IdBitsTarget = 6;

    /// <summary>Bytes per unique id a sampled store should reach at the draws SE-KD3X and RS-KD cache.</summary>
    public const double SampledPerIdTarget = 1.5;

    /// <summary>SE-KD3X's cache: 3 bytes per sampled id.</summary>
    public const double SeKd3xBytesPerId = 3;

    public static IReadOnlyList<FrontierTarget> Targets(IReadOnlyList<StoreFrontier> frontiers)
    {
        var targets = new List<FrontierTarget>();
        foreach (var f in frontiers)
        {
            var faithful = f.Rows.Where(Faithful).OrderBy(r => r.RecordBytesPerToken).FirstOrDefault();
            var strict = f.Rows.Where(Strict).OrderBy(r => r.RecordBytesPerToken).FirstOrDefault();
            if (f.Setting == "top-k 50" && strict is not null)
            {
                targets.Add(new FrontierTarget(
                    $"top-k 50: whole record ≤ {RecordTarget} B/token with mean KL ≤ {StrictKlTarget} and top-1 100%",
                    $"{strict.RecordBytesPerToken:F2} B/token ({Pair(strict)}; KL {strict.MeanKlKept:G3}, " +
                    $"top-1 {100 * strict.Top1Agreement:F2}%)",
                    strict.RecordBytesPerToken <= RecordTarget,
                    Floor(f, strict)));
                var fewestBits = f.Rows.Where(Strict).OrderBy(r => r.IdBitsPerId).First();
                targets.Add(new FrontierTarget(
                    $"top-k 50: ids below {IdBitsTarget} bits/id (mean KL ≤ {StrictKlTarget}, top-1 100%)",
                    $"{fewestBits.Ids} {fewestBits.IdBitsPerId:F2} bits/id (with {fewestBits.Values}: KL {fewestBits.MeanKlKept:G3})",
                    fewestBits.IdBitsPerId < IdBitsTarget,
                    f.Entropy is { } rankOrder
                        ? $"{rankOrder.BestBitsPerId:F2} bits/id in rank order; set bands code below it at a KL cost"
                        : ""));
            }
            if (f.Setting is "sampled 12" or "sampled 24")
            {
                var smallest = f.Rows.Where(Lossless).OrderBy(r => r.RecordBytesPerToken).First();
                double perId = smallest.RecordBytesPerToken / f.MeanKept;
                int draws = int.Parse(f.Setting["sampled ".Length..], System.Globalization.CultureInfo.InvariantCulture);
                targets.Add(new FrontierTarget(
                    $"{f.Setting}: ≤ {SampledPerIdTarget} B per unique id (SE-KD3X: {SeKd3xBytesPerId} B per cached id, " +
                    $"{SeKd3xBytesPerId * draws:F0} B/position)",
                    $"{perId:F2} B per unique id: {smallest.RecordBytesPerToken:F2} B/position for {f.MeanKept:F2} unique ids " +
                    $"({Pair(smallest)}; KL {smallest.MeanKlKept:G3})",
                    perId <= SampledPerIdTarget,
                    Floor(f, smallest)));
            }
            if (f.Setting == "top-k 50" && faithful is not null)
            {
                targets.Add(new FrontierTarget(
                    $"top-k 50: whole record ≤ {RecordTarget} B/token with mean KL ≤ {FrontierStudy.KlTarget} and top-1 ≥ " +
                    $"{100 * FrontierStudy.Top1Target}%",
                    $"{faithful.RecordBytesPerToken:F2} B/token ({Pair(faithful)}; KL {faithful.MeanKlKept:G3}, " +
                    $"top-1 {100 * faithful.Top1Agreement:F2}%)",
                    faithful.RecordBytesPerToken <= RecordTarget,
                    Floor(f, faithful)));
                var megatron = f.Layouts.FirstOrDefault(l => l.Layout.StartsWith("Megatron", StringComparison.Ordinal));
                if (megatron is not null)
                    targets.Add(new FrontierTarget(
                        $"top-k 50: ≤ 1/4 of Megatron-LM's layout after zstd",
                        $"{faithful.RecordBytesPerToken:F2} against {megatron.RecordBytesPerTokenZstd:F2} B/token: " +
                        $"{faithful.RecordBytesPerToken / megatron.RecordBytesPerTokenZstd:F3} of it",
                        faithful.RecordBytesPerToken <= MegatronShareTarget * megatron.RecordBytesPerTokenZstd,
                        Floor(f, faithful)));
            }
            if (f.Setting == "sampled 50")
            {
                var smallest = f.Rows.Where(Lossless).OrderBy(r => r.RecordBytesPerToken).First();
                targets.Add(new FrontierTarget(
                    $"sampled 50: lossless at ≤ {SampledTarget} B/token",
                    $"{smallest.RecordBytesPerToken:F2} B/token ({Pair(smallest)}, lossless)",
                    smallest.RecordBytesPerToken <= SampledTarget,
                    Floor(f, smallest)));
            }
            if (f.Setting == "top-p-k 0.95/100" && faithful is not null)
                targets.Add(new FrontierTarget(
                    "top-p-k (0.95, 100): ≤ 1/8 of plain int32 + fp32",
                    $"{faithful.RecordBytesPerToken:F2} B/token ({Pair(faithful)}) against {f.PlainDenseBytesPerToken:F0} dense " +
                    $"(K = {f.TopK}): {faithful.RecordBytesPerToken / f.PlainDenseBytesPerToken:F3} of it; " +
                    $"against {f.PlainSparseBytesPerToken:F1} sparse (kept entries only): " +
                    $"{faithful.RecordBytesPerToken / f.PlainSparseBytesPerToken:F3}",
                    faithful.RecordBytesPerToken <= PlainShareTarget * f.PlainDenseBytesPerToken,
                    Floor(f, faithful)));
            if (f.Entropy is { } e)
            {
                // The entropy models price ids in rank order; delta codes each position's ids as a set, its order left
                // to the values column (which then costs more), so it is compared with the set saving, not here.
                // banded's set bands drop order too (lossy), so they are not priced against rank-order entropies either.
                var bestIds = f.Rows.Where(r => r.Ids != "delta" && !r.Ids.StartsWith("banded", StringComparison.Ordinal))
                    .OrderBy(r => r.IdBitsPerId).First();
                double ratio = bestIds.IdBitsPerId / e.BestBitsPerId;
                targets.Add(new FrontierTarget(
                    $"{f.Setting}: ids (rank order) within {EntropyRatioTarget}× of the best conditional entropy measured",
                    $"{bestIds.Ids} {bestIds.IdBitsPerId:F2} bits/id against {e.BestBitsPerId:F2} ({e.BestModel}): {ratio:F2}×",
                    ratio <= EntropyRatioTarget,
                    $"{e.BestBitsPerId:F2} bits/id = {e.BestBitsPerId * f.MeanKept / 8:F1} B/token of ids"));
            }
        }
        return targets;
    }

    private static bool Faithful(FrontierRow r) => r.MeanKlKept <= FrontierStudy.KlTarget && r.Top1Agreement >= FrontierStudy.Top1Target;

    private static bool Strict(FrontierRow r) => r.MeanKlKept <= StrictKlTarget && r.Top1Agreement >= 1;

    /// <summary>Decodes every distribution as stored (a set band that permutes only equal values loses nothing).</summary>
    private static bool Lossless(FrontierRow r) => r.MeanKlKept < 1e-9;

    private static string Pair(FrontierRow r) => $"{r.Ids} + {r.Values}";

    /// <summary>The record with its ids at the best measured entropy and its other columns as in <paramref name="row"/>.</summary>
    private static string Floor(StoreFrontier f, FrontierRow row)
    {
        if (f.Entropy is not { } e) return "";
        double ids = e.BestBitsPerId * f.MeanKept / 8;
        double floor = row.RecordBytesPerToken - row.IdBytesPerToken + ids;
        return $"{floor:F1} B/token with ids at {e.BestBitsPerId:F2} bits/id ({ids:F1} B/token) and the other columns as measured";
    }

    public static void Write(string outDirectory, string name, IReadOnlyList<StoreFrontier> frontiers, string command)
    {
        Directory.CreateDirectory(outDirectory);
        var targets = Targets(frontiers);
        File.WriteAllText(
            Path.Combine(outDirectory, $"{name}.json"),
            JsonSerializer.Serialize(
                new { command, kl_target = FrontierStudy.KlTarget, top1_target = FrontierStudy.Top1Target, targets, frontiers },
                Manifest.JsonOptions));
        File.WriteAllText(Path.Combine(outDirectory, $"{name}.md"), Markdown(frontiers, targets, command, name));
        var topK = frontiers.FirstOrDefault(f => f.Setting == "top-k 50") ?? frontiers[0];
        var points = topK.Rows.Where(r => r.Ids is "ranked" or "context" or "packed" or "banded:16")
            .Select(r => new FrontierPlot.Point($"{r.Ids}+{r.Values}", r.RecordBytesPerToken, r.MeanKlKept))
            .Concat(topK.Layouts.Select(l => new FrontierPlot.Point(l.Layout, l.RecordBytesPerTokenZstd, l.MeanKlKept)))
            .ToList();
        FrontierPlot.Write(
            Path.Combine(outDirectory, $"{name}.png"), points, FrontierStudy.KlTarget,
            $"{topK.Setting}, real teacher: whole record bytes/token vs fidelity",
            "record bytes / token (comparison layouts: after zstd)");
    }

    private static string Markdown(
        IReadOnlyList<StoreFrontier> frontiers, IReadOnlyList<FrontierTarget> targets, string command, string name)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Storage / fidelity frontier (real teacher)").AppendLine();
        sb.AppendLine(Wrap($"`{command}`")).AppendLine();
        sb.AppendLine(Wrap(
            "Each store was packed losslessly from the same tokens (values `f32`, or `counts` when sampled); its positions are " +
            "re-encoded in memory with every ids and value codec, in blocks as a pack writes them, with the dictionaries " +
            $"(rank table, id context model, mvq codebooks) trained on the first {frontiers[0].DictionarySample:N0} positions as a " +
            "pack trains them, then decoded and compared with the store's own values: `KL` is the mean KL(truncated ‖ decoded) " +
            "over the kept set (spec 6.1), `top-1` the share of positions whose most probable kept id survives. " +
            $"Targets: mean KL ≤ {FrontierStudy.KlTarget}, top-1 ≥ {100 * FrontierStudy.Top1Target}%.")).AppendLine();
        sb.AppendLine(Wrap(
            "`record` counts every block byte (header, column directory, columns, checksum) and one index entry per block; " +
            "dictionaries are a fixed cost per store, in KiB. Decode rates are one thread, best of the passes over the blocks " +
            "in memory, on a shared machine with other jobs running: single-machine readings, to compare side by side, not " +
            "properties of the format. `encode s` is the in-memory encode of all positions, not a pack.")).AppendLine();
        sb.AppendLine("## Targets").AppendLine();
        sb.AppendLine("| target | reading | met | floor (ids at the best measured entropy) |");
        sb.AppendLine("|---|---|---|---|");
        foreach (var t in targets) sb.AppendLine($"| {t.Target} | {t.Reading} | {(t.Met ? "yes" : "no")} | {t.Floor} |");
        sb.AppendLine();
        foreach (var f in frontiers) Section(sb, f);
        sb.AppendLine($"![record bytes/token against KL]({name}.png)");
        return sb.ToString();
    }

    private static void Section(StringBuilder sb, StoreFrontier f)
    {
        sb.AppendLine($"## {f.Setting}").AppendLine();
        sb.AppendLine(Wrap(
            $"Store `{f.Store}`: {f.Positions:N0} positions, {f.Ids:N0} kept ids ({f.MeanKept:F2} per position). " +
            $"Plain int32 + fp32: {f.PlainDenseBytesPerToken:F0} B/token dense (K = {f.TopK}), " +
            $"{f.PlainSparseBytesPerToken:F1} sparse (kept entries only).")).AppendLine();
        sb.AppendLine(
            "| ids | values | record B/token | ids | values | tokens | counts | residual | dict KiB | ids bits/id | " +
            "KL mean | KL max | top-1 | decode M pos/s (blocks) | decode M pos/s (ids) | encode s |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in f.Rows)
            sb.AppendLine(
                $"| {r.Ids} | {r.Values} | {r.RecordBytesPerToken:F2} | {r.IdBytesPerToken:F2} | {r.ValueBytesPerToken:F2} | " +
                $"{r.TokenBytesPerToken:F2} | {r.CountBytesPerToken:F2} | {r.ResidualBytesPerToken:F2} | {r.DictionaryKiB:F0} | " +
                $"{r.IdBitsPerId:F2} | {r.MeanKlKept:G3} | {r.MaxKlKept:G3} | {100 * r.Top1Agreement:F2}% | " +
                $"{r.BlockDecodePositionsPerSecond / 1e6:F2} | {r.IdsDecodePositionsPerSecond / 1e6:F2} | {r.PackSeconds:F1} |");
        sb.AppendLine();
        if (f.Layouts.Count > 0)
        {
            sb.AppendLine(Wrap(
                $"Other systems' layouts on the same positions (K = {f.TopK}; input tokens live in their datasets, so only ids and " +
                "values count; zstd level 3 per block of sequences, one frame for the record and one per part for the parts; " +
                "decoded by this library's reimplementation on one thread, zstd included):")).AppendLine();
            sb.AppendLine(
                "| layout | ids | values | record B/token | after zstd | ids | after zstd | values | after zstd | ids bits/id (zstd) | " +
                "KL mean | KL max | top-1 | decode M pos/s |");
            sb.AppendLine("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var l in f.Layouts)
                sb.AppendLine(
                    $"| {l.Layout} | {l.IdsLayout} | {l.ValuesLayout} | {l.RecordBytesPerToken:F2} | {l.RecordBytesPerTokenZstd:F2} | " +
                    $"{l.IdBytesPerToken:F2} | {l.IdBytesPerTokenZstd:F2} | {l.ValueBytesPerToken:F2} | {l.ValueBytesPerTokenZstd:F2} | " +
                    $"{l.IdBitsPerId:F2} | {l.MeanKlKept:G3} | {l.MaxKlKept:G3} | {100 * l.Top1Agreement:F2}% | " +
                    $"{l.DecodePositionsPerSecond / 1e6:F2} |");
            sb.AppendLine();
        }
        if (f.Entropy is { } e)
        {
            sb.AppendLine(Wrap(
                $"Ids codecs against this store's id entropies (`bench id-entropy` models on the same positions; order-0 static " +
                $"{e.Order0BitsPerId:F2} bits/id; best: {e.BestModel.Split(' ')[0]} at {e.BestBitsPerId:F3} bits/id):")).AppendLine();
            sb.AppendLine("| ids | bits/id | × order-0 static | × best conditional |");
            sb.AppendLine("|---|---:|---:|---:|");
            foreach (var r in f.Rows.GroupBy(r => r.Ids).Select(g => g.First()))
                sb.AppendLine(
                    $"| {r.Ids} | {r.IdBitsPerId:F2} | {r.IdBitsPerId / e.Order0BitsPerId:F2} | {r.IdBitsPerId / e.BestBitsPerId:F2} |");
            sb.AppendLine();
            sb.AppendLine("| model | bits/id | bits/position |");
            sb.AppendLine("|---|---:|---:|");
            foreach (var m in e.Models) sb.AppendLine($"| {m.Model} | {m.BitsPerId:F3} | {m.BitsPerPosition:F1} |");
            sb.AppendLine();
        }
    }
}
