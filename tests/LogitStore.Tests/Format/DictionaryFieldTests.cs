using System.Buffers.Binary;
using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using MvqFieldOffsets = LogitStore.Format.DictionaryFile.MvqFieldOffsets;

namespace LogitStore.Tests.Format;

/// <summary>A dictionary field out of its range, behind valid checksums, is named at its place in the file.</summary>
public class DictionaryFieldTests
{
    private static readonly Lazy<MvqCodebooks> Books = new(() =>
    {
        var centroids = new float[2 * MvqCodebooks.Centroids * 3];
        for (int i = 0; i < centroids.Length; i++) centroids[i] = -0.01f * (i % 89);
        return new MvqCodebooks(2, 3, centroids);
    });

    [Theory]
    [InlineData(MvqFieldOffsets.Codebooks, 0)]
    [InlineData(MvqFieldOffsets.Centroids, 255)]
    [InlineData(MvqFieldOffsets.ReservedAfterDimensions, 1)]
    [InlineData(MvqFieldOffsets.ReservedAfterEscapeRange, 1)]
    public void MvqKindField_IsNamedAtTheKindFieldsPlusItsOffset(int field, ushort value)
    {
        var books = Books.Value;
        var dict = DictionaryFile.Parse(books.FileBytes, "cb.lsd");
        var fields = dict.KindFields.ToArray();
        BinaryPrimitives.WriteUInt16LittleEndian(fields.AsSpan(field), value);
        var (bytes, _) = DictionaryFile.Build(DictionaryKind.MvqCodebooks, fields, dict.Body.Span);
        var ex = Assert.Throws<StoreCorruptException>(() => MvqCodebooks.FromDictionary(DictionaryFile.Parse(bytes, "cb.lsd"), "cb.lsd"));
        Assert.Equal("cb.lsd", ex.File);
        Assert.Equal(DictionaryFile.Offsets.KindFields + field, ex.Offset);
    }

    [Fact]
    public void IdRankTableForAnotherVocabulary_IsNamedAtItsVocabSize()
    {
        var table = new IdRankTable([2, 0, 1, 3]);
        var ex = Assert.Throws<StoreCorruptException>(
            () => IdRankTable.FromDictionary(DictionaryFile.Parse(table.FileBytes, "ids.lsd"), "ids.lsd", 5));
        Assert.Equal(DictionaryFile.Offsets.KindFields + DictionaryFile.IdRankFieldOffsets.VocabSize, ex.Offset);
    }

    [Fact]
    public void DictionaryOfTheWrongKind_IsNamedAtItsKind()
    {
        var table = new IdRankTable([1, 0]);
        var ex = Assert.Throws<StoreCorruptException>(
            () => MvqCodebooks.FromDictionary(DictionaryFile.Parse(table.FileBytes, "ids.lsd"), "ids.lsd"));
        Assert.Equal(DictionaryFile.Offsets.Kind, ex.Offset);
    }

    [Fact]
    public void HeaderFields_SitWhereTheOffsetsSay()
    {
        var bytes = Books.Value.FileBytes;
        Assert.True(bytes.AsSpan(DictionaryFile.Offsets.Magic).StartsWith(FormatConstants.DictionaryMagic));
        Assert.Equal(DictionaryKind.MvqCodebooks, (DictionaryKind)bytes[DictionaryFile.Offsets.Kind]);
        Assert.Equal(
            (ulong)(bytes.Length - FormatConstants.DictionaryHeaderSize),
            BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(DictionaryFile.Offsets.BodyLength)));
        Assert.Equal(
            Books.Value.Ref,
            BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(DictionaryFile.Offsets.HeaderChecksum)));
        Assert.Equal(
            2,
            BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(DictionaryFile.Offsets.KindFields + MvqFieldOffsets.Codebooks)));
    }
}
