using System.Text;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Reports;
using LogitStore.Writing;

namespace LogitStore.Studies.Throughput;

/// <summary>
/// The cold comparison a read run comes to: LogitStore's positions/s over the plain arrays' and Parquet's, cold and hot;
/// the rates at which the plain path's cold pass and a cold raw read of the same file drew bytes from the disk; each
/// path's cold rate as a share of its hot one (near 1: bound by decoding or copying, not by the disk); and the disk rate
/// below which the target would hold (derived, not measured; null where LogitStore's bytes rule it out).
/// </summary>
public sealed record ColdComparison(
    double LogitStoreOverPlainCold, double LogitStoreOverPlainHot, double LogitStoreOverParquetCold,
    double LogitStoreOverParquetHot, double PlainColdFileBytesPerSecond, double RawColdBytesPerSecond, double RawColdSeconds,
    double PlainColdSeconds, double PlainHotSeconds, double PlainColdOverHot, double LogitStoreColdOverHot,
    double LogitStoreColdFileBytesPerSecond, double LogitStoreColdSeconds, double LogitStoreFileBytes,
    double? TargetHoldsBelowDiskBytesPerSecond)
{
    /// <summary>The cold ratio the read path aims at: LogitStore's cold positions/s over the plain arrays'.</summary>
    public const double Target = 3;

    /// <summary>A cold rate at least this share of the hot one says the pass hardly waits on the disk.</summary>
    public const double NotWaitingOnDisk = 0.8;
}

/// <summary>The read benchmark's report: read.md, read.json and read.png from one run.</summary>
internal static class ReadReport
{
    public static void Write(string directory, string storeDir, string command, StoreReader store, ReadBenchmark.Result result)
    {
        var comparison = Compare(result);
        var codecs = store.Manifest.Codecs;
        var defaults = new CodecOptions();
        bool packDefaults = codecs.Tokens == defaults.Tokens.Name && codecs.Ids == defaults.Ids.Name
            && codecs.Values == defaults.Values.Name;
        File.WriteAllText(
            Path.Combine(directory, "read.json"),
            JsonSerializer.Serialize(
                new
                {
                    store = storeDir,
                    command,
                    codecs = new { tokens = codecs.Tokens, ids = codecs.Ids, values = codecs.Values, pack_defaults = packDefaults },
                    rows = result.Rows,
                    passes = result.Passes.Rows,
                    cold_passes = result.Passes.ColdPasses,
                    comparison,
                },
                Manifest.JsonOptions));
        File.WriteAllText(Path.Combine(directory, "read.md"), Markdown(command, store, packDefaults, result, comparison));
        SavePlot(Path.Combine(directory, "read.png"), result);
    }

    private static PassRow? Row(ReadBenchmark.Result r, string path, string cache) =>
        r.Passes.Rows.FirstOrDefault(p => p.Path == path && p.Cache == cache);

    private static ColdComparison? Compare(ReadBenchmark.Result r)
    {
        if (Row(r, r.LogitStorePath, ReadPasses.Cold) is not { } ours
            || Row(r, r.PlainPath, ReadPasses.Cold) is not { } plain
            || Row(r, r.ParquetPath, ReadPasses.Cold) is not { } parquet
            || Row(r, ReadBenchmark.RawReadPath, ReadPasses.Cold) is not { } raw)
            return null;
        var oursHot = Row(r, r.LogitStorePath, ReadPasses.Hot)!;
        var plainHot = Row(r, r.PlainPath, ReadPasses.Hot)!;
        var parquetHot = Row(r, r.ParquetPath, ReadPasses.Hot)!;
        double fileBytes = r.PlainPositions * plain.BytesPerPosition;
        double rawSeconds = fileBytes / raw.FileBytesPerSecond;
        double hotSeconds = r.PlainPositions / plainHot.PositionsPerSecond;
        long oursPositions = r.Passes.ColdPasses.First(p => p.Path == r.LogitStorePath).Positions;
        // On a disk of rate D the plain path reads at most D / its bytes per position, while LogitStore keeps its hot rate
        // as long as D covers its own bytes; the target then holds for D below LogitStore's hot rate × plain bytes / target.
        double? holdsBelow = plain.BytesPerPosition > ColdComparison.Target * ours.BytesPerPosition
            ? oursHot.PositionsPerSecond * plain.BytesPerPosition / ColdComparison.Target
            : null;
        return new ColdComparison(
            ours.PositionsPerSecond / plain.PositionsPerSecond,
            oursHot.PositionsPerSecond / plainHot.PositionsPerSecond,
            ours.PositionsPerSecond / parquet.PositionsPerSecond,
            oursHot.PositionsPerSecond / parquetHot.PositionsPerSecond,
            plain.FileBytesPerSecond,
            raw.FileBytesPerSecond,
            rawSeconds,
            r.PlainPositions / plain.PositionsPerSecond,
            hotSeconds,
            plain.PositionsPerSecond / plainHot.PositionsPerSecond,
            ours.PositionsPerSecond / oursHot.PositionsPerSecond,
            ours.FileBytesPerSecond,
            oursPositions / ours.PositionsPerSecond,
            oursPositions * ours.BytesPerPosition,
            holdsBelow);
    }

