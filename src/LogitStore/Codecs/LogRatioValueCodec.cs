using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codecs 18 (q8) and 19 (q4): each kept probability as a uniform code of ln(p / p_max) over [−R, 0];
/// decoding renormalises each position (spec 5.4).
/// </summary>
internal sealed class LogRatioValueCodec : IValueCodec
{
    public const double DefaultRange8 = 16.0;
    public const double DefaultRange4 = 8.0;

    private readonly int _levels;
    private readonly double _step;
    private readonly float[] _weights;

    public LogRatioValueCodec(int bits, double range)
    {
        if (bits is not (8 or 4)) throw new ArgumentOutOfRangeException(nameof(bits), bits, "log-ratio codec is q8 or q4");
        if (!(range > 0 && range < 1000))
            throw new ArgumentOutOfRangeException(nameof(range), range, "log range R must be in (0, 1000) nats");
        Bits = bits;
        Param = (uint)Math.Round(range * 256);
        Range = Param / 256.0;
        _levels = 1 << bits;
        _step = Range / (_levels - 1);
        _weights = new float[_levels];
        for (int c = 0; c < _levels; c++) _weights[c] = (float)Math.Exp(-c * _step);
    }

    public static LogRatioValueCodec FromParam(int bits, uint param) => new(bits, param / 256.0);

    public int Bits { get; }
    public double Range { get; }
    public double Step => _step;

    /// <summary>The unnormalised weight exp(−code · step) a code decodes to, before its position is renormalised.</summary>
    public float Weight(int code) => _weights[code];
    public CodecId Id => Bits == 8 ? CodecId.Q8 : CodecId.Q4;
    public uint Param { get; }

    public double KlBound(int entries) => _step + entries * Math.Exp(-Range);

    public int MaxEncodedLength(int count) => Bits == 8 ? count : (count + 1) / 2;

    public int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest)
    {
        int len = MaxEncodedLength(probs.Length);
        dest[..len].Clear();
        int e = 0;
        double invStep = 1.0 / _step;
        foreach (int n in keptCounts)
        {
            var p = probs.Slice(e, n);
            float max = 0;
            foreach (float v in p) if (v > max) max = v;
            for (int j = 0; j < n; j++, e++)
            {
                int code;
                if (p[j] <= 0 || max <= 0) code = _levels - 1;
                else
                {
                    double x = -Math.Log(p[j] / (double)max) * invStep;
                    code = x >= _levels - 1 ? _levels - 1 : (int)Math.Round(x, MidpointRounding.ToEven);
                }
                if (Bits == 8) dest[e] = (byte)code;
                else dest[e >> 1] |= (byte)((e & 1) == 0 ? code : code << 4);
            }
        }
        return len;
    }

    public void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where)
    {
        int expected = MaxEncodedLength(dest.Length);
        if (src.Length != expected) throw where.Corrupt($"{src.Length} bytes for {dest.Length} q{Bits} codes (expected {expected})");
        if (Bits == 4 && (dest.Length & 1) == 1 && (src[^1] >> 4) != 0)
            throw where.Corrupt("unused high nibble of the last byte is not zero");
        var w = _weights;
        int e = 0;
        foreach (int n in keptCounts)
        {
            var d = dest.Slice(e, n);
            float sum = 0;
            for (int j = 0; j < n; j++)
            {
                int i = e + j;
                int code = Bits == 8 ? src[i] : (src[i >> 1] >> ((i & 1) << 2)) & 0xF;
                float v = w[code];
                d[j] = v;
                sum += v;
            }
            float inv = 1f / sum;
            for (int j = 0; j < n; j++) d[j] *= inv;
            e += n;
        }
    }
}
