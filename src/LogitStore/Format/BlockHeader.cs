using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 32-byte header that opens every block (spec 4.1).</summary>
internal readonly record struct BlockHeader(
    uint BlockLength, ulong FirstSequence, uint SequenceCount, uint PositionCount, uint EntryCount, ushort ColumnCount)
{
    /// <summary>Field offsets of spec 4.1, from the start of the block.</summary>
    public static class Offsets
    {
        public const int Magic = 0;
        public const int BlockLength = 4;
        public const int FirstSequence = 8;
        public const int SequenceCount = 16;
        public const int PositionCount = 20;
        public const int EntryCount = 24;
        public const int ColumnCount = 28;
        public const int Reserved = 30;
    }

    public void Write(Span<byte> dest)
    {
        FormatConstants.BlockMagic.CopyTo(dest[Offsets.Magic..]);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.BlockLength..], BlockLength);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.FirstSequence..], FirstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.SequenceCount..], SequenceCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.PositionCount..], PositionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.EntryCount..], EntryCount);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[Offsets.ColumnCount..], ColumnCount);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[Offsets.Reserved..], 0);
    }

    public static BlockHeader Read(ReadOnlySpan<byte> src, string file, long blockOffset)
    {
        if (src.Length < FormatConstants.BlockHeaderSize || !src[Offsets.Magic..].StartsWith(FormatConstants.BlockMagic))
            throw new StoreCorruptException(file, blockOffset + Offsets.Magic, "bad block magic (expected 'LGBK')");
        if (BinaryPrimitives.ReadUInt16LittleEndian(src[Offsets.Reserved..]) != 0)
            throw new StoreCorruptException(file, blockOffset + Offsets.Reserved, "reserved block header field is not zero");
        return new BlockHeader(
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.BlockLength..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.FirstSequence..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.SequenceCount..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.PositionCount..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.EntryCount..]),
            BinaryPrimitives.ReadUInt16LittleEndian(src[Offsets.ColumnCount..]));
    }

    /// <summary>Offset of the first of the header's sequence and count fields that differs from the index entry's, or null.</summary>
    public int? OffsetOfFieldDifferingFrom(BlockIndexEntry entry) =>
        FirstSequence != entry.FirstSequence ? Offsets.FirstSequence
        : SequenceCount != entry.SequenceCount ? Offsets.SequenceCount
        : PositionCount != entry.PositionCount ? Offsets.PositionCount
        : EntryCount != entry.EntryCount ? Offsets.EntryCount
        : null;
}
