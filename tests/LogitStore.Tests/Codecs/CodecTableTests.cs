using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Tests.Codecs;

/// <summary>The codec table is spec 5's: ids, names, columns and the <c>codec_param</c> values a reader accepts.</summary>
public class CodecTableTests
{
    [Fact]
    public void Table_HasOneDescriptorPerCodecId_WithUniqueNames()
    {
        Assert.Equal(Enum.GetValues<CodecId>().Order(), CodecTable.Entries.Select(d => d.Id).Order());
        Assert.Equal(CodecTable.Entries.Length, CodecTable.Entries.Select(d => d.Name).Distinct().Count());
    }

    [Fact]
    public void CodecParams_AreTheSpecsTable()
    {
        string[] spec =
        [
            "u32 0..0", "packed 1..32", "delta 0..0", "u16 0..0", "ranked ref IdRankTable", "context ref IdContextModel",
            "banded ref IdBandModel",
            "f32 0..0", "f16 0..0", "q8 1..255999", "q4 1..255999", "counts 1..65535", "mvq ref MvqCodebooks", "unorm16 0..0",
        ];
        Assert.Equal(spec, CodecTable.Entries.Select(d => d.Parameter.Dictionary is { } kind
            ? $"{d.Name} ref {kind}"
            : $"{d.Name} {d.Parameter.Min}..{d.Parameter.Max}"));
    }

    [Fact]
    public void Reader_OpensACodecForEveryAcceptedParam_AndNoneOutsideTheRange()
    {
        foreach (var d in CodecTable.Entries.Where(d => !d.NeedsDictionary))
        {
            var p = d.Parameter;
            bool opens = d is IdCodecDescriptor or ValueCodecDescriptor;
            Assert.Equal(opens, Open(d, p.Min) is not null);
            Assert.Equal(opens, Open(d, p.Max) is not null);
            if (p.Min > 0) Assert.Null(Open(d, p.Min - 1));
            Assert.Null(Open(d, p.Max + 1));
        }
        // A dictionary codec opens only with a dictionary the store lists.
        Assert.Null(CodecTable.OpenIdCodec(CodecId.Ranked, 7, StoreDictionaries.Empty));
        Assert.Null(CodecTable.OpenValueCodec(CodecId.Mvq, 7, StoreDictionaries.Empty));
    }

    private static object? Open(CodecDescriptor d, uint param) =>
        (object?)CodecTable.OpenIdCodec(d.Id, param) ?? CodecTable.OpenValueCodec(d.Id, param);

    [Fact]
    public void Help_ListsEachColumnsCodecs_WithTheirSettings()
    {
        Assert.Equal("u32 | packed", CodecTable.Help(ColumnKind.Tokens));
        Assert.Equal(
            "u32 | packed | delta | ranked | context | banded:R (R the first rank coded in a set, a power of two, 1-32768)",
            CodecTable.Help(ColumnKind.Ids));
        Assert.Equal("f32 | f16 | q8 | q4 | counts | mvq:M (M codebooks, 1-32)", CodecTable.Help(ColumnKind.Values));
    }

    [Theory]
    [InlineData("mvq:1", 1)]
    [InlineData("mvq:32", 32)]
    [InlineData("q8", 0)]
    public void ValueCodecNames_RoundTrip(string name, int codebooks)
    {
        var spec = ValueCodecSpec.Parse(name);
        Assert.Equal(codebooks, spec.Codebooks);
        Assert.Equal(name, spec.Name);
    }

    [Theory]
    [InlineData("q8:3")]
    [InlineData("mvq:x")]
    [InlineData("mvq:")]
    [InlineData("delta")]
    public void ValueCodecName_WithAWrongSetting_IsRefused(string name) =>
        Assert.Throws<ArgumentException>(() => ValueCodecSpec.Parse(name));

    [Theory]
    [InlineData("banded:1", 1)]
    [InlineData("banded:8", 8)]
    [InlineData("banded:32768", 32768)]
    [InlineData("context", 0)]
    public void IdCodecNames_RoundTrip(string name, int setsFrom)
    {
        var spec = IdCodecSpec.Parse(name);
        Assert.Equal(setsFrom, spec.SetsFrom);
        Assert.Equal(name, spec.Name);
    }

    [Theory]
    [InlineData("banded:0")]
    [InlineData("banded:12")]
    [InlineData("banded:65536")]
    [InlineData("banded:")]
    [InlineData("ranked:8")]
    public void IdCodecName_WithAWrongSetting_IsRefused(string name) =>
        Assert.Throws<ArgumentException>(() => IdCodecSpec.Parse(name));
}
