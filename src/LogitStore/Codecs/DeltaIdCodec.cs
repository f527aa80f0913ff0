using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 2: per position, ids in ascending order as LEB128 gaps (spec 5.2).</summary>
internal sealed class DeltaIdCodec : IIdCodec
{
    public static readonly DeltaIdCodec Instance = new();

    public CodecId Id => CodecId.Delta;
    public uint Param => 0;
    public bool StoresAscendingIds => true;

    public int MaxEncodedLength(int count) => 5 * count;

    public int Encode(ReadOnlySpan<int> ids, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<byte> dest)
    {
        int o = 0, e = 0;
        foreach (int n in keptCounts)
        {
            int prev = -1;
            for (int j = 0; j < n; j++, e++)
            {
                int id = ids[e];
                if (id <= prev)
                    throw new ArgumentException(
                        $"delta codec needs distinct ids in ascending order within a position (id {id} after {prev})");
                o += WriteVarint((uint)(id - prev - 1), dest[o..]);
                prev = id;
            }
        }
        return o;
    }

    public void Decode(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, ReadOnlySpan<int> tokens, Span<int> dest, uint vocabSize,
        ColumnLocation where)
    {
        int o = 0, e = 0;
        foreach (int n in keptCounts)
        {
            long prev = -1;
            for (int j = 0; j < n; j++, e++)
            {
                uint gap = 0;
                int shift = 0;
                while (true)
                {
                    if (o >= src.Length) throw where.Corrupt($"varint of entry {e} runs past the end of the column");
                    byte b = src[o++];
                    gap |= (uint)(b & 0x7F) << shift;
                    if ((b & 0x80) == 0) break;
                    shift += 7;
                    if (shift >= 35) throw where.Corrupt($"varint of entry {e} is longer than 5 bytes");
                }
                long id = prev + 1 + gap;
                if (id >= vocabSize) throw where.Corrupt($"id {id} at entry {e} is not below the vocabulary size {vocabSize}");
                dest[e] = (int)id;
                prev = id;
            }
        }
        if (o != src.Length) throw where.Corrupt($"{src.Length - o} bytes left over after the last position");
    }

    private static int WriteVarint(uint v, Span<byte> dest)
    {
        int o = 0;
        while (v >= 0x80)
        {
            dest[o++] = (byte)(v | 0x80);
            v >>= 7;
        }
        dest[o++] = (byte)v;
        return o;
    }
}
