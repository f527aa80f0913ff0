using System.Collections.Concurrent;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Loading;

/// <summary>
/// Feeds training: batches of B rows × T positions in the dense layout of <see cref="Batch"/>, in step order. The
/// order is the <see cref="Plan"/>'s, a pure function of (options, step), so a run resumes exactly from a step number
/// and every rank sees the same number of steps per epoch. Batches come from worker threads that decode blocks
/// straight into a ring of pinned buffers (<see cref="Next"/>, with back-pressure), or are assembled on the caller's
/// thread into the caller's memory (<see cref="FillInto"/>). No managed allocation per batch in steady state.
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly StoreReader _store;
    private readonly BatchAssembler _assembler;
    private readonly BatchRing? _ring;
    // FillInto's callers' fillers: a queue (no per-thread structures, unlike a bag), grown to the most callers seen at
    // once, or up front by ReserveCallers so that no caller ever creates one in steady state.
    private readonly ConcurrentQueue<StepFiller> _callerFillers = new();
    private int _callerFillerCount;
    private StoreFingerprint? _fingerprint;

    public BatchLoader(StoreReader store, BatchLoaderOptions options)
    {
        options.Validate();
        if (options.ResumeFrom is { } resume)
        {
            resume.CheckStore(CorpusFingerprint.Fingerprint(store), store.Directory);
            options = options with { StartStep = resume.Step };
        }
        _store = store;
        SequenceLengthInStore = store.SequenceLength;
        Plan = BatchPlan.For(store, options);
        SkippedBlocks = options.SkipDamagedBlocks ? Enumerable.Range(0, store.BlockCount).Count(store.IsDamaged) : 0;
        _assembler = new BatchAssembler(store, options);
        if (options.Workers == 0) return;
        var slots = new BatchMemory[options.RingSize];
        for (int i = 0; i < slots.Length; i++)
        {
            slots[i] = options.Memory?.Invoke(Layout) ?? new PinnedArrayBatchMemory(Layout);
            _assembler.CheckFits(slots[i]);
        }
        _ring = new BatchRing(Plan, _assembler, slots, options.Workers, options.StartStep);
    }

    public int SequenceLengthInStore { get; }

    /// <summary>Which rows go into which batch: this loader's order.</summary>
    public BatchPlan Plan { get; }

    /// <summary>The shape and column types of every batch.</summary>
    public BatchLayout Layout => _assembler.Layout;

    /// <summary>What a checkpoint records to resume at <paramref name="nextStep"/> against this same store.</summary>
    public LoaderResumeState ResumeState(long nextStep) => new(nextStep, _fingerprint ??= CorpusFingerprint.Fingerprint(_store));

    /// <summary>Batches per epoch for this rank (the same for every rank: the smallest any rank can fill).</summary>
    public long StepsPerEpoch => Plan.StepsPerEpoch;

    /// <summary>Blocks left out because they lie in damaged shards (<see cref="BatchLoaderOptions.SkipDamagedBlocks"/>).</summary>
    public int SkippedBlocks { get; }

    /// <summary>
    /// Managed bytes the worker threads have allocated since each filled its first batch (GC.GetAllocatedBytesForCurrentThread,
    /// sampled after each batch they fill): flat once buffers, decode scratch and codecs have grown.
    /// </summary>
    public long WorkerAllocatedBytes => _ring?.WorkerAllocatedBytes ?? 0;

    /// <summary>Each worker's allocated bytes (since its first batch) and batches filled, for a test that finds allocation.</summary>
    internal string WorkerAllocationReport => _ring?.WorkerAllocationReport ?? "";

    /// <summary>The next batch in step order; blocks until a worker has it. Throws the worker's error for a batch that failed.</summary>
    public Batch Next(CancellationToken ct = default) =>
        (_ring ?? throw new InvalidOperationException("a loader without workers assembles through FillInto")).Next(ct);

    /// <summary>Hands a batch's buffers back to the ring.</summary>
    public void Release(Batch batch) =>
        (_ring ?? throw new InvalidOperationException("a loader without workers hands out no batches")).Release(batch);

    /// <summary>
    /// Assembles step <paramref name="step"/>'s batch on the calling thread, decoding straight into caller-owned memory
    /// of this loader's <see cref="Layout"/>: the same rows, in the same order, as <see cref="Next"/> hands out for that
    /// step, each row's sequence id and first position written to <paramref name="rowSequence"/> and
    /// <paramref name="rowOffset"/>. Any number of threads may call it at once, for any steps (each takes its own
    /// scratch); it throws the <see cref="StoreCorruptException"/> of a damaged block. Returns the escaped positions
    /// listed (mvq codes; 0 otherwise).
    /// </summary>
    public int FillInto(long step, BatchMemory destination, Span<ulong> rowSequence, Span<int> rowOffset)
    {
        Plan.EpochOf(step);
        _assembler.CheckFits(destination);
        int rows = Layout.Rows;
        if (rowSequence.Length < rows || rowOffset.Length < rows)
            throw new ArgumentException($"row spans of {rowSequence.Length} and {rowOffset.Length}, fewer than {rows} rows");
        if (!_callerFillers.TryDequeue(out var filler))
        {
            filler = new StepFiller(Plan, _assembler);
            Interlocked.Increment(ref _callerFillerCount);
        }
        try
        {
            return filler.Fill(step, destination, rowSequence, rowOffset);
        }
        finally
        {
            _callerFillers.Enqueue(filler);
        }
    }

    /// <summary>
    /// Makes decode scratch for <paramref name="callers"/> threads calling <see cref="FillInto"/> at once now, so that none
    /// is made later: how many callers overlap for the first time is up to the scheduler, and may be long after warm-up.
    /// (A thread still makes its own thread-static storage and mvq decode buffers once, on its first call.)
    /// </summary>
    public void ReserveCallers(int callers)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(callers);
        lock (_callerFillers)
            while (Volatile.Read(ref _callerFillerCount) < callers)
            {
                _callerFillers.Enqueue(new StepFiller(Plan, _assembler));
                Interlocked.Increment(ref _callerFillerCount);
            }
    }

    public void Dispose() => _ring?.Dispose();
}
