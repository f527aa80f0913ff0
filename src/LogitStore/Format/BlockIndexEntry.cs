using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>One 32-byte entry of a shard's block index (spec 3.2).</summary>
internal readonly record struct BlockIndexEntry(
    ulong BlockOffset, uint BlockLength, uint SequenceCount, ulong FirstSequence, uint PositionCount, uint EntryCount)
{
    /// <summary>Field offsets of spec 3.2, from the start of the entry.</summary>
    public static class Offsets
    {
        public const int BlockOffset = 0;
        public const int BlockLength = 8;
        public const int SequenceCount = 12;
        public const int FirstSequence = 16;
        public const int PositionCount = 24;
        public const int EntryCount = 28;
    }

    public void Write(Span<byte> dest)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.BlockOffset..], BlockOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.BlockLength..], BlockLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.SequenceCount..], SequenceCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.FirstSequence..], FirstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.PositionCount..], PositionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.EntryCount..], EntryCount);
    }

    public static BlockIndexEntry Read(ReadOnlySpan<byte> src) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.BlockOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.BlockLength..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.SequenceCount..]),
        BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.FirstSequence..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.PositionCount..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.EntryCount..]));
}
