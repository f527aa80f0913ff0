using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LogitStore.Format;

namespace LogitStore.Ingest;

/// <summary>Payload kinds of the teacher stream protocol.</summary>
internal enum StreamPayloadKind : byte
{
    TopKLogProbs = 1,
    FullLogits = 2,
}

/// <summary>The stream protocol's header (format-spec/stream-protocol.md section 1).</summary>
internal sealed record StreamHeader(StreamPayloadKind Kind, uint VocabSize, uint MaxEntries, ulong FirstSequence, string TeacherId)
{
    /// <summary>Field offsets of stream-protocol.md section 1; the header opens the stream, so they are stream offsets too.</summary>
    public static class Offsets
    {
        public const int Magic = 0;
        public const int Version = 8;
        public const int PayloadKind = 10;
        public const int Reserved = 11;
        public const int VocabSize = 12;
        public const int MaxEntries = 16;
        public const int FirstSequence = 20;
        public const int TeacherIdLength = 28;
        public const int TeacherId = 30;
    }

    /// <summary>Bytes before the variable-length teacher id.</summary>
    public const int FixedSize = Offsets.TeacherId;

    /// <summary>The largest vocabulary a stream may declare: token ids are stored as signed 32-bit integers downstream.</summary>
    public const uint MaxVocabSize = 1u << 31;
    public static ReadOnlySpan<byte> Magic => "LGSTSTRM"u8;

    /// <summary>The newest protocol version (stream-protocol.md); version 1 streams stay accepted.</summary>
    public const ushort LatestVersion = 2;

    /// <summary>The version a writer gives a header: 1 while <see cref="FirstSequence"/> is 0, so version 1 readers read it.</summary>
    public ushort Version => FirstSequence == 0 ? (ushort)1 : LatestVersion;

    public int Size => FixedSize + Encoding.UTF8.GetByteCount(TeacherId);

    public byte[] ToBytes()
    {
        var id = Encoding.UTF8.GetBytes(TeacherId);
        var b = new byte[FixedSize + id.Length];
        Magic.CopyTo(b.AsSpan(Offsets.Magic));
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(Offsets.Version), Version);
        b[Offsets.PayloadKind] = (byte)Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Offsets.VocabSize), VocabSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Offsets.MaxEntries), MaxEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(Offsets.FirstSequence), FirstSequence);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(Offsets.TeacherIdLength), checked((ushort)id.Length));
        id.CopyTo(b, FixedSize);
        return b;
    }

    /// <summary>Parses the header if <paramref name="buffer"/> holds all of it (no I/O); throws on invalid content.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, string stream, out StreamHeader? header)
    {
        header = null;
        if (buffer.Length < FixedSize) return false;
        Span<byte> fixedPart = stackalloc byte[FixedSize];
        buffer.Slice(0, FixedSize).CopyTo(fixedPart);
        if (!fixedPart[Offsets.Magic..].StartsWith(Magic))
            throw new StoreCorruptException(stream, Offsets.Magic, "bad stream magic (expected 'LGSTSTRM')");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[Offsets.Version..]);
        if (version is < 1 or > LatestVersion)
            throw new StoreCorruptException(
                stream, Offsets.Version, $"unsupported stream protocol version {version} (this reader knows 1 and {LatestVersion})");
        byte kind = fixedPart[Offsets.PayloadKind];
        if (kind is not (1 or 2)) throw new StoreCorruptException(stream, Offsets.PayloadKind, $"unknown payload kind {kind}");
        if (fixedPart[Offsets.Reserved] != 0) throw new StoreCorruptException(stream, Offsets.Reserved, "reserved byte is not zero");
        uint vocab = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[Offsets.VocabSize..]);
        if (vocab is < 2 or > MaxVocabSize)
            throw new StoreCorruptException(stream, Offsets.VocabSize, $"vocab_size {vocab} must be in [2, {MaxVocabSize}]");
        uint maxEntries = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[Offsets.MaxEntries..]);
        if (kind == 1 && (maxEntries < 1 || maxEntries > Math.Min(vocab, ushort.MaxValue)))
            throw new StoreCorruptException(stream, Offsets.MaxEntries, $"max_entries {maxEntries} must be in [1, min(V, 65535)]");
        if (kind == 2 && 4 + 4 + 4L * vocab > StreamFrame.MaxPayload)
            throw new StoreCorruptException(
                stream, Offsets.VocabSize, $"full logits of {vocab} ids do not fit a frame of at most {StreamFrame.MaxPayload} bytes");
        ulong first = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[Offsets.FirstSequence..]);
        if (version == 1 && first != 0)
            throw new StoreCorruptException(
                stream, Offsets.FirstSequence, $"first_sequence {first} must be 0 in protocol version 1 (a part needs version 2)");
        if (first >= 1UL << 63)
            throw new StoreCorruptException(stream, Offsets.FirstSequence, $"first_sequence {first} must be below 2^63");
        int idLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[Offsets.TeacherIdLength..]);
        if (buffer.Length < FixedSize + idLength) return false;
        string id;
        try { id = new UTF8Encoding(false, true).GetString(buffer.Slice(FixedSize, idLength).ToArray()); }
        catch (DecoderFallbackException) { throw new StoreCorruptException(stream, Offsets.TeacherId, "teacher_id is not valid UTF-8"); }
        header = new StreamHeader((StreamPayloadKind)kind, vocab, maxEntries, first, id);
        buffer = buffer.Slice(FixedSize + idLength);
        return true;
    }
}
