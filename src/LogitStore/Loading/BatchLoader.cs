using System.Numerics;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Codecs;

namespace LogitStore.Loading;

/// <summary>
/// Feeds training: batches of B rows × T positions in the dense layout of <see cref="Batch"/>, assembled by worker
/// threads that read and decode blocks straight into the ring's pinned buffers, in step order, with
/// back-pressure (workers stop when every ring buffer is waiting for the trainer). Order is a pure function of
/// (options, step): blocks in a seeded order per epoch, rows in a seeded order inside each block, ranks taking
/// disjoint blocks; so a run resumes exactly from a step number, and every rank sees the same number of steps
/// per epoch. No managed allocation per batch in steady state (buffers, decode scratch and plans are reused).
/// </summary>
public sealed class BatchLoader : IDisposable
{
    private readonly StoreReader _store;
    private readonly BatchLoaderOptions _o;
    private readonly int _windowsPerSequence;
    private readonly int[] _rowsInBlock;
    private readonly RankSplit _split;
    private readonly SemaphoreSlim _freeCount;
    private readonly System.Collections.Concurrent.ConcurrentQueue<Batch> _free = new();
    private readonly Batch?[] _ready;
    private readonly object _gate = new();
    private readonly Thread[] _workers;
    private readonly long[] _workerAllocated;
    private readonly long[] _workerBatches;
    private readonly (int Sequences, int Positions, int Entries, int Bytes) _largestBlock;
    private const uint ReserveBound = 1 << 24;
    private const long EagerReserveBytes = 1 << 26;
    private readonly CancellationTokenSource _stop = new();
    private readonly EpochPlan[] _plans;
    private readonly int[] _blockOrder;
    // Decode scratch of FillInto's callers: a queue (no per-thread structures, unlike a bag), grown to the most callers
    // seen at once, or up front by ReserveCallers so that no caller ever creates one in steady state.
    private readonly System.Collections.Concurrent.ConcurrentQueue<FillScratch> _callerScratch = new();
    private int _callerScratchCount;
    private long _nextToClaim;
    private long _nextToHand;
    private readonly Codecs.Mvq.MvqCodebooks? _codebooks;
    private readonly (int Codes, int Positions, int Entries, int Kept)? _mvqReserve;

