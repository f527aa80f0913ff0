using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogitStore.Loading;
using LogitStore.Reading;
using LogitStore.Reports;
using LogitStore.Torch;
using LogitStore.Torch.Distillation;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Studies.Throughput;

/// <summary>
/// How fast bytes reach the training device: raw host→device copies (page-locked against pageable host memory, at
/// several sizes) and the batch loader's path (host decode alone, then decode + <see cref="TorchBatchFeed"/> to the
/// device), measured in one process so the figures are ratios on one machine. On the CPU device the copies are
/// host→host and there is no page-locked row.
/// </summary>
public static class DeviceFeedBenchmark
{
    public sealed record Options
    {
        public string Device { get; init; } = "auto";
        public int BatchSize { get; init; } = 16;
        /// <summary>0: the store's sequence length.</summary>
        public int SequenceLength { get; init; }
        /// <summary>0: the store's most entries per position.</summary>
        public int Width { get; init; }
        public int Batches { get; init; } = 40;
        public int Workers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);
        public IReadOnlyList<int> CopyMebibytes { get; init; } = [4, 64, 256];
        public int CopyRepeats { get; init; } = 10;
    }

    public sealed record CopyRow(string Memory, long Bytes, double GigabytesPerSecond);

    /// <param name="BytesPerPosition">bytes per position the path writes: int32 (the loader's own arrays) or int64
    /// (torch tensors) tokens, ids and counts; float32 probabilities and residual.</param>
    public sealed record FeedRow(string Path, long Positions, double Seconds, double PositionsPerSecond, int BytesPerPosition);

    public sealed record Result(string Device, string Store, int BatchSize, int SequenceLength, int Width,
        IReadOnlyList<CopyRow> Copies, IReadOnlyList<FeedRow> Feed);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    public static Result Run(string storePath, string outDirectory, Options o, Action<string> log)
    {
        var device = TorchRuntime.Device(o.Device);
        TorchRuntime.PrepareThread();
        var copies = new List<CopyRow>();
        foreach (int mib in o.CopyMebibytes)
        {
            long bytes = (long)mib << 20;
            foreach (bool pinned in device.type == DeviceType.CUDA ? new[] { false, true } : [false])
            {
                double gbps = CopyRate(bytes, pinned, device, o.CopyRepeats);
                var row = new CopyRow(pinned ? "page-locked" : "pageable", bytes, gbps);
                copies.Add(row);
                log($"copy {row.Memory,-12} {mib,5} MiB → {device.type}: {gbps:F1} GB/s");
            }
        }

        using var store = StoreReader.Open(storePath);
        int seq = o.SequenceLength > 0 ? o.SequenceLength : store.SequenceLength;
        int k = o.Width > 0 ? o.Width : store.MaxEntriesPerPosition
            ?? throw new SettingException("entries", $"must be given: {storePath} sets no bound on entries per position");
        int bytesPerPosition = (int)new BatchLayout(o.BatchSize, seq, k).BytesPerPosition();
        var feed = new List<FeedRow>
        {
            Measure("host decode (batch loader, int32 arrays)", store, o, seq, k, bytesPerPosition, loader =>
            {
                var b = loader.Next();
                loader.Release(b);
            }, log),
            MeasureFeed(store, o, seq, k, device, BlockValues.Probabilities, log),
        };
        if (store.Dictionaries.AllCodebooks.Count() == 1 && store.MaxEntriesPerPosition <= k)
            feed.Add(MeasureFeed(store, o, seq, k, device, BlockValues.MvqCodes, log));
        var result = new Result(device.type.ToString(), Path.GetFullPath(storePath), o.BatchSize, seq, k, copies, feed);
        Directory.CreateDirectory(outDirectory);
        File.WriteAllBytes(Path.Combine(outDirectory, "device-feed.json"), JsonSerializer.SerializeToUtf8Bytes(result, Json));
        File.WriteAllText(Path.Combine(outDirectory, "device-feed.md"), Markdown(result));
        SavePlot(Path.Combine(outDirectory, "device-feed.png"), result);
        return result;
    }

    private static double CopyRate(long bytes, bool pinned, Device device, int repeats)
    {
        using var scope = NewDisposeScope();
        var source = zeros(bytes, ScalarType.Byte);
        if (pinned) source = source.pin_memory();
        var target = empty(bytes, ScalarType.Byte, device);
        void Sync() { if (device.type == DeviceType.CUDA) cuda.synchronize(); }
        target.copy_(source, pinned);
        Sync();
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) target.copy_(source, pinned);
        Sync();
        return (double)bytes * repeats / clock.Elapsed.TotalSeconds / 1e9;
    }

    private static FeedRow Measure(string name, StoreReader store, Options o, int seq, int k, int bytesPerPosition,
        Action<BatchLoader> step, Action<string> log)
    {
        using var loader = new BatchLoader(store, new BatchLoaderOptions
        {
            BatchSize = o.BatchSize, SequenceLength = seq, Width = k, Seed = 1, Workers = o.Workers, RingSize = 4,
        });
        step(loader); // warm-up: first blocks mapped, first tensors allocated
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < o.Batches; i++) step(loader);
        double seconds = clock.Elapsed.TotalSeconds;
        long positions = (long)o.Batches * o.BatchSize * seq;
        var row = new FeedRow(name, positions, seconds, positions / seconds, bytesPerPosition);
        log($"{name}: {row.PositionsPerSecond:N0} positions/s ({bytesPerPosition} B/position)");
        return row;
    }

    private static FeedRow MeasureFeed(
        StoreReader store, Options o, int seq, int k, Device device, BlockValues values, Action<string> log)
    {
        using var feed = new TorchBatchFeed(store, new BatchLoaderOptions
        {
            BatchSize = o.BatchSize, SequenceLength = seq, Width = k, Seed = 1, Workers = o.Workers, RingSize = 4, Values = values,
        }, device);
        void Step()
        {
            using var batch = feed.Next();
            if (device.type == DeviceType.CUDA) cuda.synchronize();
        }
        Step(); // warm-up
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < o.Batches; i++) Step();
        double seconds = clock.Elapsed.TotalSeconds;
        long positions = (long)o.Batches * o.BatchSize * seq;
        string name = (values == BlockValues.MvqCodes ? "mvq codes into torch tensors, decoded on " : "decode into torch tensors, ")
            + (device.type == DeviceType.CUDA ? "CUDA (page-locked, copied)" : "the CPU (no copy)");
        var row = new FeedRow(name, positions, seconds, positions / seconds, (int)Math.Round(feed.BytesPerPosition));
        log($"{name}: {row.PositionsPerSecond:N0} positions/s ({row.BytesPerPosition} B/position)");
        return row;
    }

    private static string Markdown(Result r)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Feeding the {r.Device} device");
        md.AppendLine();
        md.AppendLine($"Store `{Path.GetFileName(r.Store)}`, batch {r.BatchSize} × {r.SequenceLength}, K = {r.Width}.");
        md.AppendLine();
        md.AppendLine("| host memory | bytes per copy | GB/s |");
        md.AppendLine("|---|---:|---:|");
        foreach (var c in r.Copies) md.AppendLine($"| {c.Memory} | {c.Bytes >> 20} MiB | {c.GigabytesPerSecond:F1} |");
        md.AppendLine();
        md.AppendLine("| path | positions | seconds | positions/s | bytes/position to torch |");
        md.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var f in r.Feed)
            md.AppendLine($"| {f.Path} | {f.Positions:N0} | {f.Seconds:F3} | {f.PositionsPerSecond:N0} | {f.BytesPerPosition} |");
        return md.ToString();
    }

    private static void SavePlot(string path, Result r) =>
        HorizontalBarPlot.Save(
            path,
            [
                .. r.Copies.Select(c => new HorizontalBarPlot.Row($"copy, {c.Memory}, {c.Bytes >> 20} MiB", c.GigabytesPerSecond, false)),
                .. r.Feed.Select(f => new HorizontalBarPlot.Row(
                    $"{f.Path} ({f.PositionsPerSecond / 1e6:F2} M positions/s)", f.PositionsPerSecond * f.BytesPerPosition / 1e9, true)),
            ],
            $"bytes reaching the {r.Device} device",
            "GB/s",
            1100);
}
