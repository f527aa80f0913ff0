using BenchmarkDotNet.Attributes;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Benchmarks;

/// <summary>
/// What the reader's guard against shards changing underneath costs: every block of a store decoded from bytes
/// already in memory (what a memory map gives once its pages are resident) against <see cref="StoreReader.ReadBlock"/>,
/// which reads each block with pread after an fstat length check. Positions/s through OperationsPerInvoke.
/// </summary>
[MemoryDiagnoser]
public class ShardReadBenchmarks
{
    private const int Blocks = 8, SequencesPerBlock = 16, Length = 1024;
    private string _dir = "";
    private StoreReader _store = null!;
    private byte[] _shard = [];
    private byte[] _encoded = [];
    private readonly DecodedBlock _decoded = new();

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "logitstore-bench", Guid.NewGuid().ToString("N"));
        var teacher = new SyntheticTeacher(32_000, 1);
        var proc = new LogitsProcessor(new ProcessingOptions());
        var w = StoreWriter.Create(
            _dir,
            new StoreWriterOptions
            {
                VocabSize = 32_000,
                Codecs = new CodecOptions { SequencesPerBlock = SequencesPerBlock },
                Processing = new ProcessingOptions(),
            });
        for (int i = 0; i < Blocks * SequencesPerBlock; i++) w.AppendAsync(teacher.Generate((ulong)i, Length, proc)).AsTask().Wait();
        w.CompleteAsync().Wait();
        w.DisposeAsync().AsTask().Wait();
        _store = StoreReader.Open(_dir);
        _shard = File.ReadAllBytes(_store.Shards.Single().Path);
        _encoded = new byte[_store.Shards[0].Index.Max(e => e.BlockLength)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        Directory.Delete(_dir, true);
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Blocks * SequencesPerBlock * Length)]
    public int DecodeFromMemory()
    {
        var shard = _store.Shards[0];
        for (int b = 0; b < shard.Index.Count; b++)
        {
            var e = shard.Index[b];
            var bytes = _shard.AsSpan((int)e.BlockOffset, (int)e.BlockLength);
            BlockDecoder.Decode(bytes, e, 32_000, shard.Path, _decoded, verifyChecksum: true, _store.Dictionaries);
        }
        return _decoded.EntryCount;
    }

    [Benchmark(OperationsPerInvoke = Blocks * SequencesPerBlock * Length)]
    public int ReadBlock()
    {
        for (int b = 0; b < _store.BlockCount; b++) _store.ReadBlock(b, _decoded);
        return _decoded.EntryCount;
    }

    /// <summary>The guard and the copy alone: the encoded bytes read, nothing decoded.</summary>
    [Benchmark(OperationsPerInvoke = Blocks * SequencesPerBlock * Length)]
    public int ReadBytesOnly()
    {
        var shard = _store.Shards[0];
        for (int b = 0; b < shard.Index.Count; b++) shard.ReadBlock(b, _encoded.AsSpan(0, (int)shard.Index[b].BlockLength));
        return _encoded[0];
    }
}
