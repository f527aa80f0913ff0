using LogitStore.Processing;
using LogitStore.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>Teacher targets computed on the device from live teacher logits, with the same truncation a store applies (spec 6).</summary>
public static class OnlineTargets
{
    /// <param name="vocabulary">The teacher's output ids (null: one logit per tokenizer id).</param>
    public static TeacherTargets FromLogits(Tensor teacherLogits, ProcessingOptions processing, int k, OutputVocabulary? vocabulary = null)
    {
        using var scope = NewDisposeScope();
        if (processing.Method is not (TruncationMethod.TopK or TruncationMethod.TopPK or TruncationMethod.TopP))
            throw new ArgumentException(
                $"online targets support top-k, top-p and top-p-k, not {ProcessingOptions.MethodName(processing.Method)}");
        vocabulary ??= OutputVocabulary.Full((int)teacherLogits.shape[2]);
        var p = vocabulary.CandidateProbabilities(teacherLogits, processing.Temperature);
        var (vals, outputs) = p.topk(Math.Min(k, vocabulary.Candidates), -1);
        var idx = vocabulary.ToFullIds(outputs);
        Tensor keep;
        if (processing.Method == TruncationMethod.TopK) keep = ones_like(vals, dtype: ScalarType.Bool);
        else keep = (vals.cumsum(-1) - vals) < processing.TopP; // the shortest prefix whose mass reaches p
        var keptVals = vals * keep.to_type(ScalarType.Float32);
        var mass = keptVals.sum(-1);
        var probs = keptVals / mass.unsqueeze(-1);
        var counts = keep.to_type(ScalarType.Int64).sum(-1);
        var residual = (1 - mass).clamp(0, 1);
        return new TeacherTargets(
            idx.MoveToOuterDisposeScope(),
            probs.MoveToOuterDisposeScope(),
            counts.MoveToOuterDisposeScope(),
            residual.MoveToOuterDisposeScope());
    }
}
