using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;

namespace LogitStore.Writing;

/// <summary>Trains the dictionaries a store's codecs need (spec 2.4) from sample sequences.</summary>
public static class DictionaryTraining
{
    /// <summary>Most frequent kept ids first, counted over <paramref name="sample"/>; ids never seen follow by ascending id.</summary>
    internal static IdRankTable RankTable(IEnumerable<SparseSequence> sample, uint vocabSize)
    {
        var counts = new long[vocabSize];
        foreach (var s in sample)
            foreach (int id in s.Ids) counts[id]++;
        return IdRankTable.FromCounts(counts);
    }

    /// <summary>The kept probabilities of up to <paramref name="maxPositions"/> positions, one array per position (rank order).</summary>
    internal static List<float[]> Positions(IEnumerable<SparseSequence> sample, int maxPositions)
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

    internal static MvqCodebooks Codebooks(
        IEnumerable<SparseSequence> sample, int codebooks, int maxPositions, Action<MvqTrainingReport>? report = null)
    {
        var (books, r) = MvqTrainer.Train(Positions(sample, maxPositions), new MvqTrainingOptions { Codebooks = codebooks });
        report?.Invoke(r);
        return books;
    }

    /// <summary>
    /// Trains <paramref name="codebooks"/> mvq codebooks on the first <paramref name="sample"/> positions of a store
    /// (<c>logitstore codebook train</c>) and scores them on that sample with the encoder's beam search.
    /// </summary>
    public static (MvqCodebooks Books, MvqTrainingReport Report, CodebookScore Score) CodebooksFromStore(
        Reading.StoreReader store, int sample, int codebooks, int beam)
    {
        var sequences = new List<SparseSequence>();
        long positions = 0;
        foreach (var block in store.ScanBlocks())
        {
            for (int i = 0; i < block.SequenceCount && positions < sample; i++)
            {
                var s = block.Sequence(i).ToSparseSequence();
                sequences.Add(s);
                positions += s.Length;
            }
            if (positions >= sample) break;
        }
        var vectors = Positions(sequences, sample);
        var (books, report) = MvqTrainer.Train(vectors, new MvqTrainingOptions { Codebooks = codebooks });
        var codes = new byte[books.M];
        int coded = 0, escaped = 0;
        double kl = 0;
        foreach (var p in vectors)
        {
            if (p.Length < 2) continue;
            if (books.Encode(p, codes, beam, out double k)) { coded++; kl += k; }
            else escaped++;
        }
        return (books, report, new CodebookScore(coded, escaped, kl / Math.Max(1, coded)));
    }
}

/// <summary>How a codebook set codes its training sample: positions coded, positions escaped, mean KL of the coded ones.</summary>
public sealed record CodebookScore(int Coded, int Escaped, double MeanKl)
{
    public double EscapedFraction => (double)Escaped / Math.Max(1, Coded + Escaped);
}
