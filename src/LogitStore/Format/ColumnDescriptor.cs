using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>Column kinds of a v1 block, in their required order (spec 4.3).</summary>
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
    F32 = 16,
    F16 = 17,
    Q8 = 18,
    Q4 = 19,
    Counts = 20,
    Mvq = 21,
    Unorm16 = 32,
}

/// <summary>Column compression ids (spec 4.2).</summary>
public enum CompressionId : byte
{
    None = 0,
    Zstd = 1,
}

/// <summary>One 24-byte entry of a block's column directory (spec 4.2).</summary>
public readonly record struct ColumnDescriptor(
    ColumnKind Kind, CodecId Codec, CompressionId Compression, byte Flags, uint Offset, uint StoredLength, uint DecodedLength,
    uint CodecParam)
{
    public const byte OptionalFlag = 1;

    public bool IsOptional => (Flags & OptionalFlag) != 0;

    public void Write(Span<byte> dest)
    {
        dest[0] = (byte)Kind;
        dest[1] = (byte)Codec;
        dest[2] = (byte)Compression;
        dest[3] = Flags;
        BinaryPrimitives.WriteUInt32LittleEndian(dest[4..], Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[8..], StoredLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[12..], DecodedLength);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[16..], CodecParam);
        BinaryPrimitives.WriteUInt32LittleEndian(dest[20..], 0);
    }

    public static ColumnDescriptor Read(ReadOnlySpan<byte> src, string file, long offset)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(src[20..]) != 0 || (src[3] & ~OptionalFlag) != 0)
            throw new StoreCorruptException(file, offset, "reserved column descriptor bits are not zero");
        return new ColumnDescriptor(
            (ColumnKind)src[0], (CodecId)src[1], (CompressionId)src[2], src[3],
            BinaryPrimitives.ReadUInt32LittleEndian(src[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(src[16..]));
    }
}
