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

    private static CallerBuffers Buffers(int b, int t, int k) => new(
        new int[b * t], new int[b * t], new float[b * t], new int[b * t * k], new float[b * t * k], new ulong[b], new int[b]);

    private sealed record CallerBuffers(
        int[] Tokens, int[] KeptCounts, float[] Residual, int[] Ids, float[] Probs, ulong[] RowSequence, int[] RowOffset)
    {
        public BatchBuffers Spans => new(Tokens, KeptCounts, Residual, Ids, Probs, RowSequence, RowOffset);
    }

    [Fact]
    public void FillInto_EqualsTheBatchNextHandsOutForTheSameStep_AcrossEpochs()
    {
        using var store = StoreReader.Open(_dir);
        var options = new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = 5, Seed = 7, Workers = 2, RingSize = 3 };
        using var threaded = new BatchLoader(store, options);
        using var filling = new BatchLoader(store, options with { Workers = 0 });
        var mine = Buffers(3, 16, 5);
        for (long step = 0; step < 2 * threaded.StepsPerEpoch + 3; step++)
        {
            var b = threaded.Next();
            filling.FillInto(step, mine.Spans);
            Assert.Equal(b.Tokens, mine.Tokens);
            Assert.Equal(b.KeptCounts, mine.KeptCounts);
            Assert.Equal(b.Residual, mine.Residual);
            Assert.Equal(b.Ids, mine.Ids);
            Assert.Equal(b.Probs, mine.Probs);
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
        var small = Buffers(2, 16, 5);
        Assert.Throws<ArgumentException>(() => loader.FillInto(0, small.Spans));
    }
}
