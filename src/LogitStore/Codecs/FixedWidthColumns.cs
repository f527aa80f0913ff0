using System.Buffers.Binary;

namespace LogitStore.Codecs;

/// <summary>The fixed-width columns: sequence lengths (u32), kept counts (u16), residual mass (unorm16); spec 5.6, 5.7.</summary>
internal static class FixedWidthColumns
{
    public static int WriteU32(ReadOnlySpan<int> values, Span<byte> dest)
    {
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt32LittleEndian(dest[(4 * i)..], (uint)values[i]);
        return 4 * values.Length;
    }

    public static int WriteU16(ReadOnlySpan<int> values, Span<byte> dest)
    {
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteUInt16LittleEndian(dest[(2 * i)..], checked((ushort)values[i]));
        return 2 * values.Length;
    }

    public static int WriteUnorm16(ReadOnlySpan<float> values, Span<byte> dest)
    {
        for (int i = 0; i < values.Length; i++)
        {
            float r = values[i];
            if (!(r >= 0 && r <= 1)) throw new ArgumentException($"residual mass {r} at position {i} is outside [0, 1]");
            BinaryPrimitives.WriteUInt16LittleEndian(dest[(2 * i)..], (ushort)Math.Round(r * 65535.0, MidpointRounding.ToEven));
        }
        return 2 * values.Length;
    }

    public static void ReadU32(ReadOnlySpan<byte> src, Span<int> dest)
    {
        for (int i = 0; i < dest.Length; i++)
        {
            uint v = BinaryPrimitives.ReadUInt32LittleEndian(src[(4 * i)..]);
            dest[i] = v > int.MaxValue ? -1 : (int)v;
        }
    }

    public static void ReadU16(ReadOnlySpan<byte> src, Span<int> dest)
    {
        for (int i = 0; i < dest.Length; i++) dest[i] = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]);
    }

    public static void ReadUnorm16(ReadOnlySpan<byte> src, Span<float> dest)
    {
        const float inv = 1f / 65535f;
        for (int i = 0; i < dest.Length; i++) dest[i] = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * i)..]) * inv;
    }
}