    private static string Markdown(
        string command, StoreReader store, bool packDefaults, ReadBenchmark.Result r, ColdComparison? c)
    {
        var sb = new StringBuilder();
        var codecs = store.Manifest.Codecs;
        var totals = store.Manifest.Totals;
        sb.AppendLine("# Read throughput (host side)");
        sb.AppendLine();
        sb.AppendLine(
            $"`{command}` on {Environment.ProcessorCount} cores; single-machine reading, ratios are side by side in one run.");
        sb.AppendLine();
        sb.AppendLine(
            $"The store: {totals.Positions:N0} positions in {totals.Sequences:N0} sequences, tokens `{codecs.Tokens}`, ids " +
            $"`{codecs.Ids}`, values `{codecs.Values}` " +
            (packDefaults ? "(the codecs `logitstore pack` uses when given none)." : "(not the codecs `logitstore pack` defaults to)."));
        sb.AppendLine();
        sb.AppendLine("## With the store in the page cache");
        sb.AppendLine();
        sb.AppendLine("| path | threads | M positions/s | bytes/token on disk | note |");
        sb.AppendLine("|---|---:|---:|---:|---|");
        foreach (var row in r.Rows)
            sb.AppendLine($"| {row.Path} | {row.Threads} | {row.PositionsPerSecond / 1e6:F2} | {row.BytesPerToken:F1} | {row.Note} |");
        sb.AppendLine();
        sb.AppendLine("## Whole passes, cold and hot");
        sb.AppendLine();
        int coldRounds = r.Passes.ColdPasses.Select(p => p.Round).DefaultIfEmpty().Max();
        int hotPasses = r.Passes.Rows.FirstOrDefault(p => p.Cache == ReadPasses.Hot)?.Passes ?? 0;
        sb.AppendLine(
            "Each pass opens the path's files and reads every position once, in order, into the dense [B, T, K] layout on " +
            "one thread (LogitStore: the batch loader with one worker, not shuffled). Cold: the first pass after fsync and " +
            "posix_fadvise(POSIX_FADV_DONTNEED) on every file of the path (manifest, dictionaries and shards for the store), " +
            $"checked with mincore; the median of {coldRounds} rounds. Hot: the best of {hotPasses} passes with the files " +
            "cached. After a warm-up pass of each path, each round runs every path cold, one after another, then every path " +
            "hot. Bytes read per position: the bytes of the path's files over the positions a pass read; MB/s of files: " +
            "those bytes per second of the pass.");
        sb.AppendLine();
        if (!PageCache.CanDrop)
        {
            sb.AppendLine(
                "Cold rows are not available on this platform: dropping a file from the page cache needs posix_fadvise and " +
                "mincore (Linux). The hot rows below are all this run measured.");
            sb.AppendLine();
        }
        sb.AppendLine("| path | cache | M positions/s | range | bytes read/position | MB/s of files | note |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---|");
        foreach (var p in r.Passes.Rows)
            sb.AppendLine(
                $"| {p.Path} | {p.Cache} | {p.PositionsPerSecond / 1e6:F2} | " +
                $"{p.LowestPositionsPerSecond / 1e6:F2}–{p.HighestPositionsPerSecond / 1e6:F2} | {p.BytesPerPosition:F1} | " +
                $"{p.FileBytesPerSecond / 1e6:F0} | {p.Note} |");
        if (c is null) return sb.ToString();
        var ours = Row(r, r.LogitStorePath, ReadPasses.Cold)!;
        var plain = Row(r, r.PlainPath, ReadPasses.Cold)!;
        var parquet = Row(r, r.ParquetPath, ReadPasses.Cold)!;
        var oursHot = Row(r, r.LogitStorePath, ReadPasses.Hot)!;
        sb.AppendLine();
        sb.AppendLine(
            $"- LogitStore against plain int32+fp32, cold: **{c.LogitStoreOverPlainCold:F2}×** the positions/s " +
            $"(target ≥ {ColdComparison.Target:F0}×: {(c.LogitStoreOverPlainCold >= ColdComparison.Target ? "met" : "not met")} " +
            $"here); hot: {c.LogitStoreOverPlainHot:F2}×; at {plain.BytesPerPosition / ours.BytesPerPosition:F1}× fewer bytes " +
            "per position.");
        sb.AppendLine(
            $"- LogitStore against Parquet: cold {c.LogitStoreOverParquetCold:F2}×, hot {c.LogitStoreOverParquetHot:F2}×, at " +
            $"{parquet.BytesPerPosition / ours.BytesPerPosition:F1}× fewer bytes per position.");
        sb.AppendLine();
        sb.AppendLine("### Is the cold read disk-bound here?");
        sb.AppendLine();
        double mb = r.PlainPositions * plain.BytesPerPosition / 1e6;
        sb.AppendLine(
            $"The plain path's cold pass read its {mb:F0} MB file at {c.PlainColdFileBytesPerSecond / 1e6:F0} MB/s " +
            $"({c.PlainColdSeconds:F3} s); a cold raw read of the same file (1 MiB reads, nothing decoded or copied out) ran at " +
            $"{c.RawColdBytesPerSecond / 1e6:F0} MB/s ({c.RawColdSeconds:F3} s; the median of {coldRounds}, a single-machine " +
            $"reading of this disk); the plain path's hot pass takes {c.PlainHotSeconds:F3} s.");
        sb.AppendLine();
        double rawOverPlain = c.RawColdBytesPerSecond / c.PlainColdFileBytesPerSecond;
        sb.AppendLine(c.PlainColdOverHot >= ColdComparison.NotWaitingOnDisk
            ? $"The plain path's cold pass runs at {c.PlainColdOverHot:P0} of its hot rate: with this disk it is bound by " +
              "copying out of the page cache, not by the disk."
            : $"The plain path's cold pass runs at {c.PlainColdOverHot:P0} of its hot rate, so it waits on the disk" +
              (rawOverPlain >= 1.25
                  ? $"; large sequential reads get the same file {rawOverPlain:F1}× as fast as the memory map's page faults " +
                    "draw it (the kernel reads ahead one window at each fault), so part of that wait is the faults' reads, " +
                    "not the disk's bandwidth."
                  : ", at nearly the rate of large sequential reads: the disk's bandwidth bounds it."));
        bool decodeBound = c.LogitStoreColdFileBytesPerSecond < 0.25 * c.RawColdBytesPerSecond;
        sb.AppendLine(
            $"LogitStore's cold pass takes {c.LogitStoreColdSeconds:F2} s, {c.LogitStoreColdOverHot:P0} of its hot rate, and " +
            $"draws its {c.LogitStoreFileBytes / 1e6:F0} MB of files at {c.LogitStoreColdFileBytesPerSecond / 1e6:F0} MB/s, " +
            $"{c.LogitStoreColdFileBytesPerSecond / c.RawColdBytesPerSecond:P1} of the raw read's rate (which would read them in " +
            $"{c.LogitStoreFileBytes / c.RawColdBytesPerSecond:F3} s): " +
            (decodeBound
                ? $"it is bound by decoding (ids `{codecs.Ids}`, values `{codecs.Values}`), not by the disk."
                : "the disk's rate counts for it as well."));
        if (decodeBound && c.LogitStoreOverPlainCold < ColdComparison.Target)
            sb.AppendLine(
                $"So on this disk ({c.RawColdBytesPerSecond / 1e6:F0} MB/s to large reads: a fast disk, or a virtual disk the " +
                $"host caches) the plain arrays' cold pass still delivers {plain.PositionsPerSecond / 1e6:F2}M positions/s, " +
                (c.LogitStoreOverPlainCold < 1
                    ? $"{1 / c.LogitStoreOverPlainCold:F1}× LogitStore's decode rate, and LogitStore's "
                    : $"LogitStore's decode rate is only {c.LogitStoreOverPlainCold:F2}× that, and its ") +
                $"{plain.BytesPerPosition / ours.BytesPerPosition:F1}× fewer bytes per position do not make up for it.");
        sb.AppendLine();
        if (c.TargetHoldsBelowDiskBytesPerSecond is { } below)
            sb.AppendLine(
                $"Derived, not measured: reading at a disk's full rate of D bytes/s the plain path would deliver " +
                $"D / {plain.BytesPerPosition:F0} positions/s, while LogitStore keeps its hot " +
                $"{oursHot.PositionsPerSecond / 1e6:F2}M positions/s as long as D covers its {ours.BytesPerPosition:F1} bytes per " +
                $"position ({oursHot.PositionsPerSecond * ours.BytesPerPosition / 1e6:F0} MB/s); the " +
                $"{ColdComparison.Target:F0}× target holds on a disk slower than {below / 1e6:F0} MB/s.");
        else
            sb.AppendLine(
                $"LogitStore's {ours.BytesPerPosition:F1} bytes per position are more than a third of the plain path's " +
                $"{plain.BytesPerPosition:F1}: the {ColdComparison.Target:F0}× target cannot hold on a disk-bound read either.");
        return sb.ToString();
    }

    private static void SavePlot(string path, ReadBenchmark.Result r)
    {
        var bars = r.Rows
            .Select(row => new HorizontalBarPlot.Row(
                $"{row.Path} ×{row.Threads} ({row.BytesPerToken:F0} B/token)",
                row.PositionsPerSecond / 1e6,
                Highlighted: true))
            .Concat(r.Passes.Rows
                .Where(p => p.Path != ReadBenchmark.RawReadPath)
                .Select(p => new HorizontalBarPlot.Row(
                    $"{p.Path}, {p.Cache} ×1 ({p.BytesPerPosition:F0} B/position)",
                    p.PositionsPerSecond / 1e6,
                    p.Path == r.LogitStorePath)))
            .ToList();
        HorizontalBarPlot.Save(
            path,
            bars,
            "read throughput into the dense batch layout (cold: page cache dropped; hot: cached)",
            "million positions / s",
            1200);
    }
}
