using System.Buffers;
using System.Buffers.Binary;
using LogitStore.Format;

namespace LogitStore.Ingest;

/// <summary>One frame of the teacher stream: its type, its payload (copied out of the pipe) and where it started.</summary>
internal readonly record struct StreamFrame(uint Type, byte[] Payload, long Offset)
{
    public const uint SequenceType = 1;
    public const uint EndType = 2;
    /// <summary>Field offsets of stream-protocol.md section 2, from the start of the frame.</summary>
    public static class Offsets
    {
        public const int FrameType = 0;
        public const int PayloadLength = 4;
        public const int Payload = 8;
    }

    public const int HeaderSize = Offsets.Payload;
    public const int MaxPayload = 1 << 30;

    /// <summary>Most tokens one sequence frame may carry (a sequence is one unit of writing and of random access).</summary>
    public const int MaxTokens = 1 << 20;

    /// <summary>
    /// Parses one whole frame from <paramref name="buffer"/> if it holds one (no I/O, as in System.IO.Pipelines parsers);
    /// <paramref name="offset"/> is the stream offset of the buffer's first byte.
    /// </summary>
    /// <remarks>
    /// A sequence frame's length is checked against what its token count allows (stream-protocol.md 2.1) as soon as the
    /// count has arrived, so no more than a valid frame's bytes are ever buffered.
    /// </remarks>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, long offset, string stream, StreamHeader header, out StreamFrame frame)
    {
        frame = default;
        if (buffer.Length < HeaderSize) return false;
        Span<byte> h = stackalloc byte[HeaderSize];
        buffer.Slice(0, HeaderSize).CopyTo(h);
        uint type = BinaryPrimitives.ReadUInt32LittleEndian(h[Offsets.FrameType..]);
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(h[Offsets.PayloadLength..]);
        if (type is not (SequenceType or EndType))
            throw new StoreCorruptException(stream, offset + Offsets.FrameType, $"unknown frame type {type}");
        if (length > MaxPayload)
            throw new StoreCorruptException(
                stream, offset + Offsets.PayloadLength, $"frame payload of {length} bytes exceeds the 1 GiB limit");
        if (type == EndType && length != 8)
            throw new StoreCorruptException(stream, offset + Offsets.PayloadLength, $"end frame payload is {length} bytes, expected 8");
        if (type == SequenceType)
        {
            if (length < 4) throw new StoreCorruptException(stream, offset + Offsets.PayloadLength, "sequence frame payload under 4 bytes");
            if (buffer.Length < HeaderSize + 4) return false;
            Span<byte> count = stackalloc byte[4];
            buffer.Slice(HeaderSize, 4).CopyTo(count);
            CheckLength(BinaryPrimitives.ReadUInt32LittleEndian(count), length, header, stream, offset);
        }
        if (buffer.Length < HeaderSize + length) return false;
        frame = new StreamFrame(type, buffer.Slice(HeaderSize, length).ToArray(), offset);
        buffer = buffer.Slice(HeaderSize + length);
        return true;
    }

    private static void CheckLength(uint tokens, uint length, StreamHeader header, string stream, long offset)
    {
        if (tokens is < 1 or > MaxTokens)
            throw new StoreCorruptException(stream, offset + Offsets.Payload, $"token count {tokens} is outside [1, {MaxTokens}]");
        long fixedPart = 4 + 4L * tokens;
        (long min, long max) = header.Kind == StreamPayloadKind.TopKLogProbs
            ? (fixedPart + tokens * 10L, fixedPart + tokens * (2 + 8L * header.MaxEntries))
            : (fixedPart + tokens * 4L * header.VocabSize, fixedPart + tokens * 4L * header.VocabSize);
        if (length < min || length > max)
            throw new StoreCorruptException(
                stream, offset + Offsets.PayloadLength,
                $"a sequence frame of {tokens} tokens has a payload of {min:N0} to {max:N0} bytes, this one says {length:N0}");
    }

    public static byte[] Encode(uint type, ReadOnlySpan<byte> payload)
    {
        var b = new byte[HeaderSize + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Offsets.FrameType), type);
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Offsets.PayloadLength), (uint)payload.Length);
        payload.CopyTo(b.AsSpan(HeaderSize));
        return b;
    }
}
