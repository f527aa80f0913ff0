using LogitStore.Codecs;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Loading;

/// <summary>Assembling a step into caller-owned buffers (what liblogitstore's loader_fill calls).</summary>
public class BatchLoaderFillIntoTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();

    public BatchLoaderFillIntoTests()
    {
        SyntheticPack.RunAsync(_dir, new SyntheticSource(30 * 64, 3000, 64, 5, 32), new ProcessingOptions { TopK = 12 },
            new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 4 },
            overwrite: true).GetAwaiter().GetResult();
    }

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void FillInto_EqualsTheBatchNextHandsOutForTheSameStep_AcrossEpochs()
    {
        using var store = StoreReader.Open(_dir);
        var options = new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = 5, Seed = 7, Workers = 2, RingSize = 3 };
        using var threaded = new BatchLoader(store, options);
        using var filling = new BatchLoader(store, options with { Workers = 0 });
        var mine = new ArrayBatchMemory(filling.Layout);
        for (long step = 0; step < 2 * threaded.StepsPerEpoch + 3; step++)
        {
            var b = threaded.Next();
            Assert.Equal(0, filling.FillInto(step, mine, mine.RowSequence, mine.RowOffset));
            foreach (var c in BatchLayout.Columns) Assert.Equal(b.Memory.Column(c).ToArray(), mine.Column(c).ToArray());
            Assert.Equal(b.RowSequence, mine.RowSequence);
            Assert.Equal(b.RowOffset, mine.RowOffset);
            threaded.Release(b);
        }
    }

    [Fact]
    public void LoaderWithoutWorkers_RefusesNext_AndSmallBuffers()
    {
        using var store = StoreReader.Open(_dir);
        using var loader = new BatchLoader(store, new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = 5, Workers = 0 });
        Assert.Throws<InvalidOperationException>(() => loader.Next());
        var small = new ArrayBatchMemory(loader.Layout with { Rows = 2 });
        Assert.Throws<ArgumentException>(() => loader.FillInto(0, small, small.RowSequence, small.RowOffset));
        var shortRows = new ArrayBatchMemory(loader.Layout);
        Assert.Throws<ArgumentException>(() => loader.FillInto(0, shortRows, shortRows.RowSequence.AsSpan(0, 2), shortRows.RowOffset));
    }
}
