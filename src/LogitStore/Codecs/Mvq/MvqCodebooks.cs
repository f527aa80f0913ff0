using System.Buffers.Binary;
using System.Runtime.Intrinsics;
using LogitStore.Format;
using MvqFieldOffsets = LogitStore.Format.DictionaryFile.MvqFieldOffsets;

namespace LogitStore.Codecs.Mvq;

/// <summary>
/// A set of M codebooks of 256 centroids over the log-ratio vectors of spec 5.9, with the position-level
/// encoder (beam search over the codebooks, KL guard) and decoder. Immutable and thread-safe; encoding uses
/// per-thread scratch.
/// </summary>
public sealed class MvqCodebooks
{
    public const int Centroids = 256;
    public const int MaxCodebooks = 32;
    public const int MaxDimensions = 255;
    public const float DefaultLogFloor = 20f;
    public const float DefaultEscapeKl = 0.05f;
    public const float DefaultEscapeRange = 16f;

    private readonly float[] _centroids;   // [m][k][stride], padding zero
    private readonly float[] _transposed;  // [m][j][k] for j < D
    private readonly float[] _squares;     // [m][j][k] = c²

    [ThreadStatic] private static EncodeScratch? t_scratch;

    /// <summary>Builds a codebook set from <paramref name="centroids"/> laid out as the dictionary body: [m][k][D].</summary>
    public MvqCodebooks(int codebooks, int dimensions, ReadOnlySpan<float> centroids, float logFloor = DefaultLogFloor,
        float escapeKl = DefaultEscapeKl, float escapeRange = DefaultEscapeRange)
    {
        if (codebooks is < 1 or > MaxCodebooks)
            throw new ArgumentOutOfRangeException(nameof(codebooks), codebooks, $"1..{MaxCodebooks} codebooks");
        if (dimensions is < 1 or > MaxDimensions)
            throw new ArgumentOutOfRangeException(nameof(dimensions), dimensions, $"1..{MaxDimensions} dimensions");
        if (centroids.Length != codebooks * Centroids * dimensions)
            throw new ArgumentException($"expected {codebooks * Centroids * dimensions} centroid values, got {centroids.Length}");
        if (!(logFloor > 0) || !(escapeKl >= 0) || !(escapeRange > 0) || float.IsInfinity(logFloor) || float.IsInfinity(escapeRange))
            throw new ArgumentException("log floor and escape range must be positive and finite, escape KL non-negative");
        M = codebooks;
        D = dimensions;
        Stride = VectorKernels.PadToVector(dimensions);
        LogFloor = logFloor;
        EscapeKl = escapeKl;
        EscapeRange = escapeRange;
        _centroids = new float[M * Centroids * Stride];
        _transposed = new float[M * D * Centroids];
        _squares = new float[M * D * Centroids];
        for (int m = 0; m < M; m++)
            for (int k = 0; k < Centroids; k++)
                for (int j = 0; j < D; j++)
                {
                    float c = centroids[(m * Centroids + k) * D + j];
                    if (!float.IsFinite(c)) throw new ArgumentException($"centroid {m}/{k} dimension {j} is not finite");
                    _centroids[(m * Centroids + k) * Stride + j] = c;
                    _transposed[(m * D + j) * Centroids + k] = c;
                    _squares[(m * D + j) * Centroids + k] = c * c;
                }
        var (bytes, parsed) = ToDictionary();
        Ref = parsed.Ref;
        FileBytes = bytes;
        EscapeCodec = new LogRatioValueCodec(8, escapeRange);
    }

    public int M { get; }
    public int D { get; }
    internal int Stride { get; }
    public float LogFloor { get; }
    public float EscapeKl { get; }
    public float EscapeRange { get; }
    public uint Ref { get; }

    /// <summary><see cref="Ref"/> as the manifest writes it (8 hex digits).</summary>
    public string RefHex => DictionaryFile.RefHex(Ref);

