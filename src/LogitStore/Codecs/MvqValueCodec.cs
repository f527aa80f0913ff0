using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// Codec 21: per position M codebook indexes (one byte each), escapes in q8 (spec 5.9). <see cref="Param"/> is the
/// codebook set's ref, so a block only ever decodes with the codebooks it was encoded with.
/// </summary>
public sealed class MvqValueCodec : IValueCodec
{
    public const int DefaultBeam = 4;

    private readonly MvqCodebooks _books;
    private readonly int _beam;

    [ThreadStatic] private static float[]? t_decode;

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
        int coded = 0, maxKept = 0;
        foreach (int n in keptCounts)
            if (n >= 2) { coded++; maxKept = Math.Max(maxKept, n); }
        int m = _books.M;
        int bitmap = (coded + 7) / 8, planes = bitmap + m * coded;
        if (src.Length < planes)
            throw where.Corrupt($"{src.Length} bytes, shorter than the escape bitmap and {m} index planes ({planes} bytes)");
        if ((coded & 7) != 0 && src[bitmap - 1] >> (coded & 7) != 0) throw where.Corrupt("unused bits of the escape bitmap are not zero");
        var scratch = t_decode is { } t && t.Length >= maxKept + 2 * VectorKernels.Lanes
            ? t
            : t_decode = new float[maxKept + 2 * VectorKernels.Lanes];
        Span<byte> codes = stackalloc byte[MvqCodebooks.MaxCodebooks];
        Span<int> one = stackalloc int[1];
        int e = 0, i = 0, escapeAt = planes;
        foreach (int n in keptCounts)
        {
            var d = dest.Slice(e, n);
            if (n == 1) d[0] = 1f;
            else if (n >= 2)
            {
                bool escaped = (src[i >> 3] >> (i & 7) & 1) != 0;
                if (escaped)
                {
                    for (int c = 0; c < m; c++)
                        if (src[bitmap + c * coded + i] != 0)
                            throw where.Corrupt($"escaped position {i} has a non-zero index in plane {c}");
                    if (escapeAt + n > src.Length)
                        throw where.Corrupt($"escaped position {i} needs {n} q8 codes past the end of the column");
                    one[0] = n;
                    _books.EscapeCodec.Decode(src.Slice(escapeAt, n), one, d, where);
                    escapeAt += n;
                }
                else
                {
                    if (n - 1 > _books.D)
                        throw where.Corrupt(
                            $"position {i} has {n} kept entries, more than the codebooks' {_books.D + 1}, but is not escaped");
                    for (int c = 0; c < m; c++) codes[c] = src[bitmap + c * coded + i];
                    _books.DecodePosition(codes[..m], n, scratch);
                    scratch.AsSpan(0, n).CopyTo(d);
                }
                i++;
            }
            e += n;
        }
        if (escapeAt != src.Length) throw where.Corrupt($"{src.Length - escapeAt} bytes left over after the last escaped position");
    }
}
