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
