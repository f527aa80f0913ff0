using BenchmarkDotNet.Attributes;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Benchmarks;

/// <summary>
/// Encode and decode of one block of synthetic top-p-k(0.95, 50) data per codec; reports positions/s through
/// OperationsPerInvoke.
/// </summary>
[MemoryDiagnoser]
public class BlockCodecBenchmarks
{
    private const int Sequences = 16, Length = 1024;
    private SparseSequence[] _seqs = [];
    private EncodedBlock _block = null!;
    private BlockCodecs _codecs = null!;
    private readonly DecodedBlock _decoded = new();

    [Params("packed", "delta")] public string Ids { get; set; } = "packed";
    [Params("f16", "q8", "q4")] public string Values { get; set; } = "q8";

    [GlobalSetup]
    public void Setup()
    {
        var teacher = new SyntheticTeacher(32_000, 1);
        var proc = new LogitsProcessor(new ProcessingOptions());
        _seqs = Enumerable.Range(0, Sequences).Select(i => teacher.Generate((ulong)i, Length, proc)).ToArray();
        _codecs = new CodecOptions { Ids = IdCodecSpec.Parse(Ids), Values = ValueCodecSpec.Parse(Values) }.Resolve(32_000, 50);
        _block = BlockEncoder.Encode(_seqs, 0, _codecs, 32_000);
    }

    [Benchmark(OperationsPerInvoke = Sequences * Length)]
    public int Encode() => BlockEncoder.Encode(_seqs, 0, _codecs, 32_000).Bytes.Length;

    [Benchmark(OperationsPerInvoke = Sequences * Length)]
    public int Decode()
    {
        var entry = new BlockIndexEntry(64, (uint)_block.Bytes.Length, Sequences, 0, (uint)_block.PositionCount, (uint)_block.EntryCount);
        BlockDecoder.Decode(_block.Bytes, entry, 32_000, "bench", _decoded);
        return _decoded.EntryCount;
    }
}
