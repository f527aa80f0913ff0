using System.Buffers.Binary;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Codec 16: probabilities as binary32 (exact; the plain layout).</summary>
internal sealed class F32ValueCodec : IValueCodec
{
    public static readonly F32ValueCodec Instance = new();

    public CodecId Id => CodecId.F32;
    public uint Param => 0;
    public double KlBound(int entries) => 0;
    public int MaxEncodedLength(int count) => 4 * count;

    public int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest)
    {
        for (int i = 0; i < probs.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(dest[(4 * i)..], probs[i]);
        return 4 * probs.Length;
    }

    public void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where)
    {
        if (src.Length != 4 * dest.Length) throw where.Corrupt($"{src.Length} bytes for {dest.Length} f32 values");
        for (int i = 0; i < dest.Length; i++)
        {
            float v = BinaryPrimitives.ReadSingleLittleEndian(src[(4 * i)..]);
            if (!(v >= 0) || float.IsInfinity(v)) throw where.Corrupt($"probability {v} at entry {i} is not a finite non-negative number");
            dest[i] = v;
        }
    }
}
