using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 64-byte footer that ends every shard (spec 3.3).</summary>
public readonly record struct ShardFooter(
    ulong IndexOffset, uint BlockCount, ulong SequenceCount, ulong PositionCount, ulong EntryCount, ulong IndexChecksum)
{
    public void Write(Span<byte> dest)
    {
        dest = dest[..FormatConstants.ShardFooterSize];
        dest.Clear();
        FormatConstants.FooterMagic.CopyTo(dest);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[8..], IndexOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[16..], BlockCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[24..], SequenceCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[32..], PositionCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[40..], EntryCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[48..], IndexChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[56..], Checksum.Of(dest[..56]));
    }

    /// <summary>Parses and checks the footer; <paramref name="footerOffset"/> is where it sits in the file.</summary>
    public static ShardFooter Read(ReadOnlySpan<byte> src, string file, long footerOffset)
    {
        if (!src[..8].SequenceEqual(FormatConstants.FooterMagic))
            throw new StoreCorruptException(
                file, footerOffset, "bad footer magic (expected 'LGSTFOOT'): the shard is truncated or was never finished");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(src[56..]);
        ulong actual = Checksum.Of(src[..56]);
        if (stored != actual)
            throw new StoreCorruptException(
                file,
                footerOffset + 56,
                $"shard footer checksum mismatch (stored {Checksum.ToHex(stored)}, computed {Checksum.ToHex(actual)})");
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[20..]) != 0)
            throw new StoreCorruptException(file, footerOffset + 20, "reserved footer field is not zero");
        return new ShardFooter(
            BinaryPrimitives.ReadUInt64LittleEndian(src[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[24..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[32..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[40..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[48..]));
    }
}
