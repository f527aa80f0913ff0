using System.Diagnostics;

namespace LogitStore.Studies.Throughput;

/// <summary>
/// One read path timed over whole passes: the files it reads, and a pass that opens them, reads every position once into
/// the dense batch layout and returns the positions it read.
/// </summary>
public sealed record PassPath(string Name, IReadOnlyList<string> Files, Func<CancellationToken, Task<long>> Pass)
{
    public long FileBytes { get; } = Files.Sum(f => new FileInfo(f).Length);
}

/// <summary>
/// A path's passes over the whole data, cold (the first pass after its files were dropped from the page cache: the median
/// of the rounds) or hot (the best pass with its files cached), with the range of the passes and the bytes of its files
/// per position read, and per second of the pass.
/// </summary>
public sealed record PassRow(
    string Path, string Cache, int Passes, double PositionsPerSecond, double LowestPositionsPerSecond,
    double HighestPositionsPerSecond, double BytesPerPosition, double FileBytesPerSecond, string Note);

/// <summary>
/// One cold pass: the residency of the path's files before the drop, after it and after the pass, and the bytes the process
/// read from storage during the pass (/proc/self/io read_bytes; null where the kernel does not count them).
/// </summary>
public sealed record ColdPass(
    int Round, string Path, double Seconds, long Positions, Residency BeforeDrop, Residency AfterDrop, Residency AfterPass,
    long? StorageBytesRead, IReadOnlyList<string> FilesStillResident);

/// <summary>
/// Whole passes of several read paths, interleaved so that their ratios are side by side: after a warm-up pass of each
/// path (code compiled, files cached), every round drops each path's files and reads them once, path after path (A, B, C
/// cold), then reads each path again with its files cached (A, B, C hot); then the next round. A shift in the machine's
/// load over the run then falls on cold and hot passes, and on every path, alike.
/// </summary>
public static class ReadPasses
{
    public const string Cold = "cold";
    public const string Hot = "hot";

    /// <summary>The rows (cold ones only where <see cref="PageCache.CanDrop"/>), and every cold pass.</summary>
    public sealed record Result(IReadOnlyList<PassRow> Rows, IReadOnlyList<ColdPass> ColdPasses);

    public static async Task<Result> RunAsync(
        IReadOnlyList<PassPath> paths, int coldRounds, int hotPasses, Action<string>? log = null, CancellationToken ct = default)
    {
        foreach (var path in paths) await TimeAsync(path, ct); // warm-up: the code compiled, the files cached
        var cold = new List<ColdPass>();
        var hot = paths.ToDictionary(p => p.Name, _ => new List<(double Seconds, long Positions)>());
        for (int round = 1; round <= Math.Max(PageCache.CanDrop ? coldRounds : 0, hotPasses); round++)
        {
            if (PageCache.CanDrop && round <= coldRounds)
                foreach (var path in paths)
                    cold.Add(await ColdPassAsync(path, round, log, ct));
            if (round <= hotPasses)
                foreach (var path in paths)
                {
                    var timed = await TimeAsync(path, ct);
                    hot[path.Name].Add(timed);
                    log?.Invoke($"hot {round}:  {path.Name,-40} {timed.Positions / timed.Seconds / 1e6,8:F2} M positions/s");
                }
        }

        var rows = new List<PassRow>();
        foreach (var path in paths)
        {
            var mine = cold.Where(c => c.Path == path.Name).ToList();
            if (mine.Count > 0) rows.Add(ColdRow(path, mine));
            rows.Add(HotRow(path, hot[path.Name]));
        }
        return new Result(rows, cold);
    }

    private static async Task<ColdPass> ColdPassAsync(PassPath path, int round, Action<string>? log, CancellationToken ct)
    {
        var drop = PageCache.Drop(path.Files);
        long? readBefore = StorageBytesRead();
        var (seconds, positions) = await TimeAsync(path, ct);
        long? readAfter = StorageBytesRead();
        var pass = new ColdPass(
            round, path.Name, seconds, positions, drop.Before, drop.After, PageCache.ResidencyOf(path.Files),
            readAfter - readBefore, drop.FilesStillResident);
        log?.Invoke(
            $"cold {round}: {path.Name,-40} {positions / seconds / 1e6,8:F2} M positions/s  resident " +
            $"{Percent(drop.Before.Share)} → {Percent(drop.After.Share)} (dropped) → {Percent(pass.AfterPass.Share)} (read); " +
            $"{(pass.StorageBytesRead is { } b ? $"{b / 1e6:F1} MB" : "unknown bytes")} read from storage");
        return pass;
    }

    private static PassRow HotRow(PassPath path, IReadOnlyList<(double Seconds, long Positions)> passes)
    {
        var rates = passes.Select(p => p.Positions / p.Seconds).ToList();
        double best = rates.Max();
        double bytesPerPosition = path.FileBytes / (double)passes[0].Positions;
        return new PassRow(
            path.Name, Hot, passes.Count, best, rates.Min(), best, bytesPerPosition, best * bytesPerPosition,
            "best pass, files in the page cache");
    }

    private static PassRow ColdRow(PassPath path, IReadOnlyList<ColdPass> passes)
    {
        var rates = passes.Select(c => c.Positions / c.Seconds).Order().ToList();
        double median = rates.Count % 2 == 1 ? rates[rates.Count / 2] : (rates[rates.Count / 2 - 1] + rates[rates.Count / 2]) / 2;
        long positions = passes[0].Positions;
        double bytesPerPosition = path.FileBytes / (double)positions;
        var left = passes.SelectMany(c => c.FilesStillResident).Distinct().ToList();
        string note =
            $"resident: ≥ {Percent(passes.Min(c => c.BeforeDrop.Share))} before the drop, " +
            $"≤ {Percent(passes.Max(c => c.AfterDrop.Share))} after it, " +
            $"≥ {Percent(passes.Min(c => c.AfterPass.Share))} after the pass";
        if (passes.All(c => c.StorageBytesRead is not null))
        {
            double least = passes.Min(c => c.StorageBytesRead!.Value) / 1e6;
            double most = passes.Max(c => c.StorageBytesRead!.Value) / 1e6;
            note += $"; read from storage per pass {(most - least < 0.05 ? $"{most:F1}" : $"{least:F1}–{most:F1}")} MB " +
                $"of {path.FileBytes / 1e6:F1} MB of files";
        }
        if (left.Count > 0)
            note += $"; pages stayed resident after fsync + POSIX_FADV_DONTNEED in {string.Join(", ", left.Select(Path.GetFileName))}";
        return new PassRow(
            path.Name, Cold, passes.Count, median, rates[0], rates[^1], bytesPerPosition, median * bytesPerPosition, note);
    }

    private static string Percent(double share) => share is > 0 and < 0.001 ? "< 0.1 %" : $"{share * 100:0.#} %";

    private static async Task<(double Seconds, long Positions)> TimeAsync(PassPath path, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        long positions = await path.Pass(ct);
        return (clock.Elapsed.TotalSeconds, positions);
    }

    /// <summary>Bytes this process has read from storage (not from the page cache) so far, or null where not counted.</summary>
    private static long? StorageBytesRead()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/io"))
                if (line.StartsWith("read_bytes:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan("read_bytes:".Length).Trim());
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }
}
