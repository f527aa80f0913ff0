using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 64-byte footer that ends every shard (spec 3.3).</summary>
internal readonly record struct ShardFooter(
    ulong IndexOffset, uint BlockCount, ulong SequenceCount, ulong PositionCount, ulong EntryCount, ulong IndexChecksum)
{
    /// <summary>Field offsets of spec 3.3, from the start of the footer (file length − 64).</summary>
    public static class Offsets
    {
        public const int Magic = 0;
        public const int IndexOffset = 8;
        public const int BlockCount = 16;
        public const int Reserved = 20;
        public const int SequenceCount = 24;
        public const int PositionCount = 32;
        public const int EntryCount = 40;
        public const int IndexChecksum = 48;
        public const int FooterChecksum = 56;
    }

    public void Write(Span<byte> dest)
    {
        dest = dest[..FormatConstants.ShardFooterSize];
        dest.Clear();
        FormatConstants.FooterMagic.CopyTo(dest[Offsets.Magic..]);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.IndexOffset..], IndexOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.BlockCount..], BlockCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.SequenceCount..], SequenceCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.PositionCount..], PositionCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.EntryCount..], EntryCount);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.IndexChecksum..], IndexChecksum);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.FooterChecksum..], Checksum.Of(dest[..Offsets.FooterChecksum]));
    }

    /// <summary>Parses and checks the footer; <paramref name="footerOffset"/> is where it sits in the file.</summary>
    public static ShardFooter Read(ReadOnlySpan<byte> src, string file, long footerOffset)
    {
        if (!src[Offsets.Magic..].StartsWith(FormatConstants.FooterMagic))
            throw new StoreCorruptException(
                file,
                footerOffset + Offsets.Magic,
                "bad footer magic (expected 'LGSTFOOT'): the shard is truncated or was never finished");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.FooterChecksum..]);
        ulong actual = Checksum.Of(src[..Offsets.FooterChecksum]);
        if (stored != actual)
            throw new StoreCorruptException(
                file,
                footerOffset + Offsets.FooterChecksum,
                $"shard footer checksum mismatch (stored {Checksum.ToHex(stored)}, computed {Checksum.ToHex(actual)})");
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.Reserved..]) != 0)
            throw new StoreCorruptException(file, footerOffset + Offsets.Reserved, "reserved footer field is not zero");
        return new ShardFooter(
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.IndexOffset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.BlockCount..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.SequenceCount..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.PositionCount..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.EntryCount..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.IndexChecksum..]));
    }

    /// <summary>Offset of the first of the footer's sequence, position and entry counts that differs from those given, or null.</summary>
    public int? OffsetOfCountDifferingFrom(ulong sequences, ulong positions, ulong entries) =>
        SequenceCount != sequences ? Offsets.SequenceCount
        : PositionCount != positions ? Offsets.PositionCount
        : EntryCount != entries ? Offsets.EntryCount
        : null;
}
