using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Loading;

/// <summary>
/// Runs alone: GC.GetTotalAllocatedBytes counts every thread of the process (the loader's workers included), so
/// tests running beside it would show up in its count.
/// </summary>
[CollectionDefinition(nameof(AllocationCounting), DisableParallelization = true)]
public sealed class AllocationCounting;

[Collection(nameof(AllocationCounting))]
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
                new CodecOptions { Ids = ids, Values = values, SequencesPerBlock = 4 }, overwrite: true);
            using var store = StoreReader.Open(dir);
            using var loader = new BatchLoader(store, new BatchLoaderOptions { BatchSize = 4, SequenceLength = 32, TopK = 12, Workers = 2, RingSize = 2 });
            Drain(loader, 2 * (int)loader.StepsPerEpoch); // warm-up: buffers, plans, decode scratch and codecs grow once
            long before = GC.GetTotalAllocatedBytes(precise: true);
            int collections = GC.CollectionCount(0);
            const int steps = 400; // more than two epochs: every block decoded again, new epoch plans built
            long positions = Drain(loader, steps);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            Assert.Equal(steps * 4L * 32, positions);
            // Nothing per batch, per block or per epoch: what remains (under 200 bytes when measured) is the runtime's own.
            Assert.True(allocated < 1024, $"{allocated} bytes allocated over {steps} batches ({ids} + {values})");
            Assert.Equal(collections, GC.CollectionCount(0));
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
