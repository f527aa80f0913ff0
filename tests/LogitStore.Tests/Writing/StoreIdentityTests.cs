using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

public class StoreIdentityTests
{
    [Fact]
    public void DerivedIds_AreTheSpecsWorkedExample()
    {
        // format-spec 2.7 spells these out for seed 1; a change here is a change of documented writer behaviour.
        Assert.Equal("cf0aff50a3fe298c415c9b5ccdfafd48", StoreIdentity.StoreId(1));
        Assert.Equal("a6a23f9818700c168544e5a9f2a7c29a", Hex(StoreIdentity.PackId(1, 0)));
    }

    [Fact]
    public void DerivedPackIds_DifferBetweenSeedsAndFirstSequences()
    {
        Guid[] ids = [StoreIdentity.PackId(1, 0), StoreIdentity.PackId(2, 0), StoreIdentity.PackId(1, 16)];
        Assert.Equal(ids.Length, ids.Distinct().Count());
        Assert.NotEqual(StoreIdentity.StoreId(1), StoreIdentity.StoreId(2));
    }

    [Fact]
    public async Task WithoutASeed_TwoPacksOfTheSameInputGetDifferentIds()
    {
        string root = TestData.TempDir();
        try
        {
            var manifests = new List<Manifest>();
            foreach (string name in new[] { "a", "b" })
                manifests.Add(await SyntheticPack.RunAsync(
                    Path.Combine(root, name), new SyntheticSource(32, 50, 8), new ProcessingOptions(),
                    new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 1 }));
            Assert.NotEqual(manifests[0].StoreId, manifests[1].StoreId);
            Assert.NotEqual(manifests[0].Shards[0].PackId, manifests[1].Shards[0].PackId);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task WithASeed_PartsGetThePackIdOfTheirFirstSequence()
    {
        string root = TestData.TempDir();
        try
        {
            var codecs = new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 1 };
            var part = await SyntheticPack.RunAsync(
                Path.Combine(root, "p1"), new SyntheticSource(32, 50, 8), new ProcessingOptions(), codecs, new PartSpec(1, 2),
                identitySeed: 5);
            Assert.Equal(StoreIdentity.StoreId(5), part.StoreId);
            Assert.Equal(Hex(StoreIdentity.PackId(5, part.FirstSequence)), part.Shards[0].PackId);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task WithASeed_AResumeGetsThePackIdOfTheFirstSequenceItWrites()
    {
        string dir = TestData.TempDir();
        try
        {
            var options = new StoreWriterOptions
            {
                VocabSize = 50,
                Codecs = new CodecOptions
                {
                    Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 1, ShardTargetBytes = 4096,
                },
                IdentitySeed = 9,
                Workers = 1,
            };
            // Enough blocks to commit one shard; the writer is dropped before it completes, like a killed pack.
            await using (var first = StoreWriter.Create(dir, options))
                for (ulong s = 0; s < 16; s++) await first.AppendAsync(TestData.SyntheticSequence(s, 32, vocab: 50));
            var partial = Manifest.Load(dir);
            Assert.NotEmpty(partial.Shards);
            ulong resumeAt = partial.EndSequence;
            await using (var resumed = StoreWriter.Resume(dir, workers: 1, identitySeed: 9))
            {
                for (ulong s = resumeAt; s < 20; s++) await resumed.AppendAsync(TestData.SyntheticSequence(s, 32, vocab: 50));
                await resumed.CompleteAsync();
            }
            var done = Manifest.Load(dir);
            Assert.Equal(StoreIdentity.StoreId(9), done.StoreId);
            Assert.All(done.Shards, s => Assert.Equal(
                Hex(StoreIdentity.PackId(9, s.FirstSequence < resumeAt ? 0 : resumeAt)), s.PackId));
            Assert.Contains(done.Shards, s => s.FirstSequence >= resumeAt);
        }
        finally { Directory.Delete(dir, true); }
    }

    private static string Hex(Guid packId) => Convert.ToHexStringLower(packId.ToByteArray(bigEndian: true));
}
