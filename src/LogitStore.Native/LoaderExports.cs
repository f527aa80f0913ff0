using System.Runtime.InteropServices;
using LogitStore.Loading;

namespace LogitStore.Native;

/// <summary>
/// A loader's plan and fill over an open store: which rows a step holds, and each step decoded straight into
/// caller-owned buffers on the calling thread. No threads of its own: the caller's ring (Python's) runs them.
/// </summary>
internal static unsafe class LoaderExports
{
    /// <summary>A loader behind a C handle, with the store it keeps open.</summary>
    private sealed class LoaderHandle(StoreHandle store, BatchLoader loader)
    {
        public StoreHandle Store { get; } = store;
        public BatchLoader Loader { get; } = loader;

        /// <summary>The batch memory of the caller's most recent buffer sets (a ring of them, typically).</summary>
        public NativeSpans.RecentCallerMemory RecentCallerMemory { get; } = new();

        /// <summary>The plan export's scratch, one caller at a time (it is no hot path).</summary>
        public Lock PlanLock { get; } = new();
        public EpochOrder PlanOrder { get; } = loader.Plan.NewEpochOrder();
        public PlannedRow[] PlannedRows { get; } = new PlannedRow[loader.Plan.BatchSize];
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_create")]
    public static int Create(nint store, LoaderOptionsAbi* options, nint* loader)
    {
        try
        {
            if (options is null || loader is null) throw new ArgumentException("a null options or result pointer");
            if (options->StructSize != sizeof(LoaderOptionsAbi))
                throw new ArgumentException(
                    $"logitstore_loader_options of {options->StructSize} bytes; this library's has {sizeof(LoaderOptionsAbi)}");
            var s = NativeSpans.Target<StoreHandle>(store);
            var o = new BatchLoaderOptions
            {
                BatchSize = options->BatchSize,
                SequenceLength = options->SequenceLength,
                Width = options->Width,
                Shuffle = options->Shuffle != 0,
                SkipDamagedBlocks = options->SkipDamagedBlocks != 0,
                Seed = options->Seed,
                Rank = options->Rank,
                WorldSize = options->WorldSize,
                Workers = 0,
            };
            s.AddUser();
            try
            {
                var created = new BatchLoader(s.Reader, o);
                *loader = GCHandle.ToIntPtr(GCHandle.Alloc(new LoaderHandle(s, created)));
            }
            catch
            {
                s.RemoveUser();
                throw;
            }
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_steps_per_epoch")]
    public static int StepsPerEpoch(nint loader, long* steps)
    {
        try
        {
            if (steps is null) throw new ArgumentException("a null result pointer");
            *steps = NativeSpans.Target<LoaderHandle>(loader).Loader.StepsPerEpoch;
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Makes decode scratch for that many threads filling at once, so that none is made in steady state.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_reserve_callers")]
    public static int ReserveCallers(nint loader, int callers)
    {
        try
        {
            NativeSpans.Target<LoaderHandle>(loader).Loader.ReserveCallers(callers);
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>
    /// Step <paramref name="step"/>'s plan: for each batch row, the global block and the row of it (sequence by sequence,
    /// ⌊L / T⌋ rows each) it comes from; the first batch-size entries of the two arrays are written.
    /// </summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_plan")]
    public static int Plan(nint loader, long step, int* blocks, int* rows, int count)
    {
        try
        {
            var l = NativeSpans.Target<LoaderHandle>(loader);
            var plan = l.Loader.Plan;
            if (count < plan.BatchSize) throw new ArgumentException($"room for {count} rows, fewer than the batch's {plan.BatchSize}");
            var blockOf = NativeSpans.Of(blocks, count);
            var rowOf = NativeSpans.Of(rows, count);
            lock (l.PlanLock)
            {
                plan.RowsOf(step, l.PlannedRows, l.PlanOrder);
                for (int r = 0; r < plan.BatchSize; r++) (blockOf[r], rowOf[r]) = (l.PlannedRows[r].Block, l.PlannedRows[r].Row);
            }
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Assembles step <paramref name="step"/> on the calling thread, decoding into the caller's buffers.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_fill")]
    public static int Fill(nint loader, long step, BatchBuffersAbi* buffers)
    {
        try
        {
            var l = NativeSpans.Target<LoaderHandle>(loader);
            var memory = NativeSpans.Batch(buffers, l.Loader.Layout, l.RecentCallerMemory);
            l.Loader.FillInto(step, memory, memory.RowSequence, memory.RowOffset);
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_close")]
    public static void Close(nint loader)
    {
        if (loader == 0) return;
        var handle = GCHandle.FromIntPtr(loader);
        if (handle.Target is LoaderHandle l)
        {
            l.Loader.Dispose();
            l.Store.RemoveUser();
        }
        handle.Free();
    }
}
