using System.Numerics;
using LogitStore.Processing;

namespace LogitStore.Ingest;

/// <summary>Which value of a position record breaks the rules of stream-protocol.md 2.1.</summary>
internal enum RecordField
{
    /// <summary>An id of a top-k record: out of the vocabulary, or given twice.</summary>
    Id,

    /// <summary>A log-probability of a top-k record: not finite, or above 0.</summary>
    LogProb,

    /// <summary>The mass of a top-k record's log-probabilities, above 1.</summary>
    Mass,

    /// <summary>A logit of a full-logits record: not finite.</summary>
    Logit,
}

/// <summary>A position record's value that breaks the rules of stream-protocol.md 2.1: which one, and what is wrong.</summary>
internal sealed class RecordValueException(RecordField field, int entry, string problem) : ArgumentException(problem)
{
    public RecordField Field { get; } = field;

    /// <summary>The value's index among the position's ids, log-probabilities or logits (0 for the mass).</summary>
    public int Entry { get; } = entry;
}

/// <summary>
/// One sequence of teacher output as a producer hands it over (stream-protocol.md 2.1, 3), checked and processed into a
/// <see cref="SparseSequence"/>: per position either the logits over the whole vocabulary, or top-k log-probabilities
/// under the full distribution at τ = 1. A stream's parser and the in-process writer both go through it, so that the
/// same input gives the same sequence whichever way it came. Holds scratch buffers: one per thread.
/// </summary>
internal sealed class TeacherRecordProcessor
{
    private readonly uint _vocabSize;
    private readonly LogitsProcessor _processor;
    private readonly SparseSequenceBuilder _builder = new();
    private readonly HashSet<int> _seen = new();
    private int[] _keptIds = [];
    private float[] _keptProbs = [];

    /// <summary>The largest log-probability taken as 0 (rounding of a producer's log-softmax).</summary>
    public const float LogProbTolerance = 1e-4f;

    public TeacherRecordProcessor(uint vocabSize, ProcessingOptions processing)
    {
        _vocabSize = vocabSize;
        _processor = new LogitsProcessor(processing);
    }

    /// <summary>
    /// Refuses top-k log-probabilities under processing that needs the whole distribution (stream-protocol.md 3): the
    /// distribution of the tokens not supplied is unknown at another temperature, and sampling draws from all of them.
    /// </summary>
    public static void CheckTopKProcessing(ProcessingOptions processing)
    {
        if (processing.Temperature != 1f)
            throw new ArgumentException(
                "top-k log-probabilities need temperature 1: apply τ in the producer before taking the top-k");
        if (processing.Method == TruncationMethod.Sampled)
            throw new ArgumentException("sampled truncation needs full logits (payload kind 2)");
    }

    /// <summary>The random stream of a position for the sampled method: one per position of the store.</summary>
    public static ulong RandomStream(ulong sequence, int position) => sequence * 65536 + (ulong)position;

    /// <summary>Starts a sequence.</summary>
    public void Begin() => _builder.Clear();

    /// <summary>
    /// Checks one top-k position record: ids below the vocabulary size and distinct, log-probabilities finite and at most
    /// 0, their mass at most 1 + <see cref="ProcessingOptions.SuppliedMassTolerance"/>. Returns the mass, which
    /// <see cref="AddTopK"/> takes.
    /// </summary>
    /// <exception cref="RecordValueException">The first value at fault, ids before log-probabilities.</exception>
    public double CheckTopK(ReadOnlySpan<int> ids, ReadOnlySpan<float> logprobs)
    {
        if (ids.Length != logprobs.Length) throw new ArgumentException($"{ids.Length} ids with {logprobs.Length} log-probabilities");
        _seen.Clear();
        for (int j = 0; j < ids.Length; j++)
        {
            uint id = (uint)ids[j];
            if (id >= _vocabSize)
                throw new RecordValueException(RecordField.Id, j, $"id {id} is not below the vocabulary size {_vocabSize}");
            if (!_seen.Add(ids[j])) throw new RecordValueException(RecordField.Id, j, $"id {id} appears twice in one position");
        }
        double mass = 0;
        for (int j = 0; j < logprobs.Length; j++)
        {
            float lp = logprobs[j];
            if (!float.IsFinite(lp) || lp > LogProbTolerance)
                throw new RecordValueException(RecordField.LogProb, j, $"log-probability {lp} is not a finite value <= 0");
            mass += Math.Exp(lp);
        }
        if (mass > 1 + ProcessingOptions.SuppliedMassTolerance)
            throw new RecordValueException(
                RecordField.Mass, 0,
                $"log-probabilities give a mass of {mass:G6}, more than 1 + {ProcessingOptions.SuppliedMassTolerance}");
        return mass;
    }

    /// <summary>
    /// Processes one checked top-k position: the supplied entries are the only candidates, and the mass not supplied,
    /// 1 − <paramref name="mass"/>, is dropped mass (stream-protocol.md 3).
    /// </summary>
    public void AddTopK(int token, ReadOnlySpan<int> ids, ReadOnlySpan<float> logprobs, double mass, ulong sequence, int position)
    {
        EnsureKept(_processor.MaxKept(ids.Length));
        double outside = Math.Clamp(1 - mass, 0, 0.999999);
        var (kept, residual) = _processor.Process(ids, logprobs, outside, _keptIds, _keptProbs, RandomStream(sequence, position));
        _builder.AddPosition(token, _keptIds.AsSpan(0, kept), _keptProbs.AsSpan(0, kept), residual);
    }

    /// <summary>Checks one full-logits position record: every logit finite.</summary>
    /// <exception cref="RecordValueException">The first logit that is not finite.</exception>
    public static void CheckLogits(ReadOnlySpan<float> logits)
    {
        // x · 0 is 0 for every finite x and NaN for NaN and ±∞, so one vector sum finds any of them.
        var poisoned = Vector<float>.Zero;
        int j = 0;
        for (; j + Vector<float>.Count <= logits.Length; j += Vector<float>.Count)
            poisoned += new Vector<float>(logits[j..]) * Vector<float>.Zero;
        bool clean = Vector.EqualsAll(poisoned, Vector<float>.Zero);
        for (int i = clean ? j : 0; i < logits.Length; i++)
            if (!float.IsFinite(logits[i]))
                throw new RecordValueException(RecordField.Logit, i, $"logit {logits[i]} of id {i} is not finite");
    }

    /// <summary>Processes one checked full-logits position (the vocabulary's logits) by the store's processing.</summary>
    public void AddLogits(int token, ReadOnlySpan<float> logits, ulong sequence, int position)
    {
        EnsureKept(_processor.MaxKept(logits.Length));
        var (kept, residual) = _processor.ProcessDense(logits, _keptIds, _keptProbs, RandomStream(sequence, position));
        _builder.AddPosition(token, _keptIds.AsSpan(0, kept), _keptProbs.AsSpan(0, kept), residual);
    }

    /// <summary>The sequence of the positions added since <see cref="Begin"/>.</summary>
    public SparseSequence Build() => _builder.Build();

    private void EnsureKept(int most)
    {
        if (_keptIds.Length >= most) return;
        _keptIds = new int[most];
        _keptProbs = new float[most];
    }
}
