using FsCheck.Xunit;
using LogitStore.Fidelity;

namespace LogitStore.Tests.Fidelity;

public class FidelityTests
{
    /// <summary>A random position over a small vocabulary: kept ids with probabilities (rank order), and a residual.</summary>
    private static (int[] Ids, float[] Probs, float Residual) RandomPosition(Random rng, int vocab)
    {
        int n = rng.Next(1, vocab + 1);
        var ids = Enumerable.Range(0, vocab).OrderBy(_ => rng.Next()).Take(n).ToArray();
        var w = ids.Select(_ => rng.NextDouble() + (rng.Next(5) == 0 ? 3 : 0)).ToArray();
        double s = w.Sum();
        var probs = w.Select(x => (float)(x / s)).OrderByDescending(x => x).ToArray();
        float residual = n == vocab ? 0 : (float)(rng.NextDouble() * 0.4);
        return (ids, probs, residual);
    }

    /// <summary>The distribution of spec 6.1 written out over the whole vocabulary.</summary>
    private static double[] Dense((int[] Ids, float[] Probs, float Residual) x, int vocab)
    {
        var d = new double[vocab];
        double rest = x.Ids.Length < vocab ? x.Residual / (double)(vocab - x.Ids.Length) : 0;
        Array.Fill(d, rest);
        double sum = x.Probs.Sum(v => (double)v);
        for (int i = 0; i < x.Ids.Length; i++) d[x.Ids[i]] = x.Probs[i] / sum * (1 - x.Residual);
        return d;
    }

    /// <summary>First maximum among the kept ids in stored order; −1 when an id outside the kept set is likelier.</summary>
    private static int Top(double[] d, int[] ids)
    {
        int best = ids[0];
        foreach (int id in ids) if (d[id] > d[best]) best = id;
        for (int i = 0; i < d.Length; i++) if (!ids.Contains(i) && d[i] > d[best]) return -1;
        return best;
    }

    [Property(MaxTest = 300)]
    public bool ClosedForm_EqualsTheDenseComputation(int seed)
    {
        var rng = new Random(seed);
        int vocab = rng.Next(2, 40);
        var r = RandomPosition(rng, vocab);
        var s = RandomPosition(rng, vocab);
        var f = new PositionComparer((uint)vocab).Compare(
            new PositionDistribution(r.Ids, r.Probs, r.Residual), new PositionDistribution(s.Ids, s.Probs, s.Residual));
        var p = Dense(r, vocab);
        var q = Dense(s, vocab);
        double kl = 0, tv = 0, z = p.Sum(x => Math.Sqrt(Math.Max(x, 1e-30))), hp = 0, hq = 0;
        for (int i = 0; i < vocab; i++)
        {
            if (p[i] > 0) kl += p[i] * Math.Log(p[i] / Math.Max(q[i], 1e-30));
            tv += Math.Abs(p[i] - q[i]) / 2;
            double lnS = 0.5 * Math.Log(Math.Max(p[i], 1e-30)) - Math.Log(z);
            hp -= p[i] * lnS;
            hq -= q[i] * lnS;
        }
        double kept = s.Ids.Sum(id => p[id]);
        int tp = Top(p, r.Ids), tq = Top(q, s.Ids);
        return Close(f.Kl, kl) && Close(f.Tv, tv) && Close(f.KeptMass, kept) && Close(f.KdLossError, Math.Abs(hq - hp))
            && f.Top1 == (tp == tq && tp >= 0);
    }

    private static bool Close(double a, double b) => Math.Abs(a - b) <= 1e-6 + 1e-5 * Math.Abs(b);

    [Fact]
    public void IdenticalPositions_HaveZeroError()
    {
        var rng = new Random(5);
        var r = RandomPosition(rng, 30);
        var f = new PositionComparer(30).Compare(
            new PositionDistribution(r.Ids, r.Probs, r.Residual), new PositionDistribution(r.Ids, r.Probs, r.Residual));
        Assert.True(f.Kl < 1e-9 && f.KlKept < 1e-9 && f.Tv < 1e-9 && f.KdLossError < 1e-9 && f.Top1);
    }
}
