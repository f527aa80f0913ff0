using FsCheck;
using FsCheck.Xunit;
using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Tests.Golden;
using LogitStore.Writing;

namespace LogitStore.Tests.Format;

public class FingerprintTests
{
    private static readonly CodecOptions SmallBlocks = new() { SequencesPerBlock = 2, ShardTargetBytes = 4096, ZstdLevel = 1 };

    private static Task<Manifest> PackAsync(
        string dir, SyntheticSource source, ProcessingOptions? processing = null, PartSpec? part = null, CodecOptions? codecs = null) =>
        SyntheticPack.RunAsync(
            dir, source, processing ?? new ProcessingOptions(), codecs ?? SmallBlocks, part, overwrite: true, workers: 2);

    [Property(MaxTest = 8)]
    public bool MergedParts_HaveTheFingerprintOfOneWholePack(PositiveInt partsSeed, PositiveInt sequencesSeed)
    {
        int parts = partsSeed.Get % 4 + 1;
        var source = new SyntheticSource((ulong)(sequencesSeed.Get % 24 + 2 * parts) * 8, 300, 8, (ulong)sequencesSeed.Get);
        string root = TestData.TempDir();
        try
        {
            var whole = PackAsync(Path.Combine(root, "whole"), source).GetAwaiter().GetResult();
            var dirs = Enumerable.Range(0, parts).Select(i => Path.Combine(root, $"p{i}")).ToList();
            for (int i = 0; i < parts; i++) PackAsync(dirs[i], source, part: new PartSpec(i, parts)).GetAwaiter().GetResult();
            var merged = StoreMerger.Merge(Path.Combine(root, "merged"), dirs);
            using var reader = StoreReader.Open(Path.Combine(root, "merged"));
            return StoreFingerprint.Recorded(merged) == StoreFingerprint.Recorded(whole)
                && CorpusFingerprint.Of(reader) == StoreFingerprint.Recorded(whole)!.Value.Corpus
                && StoreVerifier.Verify(Path.Combine(root, "merged")).Ok;
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void AnOlderStore_OpensAndGetsTheFingerprintItsNewerTwinRecords()
    {
        using var older = StoreReader.Open(GoldenStores.StoreDirectory("1.3", "packed-q8"));
        using var newer = StoreReader.Open(GoldenStores.StoreDirectory("1.4", "packed-q8"));
        Assert.Null(older.Manifest.Fingerprint);
        Assert.Equal(StoreFingerprint.Recorded(newer.Manifest), CorpusFingerprint.Fingerprint(older));
    }

    [Fact]
    public async Task AResumedLoader_RefusesAStoreWithAnotherFingerprint_NamingWhatDiffers()
    {
        string root = TestData.TempDir();
        try
        {
            var source = new SyntheticSource(64, 300, 8);
            await PackAsync(Path.Combine(root, "a"), source);
            await PackAsync(Path.Combine(root, "k10"), source, new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 10 });
            await PackAsync(Path.Combine(root, "seed2"), new SyntheticSource(64, 300, 8, Seed: 2));
            await PackAsync(Path.Combine(root, "f32"), source, codecs: SmallBlocks with { Values = LogitStore.Codecs.ValueCodecSpec.F32 });
            var options = new BatchLoaderOptions { BatchSize = 2, SequenceLength = 8, Width = 50, Workers = 1 };
            LoaderResumeState state;
            using (var a = StoreReader.Open(Path.Combine(root, "a")))
            using (var loader = new BatchLoader(a, options))
                state = loader.ResumeState(3);
            var json = LoaderResumeState.FromJson(System.Text.Json.Nodes.JsonNode.Parse(state.ToJson().ToJsonString()), "state");
            Assert.Equal(state, json);
            using (var a = StoreReader.Open(Path.Combine(root, "a")))
            using (var resumed = new BatchLoader(a, options with { ResumeFrom = json }))
            {
                var batch = resumed.Next();
                Assert.Equal(3, batch.Step);
                resumed.Release(batch);
            }
            foreach (var (name, differing) in new[]
                     {
                         ("k10", new[] { "processing" }), ("seed2", ["teacher", "corpus"]), ("f32", ["codecs"]),
                     })
            {
                using var other = StoreReader.Open(Path.Combine(root, name));
                var ex = Assert.Throws<StoreFingerprintMismatchException>(
                    () => new BatchLoader(other, options with { ResumeFrom = state }));
                Assert.Equal(differing, ex.Components);
                Assert.Contains(string.Join(", ", differing), ex.Message);
            }
        }
        finally { Directory.Delete(root, true); }
    }
}
