using System.Diagnostics;
using System.IO.MemoryMappedFiles;
using System.Text;
using System.Text.Json;
using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Reading;
using LogitStore.Reports;

namespace LogitStore.Studies.Throughput;

/// <summary>One measured read path.</summary>
public sealed record ReadRow(string Path, int Threads, double PositionsPerSecond, double BytesPerToken, string Note);

/// <summary>
/// Read-side throughput, side by side in one run (the host side): block decode per core and its scaling,
/// random access, the batch loader's delivered tokens/s, and the two plain alternatives written from the same data
/// and read into the same dense batch layout: int32 ids + fp32 probabilities through a memory map, and Parquet
/// (<see cref="ParquetAlternative"/>). Every path reads a file the run has just written, so the page cache is hot:
/// these are decode rates, not disk rates.
/// </summary>
public static class ReadBenchmark
{
    public sealed record Options
    {
        public int BatchSize { get; init; } = 8;
        public int SequenceLength { get; init; } = 0;   // 0: the store's sequence length
        public int TopK { get; init; } = 0;             // 0: the store's top_k (or 50)
        public int MaxThreads { get; init; } = Environment.ProcessorCount;
        public double SecondsPerMeasurement { get; init; } = 3;
    }

    public static async Task<IReadOnlyList<ReadRow>> RunAsync(
        string storeDir, string outDirectory, Options o, Action<string>? log = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(outDirectory);
        var rows = new List<ReadRow>();
        using var store = StoreReader.Open(storeDir);
        double storeBytesPerToken = StoreInspector.Inspect(storeDir).BytesPerToken;
        int k = o.TopK > 0 ? o.TopK : store.MaxEntriesPerPosition ?? 50;
        void Add(ReadRow r)
        {
            rows.Add(r);
            log?.Invoke($"{r.Path,-44} threads {r.Threads,2}  {r.PositionsPerSecond / 1e6,8:F2} M positions/s  ({r.Note})");
        }

        for (int threads = 1; threads <= o.MaxThreads; threads *= 2)
            Add(new ReadRow(
                "block decode, sequential",
                threads,
                DecodeRate(store, threads, o.SecondsPerMeasurement),
                storeBytesPerToken,
                "all columns, checksums on"));
        Add(new ReadRow(
            "random sequence access",
            1,
            RandomRate(store, o.SecondsPerMeasurement),
            storeBytesPerToken,
            "decodes the block of each random sequence (reused when the previous one shares it)"));

        int length = o.SequenceLength > 0 ? o.SequenceLength : store.SequenceLength;
        var loaderOptions = new BatchLoaderOptions
        {
            BatchSize = o.BatchSize, SequenceLength = length, Width = k, Workers = Math.Max(1, o.MaxThreads), RingSize = 4,
        };
        Add(LoaderRow(
            $"batch loader [B={loaderOptions.BatchSize}, T={length}, K={k}]",
            store,
            loaderOptions,
            o.SecondsPerMeasurement,
            storeBytesPerToken,
            "shuffled, dense fp32, pinned ring"));
        // The three sequential rows below are the like-for-like comparison: one thread, in order, into [B, T, K].
        var sequential = loaderOptions with { Workers = 1, Shuffle = false };
        Add(LoaderRow(
            $"{SequentialPrefix} LogitStore (batch loader) [K={k}]",
            store,
            sequential,
            o.SecondsPerMeasurement,
            storeBytesPerToken,
            "in order, 1 worker, zstd + codecs + checksums"));

        string plain = Path.Combine(outDirectory, "plain-int32-fp32.bin");
        long positions = WritePlain(store, plain, k);
        double plainBytes = new FileInfo(plain).Length / (double)positions;
        Add(new ReadRow(
            $"{SequentialPrefix} plain int32+fp32 via mmap [K={k}]",
            1,
            PlainRate(plain, positions, k, loaderOptions, o.SecondsPerMeasurement),
            plainBytes,
            "copy into the batch layout"));
        File.Delete(plain);

        string parquetPath = Path.Combine(outDirectory, "alternative.parquet");
        var parquet = await ParquetAlternative.WriteAsync(store, parquetPath, k, ct);
        double parquetBytes = new FileInfo(parquetPath).Length / (double)parquet.Positions;
        Add(new ReadRow(
            $"{SequentialPrefix} Parquet (Parquet.Net) [K={k}]",
            1,
            await parquet.ReadRateAsync(o.SecondsPerMeasurement, ct),
            parquetBytes,
            $"token + list<int32> ids + list<float> probs, zstd, row groups of {ParquetAlternative.PositionsPerRowGroup} positions"));
        File.Delete(parquetPath);

        File.WriteAllText(
            Path.Combine(outDirectory, "read.json"), JsonSerializer.Serialize(new { store = storeDir, rows }, Manifest.JsonOptions));
        File.WriteAllText(Path.Combine(outDirectory, "read.md"), Markdown(storeDir, rows));
        SavePlot(Path.Combine(outDirectory, "read.png"), rows);
        return rows;
    }


    private const string SequentialPrefix = "sequential, 1 thread:";

