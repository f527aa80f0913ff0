using System.Buffers.Binary;

namespace LogitStore.Format;

/// <summary>Kinds of dictionary file (spec 2.4).</summary>
public enum DictionaryKind : byte
{
    MvqCodebooks = 1,
    IdRankTable = 2,
    IdContextModel = 3,
    IdBandModel = 4,
}

/// <summary>
/// A dictionary file (spec 2.4): a 64-byte header with kind-specific fields, then the body. Blocks name the
/// dictionary they were encoded with by its 32-bit <see cref="Ref"/> (low half of the header checksum).
/// </summary>
internal sealed class DictionaryFile
{
    /// <summary>Header field offsets of spec 2.4; the header starts at file offset 0, so they are file offsets too.</summary>
    public static class Offsets
    {
        public const int Magic = 0;
        public const int MajorVersion = 8;
        public const int MinorVersion = 10;
        public const int Kind = 12;
        public const int Reserved = 13;
        public const int BodyLength = 16;
        public const int BodyChecksum = 24;
        public const int KindFields = 32;
        public const int HeaderChecksum = 56;
    }

    /// <summary>Kind 1 (mvq codebooks) field offsets of spec 2.4, from the start of the kind fields.</summary>
    public static class MvqFieldOffsets
    {
        public const int Codebooks = 0;
        public const int Centroids = 2;
        public const int Dimensions = 4;
        public const int ReservedAfterDimensions = 6;
        public const int LogFloor = 8;
        public const int EscapeKl = 12;
        public const int EscapeRange = 16;
        public const int ReservedAfterEscapeRange = 20;
    }

    /// <summary>Kind 2 (id rank table) field offsets of spec 2.4, from the start of the kind fields.</summary>
    public static class IdRankFieldOffsets
    {
        public const int VocabSize = 0;
        public const int Reserved = 4;
    }

    /// <summary>Kind 3 (id context model) field offsets of spec 2.4, from the start of the kind fields.</summary>
    public static class IdContextFieldOffsets
    {
        public const int VocabSize = 0;
        public const int ContextCount = 4;
        public const int CandidateCount = 8;
        public const int Reserved = 12;
    }

    /// <summary>Kind 4 (id band model) field offsets of spec 2.4, from the start of the kind fields.</summary>
    public static class IdBandFieldOffsets
    {
        public const int VocabSize = 0;
        public const int ContextCount = 4;
        public const int CandidateCount = 8;
        public const int BandCount = 12;
        public const int SetFrom = 16;
        public const int Reserved = 20;
    }

    public const int KindFieldsSize = 24;
    private const int ReservedSize = 3;

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
        DictionaryKind.IdContextModel => "idctx",
        DictionaryKind.IdBandModel => "idband",
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
        FormatConstants.DictionaryMagic.CopyTo(bytes.AsSpan(Offsets.Magic));
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(Offsets.MajorVersion), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(Offsets.MinorVersion), 0);
        bytes[Offsets.Kind] = (byte)kind;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(Offsets.BodyLength), (ulong)body.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(Offsets.BodyChecksum), Checksum.Of(body));
        kindFields.CopyTo(bytes.AsSpan(Offsets.KindFields));
        ulong header = Checksum.Of(bytes.AsSpan(0, Offsets.HeaderChecksum));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(Offsets.HeaderChecksum), header);
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
        if (!bytes[Offsets.Magic..].StartsWith(FormatConstants.DictionaryMagic))
            throw new StoreCorruptException(file, Offsets.Magic, "bad dictionary magic (expected LGSTDICT)");
        ulong headerSum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[Offsets.HeaderChecksum..]);
        ulong actual = Checksum.Of(bytes[..Offsets.HeaderChecksum]);
        if (headerSum != actual)
            throw new StoreCorruptException(
                file,
                Offsets.HeaderChecksum,
                $"dictionary header checksum mismatch (stored {Checksum.ToHex(headerSum)}, computed {Checksum.ToHex(actual)})");
        ushort major = BinaryPrimitives.ReadUInt16LittleEndian(bytes[Offsets.MajorVersion..]);
        if (major != 1) throw new StoreCorruptException(file, Offsets.MajorVersion, $"unsupported dictionary major version {major}");
        if (bytes.Slice(Offsets.Reserved, ReservedSize).ContainsAnyExcept((byte)0))
            throw new StoreCorruptException(file, Offsets.Reserved, "reserved dictionary header bytes are not zero");
        var kind = (DictionaryKind)bytes[Offsets.Kind];
        if (kind is not (DictionaryKind.MvqCodebooks or DictionaryKind.IdRankTable or DictionaryKind.IdContextModel
            or DictionaryKind.IdBandModel))
            throw new StoreCorruptException(file, Offsets.Kind, $"unknown dictionary kind {(byte)kind}");
        ulong bodyLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes[Offsets.BodyLength..]);
        if (bodyLength != (ulong)(bytes.Length - FormatConstants.DictionaryHeaderSize))
            throw new StoreCorruptException(
                file,
                Offsets.BodyLength,
                $"body_length {bodyLength} but the file holds {bytes.Length - FormatConstants.DictionaryHeaderSize} bytes " +
                $"after the header");
        var body = bytes[FormatConstants.DictionaryHeaderSize..];
        ulong bodySum = BinaryPrimitives.ReadUInt64LittleEndian(bytes[Offsets.BodyChecksum..]);
        ulong bodyActual = Checksum.Of(body);
        if (bodySum != bodyActual)
            throw new StoreCorruptException(
                file,
                FormatConstants.DictionaryHeaderSize,
                $"dictionary body checksum mismatch (stored {Checksum.ToHex(bodySum)}, computed {Checksum.ToHex(bodyActual)})");
        return new DictionaryFile(
            kind, bytes.Slice(Offsets.KindFields, KindFieldsSize).ToArray(), body.ToArray(), headerSum, Checksum.Of(bytes));
    }
}
