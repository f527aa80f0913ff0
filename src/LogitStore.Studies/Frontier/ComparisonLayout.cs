using System.Diagnostics;
using LogitStore.Fidelity;

namespace LogitStore.Studies.Frontier;

/// <summary>
/// Another system's on-disk layout for a top-k store's kept entries (K per position, rank order), rebuilt here so that
/// its bytes, fidelity and decode rate are measured on the same data as LogitStore's codecs.
/// </summary>
public interface IComparisonLayout
{
    string Name { get; }
    string IdsLayout { get; }
    string ValuesLayout { get; }

    /// <summary>Positions of one block, K entries each (a position that kept fewer is padded), before compression.</summary>
    (byte[] Ids, byte[] Values) Encode(IReadOnlyList<SparseSequence> sequences, int k);

    /// <summary>
    /// The inverse of <see cref="Encode"/>: K ids and K probabilities per position, the probabilities renormalised over the
    /// K entries as the system's loader does.
    /// </summary>
    void Decode(ReadOnlySpan<byte> ids, ReadOnlySpan<byte> values, int positions, int k, Span<int> idsOut, Span<float> probsOut);
}

/// <summary>What a comparison layout costs on a store's sequences: bytes/token before and after zstd, fidelity, decode rate.</summary>
public sealed record ComparisonLayoutRow(
    string Layout, string IdsLayout, string ValuesLayout, int K,
    double IdBytesPerToken, double ValueBytesPerToken, double RecordBytesPerToken,
    double IdBytesPerTokenZstd, double ValueBytesPerTokenZstd, double RecordBytesPerTokenZstd,
    double IdBitsPerId, double MeanKlKept, double MaxKlKept, double Top1Agreement, double DecodePositionsPerSecond);

/// <summary>Measures an <see cref="IComparisonLayout"/> block by block, as <see cref="StoreReencoding"/> measures LogitStore's.</summary>
public static class ComparisonLayouts
{
    /// <summary>The layouts the frontier compares with.</summary>
    public static IReadOnlyList<IComparisonLayout> All(uint vocab) => [new MegatronOfflineLayout(), new DistillKitLayout(vocab)];

    /// <summary>
    /// Encodes the sequences in blocks of <paramref name="perBlock"/>; zstd (level <paramref name="zstdLevel"/>) compresses
    /// each block's ids and values as one frame for the record, and each part alone for the per-part figures. The decode
    /// rate is one thread, whole frames: zstd, then the layout's own decode, best of <paramref name="repeats"/> passes.
    /// </summary>
    public static ComparisonLayoutRow Measure(
        IComparisonLayout layout, IReadOnlyList<SparseSequence> sequences, int k, uint vocab, int perBlock, int zstdLevel, int repeats)
    {
        var all = sequences as List<SparseSequence> ?? sequences.ToList();
        using var compressor = new ZstdSharp.Compressor(zstdLevel);
        var frames = new List<(byte[] Frame, int IdBytes, int Positions, int First)>();
        long ids = 0, values = 0, idsZ = 0, valuesZ = 0, record = 0, recordZ = 0, positions = 0;
        for (int i = 0; i < all.Count; i += perBlock)
        {
            var group = all.GetRange(i, Math.Min(perBlock, all.Count - i));
            var (idPart, valuePart) = layout.Encode(group, k);
            var both = new byte[idPart.Length + valuePart.Length];
            idPart.CopyTo(both, 0);
            valuePart.CopyTo(both, idPart.Length);
            var frame = compressor.Wrap(both).ToArray();
            ids += idPart.Length;
            values += valuePart.Length;
            record += both.Length;
            idsZ += compressor.Wrap(idPart).Length;
            valuesZ += compressor.Wrap(valuePart).Length;
            recordZ += frame.Length;
            int n = group.Sum(s => s.Length);
            positions += n;
            frames.Add((frame, idPart.Length, n, i));
        }

        var comparer = new PositionComparer(vocab);
        int most = frames.Max(f => f.Positions);
        var idsOut = new int[most * k];
        var probsOut = new float[most * k];
        using var decompressor = new ZstdSharp.Decompressor();
        double kl = 0, maxKl = 0;
        long top1 = 0;
        foreach (var (frame, idBytes, n, first) in frames)
        {
            var raw = decompressor.Unwrap(frame);
            layout.Decode(raw[..idBytes], raw[idBytes..], n, k, idsOut, probsOut);
            int p = 0;
            for (int s = first; s < first + perBlock && s < all.Count; s++)
            {
                var reference = all[s];
                int e = 0;
                for (int t = 0; t < reference.Length; t++, p++)
                {
                    int kept = reference.KeptCounts[t];
                    var f = comparer.Compare(
                        new PositionDistribution(reference.Ids.AsSpan(e, kept), reference.Probs.AsSpan(e, kept), reference.Residual[t]),
                        new PositionDistribution(
                            idsOut.AsSpan(p * k, Math.Min(k, kept)), probsOut.AsSpan(p * k, Math.Min(k, kept)), reference.Residual[t]));
                    e += kept;
                    kl += f.KlKept;
                    maxKl = Math.Max(maxKl, f.KlKept);
                    if (f.Top1 || kept == 0) top1++;
                }
            }
        }

        double best = 0;
        for (int r = 0; r < repeats; r++)
        {
            long decoded = 0;
            var clock = Stopwatch.StartNew();
            foreach (var (frame, idBytes, n, _) in frames)
            {
                var raw = decompressor.Unwrap(frame);
                layout.Decode(raw[..idBytes], raw[idBytes..], n, k, idsOut, probsOut);
                decoded += n;
            }
            best = Math.Max(best, decoded / clock.Elapsed.TotalSeconds);
        }
        double tokens = Math.Max(1, positions);
        return new ComparisonLayoutRow(
            layout.Name, layout.IdsLayout, layout.ValuesLayout, k,
            ids / tokens, values / tokens, record / tokens, idsZ / tokens, valuesZ / tokens, recordZ / tokens,
            8.0 * idsZ / Math.Max(1, positions * (long)k), kl / tokens, maxKl, top1 / tokens, best);
    }
}
