using LogitStore.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>Distillation losses over the stored sparse support.</summary>
public enum KdLossKind
{
    /// <summary>Forward KL(p ‖ q) with the teacher's dropped mass spread evenly over the ids it did not keep (spec 6.1).</summary>
    ForwardKl,
    /// <summary>Reverse KL(q ‖ p), same teacher distribution.</summary>
    ReverseKl,
    /// <summary>
    /// Soft-label NLL on the kept support, −Σ_kept p̂ log q with p̂ renormalised over the kept ids (dropped mass ignored).
    /// </summary>
    Nll,
    /// <summary>MSE between centred student logits and centred teacher log-probabilities on the kept support.</summary>
    Mse,
}

/// <summary>
/// A batch of stored teacher targets on the device: ids/probs [B, T, K] (probabilities sum to 1 over the kept entries),
/// kept counts [B, T], residual [B, T].
/// </summary>
public sealed record TeacherTargets(Tensor Ids, Tensor Probs, Tensor KeptCounts, Tensor Residual);

/// <summary>
/// KD losses between student logits [B, T, V] and sparse teacher targets, averaged over positions. Temperature τ
/// softens both sides as in Hinton et al.: the student is softmax(z/τ), and the stored teacher distribution (kept
/// entries plus the residual spread evenly over the ids it did not keep, spec 6.1) becomes p^(1/τ) renormalised,
/// which is softmax(teacher logits/τ) whenever the store kept the whole distribution; the loss is scaled by τ².
/// Every term over the whole vocabulary is computed in closed form from the logits' log-sum-exp, so nothing of size
/// V is materialised beyond the logits themselves.
/// </summary>
public static class KdLoss
{
    /// <param name="vocabulary">The student's output ids (null: the whole vocabulary, one logit per id).</param>
    public static Tensor Compute(
        Tensor studentLogits, TeacherTargets t, KdLossKind kind, double temperature = 1.0, Tensor? logSoftmax = null,
        OutputVocabulary? vocabulary = null) =>
        Compute(studentLogits, t, kind, temperature, logSoftmax, vocabulary, nextTokens: null).Kd;

    /// <summary>
    /// The KD loss at τ = 1 and, read by the same gather of <paramref name="logSoftmax"/>, the student's log q of
    /// <paramref name="nextTokens"/> [B, T] (its next-token loss): one zero-filled [B, T, V] gradient fewer than the two
    /// computed apart, which is most of what KD adds to an LM step.
    /// </summary>
    public static (Tensor Kd, Tensor NextTokenLogProbs) WithNextTokens(
        Tensor studentLogits, Tensor logSoftmax, Tensor nextTokens, TeacherTargets t, KdLossKind kind, OutputVocabulary vocabulary)
    {
        var (kd, next) = Compute(studentLogits, t, kind, 1.0, logSoftmax, vocabulary, nextTokens);
        return (kd, next!);
    }

