using System.Buffers;
using System.Buffers.Binary;
using LogitStore.Format;

namespace LogitStore.Ingest;

/// <summary>One frame of the teacher stream: its type, its payload (copied out of the pipe) and where it started.</summary>
public readonly record struct StreamFrame(uint Type, byte[] Payload, long Offset)
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

    /// <summary>
    /// Parses one whole frame from <paramref name="buffer"/> if it holds one (no I/O, as in System.IO.Pipelines parsers);
    /// <paramref name="offset"/> is the stream offset of the buffer's first byte.
    /// </summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, long offset, string stream, out StreamFrame frame)
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
        if (buffer.Length < HeaderSize + length) return false;
        frame = new StreamFrame(type, buffer.Slice(HeaderSize, length).ToArray(), offset);
        buffer = buffer.Slice(HeaderSize + length);
        return true;
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
