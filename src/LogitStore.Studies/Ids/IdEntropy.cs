using LogitStore.Reading;

namespace LogitStore.Studies.Ids;

/// <summary>
/// Order-0 empirical entropy of a store's kept ids, in bits per id: the floor for any coder that sees ids one at a time without context.
/// </summary>
public static class IdEntropy
{
    public static (double BitsPerId, long Ids) Measure(StoreReader store)
    {
        var counts = new long[store.VocabSize];
        foreach (var block in store.ScanBlocks())
            for (int s = 0; s < block.SequenceCount; s++)
                foreach (int id in block.Sequence(s).Ids) counts[id]++;
        return OfCounts(counts);
    }

    public static (double BitsPerId, long Ids) Measure(IEnumerable<SparseSequence> sequences, uint vocab)
    {
        var counts = new long[vocab];
        foreach (var s in sequences)
            foreach (int id in s.Ids) counts[id]++;
        return OfCounts(counts);
    }

    private static (double BitsPerId, long Ids) OfCounts(long[] counts)
    {
        long total = counts.Sum();
        double h = 0;
        foreach (long c in counts)
            if (c > 0) { double f = (double)c / total; h -= f * Math.Log2(f); }
        return (h, total);
    }
}
