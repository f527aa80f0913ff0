using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Reports;

/// <summary>One ids codec re-encoding a store's sequences: its column's size and how fast it decodes.</summary>
public sealed record IdCodecRow(
    string Ids, double IdBytesPerToken, double RecordBytesPerToken, double BitsPerId, double DictionaryKiB,
    double BlockDecodePositionsPerSecond, double IdsDecodePositionsPerSecond);

/// <summary>What <see cref="IdCodecStudy"/> measured.</summary>
public sealed record IdCodecStudyResult(
    string Store, long Positions, long Ids, int DictionarySample, string Values, IReadOnlyList<IdCodecRow> Rows);

/// <summary>
/// Re-encodes the first positions of a store with every ids codec (values as the store holds them, re-coded with one value
/// codec), training dictionaries on the first <see cref="Options.DictionarySample"/> positions as a pack does, and measures
/// each codec's ids column (bytes, bits per id) and decode rate on one thread: whole blocks, and the ids column alone.
/// </summary>
public static class IdCodecStudy
{
    public sealed record Options
    {
        public long Positions { get; init; } = 262_144;
        public int DictionarySample { get; init; } = new CodecOptions().DictionarySample;
        public string Values { get; init; } = "q8";
        public int SequencesPerBlock { get; init; } = new CodecOptions().SequencesPerBlock;
        public int DecodeRepeats { get; init; } = 3;
    }

    public static IdCodecStudyResult Run(string storeDirectory, Options o, Action<string>? log = null)
    {
        using var store = StoreReader.Open(storeDirectory);
        uint vocab = store.VocabSize;
        var sequences = new List<SparseSequence>();
        long positions = 0;
        foreach (var block in store.ScanBlocks())
        {
            for (int i = 0; i < block.SequenceCount && positions < o.Positions; i++)
            {
                var s = block.Sequence(i).ToSparseSequence();
                sequences.Add(s);
                positions += s.Length;
            }
            if (positions >= o.Positions) break;
        }
        long ids = sequences.Sum(s => (long)s.EntryCount);
        var sample = new List<SparseSequence>();
        long sampled = 0;
        foreach (var s in sequences)
        {
            if (sampled >= o.DictionarySample) break;
            sample.Add(s);
            sampled += s.Length;
        }
        var clock = Stopwatch.StartNew();
        var rankTable = DictionaryTraining.RankTable(sample, vocab);
        var idModel = IdContextTraining.Train(sample, vocab);
        log?.Invoke($"trained on {sampled:N0} positions in {clock.Elapsed.TotalSeconds:F1} s: {idModel.ContextCount} token contexts, " +
            $"{idModel.CandidateCount:N0} candidates, {idModel.FileBytes.Length / 1024.0:F0} KiB");
        var values = ValueCodecSpec.Parse(o.Values);
        var rows = new List<IdCodecRow>();
        foreach (var idsName in new[] { "packed", "delta", "ranked", "context" })
        {
            var spec = IdCodecSpec.Parse(idsName);
            var options = new CodecOptions { Ids = spec, Values = values, SequencesPerBlock = o.SequencesPerBlock };
            var codecs = options.Resolve(vocab, 0, rankTable, idModel: idModel);
            var blocks = new List<EncodedBlock>();
            for (int i = 0; i < sequences.Count; i += o.SequencesPerBlock)
                blocks.Add(BlockEncoder.Encode(
                    sequences.GetRange(i, Math.Min(o.SequencesPerBlock, sequences.Count - i)), (ulong)i, codecs, vocab));
            long idBytes = 0, recordBytes = 0;
            var dictionaries = StoreDictionaries.Empty.With(rankTable: rankTable, idModel: idModel);
            foreach (var b in blocks)
            {
                recordBytes += b.Bytes.Length;
                idBytes += ColumnOf(b.Bytes, ColumnKind.Ids).StoredLength;
            }
            double blockRate = BlockDecodeRate(blocks, vocab, dictionaries, o.DecodeRepeats);
            double idsRate = IdsDecodeRate(blocks, codecs.Ids, sequences, o.SequencesPerBlock, vocab, o.DecodeRepeats);
            double dictionaryKiB = spec == IdCodecSpec.Ranked ? rankTable.FileBytes.Length / 1024.0
                : spec == IdCodecSpec.Context ? idModel.FileBytes.Length / 1024.0 : 0;
            var row = new IdCodecRow(
                idsName, (double)idBytes / positions, (double)recordBytes / positions, 8.0 * idBytes / ids,
                dictionaryKiB, blockRate, idsRate);
            rows.Add(row);
            log?.Invoke(
                $"{idsName,-8} ids {row.IdBytesPerToken,7:F2} B/token ({row.BitsPerId:F2} bits/id), " +
                $"record {row.RecordBytesPerToken,7:F2} " +
                $"B/token; decode {row.BlockDecodePositionsPerSecond / 1e6:F2} M positions/s (blocks), " +
                $"{row.IdsDecodePositionsPerSecond / 1e6:F2} M positions/s (ids column)");
        }
        return new IdCodecStudyResult(storeDirectory, positions, ids, (int)sampled, o.Values, rows);
    }

