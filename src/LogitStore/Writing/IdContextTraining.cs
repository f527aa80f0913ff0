using LogitStore.Codecs;

namespace LogitStore.Writing;

/// <summary>Trains the id context model of the context ids codec from sample sequences (the writer's model, spec 5.10).</summary>
internal static class IdContextTraining
{
    /// <summary>An input token gets a context when it is seen at this many sample positions.</summary>
    public const int MinContextPositions = 32;
    public const int MaxContexts = 1024;
    public const int MaxCandidates = 4096;

    public static IdContextModel Train(IReadOnlyList<SparseSequence> sample, uint vocabSize)
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
        var lists = idCounts
            .Select(c => c.Where(kv => kv.Value >= 2)
                .OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key)
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

    /// <summary>Calls <paramref name="visit"/>(input token, index in position, id) for every kept entry, in rank order.</summary>
    private static void ForEachEntry(IReadOnlyList<SparseSequence> sample, Action<int, int, int> visit)
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
                for (int j = 0; j < n; j++) visit(s.Tokens[t], j, idSpan[j]);
                e += n;
            }
        }
    }
}
