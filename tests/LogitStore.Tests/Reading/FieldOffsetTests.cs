using System.Buffers.Binary;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Tests.Reading;

/// <summary>
/// A field damaged behind a valid checksum is named by its structure's offset constant: the error gives the file and
/// exactly the field's place in it.
/// </summary>
public class FieldOffsetTests : IDisposable
{
    private const long FirstBlock = FormatConstants.ShardHeaderSize;

    private readonly string _dir = TestData.TempDir();
    private readonly string _shard;

    public FieldOffsetTests() => _shard = CorruptionTests.WriteSmallStore(_dir);

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void ShardHeaderVocabSize_DifferingFromTheManifest_IsNamedAtItsOffset()
    {
        var ex = OpenFails(bytes =>
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(ShardHeader.Offsets.VocabSize), 1001);
            RewriteHeaderChecksum(bytes);
        });
        Assert.Equal(ShardHeader.Offsets.VocabSize, ex.Offset);
        Assert.Contains("vocab_size 1001", ex.Message);
    }

    [Theory]
    [InlineData(ShardHeader.Offsets.Flags)]
    [InlineData(ShardHeader.Offsets.Reserved)]
    public void ShardHeaderReservedField_IsNamedAtItsOffset(int field)
    {
        var ex = OpenFails(bytes =>
        {
            bytes[field] = 1;
            RewriteHeaderChecksum(bytes);
        });
        Assert.Equal(field, ex.Offset);
    }

    [Theory]
    [InlineData(ShardFooter.Offsets.Reserved)]
    [InlineData(ShardFooter.Offsets.PositionCount)]
    public void ShardFooterField_IsNamedAtTheFooterPlusItsOffset(int field)
    {
        long footer = 0;
        var ex = OpenFails(bytes =>
        {
            footer = bytes.Length - FormatConstants.ShardFooterSize;
            bytes[footer + field] ^= 1;
            RewriteFooterChecksums(bytes);
        });
        Assert.Equal(footer + field, ex.Offset);
    }

    [Fact]
    public void BlockIndexEntryLength_NotAMultipleOfEight_IsNamedAtTheEntryPlusItsOffset()
    {
        long entry = 0;
        var ex = OpenFails(bytes =>
        {
            entry = IndexOffset(bytes) + 1 * FormatConstants.BlockIndexEntrySize;
            var field = bytes.AsSpan((int)entry + BlockIndexEntry.Offsets.BlockLength);
            BinaryPrimitives.WriteUInt32LittleEndian(field, BinaryPrimitives.ReadUInt32LittleEndian(field) + 1);
            RewriteFooterChecksums(bytes);
        });
        Assert.Equal(entry + BlockIndexEntry.Offsets.BlockLength, ex.Offset);
        Assert.Contains("block 1 has an invalid length", ex.Message);
    }

    [Fact]
    public void BlockIndexEntryWithoutSequences_IsNamedAtItsSequenceCount()
    {
        long entry = 0;
        var ex = OpenFails(bytes =>
        {
            entry = IndexOffset(bytes) + 2 * FormatConstants.BlockIndexEntrySize;
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan((int)entry + BlockIndexEntry.Offsets.SequenceCount), 0);
            RewriteFooterChecksums(bytes);
        });
        Assert.Equal(entry + BlockIndexEntry.Offsets.SequenceCount, ex.Offset);
    }

    [Theory]
    [InlineData(BlockHeader.Offsets.FirstSequence)]
    [InlineData(BlockHeader.Offsets.PositionCount)]
    [InlineData(BlockHeader.Offsets.Reserved)]
    public void BlockHeaderField_IsNamedAtTheBlockPlusItsOffset(int field)
    {
        var ex = DecodeFails(bytes => bytes[FirstBlock + field] ^= 1);
        Assert.Equal(FirstBlock + field, ex.Offset);
    }

    [Fact]
    public void ColumnCodecTheColumnDoesNotAccept_IsNamedAtTheDirectoryEntrysCodec()
    {
        int tokens = ColumnTable.IndexOf(ColumnKind.Tokens);
        long entry = FirstBlock + ColumnDescriptor.OffsetInBlock(tokens);
        var ex = DecodeFails(bytes => bytes[entry + ColumnDescriptor.Offsets.Codec] = (byte)CodecId.Delta);
        Assert.Equal(entry + ColumnDescriptor.Offsets.Codec, ex.Offset);
        Assert.Contains("tokens column", ex.Message);
    }

    [Fact]
    public void ColumnCodecParamNamingNoDictionary_IsNamedAtTheDirectoryEntrysCodecParam()
    {
        long entry = FirstBlock + ColumnDescriptor.OffsetInBlock(ColumnTable.IndexOf(ColumnKind.Values));
        var ex = DecodeFails(bytes => bytes[entry + ColumnDescriptor.Offsets.CodecParam] ^= 1);
        Assert.Equal(entry + ColumnDescriptor.Offsets.CodecParam, ex.Offset);
        Assert.Contains("no mvq codebooks with ref", ex.Message);
    }

    [Fact]
    public void UnknownCompression_IsNamedAtTheDirectoryEntrysCompression()
    {
        long entry = FirstBlock + ColumnDescriptor.OffsetInBlock(0);
        var ex = DecodeFails(bytes => bytes[entry + ColumnDescriptor.Offsets.Compression] = 7);
        Assert.Equal(entry + ColumnDescriptor.Offsets.Compression, ex.Offset);
    }

    [Fact]
    public void UnknownColumnKind_IsNamedAtItsKind_UnlessOptional_ThenTheMissingColumnIsNamed()
    {
        int last = ColumnTable.Written.Length - 1;
        long entry = FirstBlock + ColumnDescriptor.OffsetInBlock(last);
        var ex = DecodeFails(bytes => bytes[entry + ColumnDescriptor.Offsets.Kind] = 9);
        Assert.Equal(entry + ColumnDescriptor.Offsets.Kind, ex.Offset);

        ex = DecodeFails(bytes =>
        {
            bytes[entry + ColumnDescriptor.Offsets.Kind] = 9;
            bytes[entry + ColumnDescriptor.Offsets.Flags] = ColumnDescriptor.OptionalFlag;
        });
        Assert.Equal(FirstBlock + BlockHeader.Offsets.ColumnCount, ex.Offset);
        Assert.Contains($"lacks the {ColumnTable.Written[last].Name} column", ex.Message);
    }

    /// <summary>Damages the shard, then expects opening the store to fail naming the shard.</summary>
    private StoreCorruptException OpenFails(Action<byte[]> damage)
    {
        Damage(damage);
        var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir));
        Assert.Equal(_shard, ex.File);
        return ex;
    }

    /// <summary>Damages the first block and re-seals its checksum, then expects decoding it to fail naming the shard.</summary>
    private StoreCorruptException DecodeFails(Action<byte[]> damage)
    {
        Damage(bytes =>
        {
            damage(bytes);
            RewriteFirstBlockChecksum(bytes);
        });
        using var reader = StoreReader.Open(_dir);
        var ex = Assert.Throws<StoreCorruptException>(() => reader.ReadSequence(0));
        Assert.Equal(_shard, ex.File);
        return ex;
    }

    private void Damage(Action<byte[]> damage)
    {
        var bytes = File.ReadAllBytes(_shard);
        damage(bytes);
        File.WriteAllBytes(_shard, bytes);
    }

    private static void RewriteHeaderChecksum(byte[] bytes) =>
        BinaryPrimitives.WriteUInt64LittleEndian(
            bytes.AsSpan(ShardHeader.Offsets.HeaderChecksum), Checksum.Of(bytes.AsSpan(0, ShardHeader.Offsets.HeaderChecksum)));

    private static long IndexOffset(byte[] bytes) =>
        (long)BinaryPrimitives.ReadUInt64LittleEndian(
            bytes.AsSpan(bytes.Length - FormatConstants.ShardFooterSize + ShardFooter.Offsets.IndexOffset));

    /// <summary>Re-seals the block index and footer checksums over whatever the index and footer now hold.</summary>
    private static void RewriteFooterChecksums(byte[] bytes)
    {
        var footer = bytes.AsSpan(bytes.Length - FormatConstants.ShardFooterSize);
        long index = IndexOffset(bytes);
        var indexBytes = bytes.AsSpan((int)index, (int)(bytes.Length - FormatConstants.ShardFooterSize - index));
        BinaryPrimitives.WriteUInt64LittleEndian(footer[ShardFooter.Offsets.IndexChecksum..], Checksum.Of(indexBytes));
        BinaryPrimitives.WriteUInt64LittleEndian(
            footer[ShardFooter.Offsets.FooterChecksum..], Checksum.Of(footer[..ShardFooter.Offsets.FooterChecksum]));
    }

    private static void RewriteFirstBlockChecksum(byte[] bytes)
    {
        var entry = BlockIndexEntry.Read(bytes.AsSpan((int)IndexOffset(bytes)));
        var block = bytes.AsSpan((int)entry.BlockOffset, (int)entry.BlockLength);
        int body = block.Length - FormatConstants.BlockChecksumSize;
        BinaryPrimitives.WriteUInt64LittleEndian(block[body..], Checksum.Of(block[..body]));
    }
}
