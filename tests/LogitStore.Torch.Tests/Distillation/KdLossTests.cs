using LogitStore.Torch.Distillation;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

public class KdLossTests
{
    private const int B = 2, T = 3, K = 5, V = 13;

    /// <summary>Random student logits and sparse teacher targets, with their dense spec-6.1 teacher distribution.</summary>
    private static (Tensor Logits, TeacherTargets Targets, double[,,] Dense, int[,] Counts, int[,,] Ids, double[,,] Probs) Make(int seed)
    {
        var rng = new Random(seed);
        var logits = randn([B, T, V], generator: new torch.Generator((ulong)seed));
        var ids = new long[B * T * K];
        var probs = new float[B * T * K];
        var counts = new long[B * T];
        var residual = new float[B * T];
        var dense = new double[B, T, V];
        var cnt = new int[B, T];
        var idArr = new int[B, T, K];
        var pArr = new double[B, T, K];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                int n = rng.Next(1, K + 1), at = (b * T + t) * K;
                var chosen = Enumerable.Range(0, V).OrderBy(_ => rng.Next()).Take(n).ToArray();
                var w = chosen.Select(_ => rng.NextDouble() + 0.05).ToArray();
                double s = w.Sum();
                float r = (float)(rng.NextDouble() * 0.5);
                residual[b * T + t] = r;
                counts[b * T + t] = n;
                cnt[b, t] = n;
                for (int i = 0; i < V; i++) dense[b, t, i] = r / (V - n);
                for (int j = 0; j < n; j++)
                {
                    ids[at + j] = chosen[j];
                    probs[at + j] = (float)(w[j] / s);
                    idArr[b, t, j] = chosen[j];
                    pArr[b, t, j] = probs[at + j];
                    dense[b, t, chosen[j]] = (1 - r) * probs[at + j];
                }
                for (int j = n; j < K; j++) ids[at + j] = rng.Next(V); // padding ids are ignored whatever they are
            }
        var targets = new TeacherTargets(
            tensor(ids, [B, T, K]), tensor(probs, [B, T, K]), tensor(counts, [B, T]), tensor(residual, [B, T]));
        return (logits, targets, dense, cnt, idArr, pArr);
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(2, 2.0)]
    [InlineData(3, 0.5)]
    public void Losses_MatchADenseComputation(int seed, double tau)
    {
        var (logits, targets, p, counts, ids, probs) = Make(seed);
        var logQ = nn.functional.log_softmax(logits / tau, -1).to_type(ScalarType.Float64);
        var lq = logQ.data<double>().ToArray();
        var z = (logits / tau).to_type(ScalarType.Float64).data<double>().ToArray();
        double fwd = 0, rev = 0, nll = 0, mse = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                int o = (b * T + t) * V;
                // The teacher at τ: p^(1/τ) renormalised, over the whole vocabulary and over the kept ids.
                double zAll = Enumerable.Range(0, V).Sum(i => Math.Pow(p[b, t, i], 1 / tau));
                for (int i = 0; i < V; i++)
                {
                    double q = Math.Exp(lq[o + i]), pt = Math.Pow(p[b, t, i], 1 / tau) / zAll;
                    fwd += pt * (Math.Log(pt) - lq[o + i]);
                    rev += q * (lq[o + i] - Math.Log(pt));
                }
                int n = counts[b, t];
                double zKept = Enumerable.Range(0, n).Sum(j => Math.Pow(probs[b, t, j], 1 / tau));
                double mz = 0, mp = 0;
                for (int j = 0; j < n; j++)
                {
                    nll -= Math.Pow(probs[b, t, j], 1 / tau) / zKept * lq[o + ids[b, t, j]];
                    mz += z[o + ids[b, t, j]] / n;
                    mp += Math.Log(probs[b, t, j]) / tau / n;
                }
                double sq = 0;
                for (int j = 0; j < n; j++) { double d = (z[o + ids[b, t, j]] - mz) - (Math.Log(probs[b, t, j]) / tau - mp); sq += d * d; }
                mse += sq / n;
            }
        double scale = tau * tau / (B * T);
        Assert.Equal(fwd * scale, KdLoss.Compute(logits, targets, KdLossKind.ForwardKl, tau).item<float>(), 1e-4);
        Assert.Equal(rev * scale, KdLoss.Compute(logits, targets, KdLossKind.ReverseKl, tau).item<float>(), 1e-4);
        Assert.Equal(nll * scale, KdLoss.Compute(logits, targets, KdLossKind.Nll, tau).item<float>(), 1e-4);
        Assert.Equal(mse * scale, KdLoss.Compute(logits, targets, KdLossKind.Mse, tau).item<float>(), 1e-4);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(2.0)]
    [InlineData(5.0)]
    public void ForwardKl_IsZeroWhenTheStudentIsTheTeacher_AtEveryTemperature(double tau)
    {
        // Student logits log p: softmax(log p / τ) is the teacher at τ, so the tempered losses must vanish.
        var (_, targets, p, _, _, _) = Make(5);
        var dense = new float[B * T * V];
        for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) for (int i = 0; i < V; i++)
            dense[(b * T + t) * V + i] = (float)Math.Log(p[b, t, i]);
        var logits = tensor(dense, [B, T, V]);
        Assert.True(Math.Abs(KdLoss.Compute(logits, targets, KdLossKind.ForwardKl, tau).item<float>()) < 1e-4);
        Assert.True(Math.Abs(KdLoss.Compute(logits, targets, KdLossKind.ReverseKl, tau).item<float>()) < 1e-4);
    }

    [Fact]
    public void ForwardKl_IsZeroWhenTheStudentIsTheTeacher_AndHasGradients()
    {
        var (_, targets, p, _, _, _) = Make(4);
        var dense = new float[B * T * V];
        for (int b = 0; b < B; b++) for (int t = 0; t < T; t++) for (int i = 0; i < V; i++)
            dense[(b * T + t) * V + i] = (float)Math.Log(p[b, t, i]);
        var logits = tensor(dense, [B, T, V]).requires_grad_();
        var loss = KdLoss.Compute(logits, targets, KdLossKind.ForwardKl);
        Assert.True(Math.Abs(loss.item<float>()) < 1e-5);
        var perturbed = (logits + randn([B, T, V]) * 0.5).detach().requires_grad_();
        var l2 = KdLoss.Compute(perturbed, targets, KdLossKind.ForwardKl);
        l2.backward();
        Assert.True(l2.item<float>() > 0);
        Assert.True(perturbed.grad!.abs().sum().item<float>() > 0);
    }

    [Theory]
    [InlineData("constant", AlphaShape.Constant)]
    [InlineData("wsd", AlphaShape.Wsd)]
    public void ScheduleNames_AreParsedOnce_AndAnUnknownOneIsRefusedNamingTheChoices(string name, AlphaShape shape)
    {
        Assert.Equal(shape, Choice.Parse<AlphaShape>(name, "--alpha-schedule"));
        Assert.Equal(name, Choice.Name(shape));
        Assert.Equal(
            LogitStore.Torch.Teacher.CorpusSplit.HeldOut, Choice.Parse<LogitStore.Torch.Teacher.CorpusSplit>("held-out", "--split"));
        var e = Assert.Throws<ArgumentException>(() => Choice.Parse<LogitStore.Torch.Teacher.LearningRateShape>("cosin", "--schedule"));
        Assert.Contains("cosine | wsd", e.Message);
    }

    [Fact]
    public void AlphaSchedules_FollowTheirShapes()
    {
        Assert.Equal(0.9, new AlphaSchedule(AlphaShape.Constant, 0.9, 100).At(57));
        Assert.Equal(0.9, new AlphaSchedule(AlphaShape.Linear, 0.9, 101).At(0), 6);
        Assert.Equal(0.0, new AlphaSchedule(AlphaShape.Linear, 0.9, 101).At(100), 6);
        var wsd = new AlphaSchedule(AlphaShape.Wsd, 0.9, 101);
        Assert.Equal(0.45, wsd.At(5), 6);
        Assert.Equal(0.9, wsd.At(50), 6);
        Assert.Equal(0.0, wsd.At(100), 6);
    }
}