    private static double DecodeRate(StoreReader store, int threads, double seconds)
    {
        long positions = 0;
        var clock = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            var d = new DecodedBlock();
            long mine = 0;
            int b = t;
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                store.ReadBlock(b % store.BlockCount, d);
                mine += d.PositionCount;
                b += threads;
            }
            Interlocked.Add(ref positions, mine);
        });
        return positions / clock.Elapsed.TotalSeconds;
    }

    private static double RandomRate(StoreReader store, double seconds)
    {
        var rng = new Random(1);
        var d = new DecodedBlock();
        long positions = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var v = store.ReadSequence(store.FirstSequence + (ulong)rng.NextInt64((long)store.SequenceCount), d);
            positions += v.Length;
        }
        return positions / clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// Delivered positions/s, and the managed bytes per batch that the workers and the consumer allocated while measured.
    /// </summary>
    private static (double Rate, double BytesPerBatch, int Gen0) LoaderRate(StoreReader store, BatchLoaderOptions options, double seconds)
    {
        using var loader = new BatchLoader(store, options);
        for (int i = 0; i < 4; i++) loader.Release(loader.Next()); // warm-up
        long positions = 0, batches = 0;
        long workers = loader.WorkerAllocatedBytes, consumer = GC.GetAllocatedBytesForCurrentThread();
        int gen0 = GC.CollectionCount(0);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            var b = loader.Next();
            positions += (long)b.Rows * b.Length;
            batches++;
            loader.Release(b);
        }
        double rate = positions / clock.Elapsed.TotalSeconds;
        long allocated = loader.WorkerAllocatedBytes - workers + GC.GetAllocatedBytesForCurrentThread() - consumer;
        return (rate, allocated / (double)batches, GC.CollectionCount(0) - gen0);
    }

    private static ReadRow LoaderRow(
        string path, StoreReader store, BatchLoaderOptions options, double seconds, double bytesPerToken, string note)
    {
        var (rate, bytesPerBatch, gen0) = LoaderRate(store, options, seconds);
        return new ReadRow(
            path, options.Workers, rate, bytesPerToken,
            $"{note}; {bytesPerBatch:F0} B allocated per batch, {gen0} gen-0 GCs while measured");
    }

    /// <summary>The store's data as the plain dense layout: per position int32 token, K int32 ids, K fp32 probabilities.</summary>
    private static long WritePlain(StoreReader store, string path, int k)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var row = new byte[4 + 8 * k];
        long positions = 0;
        foreach (var block in store.ScanBlocks())
            for (int s = 0; s < block.SequenceCount; s++)
            {
                var v = block.Sequence(s);
                for (int t = 0; t < v.Length; t++)
                {
                    Array.Clear(row);
                    BitConverter.TryWriteBytes(row.AsSpan(0), v.Tokens[t]);
                    var ids = v.IdsAt(t);
                    var probs = v.ProbsAt(t);
                    for (int j = 0; j < Math.Min(k, ids.Length); j++)
                    {
                        BitConverter.TryWriteBytes(row.AsSpan(4 + 4 * j), ids[j]);
                        BitConverter.TryWriteBytes(row.AsSpan(4 + 4 * k + 4 * j), probs[j]);
                    }
                    fs.Write(row);
                    positions++;
                }
            }
        return positions;
    }

    private static double PlainRate(string path, long positions, int k, BatchLoaderOptions o, double seconds)
    {
        using var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        int rowBytes = 4 + 8 * k;
        long rowsPerBatch = (long)o.BatchSize * o.SequenceLength;
        var tokens = new int[rowsPerBatch];
        var ids = new int[rowsPerBatch * k];
        var probs = new float[rowsPerBatch * k];
        long done = 0, at = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < seconds)
        {
            if (at + rowsPerBatch > positions) at = 0;
            for (long p = 0; p < rowsPerBatch; p++)
            {
                long off = (at + p) * rowBytes;
                tokens[p] = view.ReadInt32(off);
                view.ReadArray(off + 4, ids, (int)(p * k), k);
                view.ReadArray(off + 4 + 4 * k, probs, (int)(p * k), k);
            }
            at += rowsPerBatch;
            done += rowsPerBatch;
        }
        return done / clock.Elapsed.TotalSeconds;
    }

    private static string Markdown(string store, IReadOnlyList<ReadRow> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("# Read throughput (host side)");
        sb.AppendLine();
        sb.AppendLine(
            $"`logitstore bench read {store}` on {Environment.ProcessorCount} cores; single-machine reading, " +
            $"ratios are side by side in one run.");
        sb.AppendLine();
        sb.AppendLine("| path | threads | M positions/s | bytes/token on disk | note |");
        sb.AppendLine("|---|---:|---:|---:|---|");
        foreach (var r in rows)
            sb.AppendLine($"| {r.Path} | {r.Threads} | {r.PositionsPerSecond / 1e6:F2} | {r.BytesPerToken:F1} | {r.Note} |");
        var ours = rows.First(r => r.Path.StartsWith($"{SequentialPrefix} LogitStore"));
        sb.AppendLine();
        sb.AppendLine("Sequential read, one thread, into the same dense [B, T, K] layout:");
        foreach (var alt in rows.Where(r => r.Path.StartsWith(SequentialPrefix) && r != ours))
            sb.AppendLine(
                $"- LogitStore vs {alt.Path[SequentialPrefix.Length..].Trim()}: " +
                $"{ours.PositionsPerSecond / alt.PositionsPerSecond:F2}× the positions/s " +
                $"at {alt.BytesPerToken / ours.BytesPerToken:F1}× fewer bytes per token.");
        return sb.ToString();
    }

    private static void SavePlot(string path, IReadOnlyList<ReadRow> rows) =>
        HorizontalBarPlot.Save(
            path,
            rows.Select(r => new HorizontalBarPlot.Row(
                $"{r.Path} ×{r.Threads} ({r.BytesPerToken:F0} B/token)",
                r.PositionsPerSecond / 1e6,
                r.Path.Contains("LogitStore") || r.Path.StartsWith("batch loader") || r.Path.StartsWith("block decode")
                    || r.Path.StartsWith("random"))).ToList(),
            "read throughput into the dense batch layout (hot page cache)",
            "million positions / s",
            1200);
}
