using FsCheck;
using FsCheck.Xunit;
using LogitStore.Processing;
using LogitStore.Torch.Distillation;
using LogitStore.Torch.Model;
using LogitStore.Torch.Teacher;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

/// <summary>The host processor, the device processor (torch on the CPU) and online targets keep the same entries.</summary>
public class TruncationAgreementTests
{
    private const int V = 300, T = 4;

    [Property(MaxTest = 60)]
    public void HostDeviceAndOnlineTruncation_KeepTheSameEntries(int seed, byte methodPick, PositiveInt kSeed, byte pSeed, bool sharp)
    {
        var method = new[] { TruncationMethod.TopK, TruncationMethod.TopP, TruncationMethod.TopPK }[methodPick % 3];
        var o = new ProcessingOptions
        {
            Method = method, TopK = kSeed.Get % 60 + 1, TopP = 0.05f + 0.9f * pSeed / 255f, Temperature = sharp ? 0.7f : 1.3f,
        };
        var rng = new Random(seed);
        var logits = Enumerable.Range(0, T * V).Select(_ => (float)(rng.NextDouble() * (sharp ? 14 : 6) - 3)).ToArray();
        if (method != TruncationMethod.TopK && NearTheThreshold(logits, o)) return;   // float and double sums may differ there

        var host = new LogitsProcessor(o);
        var device = new DeviceLogitsProcessor(o);
        using var z = tensor(logits, [1, T, V]);
        var fromDevice = device.Process(z, OutputVocabulary.Full(V), [new int[T]], [0]);
        int k = method == TruncationMethod.TopP ? DeviceLogitsProcessor.TopPCandidates : o.TopK;
        var online = OnlineTargets.FromLogits(z, o, Math.Min(k, V));
        var onlineCounts = online.KeptCounts.data<long>().ToArray();
        var onlineIds = online.Ids.data<long>().ToArray();
        int width = (int)online.Ids.shape[2], entry = 0;
        var ids = new int[V];
        var probs = new float[V];
        for (int t = 0; t < T; t++)
        {
            var (kept, _) = host.ProcessDense(logits.AsSpan(t * V, V), ids, probs);
            Assert.Equal(kept, fromDevice[0].KeptCounts[t]);
            Assert.Equal(kept, (int)onlineCounts[t]);
            Assert.Equal(ids.Take(kept).Order(), fromDevice[0].Ids.Skip(entry).Take(kept).Order());
            Assert.Equal(ids.Take(kept).Order(), onlineIds.Skip(t * width).Take(kept).Select(x => (int)x).Order());
            entry += kept;
        }
    }

    [Fact]
    public void SampledOnTheDevice_DrawsFromTheDistribution_NeverTheOtherOutput_AndRepeatsBySeed()
    {
        const int draws = 4000;
        var o = new ProcessingOptions { Method = TruncationMethod.Sampled, Draws = draws, Seed = 7 };
        var processor = new DeviceLogitsProcessor(o);
        // A compact vocabulary of 5 ids + "other": "other" must never be drawn, whatever its share of the mass.
        var vocabulary = OutputVocabulary.Compact(120, [3, 10, 11, 40, 99]);
        float[] logits = [2f, 0f, 1f, -1f, 0.5f, 3f];
        using var z = tensor(logits, [1, 1, 6]);
        var first = processor.Process(z, vocabulary, [new int[1]], [5])[0];
        var again = processor.Process(z, vocabulary, [new int[1]], [5])[0];
        var otherBatch = processor.Process(z, vocabulary, [new int[1]], [6])[0];

        Assert.Equal(first.Ids, again.Ids);
        Assert.Equal(first.Probs, again.Probs);
        Assert.NotEqual(first.Probs, otherBatch.Probs);
        Assert.Subset(new HashSet<int>([3, 10, 11, 40, 99]), first.Ids.ToHashSet());
        Assert.Equal(1.0, first.Probs.Sum(x => (double)x), 4);
        // Frequencies follow the candidates' probabilities (renormalised without "other") within 4 standard errors.
        double candidates = logits.Take(5).Sum(x => Math.Exp(x));
        var expected = vocabulary.FullIds.ToArray().Select((id, j) => (id, p: Math.Exp(logits[j]) / candidates)).ToArray();
        foreach (var (id, p) in expected)
        {
            int at = Array.IndexOf(first.Ids, id);
            double seen = at < 0 ? 0 : first.Probs[at];
            Assert.InRange(seen, p - 4 * Math.Sqrt(p * (1 - p) / draws), p + 4 * Math.Sqrt(p * (1 - p) / draws));
        }
    }

    /// <summary>True when some rank-ordered prefix of a position's distribution has a mass within 1e-5 of p.</summary>
    private static bool NearTheThreshold(float[] logits, ProcessingOptions o)
    {
        for (int t = 0; t < T; t++)
        {
            var z = logits.Skip(t * V).Take(V).Select(v => v / o.Temperature).ToArray();
            double max = z.Max();
            var w = z.Select(v => Math.Exp(v - max)).OrderDescending().ToArray();
            double sum = w.Sum(), cumulative = 0;
            foreach (var x in w)
                if (Math.Abs((cumulative += x / sum) - o.TopP) < 1e-5) return true;
        }
        return false;
    }
}
