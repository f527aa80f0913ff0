using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Writing;

/// <summary>
/// Trains the id context model of the context ids codec (the writer's model, spec 5.10), or the id band model of the
/// banded ids codec (5.11), from sample sequences.
/// </summary>
internal static class IdContextTraining
{
    /// <summary>An input token gets a context when it is seen at this many sample positions.</summary>
    public const int MinContextPositions = 32;
    public const int MaxContexts = 1024;
    public const int MaxCandidates = 4096;

    /// <summary>An id band model's list scores each kept occurrence at entry index j as ⌊10^6 / (1 + j)⌋.</summary>
    private const long RankWeight = 1_000_000;

    /// <summary>
    /// The model <paramref name="codec"/> codes under: an id context model for <c>context</c> (the default), an id band
    /// model for <c>banded:R</c>.
    /// </summary>
    public static IdContextModel Train(IReadOnlyList<SparseSequence> sample, uint vocabSize, IdCodecSpec? codec = null)
    {
        int v = checked((int)vocabSize);
        var rankTable = DictionaryTraining.RankTable(sample, vocabSize);
        var positionsOfToken = new long[v];
        foreach (var s in sample)
            foreach (int t in s.Tokens) positionsOfToken[t]++;
        var contextTokens = Enumerable.Range(0, v)
            .Where(t => positionsOfToken[t] >= MinContextPositions)
            .OrderByDescending(t => positionsOfToken[t]).ThenBy(t => t)
            .Take(MaxContexts)
            .Order()
            .ToArray();
        var contextOf = new Dictionary<int, int>();
        for (int k = 0; k < contextTokens.Length; k++) contextOf[contextTokens[k]] = k;

        var idCounts = contextTokens.Select(_ => new Dictionary<int, long>()).ToArray();
        ForEachEntry(sample, (token, _, id) =>
        {
            if (contextOf.TryGetValue(token, out int k)) idCounts[k][id] = idCounts[k].GetValueOrDefault(id) + 1;
        });
        // An id band model orders a list by rank-weighted counts: a set band's canonical order is the list's, and an id
        // that is often near the top belongs before one kept as often further down (spec 5.11, the writer's model).
        bool banded = codec is { Id: CodecId.Banded };
        var idScores = contextTokens.Select(_ => new Dictionary<int, long>()).ToArray();
        if (banded)
            ForEachEntry(sample, (token, j, id) =>
            {
                if (contextOf.TryGetValue(token, out int k)) idScores[k][id] = idScores[k].GetValueOrDefault(id) + RankWeight / (1 + j);
            });
        var lists = idCounts.Select((counts, k) => counts.Where(kv => kv.Value >= 2)
                .OrderByDescending(kv => banded ? idScores[k][kv.Key] : kv.Value).ThenBy(kv => kv.Key)
                .Take(MaxCandidates)
                .Select(kv => kv.Key)
                .ToArray())
            .ToArray();
        // A context whose ids were all kept once has no list: its positions fall back to the global tables.
        var keep = Enumerable.Range(0, contextTokens.Length).Where(k => lists[k].Length > 0).ToArray();
        contextTokens = keep.Select(k => contextTokens[k]).ToArray();
        lists = keep.Select(k => lists[k]).ToArray();
        contextOf.Clear();
        for (int k = 0; k < contextTokens.Length; k++) contextOf[contextTokens[k]] = k;
        if (banded) return TrainBands(sample, rankTable, contextTokens, lists, codec!.Value.SetsFrom);
        var indexOf = lists.Select(l =>
        {
            var d = new Dictionary<int, int>(l.Length);
            for (int i = 0; i < l.Length; i++) d[l[i]] = i;
            return d;
        }).ToArray();

        const int symbols = IdContextModel.Symbols;
        int tables = IdContextModel.Groups * (1 + contextTokens.Length);
        var counts = new long[tables * symbols];
        ForEachEntry(sample, (token, entry, id) =>
        {
            int group = IdContextModel.GroupOf(entry);
            int k = contextOf.GetValueOrDefault(token, -1);
            if (k >= 0 && indexOf[k].TryGetValue(id, out int i))
            {
                counts[IdContextModel.TableOf(k, group) * symbols + ValueClass.Of((uint)i + 1, out _, out _)]++;
                return;
            }
            if (k >= 0) counts[IdContextModel.TableOf(k, group) * symbols + IdContextModel.Escape]++;
            counts[IdContextModel.TableOf(-1, group) * symbols + ValueClass.Of((uint)rankTable.RankOf(id) + 1, out _, out _)]++;
        });

        var frequencies = new ushort[tables * symbols];
        var required = new bool[symbols];
        for (int t = 0; t < tables; t++)
        {
            int context = t / IdContextModel.Groups - 1;
            uint largest = context < 0 ? vocabSize : (uint)lists[context].Length;
            Array.Clear(required);
            for (int c = 0; c <= ValueClass.Of(largest, out _, out _); c++) required[c] = true;
            if (context >= 0) required[IdContextModel.Escape] = true;
            IdContextModel.Normalise(counts.AsSpan(t * symbols, symbols), required, frequencies.AsSpan(t * symbols, symbols));
        }
        var idOfRank = new int[v];
        for (int r = 0; r < v; r++) idOfRank[r] = rankTable.IdOf(r);
        return new IdContextModel(idOfRank, contextTokens, lists, frequencies);
    }

