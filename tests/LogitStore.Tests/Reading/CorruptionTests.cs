using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

/// <summary>Every byte of a shard is covered: any flipped byte makes verification fail, naming the file and an offset.</summary>
public class CorruptionTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();
    private readonly string _shard;

    public CorruptionTests() => _shard = WriteSmallStore(_dir);

    /// <summary>Six synthetic sequences of 24 positions, two per block, in one shard; returns the shard's path.</summary>
    internal static string WriteSmallStore(string dir)
    {
        StoreRoundTripTests.Write(
            dir,
            1000,
            new CodecOptions { SequencesPerBlock = 2 },
            Enumerable.Range(0, 6).Select(i => TestData.SyntheticSequence((ulong)i, 24)));
        return Path.Combine(dir, "shards", "shard-00000.lss");
    }

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void EveryFlippedByte_FailsVerification_NamingFileAndOffset()
    {
        var original = File.ReadAllBytes(_shard);
        Assert.True(StoreVerifier.Verify(_dir).Ok);
        // Every byte of a small shard, in a stride that still hits every section (and a full sweep of the first block).
        var positions = Enumerable.Range(0, original.Length).Where(i => i < 400 || i % 7 == 0 || i >= original.Length - 300);
        foreach (int i in positions)
        {
            var bytes = (byte[])original.Clone();
            bytes[i] ^= 0x5A;
            File.WriteAllBytes(_shard, bytes);
            var report = StoreVerifier.Verify(_dir);
            Assert.False(report.Ok, $"flipping byte {i} went unnoticed");
            var fault = report.Faults[0];
            Assert.EndsWith("shard-00000.lss", fault.File);
            Assert.InRange(fault.Offset, 0, original.Length);
        }
        File.WriteAllBytes(_shard, original);
    }

    [Theory]
    [InlineData(0, "magic")]
    [InlineData(8, "major version")]
    [InlineData(60, "header checksum")]
    public void HeaderDamage_IsNamed(int offset, string expected)
    {
        var bytes = File.ReadAllBytes(_shard);
        bytes[offset] ^= offset == 8 ? (byte)0x02 : (byte)0xFF;
        if (offset == 8) RewriteHeaderChecksum(bytes);
        File.WriteAllBytes(_shard, bytes);
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void BlockDamage_IsReportedAtTheBlockOffset()
    {
        using (var r = StoreReader.Open(_dir)) { }
        var bytes = File.ReadAllBytes(_shard);
        bytes[64 + 100] ^= 1;
        File.WriteAllBytes(_shard, bytes);
        using var reader = StoreReader.Open(_dir);
        var ex = Assert.Throws<StoreCorruptException>(() => reader.ReadSequence(0));
        Assert.Equal(64, ex.Offset);
        Assert.Contains("block checksum", ex.Message);
        Assert.Equal(2ul, reader.ReadSequence(2).Tokens.Length == 24 ? 2ul : 0ul); // other blocks still read
    }

    [Fact]
    public void TruncatedShard_IsRefused()
    {
        var bytes = File.ReadAllBytes(_shard);
        File.WriteAllBytes(_shard, bytes[..^10]);
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Contains("manifest says", ex.Message);
    }

    [Fact]
    public void MissingShard_IsNamed()
    {
        File.Delete(_shard);
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.EndsWith("shard-00000.lss", ex.File);
        Assert.Contains("missing", ex.Message);
    }

    [Fact]
    public void ManifestWithUnknownMajorVersion_IsRefused()
    {
        string path = Path.Combine(_dir, "manifest.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"major\": 1", "\"major\": 2"));
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Contains("major version 2", ex.Message);
    }

    [Fact]
    public void MalformedManifest_GivesItsOffset()
    {
        string path = Path.Combine(_dir, "manifest.json");
        File.WriteAllText(path, "{\n  \"format\": \"logitstore\",\n  \"vocab_size\": [\n");
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Equal(path, ex.File);
        Assert.True(ex.Offset > 0);
    }

    private static void RewriteHeaderChecksum(byte[] bytes) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(56), Checksum.Of(bytes.AsSpan(0, 56)));
    /// <summary>Another valid codebook set of the same shape, as a wrong file would be.</summary>
    private static LogitStore.Codecs.Mvq.MvqCodebooks OtherCodebooks(LogitStore.Codecs.Mvq.MvqCodebooks like)
    {
        var c = new float[like.M * 256 * like.D];
        for (int i = 0; i < c.Length; i++) c[i] = -0.01f * (i % 97);
        return new LogitStore.Codecs.Mvq.MvqCodebooks(like.M, like.D, c);
    }

    [Fact]
    public void WrongCodebook_IsRefused_WhetherSwappedOrListed()
    {
        var manifest = Manifest.Load(_dir);
        var entry = manifest.Dictionaries.Single(d => d.Kind == "mvq");
        string path = Path.Combine(_dir, entry.File);
        LogitStore.Codecs.Mvq.MvqCodebooks original;
        using (var r = StoreReader.Open(_dir)) original = r.Dictionaries.AllCodebooks.Single();
        var other = OtherCodebooks(original);

        // 1. The file swapped under the manifest: opening the store names the dictionary file.
        var originalBytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, other.FileBytes);
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Equal(path, ex.File);
        Assert.False(StoreVerifier.Verify(_dir).Ok);

        // 2. The manifest rewritten to list the other codebooks consistently: blocks still name theirs by ref.
        entry.Ref = DictionaryFile.RefHex(other.Ref);
        entry.Xxh3 = Checksum.ToHex(Checksum.Of(other.FileBytes));
        entry.Bytes = (ulong)other.FileBytes.Length;
        File.WriteAllBytes(Path.Combine(_dir, FormatConstants.ManifestFileName), manifest.ToUtf8());
        using (var reader = StoreReader.Open(_dir))
        {
            var ex2 = Assert.Throws<StoreCorruptException>(() => reader.ReadSequence(0));
            Assert.EndsWith("shard-00000.lss", ex2.File);
            Assert.Contains($"no mvq codebooks with ref {DictionaryFile.RefHex(original.Ref)}", ex2.Message);
        }
        File.WriteAllBytes(path, originalBytes);
    }

    [Fact]
    public void FlippedDictionaryByte_FailsVerification_NamingTheDictionaryFile()
    {
        var entry = Manifest.Load(_dir).Dictionaries[0];
        string path = Path.Combine(_dir, entry.File);
        var bytes = File.ReadAllBytes(path);
        foreach (int i in new[] { 3, 20, 40, 100, bytes.Length - 1 })
        {
            var damaged = (byte[])bytes.Clone();
            damaged[i] ^= 0x10;
            File.WriteAllBytes(path, damaged);
            var report = StoreVerifier.Verify(_dir);
            Assert.False(report.Ok);
            Assert.Equal(path, report.Faults[0].File);
        }
        File.WriteAllBytes(path, bytes);
        Assert.True(StoreVerifier.Verify(_dir).Ok);
    }
}
