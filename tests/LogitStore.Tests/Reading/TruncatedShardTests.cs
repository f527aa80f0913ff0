using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

/// <summary>
/// A shard cut short after the store was opened: each read fails naming the shard and an offset, on the reading thread
/// or a loader's worker, and the process lives on (a read of a mapped page past a file's end is a SIGBUS that ends it).
/// </summary>
public class TruncatedShardTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();
    private readonly string _shard;

    public TruncatedShardTests()
    {
        // Enough blocks that half the shard is many pages: a cut inside one page would be read as zeros, not fault.
        StoreRoundTripTests.Write(
            _dir,
            1000,
            new CodecOptions { SequencesPerBlock = 2 },
            Enumerable.Range(0, 48).Select(i => TestData.SyntheticSequence((ulong)i, 256)));
        _shard = Path.Combine(_dir, "shards", "shard-00000.lss");
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private void Cut(bool half)
    {
        long length = new FileInfo(_shard).Length;
        Assert.True(length > 64 << 10, $"the shard has {length} bytes: too few pages for the test to mean anything");
        using var f = new FileStream(_shard, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
        f.SetLength(half ? length / 2 : length - 5);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ReadBlock_AfterTheShardWasCut_FailsNamingItAndAnOffset(bool half)
    {
        using var reader = StoreReader.Open(_dir);
        var scratch = new DecodedBlock();
        reader.ReadBlock(0, scratch);
        Cut(half);
        var ex = Assert.Throws<StoreCorruptException>(() =>
        {
            for (int b = 0; b < reader.BlockCount; b++) reader.ReadBlock(b, scratch);
        });
        Assert.Equal(_shard, ex.File);
        Assert.InRange(ex.Offset, 0, reader.Shards[0].Length);
        Assert.Contains("truncated", ex.Problem);
    }

    [Fact]
    public void LoaderWorkers_AfterTheShardWasCut_HandOnTheFault()
    {
        using var reader = StoreReader.Open(_dir);
        using var loader = new BatchLoader(
            reader,
            new BatchLoaderOptions
            {
                BatchSize = 2, SequenceLength = 256, Width = reader.MaxEntriesPerPosition ?? 64, Shuffle = false,
                Workers = 2, RingSize = 2,
            });
        loader.Release(loader.Next());
        Cut(half: true);
        var ex = Assert.Throws<StoreCorruptException>(() =>
        {
            for (long s = 0; s < 3 * loader.StepsPerEpoch; s++) loader.Release(loader.Next());
        });
        Assert.Equal(_shard, ex.File);
    }
}