    /// <summary>The dictionary file (spec 2.4, kind 1) that holds this set.</summary>
    public byte[] FileBytes { get; }

    /// <summary>The q8 codec of escaped positions.</summary>
    internal LogRatioValueCodec EscapeCodec { get; }

    /// <summary>The probability weight an escaped position's q8 code <paramref name="code"/> stands for (spec 5.9).</summary>
    public float EscapeWeight(int code) => EscapeCodec.Weight(code);

    /// <summary>Largest kept count a coded (not escaped) position can have.</summary>
    public int MaxKept => D + 1;

    public float Centroid(int m, int k, int j) => _centroids[(m * Centroids + k) * Stride + j];

    internal ReadOnlySpan<float> CentroidRow(int m, int k) => _centroids.AsSpan((m * Centroids + k) * Stride, Stride);

    internal ReadOnlySpan<float> Transposed(int m, int dims) => _transposed.AsSpan(m * D * Centroids, dims * Centroids);

    internal ReadOnlySpan<float> Squares(int m, int dims) => _squares.AsSpan(m * D * Centroids, dims * Centroids);

    private (byte[] Bytes, DictionaryFile Parsed) ToDictionary()
    {
        Span<byte> fields = stackalloc byte[DictionaryFile.KindFieldsSize];
        fields.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(fields[MvqFieldOffsets.Codebooks..], (ushort)M);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[MvqFieldOffsets.Centroids..], Centroids);
        BinaryPrimitives.WriteUInt16LittleEndian(fields[MvqFieldOffsets.Dimensions..], (ushort)D);
        BinaryPrimitives.WriteSingleLittleEndian(fields[MvqFieldOffsets.LogFloor..], LogFloor);
        BinaryPrimitives.WriteSingleLittleEndian(fields[MvqFieldOffsets.EscapeKl..], EscapeKl);
        BinaryPrimitives.WriteSingleLittleEndian(fields[MvqFieldOffsets.EscapeRange..], EscapeRange);
        var body = new byte[4 * M * Centroids * D];
        for (int m = 0; m < M; m++)
            for (int k = 0; k < Centroids; k++)
                for (int j = 0; j < D; j++)
                    BinaryPrimitives.WriteSingleLittleEndian(body.AsSpan(4 * ((m * Centroids + k) * D + j)), Centroid(m, k, j));
        return DictionaryFile.Build(DictionaryKind.MvqCodebooks, fields, body);
    }

    /// <summary>Reads a kind-1 dictionary (spec 2.4); errors name <paramref name="file"/> and the field's offset.</summary>
    /// <summary>Reads a codebook dictionary file (from <c>logitstore codebook train</c>).</summary>
    public static MvqCodebooks Load(string path) => FromDictionary(DictionaryFile.Read(path), path);

    internal static MvqCodebooks FromDictionary(DictionaryFile dict, string file)
    {
        if (dict.Kind != DictionaryKind.MvqCodebooks)
            throw new StoreCorruptException(
                file, DictionaryFile.Offsets.Kind, $"dictionary kind {(byte)dict.Kind} is not mvq codebooks (1)");
        var f = dict.KindFields.Span;
        int m = BinaryPrimitives.ReadUInt16LittleEndian(f[MvqFieldOffsets.Codebooks..]),
            k = BinaryPrimitives.ReadUInt16LittleEndian(f[MvqFieldOffsets.Centroids..]),
            d = BinaryPrimitives.ReadUInt16LittleEndian(f[MvqFieldOffsets.Dimensions..]);
        float floor = BinaryPrimitives.ReadSingleLittleEndian(f[MvqFieldOffsets.LogFloor..]),
            escKl = BinaryPrimitives.ReadSingleLittleEndian(f[MvqFieldOffsets.EscapeKl..]),
            escR = BinaryPrimitives.ReadSingleLittleEndian(f[MvqFieldOffsets.EscapeRange..]);
        const int at = DictionaryFile.Offsets.KindFields;
        if (m is < 1 or > MaxCodebooks)
            throw new StoreCorruptException(file, at + MvqFieldOffsets.Codebooks, $"M = {m} codebooks is outside 1..{MaxCodebooks}");
        if (k != Centroids)
            throw new StoreCorruptException(file, at + MvqFieldOffsets.Centroids, $"K = {k} centroids, must be {Centroids}");
        if (d is < 1 or > MaxDimensions)
            throw new StoreCorruptException(file, at + MvqFieldOffsets.Dimensions, $"D = {d} dimensions is outside 1..{MaxDimensions}");
        if (BinaryPrimitives.ReadUInt16LittleEndian(f[MvqFieldOffsets.ReservedAfterDimensions..]) != 0)
            throw new StoreCorruptException(file, at + MvqFieldOffsets.ReservedAfterDimensions, "reserved codebook field is not zero");
        if (BinaryPrimitives.ReadUInt32LittleEndian(f[MvqFieldOffsets.ReservedAfterEscapeRange..]) != 0)
            throw new StoreCorruptException(file, at + MvqFieldOffsets.ReservedAfterEscapeRange, "reserved codebook field is not zero");
        if (!(floor > 0) || !float.IsFinite(floor))
            throw new StoreCorruptException(file, at + MvqFieldOffsets.LogFloor, $"log floor {floor} is not a positive number");
        if (!(escKl >= 0) || !float.IsFinite(escKl))
            throw new StoreCorruptException(file, at + MvqFieldOffsets.EscapeKl, $"escape KL {escKl} is not a non-negative number");
        if (!(escR > 0) || !(escR < 1000))
            throw new StoreCorruptException(file, at + MvqFieldOffsets.EscapeRange, $"escape range {escR} is outside (0, 1000)");
        var body = dict.Body.Span;
        if (body.Length != 4 * m * k * d)
            throw new StoreCorruptException(
                file, FormatConstants.DictionaryHeaderSize, $"body is {body.Length} bytes, M·K·D·4 = {4 * m * k * d}");
        var c = new float[m * k * d];
        for (int i = 0; i < c.Length; i++)
        {
            c[i] = BinaryPrimitives.ReadSingleLittleEndian(body[(4 * i)..]);
            if (!float.IsFinite(c[i]))
                throw new StoreCorruptException(file, FormatConstants.DictionaryHeaderSize + 4L * i, "centroid value is not finite");
        }
        var set = new MvqCodebooks(m, d, c, floor, escKl, escR);
        if (set.Ref != dict.Ref)
            throw new StoreCorruptException(
                file, DictionaryFile.Offsets.HeaderChecksum, "codebook file does not re-encode to the same bytes");
        return set;
    }

    /// <summary>
    /// Turns a position's kept probabilities (rank order, n ≥ 2) into the log-ratio vector y and the weights w of
    /// spec 5.9 (w = p_{j+1}, the KL's own weighting). Returns the dimension count n − 1, or −1 if the position
    /// cannot be coded (too many entries or no positive probability).
    /// </summary>
    public int Prepare(ReadOnlySpan<float> probs, Span<float> y, Span<float> w)
    {
        int n = probs.Length;
        if (n - 1 > D) return -1;
        float p0 = probs[0];
        if (!(p0 > 0)) return -1;
        float sum = 0;
        foreach (float v in probs) sum += v;
        float inv0 = 1f / p0, invSum = 1f / sum;
        for (int j = 0; j < n - 1; j++)
        {
            float p = probs[j + 1];
            y[j] = p > 0 ? Math.Max(MathF.Log(p * inv0), -LogFloor) : -LogFloor;
            w[j] = p * invSum;
        }
        return n - 1;
    }

    /// <summary>
    /// Encodes one position (n ≥ 2 probabilities in rank order) into <paramref name="codes"/> (M bytes) by beam
    /// search of width <paramref name="beam"/>. Returns false when the position must be escaped (too long, or its
    /// decoded KL would exceed <see cref="EscapeKl"/>); the codes are then unspecified.
    /// </summary>
    public bool Encode(ReadOnlySpan<float> probs, Span<byte> codes, int beam, out double kl)
    {
        kl = double.NaN;
        var s = t_scratch ??= new EncodeScratch();
        s.Ensure(Stride, M, beam);
        int dims = Prepare(probs, s.Y, s.W);
        if (dims < 0) return false;
        BeamSearch(s, dims, beam, codes);
        Span<float> decoded = s.Decoded.AsSpan(0, probs.Length + VectorKernels.Lanes);
        DecodePosition(codes, probs.Length, decoded);
        kl = KlOf(probs, decoded[..probs.Length]);
        return kl <= EscapeKl;
    }

    private void BeamSearch(EncodeScratch s, int dims, int beamWidth, Span<byte> codes)
    {
        int stride = Stride;
        var y = s.Y.AsSpan(0, dims);
        var w = s.W.AsSpan(0, dims);
        // Beam 0 starts at the full vector; error = Σ w y².
        s.Residual.AsSpan(0, stride).Clear();
        y.CopyTo(s.Residual);
        double err0 = 0;
        for (int j = 0; j < dims; j++) err0 += w[j] * y[j] * y[j];
        s.Error[0] = err0;
        int beams = 1;
        var a = s.A;
        var g = s.G;
        var wr = s.Wr.AsSpan(0, dims);
        for (int m = 0; m < M; m++)
        {
            VectorKernels.Gemv256(Squares(m, dims), w, a);
            int kept = 0;
            for (int b = 0; b < beams; b++)
            {
                var r = s.Residual.AsSpan(b * stride, dims);
                for (int j = 0; j < dims; j++) wr[j] = w[j] * r[j];
                VectorKernels.Gemv256(Transposed(m, dims), wr, g);
                float eb = (float)s.Error[b];
                // Scores eb − 2g + a, eight centroids at a time; only chunks that can enter the beam are looked at lane by lane.
                for (int k0 = 0; k0 < Centroids; k0 += VectorKernels.Lanes)
                {
                    var score = Vector256.Create(eb) + Vector256.Create(a, k0) - Vector256.Create(g, k0) * 2f;
                    float worst = kept < beamWidth ? float.PositiveInfinity : (float)s.CandScore[kept - 1];
                    if (Vector256.LessThanAny(score, Vector256.Create(worst)) == false) continue;
                    for (int l = 0; l < VectorKernels.Lanes; l++)
                    {
                        float sc = score.GetElement(l);
                        if (kept < beamWidth) { Insert(s, kept, sc, b, k0 + l); kept++; }
                        else if (sc < s.CandScore[kept - 1]) Insert(s, kept - 1, sc, b, k0 + l);
                    }
                }
            }
            // Materialise the surviving beams (codes and residuals) from their parents.
            for (int i = 0; i < kept; i++)
            {
                int parent = s.CandBeam[i];
                s.Residual.AsSpan(parent * stride, stride).CopyTo(s.NextResidual.AsSpan(i * stride, stride));
                VectorKernels.SubtractInPlace(s.NextResidual.AsSpan(i * stride, stride), CentroidRow(m, s.CandCode[i]));
                s.Codes.AsSpan(parent * M, m).CopyTo(s.NextCodes.AsSpan(i * M, m));
                s.NextCodes[i * M + m] = (byte)s.CandCode[i];
                s.NextError[i] = s.CandScore[i];
            }
            (s.Residual, s.NextResidual) = (s.NextResidual, s.Residual);
            (s.Codes, s.NextCodes) = (s.NextCodes, s.Codes);
            (s.Error, s.NextError) = (s.NextError, s.Error);
            beams = kept;
        }
        s.Codes.AsSpan(0, M).CopyTo(codes); // beams are kept sorted: 0 is the best
    }

    /// <summary>Inserts a candidate at or before <paramref name="slot"/>, keeping the candidate list sorted by score.</summary>
    private static void Insert(EncodeScratch s, int slot, double score, int beam, int code)
    {
        int i = slot;
        while (i > 0 && s.CandScore[i - 1] > score)
        {
            s.CandScore[i] = s.CandScore[i - 1];
            s.CandBeam[i] = s.CandBeam[i - 1];
            s.CandCode[i] = s.CandCode[i - 1];
            i--;
        }
        s.CandScore[i] = score;
        s.CandBeam[i] = beam;
        s.CandCode[i] = code;
    }

    /// <summary>
    /// Decodes one coded position of <paramref name="n"/> ≥ 2 entries (spec 5.9). <paramref name="dest"/> must hold
    /// at least <c>n + 8</c> floats (vector tail); the first n are the result.
    /// </summary>
    public void DecodePosition(ReadOnlySpan<byte> codes, int n, Span<float> dest)
    {
        if (n < 2 || n - 1 > D) throw new ArgumentOutOfRangeException(nameof(n), n, $"a coded position has 2..{D + 1} entries");
        int width = VectorKernels.PadToVector(n - 1);
        if (dest.Length < width + 1 || codes.Length < M) throw new ArgumentException("decode spans too short");
        var y = dest.Slice(1, width);
        CentroidRow(0, codes[0])[..width].CopyTo(y);
        for (int m = 1; m < M; m++) VectorKernels.AddInPlace(y, CentroidRow(m, codes[m])[..width]);
        // Rank order survives decoding: each log-ratio is at most the one before it.
        for (int j = 1; j < n - 1; j++) if (y[j] > y[j - 1]) y[j] = y[j - 1];
        float sum = 1f + VectorKernels.ClampExp(y, n - 1, -LogFloor);
        float inv = 1f / sum;
        dest[0] = 1f;
        for (int j = 0; j < n; j++) dest[j] *= inv;
    }

    /// <summary>KL(p ‖ q) in nats over one position's kept entries, p renormalised.</summary>
    public static double KlOf(ReadOnlySpan<float> p, ReadOnlySpan<float> q)
    {
        double sp = 0;
        foreach (float v in p) sp += v;
        if (!(sp > 0)) return 0;
        double kl = 0;
        for (int i = 0; i < p.Length; i++)
        {
            double pi = p[i] / sp;
            if (pi > 0) kl += pi * Math.Log(pi / Math.Max(q[i], 1e-30));
        }
        return Math.Max(0, kl);
    }

    private sealed class EncodeScratch
    {
        public float[] Y = [], W = [], Wr = [], Decoded = [];
        public float[] A = new float[Centroids], G = new float[Centroids];
        public float[] Residual = [], NextResidual = [];
        public byte[] Codes = [], NextCodes = [];
        public double[] Error = [], NextError = [], CandScore = [];
        public int[] CandBeam = [], CandCode = [];

        public void Ensure(int stride, int m, int beam)
        {
            if (beam < 1) throw new ArgumentOutOfRangeException(nameof(beam), beam, "beam width must be >= 1");
            if (Y.Length < stride)
            {
                Y = new float[stride];
                W = new float[stride];
                Wr = new float[stride];
                Decoded = new float[stride + 2 * VectorKernels.Lanes];
            }
            if (Residual.Length < beam * stride)
            {
                Residual = new float[beam * stride];
                NextResidual = new float[beam * stride];
            }
            if (Codes.Length < beam * m)
            {
                Codes = new byte[beam * m];
                NextCodes = new byte[beam * m];
            }
            if (Error.Length < beam)
            {
                Error = new double[beam];
                NextError = new double[beam];
                CandScore = new double[beam];
                CandBeam = new int[beam];
                CandCode = new int[beam];
            }
        }
    }
}
