using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

public class DecodedBlockCacheTests
{
    /// <summary>Two stores over the same sequence ids with different data.</summary>
    private static (string A, string B) TwoStores()
    {
        string a = TestData.TempDir(), b = TestData.TempDir();
        var codecs = new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 4 };
        StoreRoundTripTests.Write(a, 500, codecs, Enumerable.Range(0, 8).Select(i => TestData.RandomSequence(new Random(i), 500, 16, 6)));
        StoreRoundTripTests.Write(b, 500, codecs, Enumerable.Range(8, 8).Select(i => TestData.RandomSequence(new Random(i), 500, 16, 6)));
        return (a, b);
    }

    [Fact]
    public void ScratchSharedByTwoStores_NeverReturnsTheOtherStoresData()
    {
        var (a, b) = TwoStores();
        using var ra = StoreReader.Open(a);
        using var rb = StoreReader.Open(b);
        var expected = ra.ReadSequence(1).Tokens;
        var scratch = new DecodedBlock();
        Assert.Equal(expected, ra.ReadSequence(1, scratch).Tokens.ToArray());
        rb.ReadBlock(0, scratch);                       // the same block number and first sequence, another store
        Assert.Equal(expected, ra.ReadSequence(1, scratch).Tokens.ToArray());
        foreach (var _ in rb.ScanBlocks(0, 1, scratch)) { }
        Assert.Equal(expected, ra.ReadSequence(1, scratch).Tokens.ToArray());
    }

    [Fact]
    public void FailedDecode_LeavesNoCachedBlock()
    {
        var (a, _) = TwoStores();
        string shard = Directory.GetFiles(Path.Combine(a, "shards")).Single();
        using (var reader = StoreReader.Open(a))
        {
            var entry = reader.BlockEntry(1);
            var bytes = File.ReadAllBytes(shard);
            bytes[(long)entry.BlockOffset + (long)entry.BlockLength - 3] ^= 0x40;
            File.WriteAllBytes(shard, bytes);
        }
        using var damaged = StoreReader.Open(a);
        var scratch = new DecodedBlock();
        var first = damaged.ReadSequence(1, scratch).Tokens.ToArray();
        Assert.Throws<StoreCorruptException>(() => damaged.ReadSequence(5, scratch).Length);
        Assert.Throws<StoreCorruptException>(() => damaged.ReadSequence(5, scratch).Length);   // no half-decoded block is served
        Assert.Equal(first, damaged.ReadSequence(1, scratch).Tokens.ToArray());
    }
}
