using BenchmarkDotNet.Attributes;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Benchmarks;

/// <summary>
/// Decode of the ids column alone, and of whole blocks, per ids codec at top-k 50 (positions/s through
/// OperationsPerInvoke). The sequences come from the store named by LOGITSTORE_BENCH_STORE (its first 65,536 positions:
/// a real teacher's ids have the context the context codec models), or from the synthetic teacher when it is unset.
/// Dictionaries are trained on the same positions, as a pack trains them on its first ones.
/// </summary>
[MemoryDiagnoser]
public class IdCodecBenchmarks
{
    private const int Positions = 65_536, SequencesPerBlock = 16;
    private readonly List<(byte[] Column, int[] Counts, int[] Tokens, int Entries)> _columns = new();
    private readonly List<EncodedBlock> _blocks = new();
    private StoreDictionaries _dictionaries = StoreDictionaries.Empty;
    private IIdCodec _codec = null!;
    private int[] _ids = [];
    private uint _vocab;
    private readonly DecodedBlock _decoded = new();

    [Params("ranked", "context")] public string Ids { get; set; } = "context";

    [GlobalSetup]
    public void Setup()
    {
        var sequences = Load(out _vocab);
        var rankTable = DictionaryTraining.RankTable(sequences, _vocab);
        var idModel = IdContextTraining.Train(sequences, _vocab);
        _dictionaries = StoreDictionaries.Empty.With(rankTable: rankTable, idModel: idModel);
        var codecs = new CodecOptions { Ids = IdCodecSpec.Parse(Ids), Values = ValueCodecSpec.Q8 }.Resolve(
            _vocab, 0, rankTable, idModel: idModel);
        _codec = codecs.Ids;
        for (int i = 0; i < sequences.Count; i += SequencesPerBlock)
        {
            var group = sequences.GetRange(i, Math.Min(SequencesPerBlock, sequences.Count - i));
            var ids = group.SelectMany(s => s.Ids).ToArray();
            var counts = group.SelectMany(s => s.KeptCounts).ToArray();
            var tokens = group.SelectMany(s => s.Tokens).ToArray();
            var column = new byte[_codec.MaxEncodedLength(ids.Length)];
            int length = _codec.Encode(ids, counts, tokens, column);
            _columns.Add((column[..length], counts, tokens, ids.Length));
            _blocks.Add(BlockEncoder.Encode(group, (ulong)i, codecs, _vocab));
        }
        _ids = new int[_columns.Max(c => c.Entries)];
    }

    private static List<SparseSequence> Load(out uint vocab)
    {
        var list = new List<SparseSequence>();
        long positions = 0;
        if (Environment.GetEnvironmentVariable("LOGITSTORE_BENCH_STORE") is { Length: > 0 } path)
        {
            using var store = StoreReader.Open(path);
            vocab = store.VocabSize;
            foreach (var block in store.ScanBlocks())
            {
                for (int i = 0; i < block.SequenceCount && positions < Positions; i++, positions += list[^1].Length)
                    list.Add(block.Sequence(i).ToSparseSequence());
                if (positions >= Positions) break;
            }
            return list;
        }
        vocab = 32_000;
        var teacher = new SyntheticTeacher(vocab, 1);
        var processor = new LogitsProcessor(new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 50 });
        for (int i = 0; positions < Positions; i++, positions += 1024) list.Add(teacher.Generate((ulong)i, 1024, processor));
        return list;
    }

    [Benchmark(OperationsPerInvoke = Positions)]
    public int DecodeIdsColumn()
    {
        var where = new ColumnLocation("bench", 0, ColumnKind.Ids);
        foreach (var (column, counts, tokens, entries) in _columns)
            _codec.Decode(column, counts, tokens, _ids.AsSpan(0, entries), _vocab, where);
        return _ids[0];
    }

    [Benchmark(OperationsPerInvoke = Positions)]
    public int DecodeBlocks()
    {
        foreach (var b in _blocks)
        {
            var entry = new BlockIndexEntry(
                64, (uint)b.Bytes.Length, (uint)b.SequenceCount, b.FirstSequence, (uint)b.PositionCount, (uint)b.EntryCount);
            BlockDecoder.Decode(b.Bytes, entry, _vocab, "bench", _decoded, verifyChecksum: true, _dictionaries);
        }
        return _decoded.EntryCount;
    }
}
