using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Processing;

namespace LogitStore.Tests.Processing;

public class TruncationPropertyTests
{
    private static float[] RandomLogits(int seed, int vocab)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, vocab).Select(_ => (float)(rng.NextDouble() * 12 - 6)).ToArray();
    }

    private static double[] Softmax(float[] z, float t)
    {
        double max = z.Max() / (double)t;
        var w = z.Select(v => Math.Exp(v / (double)t - max)).ToArray();
        double s = w.Sum();
        return w.Select(v => v / s).ToArray();
    }

    [Property]
    public bool TopPK_KeepsTheNucleusCappedAtK_AndRecordsDroppedMass(int seed, PositiveInt kSeed, byte pSeed, bool lowTemperature)
    {
        int vocab = 500;
        var z = RandomLogits(seed, vocab);
        var opts = new ProcessingOptions
        {
            Method = TruncationMethod.TopPK, TopK = kSeed.Get % 120 + 1, TopP = 0.3f + 0.7f * pSeed / 255f,
            Temperature = lowTemperature ? 0.5f : 2f,
        };
        var proc = new LogitsProcessor(opts);
        var ids = new int[vocab];
        var probs = new float[vocab];
        var (kept, residual) = proc.ProcessDense(z, ids, probs);
        var q = Softmax(z, opts.Temperature);
        var order = Enumerable.Range(0, vocab).OrderByDescending(i => q[i]).ThenBy(i => i).ToArray();
        // nucleus: shortest prefix with cumulative >= p, then capped at k
        int nucleus = 0;
        double cum = 0;
        while (nucleus < vocab) { cum += q[order[nucleus++]]; if (cum >= opts.TopP) break; }
        int expected = Math.Min(nucleus, opts.TopK);
        double keptMass = order.Take(expected).Sum(i => q[i]);
        return kept == expected
            && ids.Take(kept).SequenceEqual(order.Take(kept))
            && Math.Abs(probs.Take(kept).Sum() - 1) < 1e-4
            && Math.Abs(residual - (1 - keptMass)) < 1e-5
            && EntryOrder.IsRankOrdered(ids.AsSpan(0, kept), probs.AsSpan(0, kept));
    }

    [Property]
    public bool TopK_KeepsExactlyK(int seed, PositiveInt kSeed)
    {
        var z = RandomLogits(seed, 300);
        int k = kSeed.Get % 300 + 1;
        var proc = new LogitsProcessor(new ProcessingOptions { Method = TruncationMethod.TopK, TopK = k });
        var ids = new int[300];
        var probs = new float[300];
        var (kept, residual) = proc.ProcessDense(z, ids, probs);
        var q = Softmax(z, 1);
        double expectedResidual = 1 - ids.Take(kept).Sum(i => q[i]);
        return kept == k && ids.Take(kept).Distinct().Count() == k && Math.Abs(residual - expectedResidual) < 1e-5
            && ids.Take(kept).Min(i => q[i]) >= Enumerable.Range(0, 300).Except(ids.Take(kept)).Select(i => q[i]).DefaultIfEmpty(0).Max();
    }

    [Property]
    public bool Sampled_CountsSumToDraws_AndAreDeterministicBySeed(int seed, PositiveInt drawsSeed)
    {
        var z = RandomLogits(seed, 200);
        var opts = new ProcessingOptions { Method = TruncationMethod.Sampled, Draws = drawsSeed.Get % 100 + 1, Seed = (ulong)seed };
        var a = new LogitsProcessor(opts);
        var ids = new int[200];
        var probs = new float[200];
        var (kept, _) = a.ProcessDense(z, ids, probs, randomStream: 42);
        var ids2 = new int[200];
        var probs2 = new float[200];
        var (kept2, _) = new LogitsProcessor(opts).ProcessDense(z, ids2, probs2, randomStream: 42);
        double total = probs.Take(kept).Sum(p => Math.Round(p * opts.Draws));
        return total == opts.Draws && kept == kept2 && ids.Take(kept).SequenceEqual(ids2.Take(kept2))
            && ids.Take(kept).Distinct().Count() == kept;
    }

    [Fact]
    public void Sampled_IsAnUnbiasedEstimate()
    {
        var z = RandomLogits(3, 50);
        var q = Softmax(z, 1);
        var proc = new LogitsProcessor(new ProcessingOptions { Method = TruncationMethod.Sampled, Draws = 50 });
        var mean = new double[50];
        var ids = new int[50];
        var probs = new float[50];
        const int trials = 4000;
        for (ulong s = 0; s < trials; s++)
        {
            var (kept, _) = proc.ProcessDense(z, ids, probs, s);
            for (int j = 0; j < kept; j++) mean[ids[j]] += probs[j] / (double)trials;
        }
        for (int i = 0; i < 50; i++) Assert.InRange(mean[i], q[i] - 0.01, q[i] + 0.01);
    }

    [Fact]
    public void NonFiniteLogits_AreRejected()
    {
        var proc = new LogitsProcessor(new ProcessingOptions());
        var ex = Assert.Throws<ArgumentException>(() => proc.ProcessDense([1f, float.NaN, 0f], new int[3], new float[3]));
        Assert.Contains("id 1", ex.Message);
        Assert.Throws<ArgumentException>(() => proc.ProcessDense([1f, float.PositiveInfinity], new int[2], new float[2]));
    }
}
