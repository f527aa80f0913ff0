using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

/// <summary>
/// Every setting that shapes the bytes is in the manifest, so a resumed pack writes what an uninterrupted one writes:
/// the same dictionaries, the same blocks.
/// </summary>
public class ExactResumeTests
{
    private static readonly SyntheticSource Source = new(60_000, 3000, 256, Seed: 3);
    private static readonly ProcessingOptions Processing = new() { Method = TruncationMethod.TopK, TopK = 16 };

    // Not the defaults: a resume that fell back to them would train other codebooks and search with another beam.
    private static readonly CodecOptions Codecs = new()
    {
        Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Mvq(2), MvqBeam = 1, DictionarySample = 4096, ShardTargetBytes = 64 << 10,
        SequencesPerBlock = 4,
    };

    [Fact]
    public async Task InterruptedAfterAShard_ResumesIntoTheSameBlocks()
    {
        string clean = TestData.TempDir(), resumed = TestData.TempDir();
        await SyntheticPack.RunAsync(clean, Source, Processing, Codecs, workers: 2);
        using (var cts = new CancellationTokenSource())
        {
            var pack = SyntheticPack.RunAsync(resumed, Source, Processing, Codecs, workers: 2, ct: cts.Token);
            while (!pack.IsCompleted)
            {
                try { if (Manifest.Load(resumed).Shards.Count >= 2) cts.Cancel(); } catch (StoreCorruptException) { }
                await Task.Delay(5);
            }
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pack);
        }
        Assert.False(Manifest.Load(resumed).IsComplete);
        Assert.True(new StoreDirectory(resumed).HoldsStore);
        Assert.False(new StoreDirectory(resumed).HoldsCompleteStore);
        await SyntheticPack.ResumeAsync(resumed, workers: 2);
        Assert.True(new StoreDirectory(resumed).HoldsCompleteStore);
        AssertSameBlocks(clean, resumed);
    }

    [Fact]
    public async Task InterruptedBeforeTheDictionariesCommitted_TrainsThemOnTheRecordedSample()
    {
        string clean = TestData.TempDir(), resumed = TestData.TempDir();
        await SyntheticPack.RunAsync(clean, Source, Processing, Codecs, workers: 2);
        var describe = new SyntheticPackSource(Source).Describe(Processing, Codecs);
        await using (StoreWriter.Create(resumed, describe with { Workers = 2 })) { } // stopped before any block
        Directory.CreateDirectory(Path.Combine(resumed, FormatConstants.DictionaryDirectory));
        File.WriteAllText(Path.Combine(resumed, FormatConstants.DictionaryDirectory, "mvq-00000000.lsd.tmp"), "half written");
        await SyntheticPack.ResumeAsync(resumed, workers: 2);
        Assert.Empty(Directory.GetFiles(Path.Combine(resumed, FormatConstants.DictionaryDirectory), "*.tmp"));
        Assert.Equal(
            Manifest.Load(clean).Dictionaries.Select(d => d.Xxh3), Manifest.Load(resumed).Dictionaries.Select(d => d.Xxh3));
        AssertSameBlocks(clean, resumed);
    }

    private static void AssertSameBlocks(string expected, string actual)
    {
        using var a = StoreReader.Open(expected);
        using var b = StoreReader.Open(actual);
        Assert.Equal(a.BlockCount, b.BlockCount);
        for (int i = 0; i < a.BlockCount; i++)
            Assert.True(a.BlockBytes(i).SequenceEqual(b.BlockBytes(i)), $"block {i} differs");
    }
}
