using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;

namespace LogitStore.Writing;

/// <summary>
/// The first stage of a pack whose codecs need dictionaries that were not given: it collects the first blocks until
/// they hold the dictionary sample, trains the id rank table and the mvq codebooks on them, and hands the blocks back
/// to be encoded with what it trained.
/// </summary>
internal sealed class DictionaryBootstrap(CodecOptions codecs, uint vocabSize)
{
    private readonly List<(ulong First, IReadOnlyList<SparseSequence> Sequences)> _heldBack = new();
    private long _positions;

    /// <summary>The collected blocks, in the order they came (sequence order).</summary>
    public IReadOnlyList<(ulong First, IReadOnlyList<SparseSequence> Sequences)> HeldBack => _heldBack;

    /// <summary>Holds a block back; true once the sample is complete. Bad input is refused now, not after training.</summary>
    public bool Collect(ulong first, IReadOnlyList<SparseSequence> sequences)
    {
        BlockEncoder.Validate(sequences, first, vocabSize);
        _heldBack.Add((first, sequences));
        foreach (var s in sequences) _positions += s.Length;
        return _positions >= codecs.DictionarySample;
    }

    /// <summary>Trains what the codecs need and was not given (the given one is returned as it is).</summary>
    public (IdRankTable? RankTable, IdContextModel? IdModel, MvqCodebooks? Codebooks) Train(Action<string>? log)
    {
        var sample = _heldBack.SelectMany(b => b.Sequences).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var table = codecs.RankTable;
        if (table is null && codecs.Ids == IdCodecSpec.Ranked)
        {
            table = DictionaryTraining.RankTable(sample, vocabSize);
            log?.Invoke(
                $"built the id rank table from {sample.Sum(s => (long)s.EntryCount)} kept ids in {clock.Elapsed.TotalSeconds:F1} s");
        }
        var idModel = codecs.IdModel;
        if (idModel is null && codecs.Ids.TakesIdModel)
        {
            clock.Restart();
            idModel = IdContextTraining.Train(sample, vocabSize, codecs.Ids);
            log?.Invoke(
                $"trained the id context model ({idModel.ContextCount} token contexts, {idModel.CandidateCount} candidates) " +
                $"in {clock.Elapsed.TotalSeconds:F1} s");
        }
        var books = codecs.Codebooks;
        if (books is null && codecs.Values.NeedsDictionary)
            books = DictionaryTraining.Codebooks(sample, codecs.Values.Codebooks, codecs.DictionarySample, r => log?.Invoke(
                $"trained {codecs.Values.Codebooks} mvq codebooks on {r.Vectors} positions (D = {r.Dimensions}) " +
                $"in {r.Elapsed.TotalSeconds:F1} s"));
        return (table, idModel, books);
    }
}
