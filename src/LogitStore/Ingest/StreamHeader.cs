using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using LogitStore.Format;

namespace LogitStore.Ingest;

/// <summary>Payload kinds of the teacher stream protocol.</summary>
public enum StreamPayloadKind : byte
{
    TopKLogProbs = 1,
    FullLogits = 2,
}

/// <summary>The stream protocol's header (format-spec/stream-protocol.md section 1).</summary>
public sealed record StreamHeader(StreamPayloadKind Kind, uint VocabSize, uint MaxEntries, ulong FirstSequence, string TeacherId)
{
    public const int FixedSize = 30;

    /// <summary>The largest vocabulary a stream may declare: token ids are stored as signed 32-bit integers downstream.</summary>
    public const uint MaxVocabSize = 1u << 31;
    public static ReadOnlySpan<byte> Magic => "LGSTSTRM"u8;

    public int Size => FixedSize + Encoding.UTF8.GetByteCount(TeacherId);

    public byte[] ToBytes()
    {
        var id = Encoding.UTF8.GetBytes(TeacherId);
        var b = new byte[FixedSize + id.Length];
        Magic.CopyTo(b);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), 1);
        b[10] = (byte)Kind;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(12), VocabSize);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(16), MaxEntries);
        BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(20), FirstSequence);
        BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(28), checked((ushort)id.Length));
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
        if (!fixedPart[..8].SequenceEqual(Magic)) throw new StoreCorruptException(stream, 0, "bad stream magic (expected 'LGSTSTRM')");
        ushort version = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[8..]);
        if (version != 1)
            throw new StoreCorruptException(stream, 8, $"unsupported stream protocol version {version} (this reader knows 1)");
        byte kind = fixedPart[10];
        if (kind is not (1 or 2)) throw new StoreCorruptException(stream, 10, $"unknown payload kind {kind}");
        if (fixedPart[11] != 0) throw new StoreCorruptException(stream, 11, "reserved byte is not zero");
        uint vocab = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[12..]);
        if (vocab is < 2 or > MaxVocabSize)
            throw new StoreCorruptException(stream, 12, $"vocab_size {vocab} must be in [2, {MaxVocabSize}]");
        uint maxEntries = BinaryPrimitives.ReadUInt32LittleEndian(fixedPart[16..]);
        if (kind == 1 && (maxEntries < 1 || maxEntries > Math.Min(vocab, ushort.MaxValue)))
            throw new StoreCorruptException(stream, 16, $"max_entries {maxEntries} must be in [1, min(V, 65535)]");
        ulong first = BinaryPrimitives.ReadUInt64LittleEndian(fixedPart[20..]);
        if (first != 0) throw new StoreCorruptException(stream, 20, $"first_sequence {first} must be 0 in protocol version 1");
        int idLength = BinaryPrimitives.ReadUInt16LittleEndian(fixedPart[28..]);
        if (buffer.Length < FixedSize + idLength) return false;
        string id;
        try { id = new UTF8Encoding(false, true).GetString(buffer.Slice(FixedSize, idLength).ToArray()); }
        catch (DecoderFallbackException) { throw new StoreCorruptException(stream, FixedSize, "teacher_id is not valid UTF-8"); }
        header = new StreamHeader((StreamPayloadKind)kind, vocab, maxEntries, first, id);
        buffer = buffer.Slice(FixedSize + idLength);
        return true;
    }
}