    private static (Tensor Kd, Tensor? NextTokenLogProbs) Compute(
        Tensor studentLogits, TeacherTargets t, KdLossKind kind, double temperature, Tensor? logSoftmax,
        OutputVocabulary? vocabulary, Tensor? nextTokens)
    {
        using var scope = NewDisposeScope();
        vocabulary ??= OutputVocabulary.Full((int)studentLogits.shape[2]);
        long v = vocabulary.FullSize, k = t.Ids.shape[2];
        // At τ = 1 the caller's log-softmax (already computed for the LM loss) is reused: one pass over V fewer.
        var logQ = logSoftmax is not null && temperature == 1.0 ? logSoftmax : vocabulary.LogSoftmax(studentLogits, temperature);
        var mask = arange(k, device: logQ.device).view(1, 1, k) < t.KeptCounts.unsqueeze(-1); // [B, T, K]
        var maskF = mask.to_type(ScalarType.Float32);
        var ids = t.Ids.to_type(ScalarType.Int64);
        var read = nextTokens is null ? ids : cat([nextTokens.to_type(ScalarType.Int64).unsqueeze(-1), ids], -1);
        var (atIds, logQOther) = vocabulary.Gather(logQ, read);
        Tensor? next = nextTokens is null ? null : atIds.select(-1, 0);
        var logQKept = (nextTokens is null ? atIds : atIds.narrow(-1, 1, k)) * maskF;           // [B, T, K]
        var n = t.KeptCounts.to_type(ScalarType.Float32);
        var rest = (v - n).clamp_min(1);
        var (kept, residual) = Tempered(t, mask, maskF, rest, temperature);                   // P_j = (1 − r) p̂_j, then ^(1/τ)
        var u = residual / rest;                                                       // each dropped id's share
        Tensor loss;
        switch (kind)
        {
            case KdLossKind.ForwardKl:
            {
                // Σ p log p − Σ p log q; Σ_rest log q = Σ_V log q − Σ_kept log q.
                var pLogP = (kept * kept.clamp_min(1e-30).log()).sum(-1) + residual * u.clamp_min(1e-30).log();
                var sumLogQAll = vocabulary.SumOfLogProbs(logQ, logQOther);
                var pLogQ = (kept * logQKept).sum(-1) + u * (sumLogQAll - logQKept.sum(-1));
                loss = pLogP - pLogQ;
                break;
            }
            case KdLossKind.ReverseKl:
            {
                var qLogQAll = vocabulary.SumOfQLogQ(logQ, logQOther);
                var qKept = logQKept.exp() * maskF;
                var qRest = (1 - qKept.sum(-1)).clamp_min(0);
                loss = qLogQAll - (qKept * kept.clamp_min(1e-30).log()).sum(-1) - qRest * u.clamp_min(1e-30).log();
                break;
            }
            case KdLossKind.Nll:
                loss = -(kept / kept.sum(-1, keepdim: true).clamp_min(1e-30) * logQKept).sum(-1);
                break;
            case KdLossKind.Mse:
            {
                // Centred over the kept ids, the student's log-probabilities are its logits/τ up to the shift.
                var zKept = logQKept;
                var logP = t.Probs.clamp_min(1e-30).log() / temperature * maskF;
                var cnt = n.clamp_min(1).unsqueeze(-1);
                var dz = (zKept - zKept.sum(-1, keepdim: true) / cnt) * maskF;
                var dp = (logP - logP.sum(-1, keepdim: true) / cnt) * maskF;
                loss = (dz - dp).pow(2).sum(-1) / n.clamp_min(1);
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(kind));
        }
        var kd = (loss.mean() * (temperature * temperature)).MoveToOuterDisposeScope();
        return (kd, next?.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// The teacher's kept mass [B, T, K] (zero on padding) and residual [B, T] at temperature τ: P_j^(1/τ) and
    /// rest·u^(1/τ) over their sum, computed in log space (exactly the stored distribution at τ = 1).
    /// </summary>
    private static (Tensor Kept, Tensor Residual) Tempered(TeacherTargets t, Tensor mask, Tensor maskF, Tensor rest, double temperature)
    {
        var kept = (1 - t.Residual).unsqueeze(-1) * t.Probs * maskF;
        if (temperature == 1.0) return (kept, t.Residual);
        double inv = 1.0 / temperature;
        var negInf = full_like(kept, double.NegativeInfinity);
        var logKept = where(mask & (kept > 0), kept.clamp_min(1e-38).log() * inv, negInf);                 // [B, T, K]
        var hasTail = t.Residual > 0;
        var logTail = where(
            hasTail, rest.log() + (t.Residual / rest).clamp_min(1e-38).log() * inv, full_like(rest, double.NegativeInfinity)); // [B, T]
        var logZ = cat([logKept, logTail.unsqueeze(-1)], -1).logsumexp(-1);                                   // [B, T]
        return ((logKept - logZ.unsqueeze(-1)).exp(), (logTail - logZ).exp());
    }

    public static string Name(KdLossKind kind) => kind switch
    {
        KdLossKind.ForwardKl => "kl",
        KdLossKind.ReverseKl => "reverse-kl",
        KdLossKind.Nll => "nll",
        KdLossKind.Mse => "mse",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static KdLossKind Parse(string name) => name switch
    {
        "kl" or "forward-kl" => KdLossKind.ForwardKl,
        "reverse-kl" => KdLossKind.ReverseKl,
        "nll" => KdLossKind.Nll,
        "mse" => KdLossKind.Mse,
        _ => throw new ArgumentException($"unknown KD loss '{name}' (kl, reverse-kl, nll, mse)"),
    };
}

/// <summary>How the weight α of the KD loss moves over training.</summary>
public enum AlphaShape
{
    Constant,
    Linear,
    Wsd,
}

/// <summary>The weight α of the KD loss in (1 − α)·LM + α·KD over training: constant, linear, or warmup-stable-decay.</summary>
public sealed record AlphaSchedule(AlphaShape Shape, double Max, int TotalSteps)
{
    public double At(int step)
    {
        double x = TotalSteps <= 1 ? 1 : Math.Clamp((double)step / (TotalSteps - 1), 0, 1);
        return Shape switch
        {
            AlphaShape.Constant => Max,
            AlphaShape.Linear => Max * (1 - x),                                   // from Max down to 0
            _ => x < 0.1 ? Max * x / 0.1 : x < 0.8 ? Max : Max * (1 - (x - 0.8) / 0.2),
        };
    }
}
