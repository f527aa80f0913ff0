using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;

namespace LogitStore.Fidelity;

/// <summary>Where reference distributions come from, sequence by sequence.</summary>
public interface IReferenceSource : IDisposable
{
    /// <summary>What the reference is, for reports ("untruncated synthetic teacher", "store /x").</summary>
    string Description { get; }

    /// <summary>The reference for global sequence <paramref name="sequence"/> of <paramref name="length"/> positions.</summary>
    SparseSequence Sequence(ulong sequence, int length);
}

/// <summary>Another store holding the same sequences (e.g. packed with --values f32 or --method full).</summary>
public sealed class StoreReference(string directory) : IReferenceSource
{
    private readonly StoreReader _reader = StoreReader.Open(directory);
    private readonly ThreadLocal<DecodedBlock> _scratch = new(() => new DecodedBlock());

    public string Description { get; } = $"store {directory}";

    public SparseSequence Sequence(ulong sequence, int length) => _reader.ReadSequence(sequence, _scratch.Value!).ToSparseSequence();

    public void Dispose()
    {
        _reader.Dispose();
        _scratch.Dispose();
    }
}

/// <summary>
/// The synthetic teacher regenerated from a store's manifest: with the store's own processing (the truncated
/// reference, what a lossless store would hold) or untruncated (every explicit logit of the teacher, the
/// analytic tail as residual).
/// </summary>
internal sealed class SyntheticReference : IReferenceSource
{
    private readonly SyntheticTeacher _teacher;
    private readonly ThreadLocal<(LogitsProcessor, SyntheticTeacher.Workspace)> _perThread;

    public SyntheticReference(SyntheticSource source, ProcessingOptions storeProcessing, bool untruncated)
    {
        _teacher = new SyntheticTeacher(source.VocabSize, source.Seed, source.Head);
        var processing = untruncated
            ? new ProcessingOptions { Method = TruncationMethod.Full, Temperature = storeProcessing.Temperature }
            : storeProcessing;
        _perThread = new(() =>
        {
            var proc = new LogitsProcessor(processing);
            return (proc, new SyntheticTeacher.Workspace(_teacher.Head, proc.MaxKept(_teacher.Head)));
        });
        Description = untruncated
            ? $"untruncated synthetic teacher (all {source.Head} explicit logits + analytic tail, τ = {storeProcessing.Temperature})"
            : $"synthetic teacher through the store's own processing ({ProcessingOptions.MethodName(storeProcessing.Method)})";
    }

    public string Description { get; }

    public SparseSequence Sequence(ulong sequence, int length)
    {
        var (proc, ws) = _perThread.Value;
        return _teacher.Generate(sequence, length, proc, ws);
    }

    public void Dispose() => _perThread.Dispose();
}
