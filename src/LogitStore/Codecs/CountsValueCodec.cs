using System.Buffers.Binary;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 20: sampled distributions as exact draw counts out of N (spec 5.5).</summary>
internal sealed class CountsValueCodec : IValueCodec
{
    public CountsValueCodec(int draws)
    {
        if (draws is < 1 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(draws), draws, "draws must be 1..65535");
        Draws = draws;
    }

    public int Draws { get; }
    public CodecId Id => CodecId.Counts;
    public uint Param => (uint)Draws;
    public double KlBound(int entries) => 0;
    public int MaxEncodedLength(int count) => 2 * count;

    public int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest)
    {
        int e = 0;
        foreach (int n in keptCounts)
        {
            int total = 0;
            for (int j = 0; j < n; j++, e++)
            {
                double c = probs[e] * (double)Draws;
                int count = (int)Math.Round(c);
                if (count < 1 || Math.Abs(c - count) > 1e-3)
                    throw new ArgumentException(
                        $"counts codec needs probabilities that are multiples of 1/{Draws}; entry {e} is {probs[e]}");
                BinaryPrimitives.WriteUInt16LittleEndian(dest[(2 * e)..], (ushort)count);
                total += count;
            }
            if (total != Draws) throw new ArgumentException($"counts of a position sum to {total}, not {Draws} draws");
        }
        return 2 * probs.Length;
    }

    public void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where)
    {
        if (src.Length != 2 * dest.Length) throw where.Corrupt($"{src.Length} bytes for {dest.Length} u16 counts");
        float inv = 1f / Draws;
        int e = 0;
        foreach (int n in keptCounts)
        {
            int total = 0;
            for (int j = 0; j < n; j++, e++)
            {
                int c = BinaryPrimitives.ReadUInt16LittleEndian(src[(2 * e)..]);
                if (c == 0) throw where.Corrupt($"count 0 at entry {e}");
                total += c;
                dest[e] = c * inv;
            }
            if (n > 0 && total != Draws) throw where.Corrupt($"counts of the position ending at entry {e} sum to {total}, not {Draws}");
        }
    }
}
