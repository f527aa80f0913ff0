using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;

namespace LogitStore.Writing;

/// <summary>Trains the dictionaries a store's codecs need (spec 2.4) from sample sequences.</summary>
public static class DictionaryTraining
{
    /// <summary>Most frequent kept ids first, counted over <paramref name="sample"/>; ids never seen follow by ascending id.</summary>
    public static IdRankTable RankTable(IEnumerable<SparseSequence> sample, uint vocabSize)
    {
        var counts = new long[vocabSize];
        foreach (var s in sample)
            foreach (int id in s.Ids) counts[id]++;
        return IdRankTable.FromCounts(counts);
    }

    /// <summary>The kept probabilities of up to <paramref name="maxPositions"/> positions, one array per position (rank order).</summary>
    public static List<float[]> Positions(IEnumerable<SparseSequence> sample, int maxPositions)
    {
        var list = new List<float[]>();
        foreach (var s in sample)
        {
            int e = 0;
            for (int t = 0; t < s.Length && list.Count < maxPositions; t++)
            {
                int n = s.KeptCounts[t];
                var p = s.Probs.AsSpan(e, n).ToArray();
                var ids = s.Ids.AsSpan(e, n).ToArray();
                if (!EntryOrder.IsRankOrdered(ids, p)) EntryOrder.SortByRank(ids, p);
                list.Add(p);
                e += n;
            }
            if (list.Count >= maxPositions) break;
        }
        return list;
    }

    public static MvqCodebooks Codebooks(
        IEnumerable<SparseSequence> sample, int codebooks, int maxPositions, Action<MvqTrainingReport>? report = null)
    {
        var (books, r) = MvqTrainer.Train(Positions(sample, maxPositions), new MvqTrainingOptions { Codebooks = codebooks });
        report?.Invoke(r);
        return books;
    }
}
