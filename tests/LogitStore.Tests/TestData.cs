using LogitStore.Processing;
using LogitStore.Synthetic;

namespace LogitStore.Tests;

/// <summary>Small generated data for tests: random truncated distributions and temporary store directories.</summary>
internal static class TestData
{
    /// <summary>A random sparse sequence in rank order with renormalised probabilities.</summary>
    public static SparseSequence RandomSequence(Random rng, uint vocab, int length, int maxKept)
    {
        var b = new SparseSequenceBuilder();
        var ids = new int[maxKept];
        var probs = new float[maxKept];
        for (int t = 0; t < length; t++)
        {
            int n = rng.Next(0, maxKept + 1);
            var set = new HashSet<int>();
            while (set.Count < Math.Min(n, (int)vocab)) set.Add(rng.Next((int)vocab));
            n = set.Count;
            set.CopyTo(ids);
            double sum = 0;
            var w = new double[n];
            for (int j = 0; j < n; j++) sum += w[j] = Math.Exp(-rng.NextDouble() * 12);
            for (int j = 0; j < n; j++) probs[j] = (float)(w[j] / sum);
            LogitStore.Codecs.EntryOrder.SortByRank(ids.AsSpan(0, n), probs.AsSpan(0, n));
            b.AddPosition(rng.Next((int)vocab), ids.AsSpan(0, n), probs.AsSpan(0, n), (float)rng.NextDouble() * 0.5f);
        }
        return b.Build();
    }

    public static SparseSequence SyntheticSequence(ulong id, int length, ProcessingOptions? options = null, uint vocab = 1000)
        => new SyntheticTeacher(vocab, 7, 64).Generate(id, length, new LogitsProcessor(options ?? new ProcessingOptions()));

    public static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "logitstore-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }
}