    /// <summary>
    /// The id band model (spec 5.11, the writer's model) over the contexts and lists already chosen: bands that cover the
    /// sample's longest position, sets from the band at rank <paramref name="setsFrom"/>, tables from the sample's symbols.
    /// </summary>
    private static IdContextModel TrainBands(
        IReadOnlyList<SparseSequence> sample, IdRankTable rankTable, int[] contextTokens, int[][] lists, int setsFrom)
    {
        int v = rankTable.VocabSize, maxKept = 1;
        foreach (var s in sample)
            foreach (int n in s.KeptCounts) maxKept = Math.Max(maxKept, n);
        int[] starts = IdBands.Starts(maxKept, setsFrom);
        int setFrom = IdBands.SetFrom(starts, setsFrom), bands = starts.Length;
        const int symbols = IdContextModel.Symbols;
        int tables = bands * (1 + contextTokens.Length);
        var idOfRank = new int[v];
        for (int r = 0; r < v; r++) idOfRank[r] = rankTable.IdOf(r);
        // The symbols of a position depend on the lists, the ranks and the bands only: a model with any valid tables
        // gives them, so count them under flat tables, then build the model again with the counted ones.
        var required = new bool[symbols];
        Array.Fill(required, true);
        var flat = new ushort[tables * symbols];
        var ones = Enumerable.Repeat(1L, symbols).ToArray();
        for (int t = 0; t < tables; t++)
        {
            required[IdContextModel.Escape] = t >= bands;
            ones[IdContextModel.Escape] = t >= bands ? 1 : 0;
            IdContextModel.Normalise(ones, required, flat.AsSpan(t * symbols, symbols));
        }
        var counting = new IdContextModel(idOfRank, contextTokens, lists, flat, starts, setFrom);
        var sink = new CountingSink(new long[tables * symbols]);
        var scratch = new long[Math.Max(1, maxKept)];
        ForEachPosition(sample, (token, ids) =>
            BandSymbols.OfPosition(counting, counting.ContextOf(token), ids, scratch, ref sink));

        var frequencies = new ushort[tables * symbols];
        for (int t = 0; t < tables; t++)
        {
            int context = t / bands - 1;
            uint largest = context < 0 ? (uint)v : (uint)lists[context].Length;
            Array.Clear(required);
            for (int c = 0; c <= ValueClass.Of(largest, out _, out _); c++) required[c] = true;
            if (context >= 0) required[IdContextModel.Escape] = true;
            IdContextModel.Normalise(sink.Counts.AsSpan(t * symbols, symbols), required, frequencies.AsSpan(t * symbols, symbols));
        }
        return new IdContextModel(idOfRank, contextTokens, lists, frequencies, starts, setFrom);
    }

    /// <summary>Counts each table's symbols.</summary>
    private readonly struct CountingSink(long[] counts) : BandSymbols.ISink
    {
        public long[] Counts { get; } = counts;

        public void Escape(int table) => Counts[table * IdContextModel.Symbols + IdContextModel.Escape]++;

        public void Value(int table, uint v) => Counts[table * IdContextModel.Symbols + ValueClass.Of(v, out _, out _)]++;
    }

    /// <summary>Calls <paramref name="visit"/>(input token, index in position, id) for every kept entry, in rank order.</summary>
    private static void ForEachEntry(IReadOnlyList<SparseSequence> sample, Action<int, int, int> visit) =>
        ForEachPosition(sample, (token, ids) =>
        {
            for (int j = 0; j < ids.Length; j++) visit(token, j, ids[j]);
        });

    /// <summary>Calls <paramref name="visit"/>(input token, kept ids in rank order) for every position.</summary>
    private static void ForEachPosition(IReadOnlyList<SparseSequence> sample, PositionVisitor visit)
    {
        int[] ids = [];
        float[] probs = [];
        foreach (var s in sample)
        {
            int e = 0;
            for (int t = 0; t < s.Length; t++)
            {
                int n = s.KeptCounts[t];
                if (ids.Length < n)
                {
                    ids = new int[n];
                    probs = new float[n];
                }
                var idSpan = ids.AsSpan(0, n);
                var probSpan = probs.AsSpan(0, n);
                s.Ids.AsSpan(e, n).CopyTo(idSpan);
                s.Probs.AsSpan(e, n).CopyTo(probSpan);
                if (!EntryOrder.IsRankOrdered(idSpan, probSpan)) EntryOrder.SortByRank(idSpan, probSpan);
                visit(s.Tokens[t], idSpan);
                e += n;
            }
        }
    }
}

/// <summary>Visits one position: its input token and its kept ids in rank order.</summary>
internal delegate void PositionVisitor(int token, ReadOnlySpan<int> ids);
