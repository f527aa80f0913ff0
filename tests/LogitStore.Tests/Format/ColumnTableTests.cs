using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Writing;

namespace LogitStore.Tests.Format;

/// <summary>The column table is spec 4.3's, and the encoder writes exactly its columns in its order.</summary>
public class ColumnTableTests
{
    [Fact]
    public void Table_IsTheSpecsColumnKindTable()
    {
        string[] spec =
        [
            "1 sequence_lengths required 0",
            "2 tokens required 0,1",
            "3 kept_counts required 3",
            "4 ids required 0,1,2,4,5,6",
            "5 values required 16,17,18,19,20,21",
            "6 residual_mass required 32",
        ];
        Assert.Equal(spec, ColumnTable.Columns.Select(Describe));
    }

    private static string Describe(ColumnDefinition column)
    {
        string codecs = string.Join(",", CodecTable.For(column.Kind).Select(codec => (byte)codec.Id));
        return $"{(byte)column.Kind} {column.Name} {(column.Required ? "required" : "optional")} {codecs}";
    }

    [Theory]
    [InlineData("u32", "u32", "f32")]
    [InlineData("packed", "delta", "q4")]
    public void EncodedBlock_HasTheTablesColumnsInItsOrder(string tokens, string ids, string values)
    {
        var rng = new Random(3);
        var seqs = Enumerable.Range(0, 3).Select(_ => TestData.RandomSequence(rng, 500, 12, 8)).ToList();
        var codecs = new CodecOptions
        {
            Tokens = IdCodecSpec.Parse(tokens), Ids = IdCodecSpec.Parse(ids), Values = ValueCodecSpec.Parse(values),
        }.Resolve(500, 50);
        var block = BlockEncoder.Encode(seqs, 0, codecs, 500).Bytes;
        var header = BlockHeader.Read(block, "block", 0);
        Assert.Equal(ColumnTable.Written.Length, header.ColumnCount);
        for (int c = 0; c < header.ColumnCount; c++)
        {
            var d = ColumnDescriptor.Read(block.AsSpan(ColumnDescriptor.OffsetInBlock(c)), "block", ColumnDescriptor.OffsetInBlock(c));
            Assert.Equal(ColumnTable.Written[c].Kind, d.Kind);
            Assert.True(
                CodecTable.Accepts(ColumnTable.Written[c].Kind, d.Codec), $"{ColumnTable.Written[c].Name}: {CodecTable.Name(d.Codec)}");
        }
    }

    [Fact]
    public void CodecNames_ComeFromTheTable()
    {
        Assert.Equal(["u32", "packed"], IdCodecSpec.NamesFor(ColumnKind.Tokens));
        Assert.Equal(["u32", "packed", "delta", "ranked", "context", "banded:R"], IdCodecSpec.Names);
        Assert.Equal(["f32", "f16", "q8", "q4", "counts", "mvq:M"], ValueCodecSpec.Names);
    }
}
