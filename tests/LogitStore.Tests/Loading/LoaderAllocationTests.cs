using LogitStore.Codecs;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Loading;

/// <summary>
/// Counts the allocations of the threads that make and take batches only (the loader's workers and this one), so
/// tests running beside it, finalizers and the thread pool do not show up in the count.
/// </summary>
public class LoaderAllocationTests
{
    [Theory]
    [InlineData("packed", "f32")]
    [InlineData("packed", "q8")]
    [InlineData("ranked", "mvq:4")]
    public async Task SteadyState_AllocatesNothingPerBatch(string ids, string values)
    {
        string dir = TestData.TempDir();
        try
        {
            await SyntheticPack.RunAsync(dir, new SyntheticSource(40 * 64, 3000, 64, 5, 32), new ProcessingOptions { TopK = 12 },
                new CodecOptions { Ids = IdCodecSpec.Parse(ids), Values = ValueCodecSpec.Parse(values), SequencesPerBlock = 4 },
                overwrite: true);
            using var store = StoreReader.Open(dir);
            using var loader = new BatchLoader(
                store, new BatchLoaderOptions { BatchSize = 4, SequenceLength = 32, Width = 12, Workers = 2, RingSize = 2 });
            Drain(loader, 2 * (int)loader.StepsPerEpoch); // warm-up: buffers, plans, decode scratch and codecs grow once
            long workersBefore = loader.WorkerAllocatedBytes, consumerBefore = GC.GetAllocatedBytesForCurrentThread();
            const int steps = 400; // twenty epochs: every block decoded again and again, new epoch plans built
            long positions = Drain(loader, steps);
            long consumer = GC.GetAllocatedBytesForCurrentThread() - consumerBefore, workers = loader.WorkerAllocatedBytes - workersBefore;
            Assert.Equal(steps * 4L * 32, positions);
            Assert.True(consumer == 0 && workers == 0,
                $"{steps} steps allocated {consumer} bytes on the consumer, {workers} on the workers ({loader.WorkerAllocationReport})");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Theory]
    [InlineData(64, 32, 4, 12)]
    [InlineData(1024, 1024, 16, 50)]
    public async Task FillIntoCallerMemory_SteadyState_AllocatesNothingPerBatch(int sequenceLength, int rowLength, int perBlock, int k)
    {
        string dir = TestData.TempDir();
        try
        {
            await SyntheticPack.RunAsync(dir, new SyntheticSource(40UL * (ulong)sequenceLength, 3000, sequenceLength, 5, 32),
                new ProcessingOptions { TopK = k },
                new CodecOptions { Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Mvq(4), SequencesPerBlock = perBlock },
                overwrite: true);
            using var store = StoreReader.Open(dir);
            using var loader = new BatchLoader(
                store, new BatchLoaderOptions { BatchSize = 4, SequenceLength = rowLength, Width = k, Workers = 0 });
            var memory = new ArrayBatchMemory(loader.Layout);
            long steps = 2 * loader.StepsPerEpoch;
            for (long s = 0; s < steps; s++) loader.FillInto(s, memory, memory.RowSequence, memory.RowOffset);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (long s = steps; s < 10 * steps; s++) loader.FillInto(s, memory, memory.RowSequence, memory.RowOffset);
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>
    /// Threads that fill at once for the first time long after a warm-up on one thread: with their scratch reserved up
    /// front, none is made then (the count covers each thread's own fills, from its second on).
    /// </summary>
    [Fact]
    public async Task CallersReservedUpFront_FillingAtOnceForTheFirstTime_AllocateNothing()
    {
        string dir = TestData.TempDir();
        try
        {
            await SyntheticPack.RunAsync(dir, new SyntheticSource(40 * 64, 3000, 64, 5, 32), new ProcessingOptions { TopK = 12 },
                new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 4 }, overwrite: true);
            using var store = StoreReader.Open(dir);
            using var loader = new BatchLoader(
                store, new BatchLoaderOptions { BatchSize = 4, SequenceLength = 32, Width = 12, Workers = 0 });
            const int callers = 3, rounds = 40;
            var memories = Enumerable.Range(0, callers).Select(_ => new ArrayBatchMemory(loader.Layout)).ToArray();
            long steps = 2 * loader.StepsPerEpoch;
            for (long step = 0; step < steps; step++) loader.FillInto(step, memories[0], memories[0].RowSequence, memories[0].RowOffset);
            loader.ReserveCallers(callers);
            var allocated = new long[callers];
            using var together = new Barrier(callers);
            var threads = Enumerable.Range(0, callers).Select(c => new Thread(() =>
            {
                var m = memories[c];
                for (int round = 0; round < rounds; round++)
                {
                    together.SignalAndWait();
                    long before = GC.GetAllocatedBytesForCurrentThread();
                    loader.FillInto(steps + round * callers + c, m, m.RowSequence, m.RowOffset);
                    // A thread's first call into the library makes its thread-static storage (the runtime's, once per
                    // thread): that is not the loader's, so the count starts at the second round.
                    if (round > 0) allocated[c] += GC.GetAllocatedBytesForCurrentThread() - before;
                }
            })).ToArray();
            foreach (var t in threads) t.Start();
            foreach (var t in threads) t.Join();
            Assert.Equal(new long[callers], allocated);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static long Drain(BatchLoader loader, int steps)
    {
        long positions = 0;
        for (int s = 0; s < steps; s++)
        {
            var b = loader.Next();
            positions += b.Rows * b.Length;
            loader.Release(b);
        }
        return positions;
    }
}
