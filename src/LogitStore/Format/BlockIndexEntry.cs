using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>One 32-byte entry of a shard's block index (spec 3.2).</summary>
public readonly record struct BlockIndexEntry(
    ulong BlockOffset, uint BlockLength, uint SequenceCount, ulong FirstSequence, uint PositionCount, uint EntryCount)
{
    public void Write(Span<byte> dest)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(dest, BlockOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[8..], BlockLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[12..], SequenceCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[16..], FirstSequence);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[24..], PositionCount);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[28..], EntryCount);
    }

    public static BlockIndexEntry Read(ReadOnlySpan<byte> src) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(src),
        BinaryPrimitives.ReadUInt32LittleEndian(src[8..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[12..]),
        BinaryPrimitives.ReadUInt64LittleEndian(src[16..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[24..]),
        BinaryPrimitives.ReadUInt32LittleEndian(src[28..]));
}
