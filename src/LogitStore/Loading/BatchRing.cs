using System.Collections.Concurrent;
using LogitStore.Format;

namespace LogitStore.Loading;

/// <summary>
/// Worker threads that fill a ring of batch buffers ahead of the trainer and hand the batches out in step order, with
/// back-pressure: a worker claims the next step only when a buffer is free, so workers stop when every buffer is
/// waiting for the trainer. What a step holds is the plan's and the assembler's business (<see cref="StepFiller"/>).
/// </summary>
internal sealed class BatchRing : IDisposable
{
    private readonly BatchPlan _plan;
    private readonly BatchAssembler _assembler;
    private readonly SemaphoreSlim _freeCount;
    private readonly ConcurrentQueue<Batch> _free = new();
    private readonly Batch?[] _ready;
    private readonly object _gate = new();
    private readonly Thread[] _workers;
    private readonly long[] _workerAllocated;
    private readonly long[] _workerBatches;
    private readonly CancellationTokenSource _stop = new();
    private long _nextToClaim;
    private long _nextToHand;

    /// <summary>Starts <paramref name="workers"/> threads filling steps from <paramref name="startStep"/> into the slots.</summary>
    public BatchRing(BatchPlan plan, BatchAssembler assembler, IReadOnlyList<BatchMemory> slots, int workers, long startStep)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(slots.Count, 1);
        _plan = plan;
        _assembler = assembler;
        foreach (var memory in slots) _free.Enqueue(new Batch(memory));
        _freeCount = new SemaphoreSlim(slots.Count, slots.Count);
        _ready = new Batch?[slots.Count];
        _nextToClaim = _nextToHand = startStep;
        _workers = new Thread[workers];
        _workerAllocated = new long[workers];
        _workerBatches = new long[workers];
        for (int w = 0; w < _workers.Length; w++)
        {
            _workers[w] = new Thread(WorkerLoop) { IsBackground = true, Name = $"logitstore-loader-{w}" };
            _workers[w].Start(w);
        }
    }

    /// <summary>Managed bytes the workers have allocated since each filled its first batch (see BatchLoader's).</summary>
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
    public string WorkerAllocationReport =>
        string.Join(", ", _workerAllocated.Select((_, w) =>
            $"worker {w}: {Volatile.Read(ref _workerAllocated[w])} bytes over {Volatile.Read(ref _workerBatches[w])} batches"));

    /// <summary>The next batch in step order; blocks until a worker has it. Throws the worker's error for a batch that failed.</summary>
    public Batch Next(CancellationToken ct)
    {
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
            // The step is read before the buffer goes back: a worker may claim it for a later step at once.
            long step = b.Step;
            b.Fault = null;
            Release(b);
            throw fault switch
            {
                StoreCorruptException sc => new StoreCorruptException(sc.File, sc.Offset, $"batch {step}: {sc.Problem}"),
                IOException io => new IOException($"batch {step}: {io.Message}", io),
                _ => new InvalidOperationException($"batch {step} failed: {fault.Message}", fault),
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
        var filler = new StepFiller(_plan, _assembler);
        var token = _stop.Token;
        try
        {
            while (true)
            {
                _freeCount.Wait(token);
                if (!_free.TryDequeue(out var batch)) throw new InvalidOperationException("loader ring out of sync");
                long step = Interlocked.Increment(ref _nextToClaim) - 1;
                batch.Step = step;
                batch.Epoch = (int)(step / _plan.StepsPerEpoch);
                try
                {
                    batch.EscapeCount = filler.Fill(step, batch.Memory, batch.RowSequence, batch.RowOffset);
                }
                // An I/O error (a failing disk) fails this batch like damage does: thrown on, it would end the process.
                catch (Exception ex) when (ex is StoreCorruptException or IOException or InvalidOperationException or ArgumentException)
                {
                    batch.Fault = ex;
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

    public void Dispose()
    {
        _stop.Cancel();
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var w in _workers) w.Join();
        _stop.Dispose();
        _freeCount.Dispose();
    }
}
