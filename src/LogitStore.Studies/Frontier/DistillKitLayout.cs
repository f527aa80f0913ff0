using System.Buffers.Binary;

namespace LogitStore.Studies.Frontier;

/// <summary>
/// DistillKit's compressed top-k layout (its logprob compressor, with the example configuration's terms): per position
/// the K ids bit-packed at ⌈log2 V⌉ bits each, the first <see cref="ExactK"/> log-probabilities as bf16, and the rest
/// as the float32 coefficients of a least-squares fit over rank t = 0, 1, … of the terms 1, t, t², t³, t⁴ and √t.
/// Each position's bytes are whole bytes; the rows are kept in Parquet, modelled here as one zstd frame per block.
/// </summary>
public sealed class DistillKitLayout(uint vocab) : IComparisonLayout
{
    public const int ExactK = 16;
    private static readonly Func<double, double>[] Terms =
        [_ => 1, t => t, t => t * t, t => t * t * t, t => t * t * t * t, Math.Sqrt];

    private readonly int _idBits = (int)Math.Ceiling(Math.Log2(vocab));
    private int _fittedK;
    private double[,] _pinv = new double[0, 0];
    private float[,] _basis = new float[0, 0];

    public string Name => "DistillKit";
    public string IdsLayout => $"⌈log2 V⌉-bit packed ids";
    public string ValuesLayout => $"bf16 head of {ExactK}, polynomial tail ({Terms.Length} float32 terms)";

    private int IdBytes(int k) => (k * _idBits + 7) / 8;
    private static int ValueBytes(int k) => 2 * Math.Min(ExactK, k) + (k > ExactK ? 4 * Terms.Length : 0);

    public (byte[] Ids, byte[] Values) Encode(IReadOnlyList<SparseSequence> sequences, int k)
    {
        Fit(k);
        int positions = sequences.Sum(s => s.Length), idBytes = IdBytes(k), valueBytes = ValueBytes(k), tail = k - ExactK;
        var ids = new byte[positions * idBytes];
        var values = new byte[positions * valueBytes];
        var logProbs = new double[k];
        int p = 0;
        foreach (var s in sequences)
        {
            int e = 0;
            for (int t = 0; t < s.Length; t++, p++)
            {
                int kept = Math.Min(k, s.KeptCounts[t]);
                double keptMass = 1 - s.Residual[t];
                var bits = ids.AsSpan(p * idBytes, idBytes);
                for (int j = 0; j < kept; j++)
                {
                    PackBits(bits, j * _idBits, _idBits, (uint)s.Ids[e + j]);
                    logProbs[j] = Math.Log(s.Probs[e + j] * keptMass);
                }
                // A short position repeats its last log-probability: a polynomial cannot fit -inf.
                for (int j = kept; j < k; j++) logProbs[j] = kept > 0 ? logProbs[kept - 1] : -30;
                var v = values.AsSpan(p * valueBytes, valueBytes);
                for (int j = 0; j < Math.Min(ExactK, k); j++) WriteBf16(v[(2 * j)..], (float)logProbs[j]);
                for (int c = 0; tail > 0 && c < Terms.Length; c++)
                {
                    double coefficient = 0;
                    for (int j = 0; j < tail; j++) coefficient += _pinv[c, j] * logProbs[ExactK + j];
                    BinaryPrimitives.WriteSingleLittleEndian(v[(2 * ExactK + 4 * c)..], (float)coefficient);
                }
                e += s.KeptCounts[t];
            }
        }
        return (ids, values);
    }

    public void Decode(ReadOnlySpan<byte> ids, ReadOnlySpan<byte> values, int positions, int k, Span<int> idsOut, Span<float> probsOut)
    {
        Fit(k);
        int idBytes = IdBytes(k), valueBytes = ValueBytes(k), head = Math.Min(ExactK, k), tail = k - head;
        Span<float> coefficients = stackalloc float[Terms.Length];
        for (int p = 0; p < positions; p++)
        {
            var bits = ids.Slice(p * idBytes, idBytes);
            var v = values.Slice(p * valueBytes, valueBytes);
            int at = p * k;
            for (int j = 0; j < k; j++) idsOut[at + j] = (int)UnpackBits(bits, j * _idBits, _idBits);
            float sum = 0;
            for (int j = 0; j < head; j++) sum += probsOut[at + j] = MathF.Exp(ReadBf16(v[(2 * j)..]));
            for (int c = 0; tail > 0 && c < Terms.Length; c++)
                coefficients[c] = BinaryPrimitives.ReadSingleLittleEndian(v[(2 * ExactK + 4 * c)..]);
            for (int j = 0; j < tail; j++)
            {
                float logProb = 0;
                for (int c = 0; c < Terms.Length; c++) logProb += _basis[j, c] * coefficients[c];
                sum += probsOut[at + head + j] = MathF.Exp(logProb);
            }
            float scale = sum > 0 ? 1 / sum : 0;
            for (int j = 0; j < k; j++) probsOut[at + j] *= scale;
        }
    }

    /// <summary>The tail's basis (float32, as it is evaluated) and its pseudo-inverse (double, by Gram-Schmidt done twice).</summary>
    private void Fit(int k)
    {
        if (_fittedK == k) return;
        int m = Math.Max(0, k - ExactK), n = Terms.Length;
        var q = new double[m, n];
        var r = new double[n, n];
        _basis = new float[m, n];
        for (int j = 0; j < m; j++)
            for (int c = 0; c < n; c++)
            {
                q[j, c] = Terms[c](j);
                _basis[j, c] = (float)Terms[c](j);
            }
        for (int c = 0; c < n; c++)
        {
            for (int pass = 0; pass < 2; pass++)
                for (int d = 0; d < c; d++)
                {
                    double dot = 0;
                    for (int j = 0; j < m; j++) dot += q[j, d] * q[j, c];
                    for (int j = 0; j < m; j++) q[j, c] -= dot * q[j, d];
                    r[d, c] += dot;
                }
            double norm = 0;
            for (int j = 0; j < m; j++) norm += q[j, c] * q[j, c];
            norm = Math.Sqrt(norm);
            r[c, c] = norm;
            for (int j = 0; j < m; j++) q[j, c] = norm > 0 ? q[j, c] / norm : 0;
        }
        // pinv = R⁻¹ Qᵀ: back-substitute each column of Qᵀ.
        _pinv = new double[n, m];
        for (int j = 0; j < m; j++)
            for (int c = n - 1; c >= 0; c--)
            {
                double x = q[j, c];
                for (int d = c + 1; d < n; d++) x -= r[c, d] * _pinv[d, j];
                _pinv[c, j] = r[c, c] > 0 ? x / r[c, c] : 0;
            }
        _fittedK = k;
    }

    private static void PackBits(Span<byte> dest, int bit, int width, uint value)
    {
        for (int b = 0; b < width; b++, bit++)
            if ((value >> b & 1) != 0) dest[bit >> 3] |= (byte)(1 << (bit & 7));
    }

    private static uint UnpackBits(ReadOnlySpan<byte> src, int bit, int width)
    {
        uint value = 0;
        for (int b = 0; b < width; b++, bit++) value |= (uint)(src[bit >> 3] >> (bit & 7) & 1) << b;
        return value;
    }

    private static void WriteBf16(Span<byte> dest, float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        bits += 0x7FFF + (bits >> 16 & 1);   // round to nearest even
        BinaryPrimitives.WriteUInt16LittleEndian(dest, (ushort)(bits >> 16));
    }

    private static float ReadBf16(ReadOnlySpan<byte> src) =>
        BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(src) << 16);
}
