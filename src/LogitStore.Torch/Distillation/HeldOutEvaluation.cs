using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>A named set of sequences a model is measured on (a held-out split, or a corpus it never trained on).</summary>
public sealed record EvaluationSet(string Name, int[][] Sequences)
{
    /// <summary>The teacher's argmax at every predicted position (sequence × (T-1)), once <see cref="WithTeacher"/> has run.</summary>
    public long[][]? TeacherArgmax { get; init; }

    /// <summary>This set with the teacher's argmax computed once, so that agreement costs no teacher forward per evaluation.</summary>
    public EvaluationSet WithTeacher(DecoderLM teacher, Device device) =>
        this with { TeacherArgmax = HeldOutEvaluation.Argmax(teacher, this, device) };

    /// <summary>The first <paramref name="count"/> held-out sequences of <paramref name="corpus"/>.</summary>
    public static EvaluationSet HeldOut(string name, TokenizedCorpus corpus, int count) =>
        new(name, Enumerable.Range(0, Math.Min(count, corpus.HeldOutSequences)).Select(i => corpus.HeldOutSequence(i).ToArray()).ToArray());

    /// <summary>
    /// The first <paramref name="count"/> sequences of both splits of <paramref name="corpus"/> (a corpus no model trained on).
    /// </summary>
    public static EvaluationSet All(string name, TokenizedCorpus corpus, int count) =>
        new(name, Enumerable.Range(0, Math.Min(count, corpus.TrainSequences + corpus.HeldOutSequences))
            .Select(i => (i < corpus.TrainSequences ? corpus.TrainSequence(i) : corpus.HeldOutSequence(i - corpus.TrainSequences))
                .ToArray())
            .ToArray());
}

/// <summary>What a model scores on an <see cref="EvaluationSet"/>.</summary>
public sealed record EvaluationResult(string Name, double Loss, double? Top1Agreement)
{
    public double Perplexity => Math.Exp(Loss);
}

/// <summary>
/// Next-token cross-entropy (nats/token) of a model over sequences of T tokens, predicting tokens 1..T-1 from
/// their prefixes, the convention of every trainer here; with a teacher, also the share of those positions where
/// the model's argmax equals the teacher's.
/// </summary>
public static class HeldOutEvaluation
{
    private const int BatchSequences = 8;

    /// <summary>
    /// Mean cross-entropy of <paramref name="model"/> on <paramref name="set"/>, and its top-1 agreement with the set's
    /// <see cref="EvaluationSet.TeacherArgmax"/> when present.
    /// </summary>
    public static EvaluationResult Measure(DecoderLM model, EvaluationSet set, Device device)
    {
        if (set.Sequences.Length == 0) return new EvaluationResult(set.Name, double.NaN, null);
        using var _ = no_grad();
        bool wasTraining = model.training;
        model.eval();
        double lossSum = 0;
        long positions = 0, agree = 0;
        for (int first = 0; first < set.Sequences.Length; first += BatchSequences)
        {
            using var scope = NewDisposeScope();
            var tokens = BatchTokens(set, first, device);
            long rows = tokens.shape[0], t = tokens.shape[1];
            var logits = model.forward(tokens)[.., ..^1].to_type(ScalarType.Float32);
            long v = logits.shape[2];
            var target = tokens[.., 1..].reshape(-1);
            lossSum += model.Vocabulary.CrossEntropy(logits.reshape(-1, v), target, nn.Reduction.Sum).item<float>();
            positions += target.shape[0];
            if (set.TeacherArgmax is { } top)
            {
                var teacherTop = tensor(top.Skip(first).Take((int)rows).SelectMany(r => r).ToArray(), [rows, t - 1]).to(device);
                agree += model.Vocabulary.Argmax(logits).eq(teacherTop).sum().item<long>();
            }
        }
        if (wasTraining) model.train();
        return new EvaluationResult(set.Name, lossSum / positions, set.TeacherArgmax is null ? null : (double)agree / positions);
    }

    /// <summary>The model's argmax at positions 0..T-2 of every sequence of the set.</summary>
    public static long[][] Argmax(DecoderLM model, EvaluationSet set, Device device)
    {
        using var _ = no_grad();
        model.eval();
        var result = new long[set.Sequences.Length][];
        for (int first = 0; first < set.Sequences.Length; first += BatchSequences)
        {
            using var scope = NewDisposeScope();
            var tokens = BatchTokens(set, first, device);
            var top = model.Vocabulary.Argmax(model.forward(tokens)[.., ..^1]).cpu();
            for (int i = 0; i < tokens.shape[0]; i++) result[first + i] = top[i].data<long>().ToArray();
        }
        return result;
    }

    /// <summary>Sequences [first, first + BatchSequences) of the set as a [rows, T] token tensor on the device.</summary>
    private static Tensor BatchTokens(EvaluationSet set, int first, Device device)
    {
        var rows = set.Sequences.Skip(first).Take(BatchSequences).ToArray();
        return tensor(rows.SelectMany(r => r.Select(x => (long)x)).ToArray(), [rows.Length, rows[0].Length]).to(device);
    }
}
