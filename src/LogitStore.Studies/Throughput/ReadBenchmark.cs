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
/// Read-side throughput, side by side in one run (the host side): block decode per core and its scaling, random access and
/// the shuffled batch loader, all with the store in the page cache; then whole passes, cold and hot, of three paths that
/// read the same data into the same dense batch layout on one thread (<see cref="ReadPasses"/>): the store through the batch
/// loader, int32 ids + fp32 probabilities through a memory map, and Parquet (<see cref="ParquetAlternative"/>). A cold pass
/// follows dropping the path's files from the page cache (<see cref="PageCache"/>), so it measures the disk as well as the
/// decode; a hot pass measures the decode alone.
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

        /// <summary>Cold passes of each path, each after dropping its files from the page cache.</summary>
        public int ColdRounds { get; init; } = 3;

        /// <summary>Hot passes of each path; the best counts.</summary>
        public int HotPasses { get; init; } = 3;
    }

    /// <summary>
    /// What one run measured: the steady-state rows, the whole passes and every cold pass, the names of the three compared
    /// paths, and the positions the plain file holds.
    /// </summary>
    public sealed record Result(
        IReadOnlyList<ReadRow> Rows, ReadPasses.Result Passes, string LogitStorePath, string PlainPath, string ParquetPath,
        long PlainPositions);

    /// <summary>
    /// Measures <paramref name="storeDir"/> and writes read.md, read.json and read.png, naming <paramref name="command"/> as
    /// the command that made them.
    /// </summary>
    public static async Task<Result> RunAsync(
        string storeDir, string outDirectory, Options o, string command, Action<string>? log = null, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(o.ColdRounds);
        ArgumentOutOfRangeException.ThrowIfLessThan(o.HotPasses, 1);
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
        // The whole passes are the like-for-like comparison: one thread, in order, into [B, T, K], each from its own files.
        var sequential = loaderOptions with { Workers = 1, Shuffle = false };
        var files = StoreFiles(store);
        string plain = Path.Combine(outDirectory, "plain-int32-fp32.bin");
        string parquetPath = Path.Combine(outDirectory, "alternative.parquet");
        try
        {
            long positions = WritePlain(store, plain, k);
            var parquet = await ParquetAlternative.WriteAsync(store, parquetPath, k, ct);
            int rowsPerBatch = loaderOptions.BatchSize * length;
            string ours = $"LogitStore (batch loader, 1 worker) [K={k}]";
            string plainName = $"plain int32+fp32 via mmap [K={k}]";
            string parquetName = $"Parquet (Parquet.Net) [K={k}]";
            var paths = new PassPath[]
            {
                new(ours, files, _ => Task.FromResult(LoaderPass(storeDir, sequential))),
                new(plainName, [plain], _ => Task.FromResult(PlainPass(plain, k, rowsPerBatch))),
                new(parquetName, [parquetPath], parquet.ReadPassAsync),
                new(RawReadPath, [plain], _ => Task.FromResult(RawPass(plain, positions))),
            };
            var passes = await ReadPasses.RunAsync(paths, o.ColdRounds, o.HotPasses, log, ct);
            var result = new Result(rows, passes, ours, plainName, parquetName, positions);
            ReadReport.Write(outDirectory, storeDir, command, store, result);
            return result;
        }
        finally
        {
            File.Delete(plain);
            File.Delete(parquetPath);
        }
    }

    /// <summary>The name of the pass that reads the plain file's bytes and decodes nothing: the disk's own rate, cold.</summary>
    public const string RawReadPath = "raw read of the plain file (1 MiB reads, no decode)";

    /// <summary>Every file the store path reads: the manifest, the dictionaries and the shards.</summary>
    private static IReadOnlyList<string> StoreFiles(StoreReader store)
    {
        var directory = new StoreDirectory(store.Directory);
        return [
            directory.ManifestPath,
            .. store.Manifest.Dictionaries.Select(d => directory.Of(d.File)),
            .. store.Manifest.Shards.Select(s => directory.Of(s.File)),
        ];
    }

    /// <summary>Opens the store and reads one epoch in order through the batch loader: positions delivered.</summary>
    private static long LoaderPass(string storeDir, BatchLoaderOptions options)
    {
        using var store = StoreReader.Open(storeDir);
        using var loader = new BatchLoader(store, options);
        long positions = 0;
        for (long step = 0; step < loader.StepsPerEpoch; step++)
        {
            var b = loader.Next();
            positions += (long)b.Rows * b.Length;
            loader.Release(b);
        }
        return positions;
    }

    /// <summary>Maps the plain file and copies every position into batches of <paramref name="rowsPerBatch"/> rows.</summary>
    private static long PlainPass(string path, int k, int rowsPerBatch)
    {
        int rowBytes = 4 + 8 * k;
        long positions = new FileInfo(path).Length / rowBytes;
        using var mmf = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = mmf.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        var tokens = new int[rowsPerBatch];
        var ids = new int[rowsPerBatch * k];
        var probs = new float[rowsPerBatch * k];
        for (long at = 0; at < positions; at += rowsPerBatch)
        {
            long rows = Math.Min(rowsPerBatch, positions - at);
            for (long p = 0; p < rows; p++)
            {
                long off = (at + p) * rowBytes;
                tokens[p] = view.ReadInt32(off);
                view.ReadArray(off + 4, ids, (int)(p * k), k);
                view.ReadArray(off + 4 + 4 * k, probs, (int)(p * k), k);
            }
        }
        return positions;
    }

    /// <summary>Reads the plain file's bytes with 1 MiB reads and no copy out: the rate the disk (or cache) gives them.</summary>
    private static long RawPass(string path, long positions)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        var buffer = new byte[1 << 20];
        while (file.Read(buffer) > 0) { }
        return positions;
    }

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
}
