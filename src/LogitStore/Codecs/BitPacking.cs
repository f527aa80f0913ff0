using System.Buffers.Binary;

namespace LogitStore.Codecs;

/// <summary>LSB-first bit packing of unsigned integers at a fixed width (spec 5.1).</summary>
internal static class BitPacking
{
    public static int PackedLength(int count, int width) => (int)(((long)count * width + 7) / 8);

    public static int WidthFor(uint vocabSize) => Math.Max(1, 32 - System.Numerics.BitOperations.LeadingZeroCount(vocabSize - 1));

    public static int Pack(ReadOnlySpan<int> values, int width, Span<byte> dest)
    {
        int len = PackedLength(values.Length, width);
        dest = dest[..len];
        ulong acc = 0;
        int bits = 0, o = 0;
        ulong mask = width == 64 ? ulong.MaxValue : (1UL << width) - 1;
        foreach (int v in values)
        {
            acc |= ((ulong)(uint)v & mask) << bits;
            bits += width;
            while (bits >= 8)
            {
                dest[o++] = (byte)acc;
                acc >>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) dest[o++] = (byte)acc;
        return len;
    }

    /// <summary>
    /// Unpacks <paramref name="dest"/>.Length values; returns false if a value is not below <paramref name="limit"/>
    /// (index in <paramref name="badIndex"/>).
    /// </summary>
    public static bool Unpack(ReadOnlySpan<byte> src, int width, Span<int> dest, uint limit, out int badIndex)
    {
        uint mask = width == 32 ? uint.MaxValue : (1u << width) - 1;
        int n = dest.Length;
        int i = 0;
        // Fast path: an 8-byte window covers any value of width <= 32 at any bit offset 0..7.
        long bitPos = 0;
        while (i < n && (bitPos >> 3) + 8 <= src.Length)
        {
            ulong word = BinaryPrimitives.ReadUInt64LittleEndian(src[(int)(bitPos >> 3)..]);
            uint v = (uint)(word >> (int)(bitPos & 7)) & mask;
            if (v >= limit) { badIndex = i; return false; }
            dest[i] = (int)v;
            bitPos += width;
            i++;
        }
        for (; i < n; i++, bitPos += width)
        {
            ulong v = 0;
            for (int b = 0; b < width; b++)
            {
                long p = bitPos + b;
                v |= (ulong)((src[(int)(p >> 3)] >> (int)(p & 7)) & 1) << b;
            }
            if (v >= limit) { badIndex = i; return false; }
            dest[i] = (int)v;
        }
        badIndex = -1;
        return true;
    }

    /// <summary>True when the bits after the last value are all zero, as the spec requires.</summary>
    public static bool TailIsZero(ReadOnlySpan<byte> src, int count, int width)
    {
        long used = (long)count * width;
        int rem = (int)(used & 7);
        return rem == 0 || (src[^1] >> rem) == 0;
    }
}
