using System.Buffers.Binary;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 17: probabilities as binary16, round to nearest even (spec 5.3).</summary>
internal sealed class F16ValueCodec : IValueCodec
{
    public static readonly F16ValueCodec Instance = new();

    public CodecId Id => CodecId.F16;
    public uint Param => 0;

    // Relative error 2^-11 per entry bounds |ln p̂/p| by ~2^-11; the absolute error below 2^-14 is negligible.
    public double KlBound(int entries) => Math.Pow(2, -10) + entries * Math.Pow(2, -25);

    public int MaxEncodedLength(int count) => 2 * count;

    public int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest)
    {
        for (int i = 0; i < probs.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(dest[(2 * i)..], (Half)probs[i]);
        return 2 * probs.Length;
    }

    public void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where)
    {
        if (src.Length != 2 * dest.Length) throw where.Corrupt($"{src.Length} bytes for {dest.Length} f16 values");
        for (int i = 0; i < dest.Length; i++)
        {
            float v = (float)BinaryPrimitives.ReadHalfLittleEndian(src[(2 * i)..]);
            if (!(v >= 0) || float.IsInfinity(v)) throw where.Corrupt($"probability {v} at entry {i} is not a finite non-negative number");
            dest[i] = v;
        }
    }
}
