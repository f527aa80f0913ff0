using System.Diagnostics;
using System.Globalization;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Studies.Ids;
using LogitStore.Writing;

namespace LogitStore.Studies.Frontier;

/// <summary>Kept-id entropy of one store under the context models of <see cref="IdContextEntropy"/>.</summary>
public sealed record StoreIdEntropy(double Order0BitsPerId, string BestModel, double BestBitsPerId, IReadOnlyList<IdModelRow> Models);

/// <summary>The frontier of one store (one truncation setting): every codec pair, the comparison layouts, the id entropies.</summary>
public sealed record StoreFrontier(
    string Setting, string Store, long Positions, long Ids, double MeanKept, int TopK, int DictionarySample,
    IReadOnlyList<FrontierRow> Rows, IReadOnlyList<ComparisonLayoutRow> Layouts, StoreIdEntropy? Entropy)
{
    /// <summary>The plain dense layout (<c>bench read</c>'s): per position an int32 token, K int32 ids, K fp32 probabilities.</summary>
    public double PlainDenseBytesPerToken => 4 + 8.0 * TopK;

    /// <summary>The plain sparse layout: per position an int32 token and an int32 count, then int32 + fp32 per kept entry.</summary>
    public double PlainSparseBytesPerToken => 8 + 8.0 * MeanKept;
}

/// <summary>
/// The storage/fidelity frontier on stores a real teacher packed losslessly (f32 or counts values): each store's first
/// positions are re-encoded in memory with every ids codec and value codec (dictionaries trained on the leading positions,
/// as a pack trains them), and decoded back to measure KL(truncated ‖ decoded) against the store's own values, top-1
/// agreement and decode rates; the comparison layouts of other systems are measured on the same positions.
/// </summary>
public static class StoreFrontierStudy
{
    public sealed record Options
    {
        /// <summary>Positions taken from the start of each store (0: all).</summary>
        public long Positions { get; init; }
        public int DictionarySample { get; init; } = new CodecOptions().DictionarySample;
        public int SequencesPerBlock { get; init; } = new CodecOptions().SequencesPerBlock;
        public int ZstdLevel { get; init; } = new CodecOptions().ZstdLevel;
        public int DecodeRepeats { get; init; } = 2;
        public string[] Ids { get; init; } = ["u32", "packed", "delta", "ranked", "context", "banded:8", "banded:16", "banded:32"];
        public string[] Values { get; init; } = ["f16", "q8", "mvq:4", "mvq:8"];

        /// <summary>Whether to measure the id entropies of each store (<see cref="IdContextEntropy"/>).</summary>
        public bool Entropy { get; init; } = true;
    }

    public static IReadOnlyList<StoreFrontier> Run(IReadOnlyList<string> stores, Options o, Action<string>? log = null) =>
        stores.Select(s => RunOne(s, o, log)).ToList();

    /// <summary>The setting a store was packed with, in the frontier's words ("top-k 50", "top-p-k 0.95/100", "sampled 50").</summary>
    public static string SettingOf(ProcessingOptions p) => p.Method switch
    {
        TruncationMethod.TopK => $"top-k {p.TopK}",
        TruncationMethod.TopPK => $"top-p-k {p.TopP.ToString(CultureInfo.InvariantCulture)}/{p.TopK}",
        TruncationMethod.TopP => $"top-p {p.TopP.ToString(CultureInfo.InvariantCulture)}",
        TruncationMethod.Sampled => $"sampled {p.Draws}",
        _ => ProcessingOptions.MethodName(p.Method),
    };

