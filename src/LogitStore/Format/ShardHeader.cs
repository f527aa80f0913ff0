using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 64-byte header at offset 0 of every shard (spec 3.1).</summary>
internal readonly record struct ShardHeader(ushort MajorVersion, ushort MinorVersion, uint VocabSize, ulong FirstSequence, Guid PackId)
{
    /// <summary>Field offsets of spec 3.1; the header starts at file offset 0, so they are file offsets too.</summary>
    public static class Offsets
    {
        public const int Magic = 0;
        public const int MajorVersion = 8;
        public const int MinorVersion = 10;
        public const int HeaderSize = 12;
        public const int VocabSize = 16;
        public const int Flags = 20;
        public const int FirstSequence = 24;
        public const int PackId = 32;
        public const int Reserved = 48;
        public const int HeaderChecksum = 56;
    }

    public const int PackIdSize = 16;

    public void Write(Span<byte> dest)
    {
        dest = dest[..FormatConstants.ShardHeaderSize];
        dest.Clear();
        FormatConstants.ShardMagic.CopyTo(dest[Offsets.Magic..]);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[Offsets.MajorVersion..], MajorVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[Offsets.MinorVersion..], MinorVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.HeaderSize..], FormatConstants.ShardHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.VocabSize..], VocabSize);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.Flags..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.FirstSequence..], FirstSequence);
        PackId.TryWriteBytes(dest.Slice(Offsets.PackId, PackIdSize), bigEndian: true, out _);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[Offsets.HeaderChecksum..], Checksum.Of(dest[..Offsets.HeaderChecksum]));
    }

    public static ShardHeader Read(ReadOnlySpan<byte> src, string file)
    {
        if (src.Length < FormatConstants.ShardHeaderSize)
            throw new StoreCorruptException(
                file, 0, $"file is {src.Length} bytes, shorter than the {FormatConstants.ShardHeaderSize}-byte shard header");
        if (!src[Offsets.Magic..].StartsWith(FormatConstants.ShardMagic))
            throw new StoreCorruptException(file, Offsets.Magic, "bad shard magic (expected 'LGSTSHRD')");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(src[Offsets.MajorVersion..]);
        if (major != FormatConstants.MajorVersion)
            throw new StoreCorruptException(
                file,
                Offsets.MajorVersion,
                $"unsupported format major version {major} (this reader knows {FormatConstants.MajorVersion})");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.HeaderChecksum..]);
        ulong actual = Checksum.Of(src[..Offsets.HeaderChecksum]);
        if (stored != actual)
            throw new StoreCorruptException(
                file,
                Offsets.HeaderChecksum,
                $"shard header checksum mismatch (stored {Checksum.ToHex(stored)}, computed {Checksum.ToHex(actual)})");
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.HeaderSize..]);
        if (headerSize != FormatConstants.ShardHeaderSize)
            throw new StoreCorruptException(
                file, Offsets.HeaderSize, $"header_size is {headerSize}, expected {FormatConstants.ShardHeaderSize}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.Flags..]) != 0)
            throw new StoreCorruptException(file, Offsets.Flags, "header flags (reserved) are not zero");
        if (BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.Reserved..]) != 0)
            throw new StoreCorruptException(file, Offsets.Reserved, "reserved header field is not zero");
        return new ShardHeader(
            major,
            BinaryPrimitives.ReadUInt16LittleEndian(src[Offsets.MinorVersion..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.VocabSize..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[Offsets.FirstSequence..]),
            new Guid(src.Slice(Offsets.PackId, PackIdSize), bigEndian: true));
    }
}
