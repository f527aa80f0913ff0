using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>Kinds of dictionary file (spec 2.4).</summary>
public enum DictionaryKind : byte
{
    MvqCodebooks = 1,
    IdRankTable = 2,
}

/// <summary>
/// A dictionary file (spec 2.4): a 64-byte header with kind-specific fields, then the body. Blocks name the
/// dictionary they were encoded with by its 32-bit <see cref="Ref"/> (low half of the header checksum).
/// </summary>
public sealed class DictionaryFile
{
    public const int KindFieldsOffset = 32;
    public const int KindFieldsSize = 24;

    private DictionaryFile(DictionaryKind kind, byte[] kindFields, byte[] body, ulong headerChecksum, ulong fileChecksum)
    {
        Kind = kind;
        KindFields = kindFields;
        Body = body;
        Ref = (uint)headerChecksum;
        FileChecksum = fileChecksum;
    }

    public DictionaryKind Kind { get; }
    public ReadOnlyMemory<byte> KindFields { get; }
    public ReadOnlyMemory<byte> Body { get; }
    public uint Ref { get; }
    public ulong FileChecksum { get; }

    public static string KindName(DictionaryKind kind) => kind switch
    {
        DictionaryKind.MvqCodebooks => "mvq",
        DictionaryKind.IdRankTable => "idrank",
        _ => $"kind-{(byte)kind}",
    };

    public static string RefHex(uint reference) => reference.ToString("x8");

    /// <summary>The ref a manifest writes as 8 lowercase hex digits (spec 2.0); 0 when absent or not such a string.</summary>
    public static uint ParseRef(string? hex) =>
        hex is { Length: 8 } && uint.TryParse(hex, System.Globalization.NumberStyles.HexNumber, null, out uint r) ? r : 0;

    /// <summary>Lays out a dictionary file in memory; write the bytes with <c>DurableFile</c>.</summary>
    public static (byte[] Bytes, DictionaryFile Parsed) Build(DictionaryKind kind, ReadOnlySpan<byte> kindFields, ReadOnlySpan<byte> body)
    {
        if (kindFields.Length != KindFieldsSize) throw new ArgumentException($"kind fields are {KindFieldsSize} bytes");
        var bytes = new byte[FormatConstants.DictionaryHeaderSize + body.Length];
        FormatConstants.DictionaryMagic.CopyTo(bytes);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(10), 0);
        bytes[12] = (byte)kind;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), (ulong)body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), Checksum.Of(body));
        kindFields.CopyTo(bytes.AsSpan(KindFieldsOffset));
        ulong header = Checksum.Of(bytes.AsSpan(0, 56));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(56), header);
        body.CopyTo(bytes.AsSpan(FormatConstants.DictionaryHeaderSize));
        return (bytes, Parse(bytes, "<memory>"));
    }

    public static DictionaryFile Read(string path)
    {
        if (!File.Exists(path)) throw new StoreCorruptException(path, 0, "dictionary file is missing");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Checks every rule of spec 2.4 that does not depend on the kind.</summary>
    public static DictionaryFile Parse(ReadOnlySpan<byte> bytes, string file)
    {
        if (bytes.Length < FormatConstants.DictionaryHeaderSize)
            throw new StoreCorruptException(file, 0, $"dictionary file is {bytes.Length} bytes, shorter than its 64-byte header");
        if (!bytes[..8].SequenceEqual(FormatConstants.DictionaryMagic))
            throw new StoreCorruptException(file, 0, "bad dictionary magic (expected LGSTDICT)");
        ulong headerSum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[56..]);
        ulong actual = Checksum.Of(bytes[..56]);
        if (headerSum != actual)
            throw new StoreCorruptException(
                file, 56, $"dictionary header checksum mismatch (stored {Checksum.ToHex(headerSum)}, computed {Checksum.ToHex(actual)})");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
        if (major != 1) throw new StoreCorruptException(file, 8, $"unsupported dictionary major version {major}");
        if (bytes[13] != 0 || bytes[14] != 0 || bytes[15] != 0)
            throw new StoreCorruptException(file, 13, "reserved dictionary header bytes are not zero");
        var kind = (DictionaryKind)bytes[12];
        if (kind is not (DictionaryKind.MvqCodebooks or DictionaryKind.IdRankTable))
            throw new StoreCorruptException(file, 12, $"unknown dictionary kind {(byte)kind}");
        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        if (bodyLength != (ulong)(bytes.Length - FormatConstants.DictionaryHeaderSize))
            throw new StoreCorruptException(
                file,
                16,
                $"body_length {bodyLength} but the file holds {bytes.Length - FormatConstants.DictionaryHeaderSize} bytes " +
                $"after the header");
        var body = bytes[FormatConstants.DictionaryHeaderSize..];
        ulong bodySum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
        ulong bodyActual = Checksum.Of(body);
        if (bodySum != bodyActual)
            throw new StoreCorruptException(
                file,
                FormatConstants.DictionaryHeaderSize,
                $"dictionary body checksum mismatch (stored {Checksum.ToHex(bodySum)}, computed {Checksum.ToHex(bodyActual)})");
        return new DictionaryFile(
            kind, bytes.Slice(KindFieldsOffset, KindFieldsSize).ToArray(), body.ToArray(), headerSum, Checksum.Of(bytes));
    }
}
