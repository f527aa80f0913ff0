using System.Buffers.Binary;
using System.Numerics;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codec 4: each id as its frequency rank, split into an exponent byte (which the column's zstd stage
/// entropy-codes) and raw mantissa bits (spec 5.8). Lossless; entries stay in rank order.
/// </summary>
internal sealed class RankedIdCodec(IdRankTable table) : IIdCodec
{
    public IdRankTable Table { get; } = table;
    public CodecId Id => CodecId.Ranked;
    public uint Param => Table.Ref;
    public bool StoresAscendingIds => false;

    // Exponents ≤ 31, so at most 31 mantissa bits per entry (≤ 4 bytes) on top of its exponent byte.
    public int MaxEncodedLength(int count) => count + BitPacking.PackedLength(count, 31) + 8;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        int n = ids.Length;
        ulong acc = 0;
        int bits = 0, o = n;
        for (int i = 0; i < n; i++)
        {
            uint v = (uint)Table.RankOf(ids[i]) + 1;
            int e = 31 - BitOperations.LeadingZeroCount(v);
            dest[i] = (byte)e;
            acc |= (ulong)(v - (1u << e)) << bits;
            bits += e;
            while (bits >= 8)
            {
                dest[o++] = (byte)acc;
                acc >>= 8;
                bits -= 8;
            }
        }
        if (bits > 0) dest[o++] = (byte)acc;
        return o;
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where)
    {
        int n = dest.Length;
        if (src.Length < n) throw where.Corrupt($"{src.Length} bytes, fewer than the {n} exponent bytes");
        long totalBits = 0;
        for (int i = 0; i < n; i++)
        {
            if (src[i] > 31) throw where.Corrupt($"exponent {src[i]} of entry {i} is above 31");
            totalBits += src[i];
        }
        long expected = n + (totalBits + 7) / 8;
        if (src.Length != expected) throw where.Corrupt($"{src.Length} bytes, the exponents call for {expected}");
        var mant = src[n..];
        var ids = Table.IdsByRank;
        long bitPos = 0;
        for (int i = 0; i < n; i++)
        {
            int e = src[i];
            ulong word;
            int at = (int)(bitPos >> 3);
            if (at + 8 <= mant.Length) word = BinaryPrimitives.ReadUInt64LittleEndian(mant[at..]);
            else
            {
                word = 0;
                for (int b = 0; at + b < mant.Length; b++) word |= (ulong)mant[at + b] << (8 * b);
            }
            // e ≤ 31 bits at a bit offset ≤ 7 always fit in the 64-bit window.
            ulong v = (1UL << e) + ((word >> (int)(bitPos & 7)) & ((1UL << e) - 1));
            bitPos += e;
            if (v - 1 >= (ulong)ids.Length) throw where.Corrupt($"rank {v - 1} of entry {i} is not below the vocabulary size {ids.Length}");
            dest[i] = ids[(int)(v - 1)];
        }
        int usedBits = (int)(bitPos & 7);
        ulong acc = usedBits == 0 || mant.Length == 0 ? 0UL : (ulong)(mant[^1] >> usedBits);
        if (acc != 0) throw where.Corrupt("unused bits of the last mantissa byte are not zero");
    }
}
