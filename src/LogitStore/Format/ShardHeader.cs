using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>The 64-byte header at offset 0 of every shard (spec 3.1).</summary>
public readonly record struct ShardHeader(ushort MajorVersion, ushort MinorVersion, uint VocabSize, ulong FirstSequence, Guid PackId)
{
    public void Write(Span<byte> dest)
    {
        dest = dest[..FormatConstants.ShardHeaderSize];
        dest.Clear();
        FormatConstants.ShardMagic.CopyTo(dest);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[8..], MajorVersion);
        BinaryPrimitives.WriteUInt16LittleEndian(dest[10..], MinorVersion);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[12..], FormatConstants.ShardHeaderSize);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[16..], VocabSize);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[20..], 0);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[24..], FirstSequence);
        PackId.TryWriteBytes(dest[32..48], bigEndian: true, out _);
        BinaryPrimitives.WriteUInt64LittleEndian(dest[56..], Checksum.Of(dest[..56]));
    }

    public static ShardHeader Read(ReadOnlySpan<byte> src, string file)
    {
        if (src.Length < FormatConstants.ShardHeaderSize)
            throw new StoreCorruptException(
                file, 0, $"file is {src.Length} bytes, shorter than the {FormatConstants.ShardHeaderSize}-byte shard header");
        if (!src[..8].SequenceEqual(FormatConstants.ShardMagic))
            throw new StoreCorruptException(file, 0, "bad shard magic (expected 'LGSTSHRD')");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(src[8..]);
        if (major != FormatConstants.MajorVersion)
            throw new StoreCorruptException(
                file, 8, $"unsupported format major version {major} (this reader knows {FormatConstants.MajorVersion})");
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(src[56..]);
        ulong actual = Checksum.Of(src[..56]);
        if (stored != actual)
            throw new StoreCorruptException(
                file, 56, $"shard header checksum mismatch (stored {Checksum.ToHex(stored)}, computed {Checksum.ToHex(actual)})");
        uint headerSize = BinaryPrimitives.ReadUInt32LittleEndian(src[12..]);
        if (headerSize != FormatConstants.ShardHeaderSize)
            throw new StoreCorruptException(file, 12, $"header_size is {headerSize}, expected {FormatConstants.ShardHeaderSize}");
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[20..]) != 0 || BinaryPrimitives.ReadUInt64LittleEndian(src[48..]) != 0)
            throw new StoreCorruptException(file, 20, "reserved header field is not zero");
        return new ShardHeader(
            major,
            BinaryPrimitives.ReadUInt16LittleEndian(src[10..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[16..]),
            BinaryPrimitives.ReadUInt64LittleEndian(src[24..]),
            new Guid(src[32..48], bigEndian: true));
    }
}