    public BatchLoader(StoreReader store, BatchLoaderOptions options)
    {
        options.Validate();
        if (options.ResumeFrom is { } resume)
        {
            resume.CheckStore(Reading.CorpusFingerprint.Fingerprint(store), store.Directory);
            options = options with { StartStep = resume.Step };
        }
        _store = store;
        _o = options;
        int length = store.SequenceLength;
        _rowsInBlock = new int[store.BlockCount];
        SequenceLengthInStore = length;
        _windowsPerSequence = length / options.SequenceLength;
        if (_windowsPerSequence == 0)
            throw new ArgumentException($"rows of {options.SequenceLength} positions do not fit sequences of {length}");
        for (int b = 0; b < store.BlockCount; b++)
        {
            var e = store.BlockEntry(b);
            _rowsInBlock[b] = options.SkipDamagedBlocks && store.IsDamaged(b) ? 0 : (int)e.SequenceCount * _windowsPerSequence;
            // Reserved up front per worker, up to a bound a damaged index cannot push into an out-of-memory (larger blocks
            // grow on demand).
            _largestBlock = ((int)Math.Min(ReserveBound, Math.Max(_largestBlock.Sequences, e.SequenceCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Positions, e.PositionCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Entries, e.EntryCount)),
                (int)Math.Min(ReserveBound, Math.Max(_largestBlock.Bytes, e.BlockLength)));
        }
        // Reserved eagerly only up to a bound that a damaged index cannot push into an out-of-memory (beyond it, on demand).
        if (store.Dictionaries.AllCodebooks.Select(b => b.M).DefaultIfEmpty(0).Max() is var m and > 0
            && (long)_largestBlock.Positions * m <= EagerReserveBytes && _largestBlock.Entries <= EagerReserveBytes)
            _mvqReserve = (_largestBlock.Positions * m, _largestBlock.Positions, _largestBlock.Entries,
                Math.Min(store.MaxEntriesPerPosition ?? _largestBlock.Entries, _largestBlock.Entries));
        SkippedBlocks = options.SkipDamagedBlocks ? Enumerable.Range(0, store.BlockCount).Count(store.IsDamaged) : 0;
        StepsPerEpoch = ComputeStepsPerEpoch();
        if (StepsPerEpoch == 0)
            throw new ArgumentException($"rank {options.Rank} of {options.WorldSize} gets fewer than {options.BatchSize} rows per epoch");

        _split = new RankSplit(options.Rank, options.WorldSize);
        int blocksOfRank = _split.CountOf(store.BlockCount);
        _plans = new EpochPlan[options.RingSize + 1];
        for (int i = 0; i < _plans.Length; i++) _plans[i] = new EpochPlan(blocksOfRank);
        _blockOrder = new int[store.BlockCount];
        _freeCount = new SemaphoreSlim(options.RingSize, options.RingSize);
        Layout = new BatchLayout(options.BatchSize, options.SequenceLength, options.Width, options.IndexType);
        if (options.Values == BlockValues.MvqCodes)
        {
            _codebooks = store.Dictionaries.AllCodebooks.ToList() is [var books] ? books
                : throw new ArgumentException($"{store.Directory}: mvq codes travel from a store with one codebook set " +
                    $"(this one has {store.Dictionaries.AllCodebooks.Count()})");
            if (store.MaxEntriesPerPosition is not int most || most > options.Width)
                throw new ArgumentException($"mvq codes need K >= the store's most entries per position " +
                    $"({store.MaxEntriesPerPosition?.ToString() ?? "unbounded"}), not {options.Width}");
            Layout = Layout with { MvqCodebooks = _codebooks.M };
        }
        var layout = Layout;
        for (int i = 0; i < (options.Workers > 0 ? options.RingSize : 0); i++)
        {
            var memory = options.Memory?.Invoke(layout) ?? new PinnedArrayBatchMemory(layout);
            if (memory.Layout != layout)
                throw new ArgumentException($"the batch memory has layout {memory.Layout}, the loader needs {layout}");
            CheckFits(memory);
            _free.Enqueue(new Batch(memory));
        }
        _ready = new Batch?[options.RingSize];
        _nextToClaim = _nextToHand = options.StartStep;
        _workers = new Thread[options.Workers];
        _workerAllocated = new long[options.Workers];
        _workerBatches = new long[options.Workers];
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new Thread(WorkerLoop) { IsBackground = true, Name = $"logitstore-loader-{w}" };
            _workers[w].Start(w);
        }
    }

    public int SequenceLengthInStore { get; }

    /// <summary>The shape and column types of every batch.</summary>
    public BatchLayout Layout { get; }

    /// <summary>What a checkpoint records to resume at <paramref name="nextStep"/> against this same store.</summary>
    public LoaderResumeState ResumeState(long nextStep) => new(nextStep, _fingerprint ??= Reading.CorpusFingerprint.Fingerprint(_store));

    private StoreFingerprint? _fingerprint;

    /// <summary>Batches per epoch for this rank (the same for every rank: the smallest any rank can fill).</summary>
    public long StepsPerEpoch { get; }

    /// <summary>Blocks left out because they lie in damaged shards (<see cref="BatchLoaderOptions.SkipDamagedBlocks"/>).</summary>
    public int SkippedBlocks { get; }

    /// <summary>
    /// Managed bytes the worker threads have allocated since each filled its first batch (GC.GetAllocatedBytesForCurrentThread,
    /// sampled after each batch they fill): flat once buffers, decode scratch and codecs have grown.
    /// </summary>
    public long WorkerAllocatedBytes
    {
        get
        {
            long sum = 0;
            for (int w = 0; w < _workerAllocated.Length; w++) sum += Volatile.Read(ref _workerAllocated[w]);
            return sum;
        }
    }

    /// <summary>Each worker's allocated bytes (since its first batch) and batches filled, for a test that finds allocation.</summary>
    internal string WorkerAllocationReport =>
        string.Join(", ", _workerAllocated.Select((_, w) =>
            $"worker {w}: {Volatile.Read(ref _workerAllocated[w])} bytes over {Volatile.Read(ref _workerBatches[w])} batches"));

    /// <summary>The next batch in step order; blocks until a worker has it. Throws the worker's error for a batch that failed.</summary>
    public Batch Next(CancellationToken ct = default)
    {
        if (_workers.Length == 0) throw new InvalidOperationException("a loader without workers assembles through FillInto");
        Batch b;
        lock (_gate)
        {
            int slot = (int)(_nextToHand % _ready.Length);
            while (_ready[slot] is not { } r || r.Step != _nextToHand)
            {
                ct.ThrowIfCancellationRequested();
                _stop.Token.ThrowIfCancellationRequested();
                Monitor.Wait(_gate, 100);
            }
            b = _ready[slot]!;
            _ready[slot] = null;
            _nextToHand++;
        }
        if (b.Fault is { } fault)
        {
            b.Fault = null;
            Release(b);
            throw fault switch
            {
                StoreCorruptException sc => new StoreCorruptException(sc.File, sc.Offset, $"batch {b.Step}: {sc.Problem}"),
                IOException io => new IOException($"batch {b.Step}: {io.Message}", io),
                _ => new InvalidOperationException($"batch {b.Step} failed: {fault.Message}", fault),
            };
        }
        return b;
    }

    /// <summary>Hands a batch's buffers back to the ring.</summary>
    public void Release(Batch batch)
    {
        _free.Enqueue(batch);
        _freeCount.Release();
    }

    private void WorkerLoop(object? index)
    {
        int w = (int)index!;
        long allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
        var scratch = NewScratch();
        var token = _stop.Token;
        try
        {
            while (true)
            {
                _freeCount.Wait(token);
                if (!_free.TryDequeue(out var batch)) throw new InvalidOperationException("loader ring out of sync");
                long step = Interlocked.Increment(ref _nextToClaim) - 1;
                batch.Step = step;
                batch.Epoch = (int)(step / StepsPerEpoch);
                try
                {
                    batch.EscapeCount = Fill(step, batch.Memory, batch.RowSequence, batch.RowOffset, scratch);
                }
                // An I/O error (a failing disk) fails this batch like damage does: thrown on, it would end the process.
                catch (Exception ex) when (ex is StoreCorruptException or IOException or InvalidOperationException or ArgumentException)
                {
                    batch.Fault = ex;
                    scratch.CachedBlock = -1;
                }
                // Counted from the end of the worker's first batch: what a thread makes once (its thread-static storage, its
                // decode buffers) comes then, and a worker the scheduler kept waiting may fill its first batch late.
                if (_workerBatches[w] == 0) allocatedAtStart = GC.GetAllocatedBytesForCurrentThread();
                Volatile.Write(ref _workerAllocated[w], GC.GetAllocatedBytesForCurrentThread() - allocatedAtStart);
                Volatile.Write(ref _workerBatches[w], _workerBatches[w] + 1);
                lock (_gate)
                {
                    _ready[(int)(step % _ready.Length)] = batch;
                    Monitor.PulseAll(_gate);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>
    /// Assembles step <paramref name="step"/>'s batch on the calling thread, decoding straight into caller-owned memory
    /// of this loader's <see cref="Layout"/>: the same rows, in the same order, as <see cref="Next"/> hands out for that
    /// step, each row's sequence id and first position written to <paramref name="rowSequence"/> and
    /// <paramref name="rowOffset"/>. Any number of threads may call it at once (each takes its own decode scratch); it
    /// throws the <see cref="StoreCorruptException"/> of a damaged block. Returns the escaped positions listed (mvq
    /// codes; 0 otherwise).
    /// </summary>
    public int FillInto(long step, BatchMemory destination, Span<ulong> rowSequence, Span<int> rowOffset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(step);
        if (step / StepsPerEpoch > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(step), step, $"epoch {step / StepsPerEpoch} is past the last ({int.MaxValue})");
        CheckFits(destination);
        if (rowSequence.Length < _o.BatchSize || rowOffset.Length < _o.BatchSize)
            throw new ArgumentException($"row spans of {rowSequence.Length} and {rowOffset.Length}, fewer than {_o.BatchSize} rows");
        if (!_callerScratch.TryDequeue(out var scratch))
        {
            scratch = NewScratch();
            Interlocked.Increment(ref _callerScratchCount);
        }
        try
        {
            return Fill(step, destination, rowSequence, rowOffset, scratch);
        }
        catch
        {
            scratch.CachedBlock = -1;
            throw;
        }
        finally
        {
            _callerScratch.Enqueue(scratch);
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
        lock (_callerScratch)
            while (Volatile.Read(ref _callerScratchCount) < callers)
            {
                _callerScratch.Enqueue(NewScratch());
                Interlocked.Increment(ref _callerScratchCount);
            }
    }

    private void CheckFits(BatchMemory memory)
    {
        if (memory.Layout != Layout)
            throw new ArgumentException($"the batch memory has layout {memory.Layout}, the loader needs {Layout}");
        foreach (var c in BatchLayout.Columns)
            if (memory.Column(c).Length != Layout.Bytes(c))
                throw new ArgumentException($"the batch memory's {c} column has {memory.Column(c).Length} bytes, not {Layout.Bytes(c)}");
    }

    /// <summary>One assembling thread's decode buffers, the block they hold, and a block's row order.</summary>
    private sealed class FillScratch(DecodedBlock decoded, int rowsPerBlock)
    {
        public readonly DecodedBlock Decoded = decoded;
        public readonly int[] RowOrder = new int[rowsPerBlock];
        public int CachedBlock = -1;
    }

    private FillScratch NewScratch()
    {
        var decoded = new DecodedBlock();
        decoded.Reserve(_largestBlock.Sequences, _largestBlock.Positions, _largestBlock.Entries, _largestBlock.Bytes);
        return new FillScratch(decoded, _rowsInBlock.Max());
    }

    /// <summary>Step <paramref name="step"/>'s rows into <paramref name="memory"/>; returns the escaped positions listed.</summary>
    private int Fill(long step, BatchMemory memory, Span<ulong> rowSequence, Span<int> rowOffset, FillScratch scratch)
    {
        // The mvq decoder's buffers are the thread's: grown here to the largest block at once (a no-op after a thread's
        // first fill), not block by block as they come, so that which blocks a thread meets first does not matter.
        if (_mvqReserve is var (codes, positions, entries, kept)) Codecs.MvqValueCodec.ReserveThread(codes, positions, entries, kept);
        int epoch = (int)(step / StepsPerEpoch);
        var plan = Plan(epoch);
        long first = (step % StepsPerEpoch) * _o.BatchSize;
        int planBlockOfRowOrder = -1, escapes = 0;
        for (int r = 0; r < _o.BatchSize; r++)
        {
            long row = first + r;
            int i = Array.BinarySearch(plan.RowStart, row);
            if (i < 0) i = ~i - 1;
            while (i + 1 < plan.RowStart.Length && plan.RowStart[i + 1] <= row) i++; // past skipped (empty) blocks
            int block = plan.Blocks[i];
            int rowInBlock = (int)(row - plan.RowStart[i]);
            var decoded = scratch.Decoded;
            if (block != scratch.CachedBlock)
            {
                scratch.CachedBlock = -1;
                _store.ReadBlock(block, decoded, _o.Values);
                if (_codebooks is not null && decoded.MvqCodebooks?.Ref != _codebooks.Ref)
                    throw new InvalidOperationException($"block {block} is coded with another codebook set");
                scratch.CachedBlock = block;
            }
            if (planBlockOfRowOrder != i)
            {
                RowPermutation(scratch.RowOrder.AsSpan(0, _rowsInBlock[block]), epoch, block);
                planBlockOfRowOrder = i;
            }
            int q = scratch.RowOrder[rowInBlock];
            int seqInBlock = q / _windowsPerSequence, offset = q % _windowsPerSequence * _o.SequenceLength;
            rowSequence[r] = decoded.Sequence(seqInBlock).Id;
            rowOffset[r] = offset;
            if (_o.IndexType == BatchIndexType.Int64) CopyRow<long>(decoded, seqInBlock, offset, memory, r);
            else CopyRow<int>(decoded, seqInBlock, offset, memory, r);
            if (_codebooks is not null)
                escapes = _o.IndexType == BatchIndexType.Int64
                    ? CopyCodes<long>(decoded, seqInBlock, offset, memory, r, escapes)
                    : CopyCodes<int>(decoded, seqInBlock, offset, memory, r, escapes);
        }
        return escapes;
    }

    /// <summary>
    /// Row r of the batch ← positions [offset, offset + T) of the block's sequence, index columns written as
    /// <typeparamref name="TIndex"/>; entries beyond K folded into the residual.
    /// </summary>
    private void CopyRow<TIndex>(DecodedBlock block, int seqInBlock, int offset, BatchMemory memory, int r)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        var view = block.Sequence(seqInBlock);
        int t0 = r * _o.SequenceLength, k = _o.Width;
        var tokens = memory.Column<TIndex>(BatchColumn.Tokens);
        var allIds = memory.Column<TIndex>(BatchColumn.Ids);
        var counts = memory.Column<TIndex>(BatchColumn.KeptCounts);
        var allProbs = memory.Column<float>(BatchColumn.Probs);
        var residuals = memory.Column<float>(BatchColumn.Residual);
        Widen(view.Tokens.Slice(offset, _o.SequenceLength), tokens.Slice(t0, _o.SequenceLength));
        for (int t = 0; t < _o.SequenceLength; t++)
        {
            var ids = view.IdsAt(offset + t);
            var probs = view.ProbsAt(offset + t);
            int n = Math.Min(ids.Length, k);
            var dIds = allIds.Slice((t0 + t) * k, k);
            var dProbs = _codebooks is null ? allProbs.Slice((t0 + t) * k, k) : default;
            Widen(ids[..n], dIds);
            dIds[n..].Clear();
            float residual = view.Residual[offset + t];
            counts[t0 + t] = TIndex.CreateTruncating(n);
            if (_codebooks is not null)
            {
                residuals[t0 + t] = residual;
                continue;
            }
            probs[..n].CopyTo(dProbs);
            dProbs[n..].Clear();
            if (ids.Length > k)
            {
                // Spec 6.1 mass bookkeeping: the dropped entries' share moves to the residual, the kept K renormalise.
                float kept = 0;
                foreach (float p in dProbs) kept += p;
                if (kept > 0)
                {
                    float inv = 1f / kept;
                    for (int j = 0; j < n; j++) dProbs[j] *= inv;
                }
                residual = 1f - (1f - residual) * kept;
            }
            residuals[t0 + t] = residual;
        }
    }

    /// <summary>
    /// Row r's mvq codes [T, M], and its escaped positions appended to the batch's escape list after the
    /// <paramref name="escapes"/> already there; returns the new length of the list.
    /// </summary>
    private int CopyCodes<TIndex>(DecodedBlock block, int seqInBlock, int offset, BatchMemory memory, int r, int escapes)
        where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        int m = _codebooks!.M, k = _o.Width, length = _o.SequenceLength, first = block.SequenceStart[seqInBlock] + offset;
        block.MvqCodes.AsSpan(first * m, length * m).CopyTo(memory.Column(BatchColumn.MvqCodes).Slice(r * length * m, length * m));
        var escapePositions = memory.Column<TIndex>(BatchColumn.EscapePositions);
        var escapeCodes = memory.Column(BatchColumn.EscapeCodes);
        for (int t = 0; t < length; t++)
        {
            int p = first + t;
            if (block.MvqEscaped[p] == 0) continue;
            int row = escapes++, n = block.KeptCounts[p];
            escapePositions[row] = TIndex.CreateTruncating(r * length + t);
            var dest = escapeCodes.Slice(row * k, k);
            block.EscapeCodes.AsSpan(block.EntryStart[p], n).CopyTo(dest);
            dest[n..].Clear();
        }
        return escapes;
    }

    private static void Widen<TIndex>(ReadOnlySpan<int> source, Span<TIndex> destination) where TIndex : unmanaged, IBinaryInteger<TIndex>
    {
        if (typeof(TIndex) == typeof(int))
        {
            source.CopyTo(System.Runtime.InteropServices.MemoryMarshal.Cast<TIndex, int>(destination));
            return;
        }
        for (int i = 0; i < source.Length; i++) destination[i] = TIndex.CreateTruncating(source[i]);
    }

    /// <summary>This rank's blocks for an epoch (seeded order, every world-size-th) and where each block's rows start.</summary>
    private sealed class EpochPlan(int blocks)
    {
        public int Epoch = -1;
        public readonly int[] Blocks = new int[blocks];
        public readonly long[] RowStart = new long[blocks];
    }

    /// <summary>
    /// The plan of <paramref name="epoch"/>, built into slot epoch mod (ring size + 1). Batches being filled are at most
    /// ring-size consecutive steps, so they span at most ring-size epochs and no slot is rebuilt while a worker reads it.
    /// </summary>
    private EpochPlan Plan(int epoch)
    {
        lock (_plans)
        {
            var p = _plans[epoch % _plans.Length];
            if (p.Epoch == epoch) return p;
            int n = _store.BlockCount;
            var order = _blockOrder;
            for (int i = 0; i < n; i++) order[i] = i;
            if (_o.Shuffle)
            {
                var rng = new SplitMix64(_o.Seed, 0xB10C_0000UL + (ulong)epoch);
                for (int i = n - 1; i > 0; i--)
                {
                    int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
                    (order[i], order[j]) = (order[j], order[i]);
                }
            }
            long acc = 0;
            for (int m = 0; m < _split.CountOf(n); m++)
            {
                int i = _split.PlaceOf(m);
                p.Blocks[m] = order[i];
                p.RowStart[m] = acc;
                acc += _rowsInBlock[order[i]];
            }
            p.Epoch = epoch;
            return p;
        }
    }

    private void RowPermutation(Span<int> order, int epoch, int block)
    {
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!_o.Shuffle) return;
        var rng = new SplitMix64(_o.Seed ^ 0x5EED_0F_0A7AUL, ((ulong)epoch << 32) | (uint)block);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>The fewest rows any rank can get in any epoch, in whole batches.</summary>
    private long ComputeStepsPerEpoch()
    {
        int n = _rowsInBlock.Length;
        int full = _rowsInBlock.Max(), last = _rowsInBlock[^1], skipped = _rowsInBlock.Count(r => r == 0);
        int blocksPerRank = n / _o.WorldSize;
        long minRows = (long)(blocksPerRank - skipped) * full - (last < full ? full - last : 0);
        return Math.Max(0, minRows) / _o.BatchSize;
    }

    public void Dispose()
    {
        _stop.Cancel();
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var w in _workers) w.Join();
        _stop.Dispose();
        _freeCount.Dispose();
    }
}
