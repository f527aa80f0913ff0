using LogitStore.Codecs;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

public class RefusedOptionsTests
{
    public static TheoryData<string, CodecOptions> RefusedCodecs => new()
    {
        { "zstd level 99, default ranked + mvq:4", new CodecOptions { ZstdLevel = 99 } },
        { "zstd level 99, packed + q8", new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, ZstdLevel = 99 } },
        { "0 sequences per block", new CodecOptions { SequencesPerBlock = 0 } },
        { "tiny shards", new CodecOptions { ShardTargetBytes = 100 } },
        { "tokens codec", new CodecOptions { Tokens = IdCodecSpec.Delta } },
        { "beam 0", new CodecOptions { MvqBeam = 0 } },
        { "negative value range", new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, ValueLogRange = -3 } },
        { "dictionary sample 0", new CodecOptions { DictionarySample = 0 } },
        { "delta ids with mvq values", new CodecOptions { Ids = IdCodecSpec.Delta, Values = ValueCodecSpec.Mvq(4) } },
    };

    [Theory]
    [MemberData(nameof(RefusedCodecs))]
    public void RefusedCodecOption_LeavesNoFileBehind(string what, CodecOptions codecs)
    {
        string dir = Path.Combine(TestData.TempDir(), "store");
        var options = new StoreWriterOptions { VocabSize = 1000, Codecs = codecs };
        var e = Assert.ThrowsAny<ArgumentException>(() => StoreWriter.Create(dir, options));
        Assert.False(string.IsNullOrWhiteSpace(e.Message), what);
        Assert.False(Directory.Exists(dir), $"{what}: {dir} was created");
    }

    [Theory]
    [InlineData("zip", "q8")]
    [InlineData("ranked", "q3")]
    [InlineData("ranked", "mvq")]
    [InlineData("ranked", "mvq:0")]
    [InlineData("ranked", "mvq:33")]
    [InlineData("u16", "q8")]
    [InlineData("packed", "unorm16")]
    public void UnknownCodecName_IsRefusedWhenParsed_NamingTheChoices(string ids, string values)
    {
        var e = Assert.ThrowsAny<ArgumentException>(() => (IdCodecSpec.Parse(ids), ValueCodecSpec.Parse(values)));
        Assert.Matches("packed|mvq:M|1..32", e.Message);
    }

    public static TheoryData<string, ulong, uint, int, string?> RefusedSyntheticPacks => new()
    {
        { "no tokens", 0, 1000, 64, null },
        { "vocabulary too large to generate", 10_000, 2_147_483_647, 64, null },
        { "vocabulary beyond 32 bits of ids", 10_000, 4_294_967_295, 64, null },
        { "sequence of two billion", 2_000_000_000, 1000, 2_000_000_000, null },
        { "an empty part", 100_000, 1000, 1024, "5/1000" },
    };

    [Theory]
    [MemberData(nameof(RefusedSyntheticPacks))]
    public async Task RefusedSyntheticPack_LeavesNoFileBehind(string what, ulong tokens, uint vocab, int length, string? part)
    {
        string dir = Path.Combine(TestData.TempDir(), "store");
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Synthetic.SyntheticPack.RunAsync(
            dir, new Synthetic.SyntheticSource(tokens, vocab, length), new ProcessingOptions(), new CodecOptions(),
            part is null ? null : PartSpec.Parse(part)));
        Assert.False(Directory.Exists(dir), $"{what}: {dir} was created");
    }

    [Fact]
    public void RefusedProcessingOption_LeavesNoFileBehind()
    {
        string dir = Path.Combine(TestData.TempDir(), "store");
        Assert.ThrowsAny<ArgumentException>(() => StoreWriter.Create(dir, new StoreWriterOptions
        {
            VocabSize = 1000, Processing = new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 0 },
        }));
        Assert.False(Directory.Exists(dir));
    }
}
