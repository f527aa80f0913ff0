using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codec 21: per position M codebook indexes (one byte each), escapes in q8 (spec 5.9). <see cref="Param"/> is the
/// codebook set's ref, so a block only ever decodes with the codebooks it was encoded with.
/// </summary>
internal sealed class MvqValueCodec : IValueCodec
{
    public const int DefaultBeam = 4;

    private readonly MvqCodebooks _books;
    private readonly int _beam;

    [ThreadStatic] private static Parts? t_parts;

    public MvqValueCodec(MvqCodebooks codebooks, int beam = DefaultBeam)
    {
        if (beam < 1) throw new ArgumentOutOfRangeException(nameof(beam), beam, "beam width must be >= 1");
        _books = codebooks;
        _beam = beam;
    }

    public MvqCodebooks Codebooks => _books;
    public CodecId Id => CodecId.Mvq;
    public uint Param => _books.Ref;

    /// <summary>Per position: the writer's KL guard, or the q8 bound for an escaped position.</summary>
    public double KlBound(int entries) => Math.Max(_books.EscapeKl, _books.EscapeCodec.KlBound(entries));

    public int MaxEncodedLength(int count) => (count / 2 + 7) / 8 + _books.M * (count / 2) + count + 8;

    public int Encode(ReadOnlySpan<float> probs, ReadOnlySpan<int> keptCounts, Span<byte> dest)
    {
        int coded = 0;
        foreach (int n in keptCounts) if (n >= 2) coded++;
        int m = _books.M;
        int bitmap = (coded + 7) / 8;
        dest[..(bitmap + m * coded)].Clear();
        Span<byte> codes = stackalloc byte[MvqCodebooks.MaxCodebooks];
        Span<int> one = stackalloc int[1];
        int e = 0, i = 0, escapeAt = bitmap + m * coded;
        foreach (int n in keptCounts)
        {
            if (n >= 2)
            {
                var p = probs.Slice(e, n);
                if (_books.Encode(p, codes, _beam, out _))
                {
                    for (int c = 0; c < m; c++) dest[bitmap + c * coded + i] = codes[c];
                }
                else
                {
                    dest[i >> 3] |= (byte)(1 << (i & 7));
                    one[0] = n;
                    escapeAt += _books.EscapeCodec.Encode(p, one, dest[escapeAt..]);
                }
                i++;
            }
            e += n;
        }
        return escapeAt;
    }

    public void Decode(ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<float> dest, ColumnLocation where)
    {
        int positions = keptCounts.Length, m = _books.M, maxKept = 0;
        foreach (int n in keptCounts) maxKept = Math.Max(maxKept, n);
        var t = t_parts ??= new Parts();
        t.Ensure(positions * m, positions, dest.Length, maxKept + 2 * VectorKernels.Lanes);
        var codes = t.Codes.AsSpan(0, positions * m);
        var escaped = t.Escaped.AsSpan(0, positions);
        var escapeCodes = t.EscapeCodes.AsSpan(0, dest.Length);
        ReadCodes(src, keptCounts, codes, escaped, escapeCodes, where);
        Span<int> one = stackalloc int[1];
        int e = 0;
        for (int i = 0; i < positions; i++)
        {
            int n = keptCounts[i];
            var d = dest.Slice(e, n);
            if (n == 1) d[0] = 1f;
            else if (n >= 2 && escaped[i] != 0)
            {
                one[0] = n;
                _books.EscapeCodec.Decode(escapeCodes.Slice(e, n), one, d, where);
            }
            else if (n >= 2)
            {
                _books.DecodePosition(codes.Slice(i * m, m), n, t.Decoded);
                t.Decoded.AsSpan(0, n).CopyTo(d);
            }
            e += n;
        }
    }