    private static StoreFrontier RunOne(string directory, Options o, Action<string>? log)
    {
        using var store = StoreReader.Open(directory);
        var processing = ManifestSections.FromSection(store.Manifest.Processing);
        string setting = SettingOf(processing);
        bool sampled = processing.Method == TruncationMethod.Sampled;
        uint vocab = store.VocabSize;
        var sequences = StoreReencoding.FirstSequences(store, o.Positions);
        long positions = sequences.Sum(s => (long)s.Length), ids = sequences.Sum(s => (long)s.EntryCount);
        var sample = StoreReencoding.DictionarySample(sequences, o.DictionarySample);
        log?.Invoke($"{setting}: {positions:N0} positions, {ids / (double)positions:F2} kept per position, {directory}");

        var clock = Stopwatch.StartNew();
        var rankTable = DictionaryTraining.RankTable(sample, vocab);
        var idModels = o.Ids.Select(IdCodecSpec.Parse).Where(i => i.TakesIdModel).Distinct()
            .ToDictionary(i => i, i => IdContextTraining.Train(sample, vocab, i));
        string[] values = sampled ? ["counts"] : o.Values;
        var books = values.Select(ValueCodecSpec.Parse).Where(v => v.IsMvq).Distinct()
            .ToDictionary(v => v.Codebooks, v => DictionaryTraining.Codebooks(sample, v.Codebooks, o.DictionarySample));
        log?.Invoke($"  dictionaries trained on {sample.Sum(s => s.Length):N0} positions in {clock.Elapsed.TotalSeconds:F1} s");
        double order0 = IdEntropy.Measure(sequences, vocab).BitsPerId;

        var rows = new List<FrontierRow>();
        foreach (string idsName in o.Ids)
            foreach (string valuesName in values)
            {
                var idSpec = IdCodecSpec.Parse(idsName);
                var valueSpec = ValueCodecSpec.Parse(valuesName);
                if (idSpec == IdCodecSpec.Delta && valueSpec.IsMvq) continue;   // refused by the writer (spec 5.4)
                var bookSet = valueSpec.IsMvq ? books[valueSpec.Codebooks] : null;
                var idModel = idModels.GetValueOrDefault(idSpec);
                var codecs = new CodecOptions
                {
                    Ids = idSpec, Values = valueSpec, SequencesPerBlock = o.SequencesPerBlock, ZstdLevel = o.ZstdLevel,
                }.Resolve(vocab, processing.Draws, rankTable, bookSet, idModel);
                clock.Restart();
                var blocks = StoreReencoding.Encode(sequences, codecs, vocab, o.SequencesPerBlock);
                double encodeSeconds = clock.Elapsed.TotalSeconds;
                var dictionaries = StoreDictionaries.Empty.With(bookSet, rankTable, idModel);
                var fidelity = StoreReencoding.Fidelity(blocks, sequences, vocab, dictionaries);
                double dictionaryBytes = (idSpec == IdCodecSpec.Ranked ? rankTable.FileBytes.Length : 0)
                    + (idModel?.FileBytes.Length ?? 0) + (bookSet?.FileBytes.Length ?? 0);
                double PerToken(ColumnKind kind) => StoreReencoding.ColumnBytes(blocks, kind) / (double)positions;
                var row = new FrontierRow
                {
                    Setting = setting, Ids = idsName, Values = valuesName,
                    MeanKept = ids / (double)positions,
                    RecordBytesPerToken = StoreReencoding.RecordBytes(blocks) / (double)positions,
                    ValueBytesPerToken = PerToken(ColumnKind.Values),
                    IdBytesPerToken = PerToken(ColumnKind.Ids),
                    TokenBytesPerToken = PerToken(ColumnKind.Tokens),
                    CountBytesPerToken = PerToken(ColumnKind.KeptCounts),
                    ResidualBytesPerToken = PerToken(ColumnKind.ResidualMass),
                    DictionaryKiB = dictionaryBytes / 1024,
                    IdBitsPerId = 8.0 * StoreReencoding.ColumnBytes(blocks, ColumnKind.Ids) / Math.Max(1, ids),
                    IdEntropyBitsPerId = order0,
                    MeanKlKept = fidelity.MeanKlKept,
                    MaxKlKept = fidelity.MaxKlKept,
                    Top1Agreement = fidelity.Top1Agreement,
                    PackSeconds = encodeSeconds,
                    BlockDecodePositionsPerSecond = StoreReencoding.BlockDecodeRate(blocks, vocab, dictionaries, o.DecodeRepeats),
                    IdsDecodePositionsPerSecond = StoreReencoding.IdsDecodeRate(
                        blocks, codecs.Ids, sequences, o.SequencesPerBlock, vocab, o.DecodeRepeats),
                };
                rows.Add(row);
                log?.Invoke(
                    $"  {idsName,-7} {valuesName,-7} record {row.RecordBytesPerToken,7:F2} B/token (ids {row.IdBytesPerToken:F2}, " +
                    $"values {row.ValueBytesPerToken:F2}), KL {row.MeanKlKept:G3}, top-1 {100 * row.Top1Agreement:F2}%, " +
                    $"decode {row.BlockDecodePositionsPerSecond / 1e6:F2} M positions/s  [encode {encodeSeconds:F1} s]");
            }

        var layouts = new List<ComparisonLayoutRow>();
        if (processing.Method == TruncationMethod.TopK)
            foreach (var layout in ComparisonLayouts.All(vocab))
            {
                var row = ComparisonLayouts.Measure(
                    layout, sequences, processing.TopK, vocab, o.SequencesPerBlock, o.ZstdLevel, o.DecodeRepeats);
                layouts.Add(row);
                log?.Invoke(
                    $"  {row.Layout}: {row.RecordBytesPerToken:F2} B/token, {row.RecordBytesPerTokenZstd:F2} after zstd, " +
                    $"KL {row.MeanKlKept:G3}, top-1 {100 * row.Top1Agreement:F2}%");
            }

        StoreIdEntropy? entropy = null;
        if (o.Entropy)
        {
            clock.Restart();
            var measured = IdContextEntropy.Measure(store, new IdContextEntropy.Options { Positions = positions });
            // Rows named "1." … "6." are models; the stored column and the set saving are not.
            var models = measured.Rows.Where(r => char.IsDigit(r.Model[0]) && r.BitsPerId > 0).ToList();
            var best = models.MinBy(r => r.BitsPerId)!;
            entropy = new StoreIdEntropy(order0, best.Model, best.BitsPerId, measured.Rows);
            log?.Invoke($"  id entropy: best {best.BitsPerId:F3} bits/id ({best.Model}) in {clock.Elapsed.TotalSeconds:F1} s");
        }
        return new StoreFrontier(
            setting, directory, positions, ids, ids / (double)positions, processing.TopK, sample.Sum(s => s.Length), rows, layouts,
            entropy);
    }
}
