using System.Runtime.InteropServices;
using LogitStore.Loading;

namespace LogitStore.Native;

/// <summary>A batch loader over an open store that decodes each step straight into caller-owned buffers.</summary>
internal static unsafe class LoaderExports
{
    /// <summary>A loader behind a C handle, with the store it keeps open.</summary>
    private sealed class LoaderHandle(StoreHandle store, BatchLoader loader, BatchLoaderOptions options)
    {
        public StoreHandle Store { get; } = store;
        public BatchLoader Loader { get; } = loader;
        public BatchLoaderOptions Options { get; } = options;

        /// <summary>The batch memory of the caller's most recent buffer sets (a ring of them, typically).</summary>
        public NativeSpans.RecentCallerMemory RecentCallerMemory { get; } = new();
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
                StartStep = options->StartStep,
                Workers = options->Workers,
                RingSize = options->RingSize,
            };
            s.AddUser();
            try
            {
                var created = new BatchLoader(s.Reader, o);
                *loader = GCHandle.ToIntPtr(GCHandle.Alloc(new LoaderHandle(s, created, o)));
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

    /// <summary>The next batch of the loader's worker threads (workers ≥ 1), copied into the caller's buffers.</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_next")]
    public static int Next(nint loader, BatchBuffersAbi* buffers, long* step)
    {
        try
        {
            var l = NativeSpans.Target<LoaderHandle>(loader);
            var dest = NativeSpans.Batch(buffers, l.Loader.Layout, l.RecentCallerMemory);
            var batch = l.Loader.Next();
            try
            {
                foreach (var c in BatchLayout.Columns) batch.Memory.Column(c).CopyTo(dest.Column(c));
                batch.RowSequence.CopyTo(dest.RowSequence);
                batch.RowOffset.CopyTo(dest.RowOffset);
                if (step is not null) *step = batch.Step;
            }
            finally
            {
                l.Loader.Release(batch);
            }
            return NativeStatus.Succeed();
        }
        catch (Exception ex)
        {
            return NativeStatus.Fail(ex);
        }
    }

    /// <summary>Takes <paramref name="count"/> batches from the worker threads and hands them back unread (skipping ahead).</summary>
    [UnmanagedCallersOnly(EntryPoint = "logitstore_loader_discard")]
    public static int Discard(nint loader, long count)
    {
        try
        {
            var l = NativeSpans.Target<LoaderHandle>(loader);
            for (long i = 0; i < count; i++) l.Loader.Release(l.Loader.Next());
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
