using System.Diagnostics;
using System.Text;
using System.Text.Json;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Studies.Ids;

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
        var sequences = StoreReencoding.FirstSequences(store, o.Positions);
        long positions = sequences.Sum(s => (long)s.Length);
        long ids = sequences.Sum(s => (long)s.EntryCount);
        var sample = StoreReencoding.DictionarySample(sequences, o.DictionarySample);
        long sampled = sample.Sum(s => (long)s.Length);
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
            var blocks = StoreReencoding.Encode(sequences, codecs, vocab, o.SequencesPerBlock);
            long idBytes = StoreReencoding.ColumnBytes(blocks, ColumnKind.Ids);
            long recordBytes = blocks.Sum(b => (long)b.Bytes.Length);
            var dictionaries = StoreDictionaries.Empty.With(rankTable: rankTable, idModel: idModel);
            double blockRate = StoreReencoding.BlockDecodeRate(blocks, vocab, dictionaries, o.DecodeRepeats);
            double idsRate = StoreReencoding.IdsDecodeRate(blocks, codecs.Ids, sequences, o.SequencesPerBlock, vocab, o.DecodeRepeats);
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