    private static ColumnDescriptor ColumnOf(byte[] block, ColumnKind kind)
    {
        for (int c = 0; c < ColumnTable.Written.Length; c++)
        {
            var d = ColumnDescriptor.Read(block.AsSpan(ColumnDescriptor.OffsetInBlock(c)), "study", 0);
            if (d.Kind == kind) return d;
        }
        throw new InvalidOperationException($"no {kind} column");
    }

    private static double BlockDecodeRate(List<EncodedBlock> blocks, uint vocab, StoreDictionaries dictionaries, int repeats)
    {
        var dest = new DecodedBlock();
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long positions = 0;
            var clock = Stopwatch.StartNew();
            foreach (var b in blocks)
            {
                var entry = new BlockIndexEntry(
                    0, (uint)b.Bytes.Length, (uint)b.SequenceCount, b.FirstSequence, (uint)b.PositionCount, (uint)b.EntryCount);
                BlockDecoder.Decode(b.Bytes, entry, vocab, "study", dest, verifyChecksum: true, dictionaries);
                positions += b.PositionCount;
            }
            best = Math.Max(best, positions / clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    /// <summary>The ids codec alone on its decoded column bytes (after zstd, where the column has it).</summary>
    private static double IdsDecodeRate(
        List<EncodedBlock> blocks, IIdCodec codec, List<SparseSequence> sequences, int perBlock, uint vocab, int repeats)
    {
        var columns = new List<(byte[] Raw, int[] Counts, int[] Tokens, int Entries)>();
        using var decompressor = new ZstdSharp.Decompressor();
        for (int i = 0, b = 0; i < sequences.Count; i += perBlock, b++)
        {
            var group = sequences.GetRange(i, Math.Min(perBlock, sequences.Count - i));
            var d = ColumnOf(blocks[b].Bytes, ColumnKind.Ids);
            var stored = blocks[b].Bytes.AsSpan((int)d.Offset, (int)d.StoredLength);
            var raw = d.Compression == CompressionId.Zstd ? decompressor.Unwrap(stored).ToArray() : stored.ToArray();
            columns.Add(
                (raw, group.SelectMany(s => s.KeptCounts).ToArray(), group.SelectMany(s => s.Tokens).ToArray(),
                    group.Sum(s => s.EntryCount)));
        }
        var dest = new int[columns.Max(c => c.Entries)];
        var where = new ColumnLocation("study", 0, ColumnKind.Ids);
        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long positions = 0;
            var clock = Stopwatch.StartNew();
            foreach (var (raw, counts, tokens, entries) in columns)
            {
                codec.Decode(raw, counts, tokens, dest.AsSpan(0, entries), vocab, where);
                positions += counts.Length;
            }
            best = Math.Max(best, positions / clock.Elapsed.TotalSeconds);
        }
        return best;
    }

    public static void Write(string outDirectory, IdCodecStudyResult result, string command)
    {
        Directory.CreateDirectory(outDirectory);
        File.WriteAllText(Path.Combine(outDirectory, "id-codecs.json"), JsonSerializer.Serialize(result, Manifest.JsonOptions));
        var md = new StringBuilder();
        md.AppendLine("# Ids codecs on a real teacher's store").AppendLine();
        md.AppendLine($"`{command}`").AppendLine();
        md.AppendLine(
            $"Positions: {result.Positions:N0} (the store's first); kept ids: {result.Ids:N0}; dictionaries trained on the first " +
            $"{result.DictionarySample:N0} positions, as a pack trains them; values re-coded as `{result.Values}`. " +
            "Decode rates are one thread, " +
            "best of 3 passes over the blocks in memory: a single-machine reading, not a property of the format.").AppendLine();
        md.AppendLine(
            "| ids | ids B/token | bits/id | record B/token | dictionary KiB | decode M positions/s (blocks) | " +
            "decode M positions/s (ids column) |");
        md.AppendLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in result.Rows)
            md.AppendLine($"| {r.Ids} | {r.IdBytesPerToken:F2} | {r.BitsPerId:F2} | {r.RecordBytesPerToken:F2} | {r.DictionaryKiB:F0} | " +
                $"{r.BlockDecodePositionsPerSecond / 1e6:F2} | {r.IdsDecodePositionsPerSecond / 1e6:F2} |");
        File.WriteAllText(Path.Combine(outDirectory, "id-codecs.md"), md.ToString());
    }
}
