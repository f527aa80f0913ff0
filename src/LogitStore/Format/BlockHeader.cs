using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 32-byte header that opens every block (spec 4.1).</summary>
public readonly record struct BlockHeader(
    uint BlockLength, ulong FirstSequence, uint SequenceCount, uint PositionCount, uint EntryCount, ushort ColumnCount)
{
    public void Write(Span<byte> dest)
    {
        FormatConstants.BlockMagic.CopyTo(dest);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[4..], BlockLength);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[8..], FirstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[16..], SequenceCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[20..], PositionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[24..], EntryCount);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[28..], ColumnCount);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[30..], 0);
    }

    public static BlockHeader Read(ReadOnlySpan<byte> src, string file, long blockOffset)
    {
        if (src.Length < FormatConstants.BlockHeaderSize || !src[..4].SequenceEqual(FormatConstants.BlockMagic))
            throw new StoreCorruptException(file, blockOffset, "bad block magic (expected 'LGBK')");
        if (BinaryPrimitives.ReadUInt16LittleEndian(src[30..]) != 0)
            throw new StoreCorruptException(file, blockOffset + 30, "reserved block header field is not zero");
        return new BlockHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(src[4..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[20..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[24..]),
            BinaryPrimitives.ReadUInt16LittleEndian(src[28..]));
    }
}
