using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>Column kinds of a v1 block (spec 4.3); <see cref="ColumnTable"/> gives their names, order and codecs.</summary>
public enum ColumnKind : byte
{
    SequenceLengths = 1,
    Tokens = 2,
    KeptCounts = 3,
    Ids = 4,
    Values = 5,
    ResidualMass = 6,
}

/// <summary>Codec ids (spec 5).</summary>
public enum CodecId : byte
{
    U32 = 0,
    Packed = 1,
    Delta = 2,
    U16 = 3,
    Ranked = 4,
    Context = 5,
    Banded = 6,
    F32 = 16,
    F16 = 17,
    Q8 = 18,
    Q4 = 19,
    Counts = 20,
    Mvq = 21,
    Unorm16 = 32,
}

/// <summary>Column compression ids (spec 4.2).</summary>
internal enum CompressionId : byte
{
    None = 0,
    Zstd = 1,
}

/// <summary>One 24-byte entry of a block's column directory (spec 4.2).</summary>
internal readonly record struct ColumnDescriptor(
    ColumnKind Kind, CodecId Codec, CompressionId Compression, byte Flags, uint Offset, uint StoredLength, uint DecodedLength,
    uint CodecParam)
{
    /// <summary>Field offsets of spec 4.2, from the start of the entry.</summary>
    public static class Offsets
    {
        public const int Kind = 0;
        public const int Codec = 1;
        public const int Compression = 2;
        public const int Flags = 3;
        public const int Offset = 4;
        public const int StoredLength = 8;
        public const int DecodedLength = 12;
        public const int CodecParam = 16;
        public const int Reserved = 20;
    }

    public const byte OptionalFlag = 1;

    public bool IsOptional => (Flags & OptionalFlag) != 0;

    /// <summary>Block-relative offset of directory entry <paramref name="column"/>: the directory follows the block header.</summary>
    public static int OffsetInBlock(int column) => FormatConstants.BlockHeaderSize + column * FormatConstants.ColumnDescriptorSize;

    public void Write(Span<byte> dest)
    {
        dest[Offsets.Kind] = (byte)Kind;
        dest[Offsets.Codec] = (byte)Codec;
        dest[Offsets.Compression] = (byte)Compression;
        dest[Offsets.Flags] = Flags;
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.Offset..], Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.StoredLength..], StoredLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.DecodedLength..], DecodedLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.CodecParam..], CodecParam);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[Offsets.Reserved..], 0);
    }

    /// <summary>Parses one entry; <paramref name="offset"/> is where it sits in the file.</summary>
    public static ColumnDescriptor Read(ReadOnlySpan<byte> src, string file, long offset)
    {
        if ((src[Offsets.Flags] & ~OptionalFlag) != 0)
            throw new StoreCorruptException(file, offset + Offsets.Flags, "reserved column flag bits are not zero");
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.Reserved..]) != 0)
            throw new StoreCorruptException(file, offset + Offsets.Reserved, "reserved column descriptor field is not zero");
        return new ColumnDescriptor(
            (ColumnKind)src[Offsets.Kind], (CodecId)src[Offsets.Codec], (CompressionId)src[Offsets.Compression], src[Offsets.Flags],
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.Offset..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.StoredLength..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.DecodedLength..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[Offsets.CodecParam..]));
    }
}