    /// <summary>
    /// Splits the column (spec 5.9) into its parts per position without decoding any value, for decoders elsewhere
    /// (a GPU): <paramref name="codes"/>[i·M, (i+1)·M) holds position i's codebook indexes (zero where it is not coded:
    /// fewer than two entries, or escaped), <paramref name="escaped"/>[i] is 1 for an escaped position, whose q8 codes
    /// sit in <paramref name="escapeCodes"/> at its entries' place (one byte per entry; zero elsewhere).
    /// </summary>
    public void ReadCodes(
        ReadOnlySpan<byte> src, ReadOnlySpan<int> keptCounts, Span<byte> codes, Span<byte> escaped, Span<byte> escapeCodes,
        ColumnLocation where)
    {
        int coded = 0, entries = 0;
        foreach (int n in keptCounts)
        {
            if (n >= 2) coded++;
            entries += n;
        }
        int m = _books.M;
        if (codes.Length < keptCounts.Length * m || escaped.Length < keptCounts.Length || escapeCodes.Length < entries)
            throw new ArgumentException("code spans too short for the positions and entries");
        int bitmap = (coded + 7) / 8, planes = bitmap + m * coded;
        if (src.Length < planes)
            throw where.Corrupt($"{src.Length} bytes, shorter than the escape bitmap and {m} index planes ({planes} bytes)");
        if ((coded & 7) != 0 && src[bitmap - 1] >> (coded & 7) != 0) throw where.Corrupt("unused bits of the escape bitmap are not zero");
        codes[..(keptCounts.Length * m)].Clear();
        escaped[..keptCounts.Length].Clear();
        escapeCodes[..entries].Clear();
        int e = 0, i = 0, escapeAt = planes;
        for (int position = 0; position < keptCounts.Length; position++)
        {
            int n = keptCounts[position];
            if (n >= 2)
            {
                if ((src[i >> 3] >> (i & 7) & 1) != 0)
                {
                    for (int c = 0; c < m; c++)
                        if (src[bitmap + c * coded + i] != 0)
                            throw where.Corrupt($"escaped position {i} has a non-zero index in plane {c}");
                    if (escapeAt + n > src.Length)
                        throw where.Corrupt($"escaped position {i} needs {n} q8 codes past the end of the column");
                    escaped[position] = 1;
                    src.Slice(escapeAt, n).CopyTo(escapeCodes.Slice(e, n));
                    escapeAt += n;
                }
                else
                {
                    if (n - 1 > _books.D)
                        throw where.Corrupt(
                            $"position {i} has {n} kept entries, more than the codebooks' {_books.D + 1}, but is not escaped");
                    for (int c = 0; c < m; c++) codes[position * m + c] = src[bitmap + c * coded + i];
                }
                i++;
            }
            e += n;
        }
        if (escapeAt != src.Length) throw where.Corrupt($"{src.Length - escapeAt} bytes left over after the last escaped position");
    }

    /// <summary>
    /// Grows the calling thread's decode buffers now for blocks of up to these sizes (positions × codebooks, positions,
    /// entries, entries of one position), so that decoding them later on this thread allocates nothing, whichever
    /// block it meets first.
    /// </summary>
    internal static void ReserveThread(int codes, int positions, int entries, int keptPerPosition) =>
        (t_parts ??= new Parts()).Ensure(codes, positions, entries, keptPerPosition + 2 * VectorKernels.Lanes);

    /// <summary>Per-thread buffers of <see cref="Decode"/>: the column's parts, and one decoded position.</summary>
    private sealed class Parts
    {
        public byte[] Codes = [], Escaped = [], EscapeCodes = [];
        public float[] Decoded = [];

        public void Ensure(int codes, int positions, int entries, int decoded)
        {
            if (Codes.Length < codes) Codes = new byte[Math.Max(codes, 2 * Codes.Length)];
            if (Escaped.Length < positions) Escaped = new byte[Math.Max(positions, 2 * Escaped.Length)];
            if (EscapeCodes.Length < entries) EscapeCodes = new byte[Math.Max(entries, 2 * EscapeCodes.Length)];
            if (Decoded.Length < decoded) Decoded = new float[decoded];
        }
    }
}
