using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

/// <summary>Merge checks the bytes it copies against each part's manifest, and leaves nothing behind when it refuses.</summary>
public class MergeChecksTests
{
    private static async Task<string[]> PartsAsync(string root)
    {
        var src = new SyntheticSource(16 * 32, 800, 32, 3, 16);
        var codecs = new CodecOptions { Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Q8, SequencesPerBlock = 2 };
        var parts = new[] { Path.Combine(root, "p0"), Path.Combine(root, "p1") };
        for (int i = 0; i < 2; i++)
            await SyntheticPack.RunAsync(parts[i], src, new ProcessingOptions { TopK = 6 }, codecs, new PartSpec(i, 2), identitySeed: 5);
        return parts;
    }

    [Theory]
    [InlineData(0.5)]   // inside a block: the block's checksum names it
    [InlineData(0.999)] // in the footer
    public async Task APartWithAFlippedByte_IsRefusedNamingItsFile_AndNoStoreIsLeft(double where)
    {
        string root = TestData.TempDir(), merged = Path.Combine(root, "merged");
        try
        {
            var parts = await PartsAsync(root);
            var shard = new StoreDirectory(parts[1]).Of(Manifest.Load(parts[1]).Shards[0].File);
            byte[] bytes = File.ReadAllBytes(shard);
            long at = (long)(bytes.Length * where);
            bytes[at] ^= 0x10;
            File.WriteAllBytes(shard, bytes);

            var refused = Assert.Throws<StoreCorruptException>(() => StoreMerger.Merge(merged, parts));
            Assert.Equal(Path.GetFullPath(shard), Path.GetFullPath(refused.File));
            Assert.False(Directory.Exists(merged), "a refused merge left its output behind");
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task AMergeIntoADirectoryAnotherWriterHolds_IsRefused()
    {
        string root = TestData.TempDir(), merged = Path.Combine(root, "merged");
        try
        {
            var parts = await PartsAsync(root);
            using (StoreWriteLock.Acquire(merged, "a pack"))
                Assert.Throws<StoreLockedException>(() => StoreMerger.Merge(merged, parts));
            Assert.False(File.Exists(Path.Combine(merged, FormatConstants.ManifestFileName)));
            StoreMerger.Merge(merged, parts);
            Assert.True(LogitStore.Reading.StoreVerifier.Verify(merged).Ok);
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task APartWithADamagedDictionary_IsRefusedNamingIt()
    {
        string root = TestData.TempDir(), merged = Path.Combine(root, "merged");
        try
        {
            var parts = await PartsAsync(root);
            var dictionary = new StoreDirectory(parts[0]).Of(Manifest.Load(parts[0]).Dictionaries[0].File);
            byte[] bytes = File.ReadAllBytes(dictionary);
            bytes[^1] ^= 1;
            File.WriteAllBytes(dictionary, bytes);
            var refused = Assert.Throws<StoreCorruptException>(() => StoreMerger.Merge(merged, parts));
            Assert.Equal(Path.GetFullPath(dictionary), Path.GetFullPath(refused.File));
            Assert.False(Directory.Exists(merged));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
