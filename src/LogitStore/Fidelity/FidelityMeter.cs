using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Fidelity;

/// <summary>
/// Summary of <see cref="PositionFidelity"/> over a sample of positions (spec 6.1); what <c>logitstore fidelity</c> prints.
/// </summary>
public sealed record FidelityReport
{
    public required string Store { get; init; }
    public required string Reference { get; init; }
    public long Positions { get; init; }
    public double MeanKl { get; init; }
    public double P50Kl { get; init; }
    public double P99Kl { get; init; }
    public double MaxKl { get; init; }
    public double MeanKlKept { get; init; }
    public double MaxKlKept { get; init; }
    public double MeanTv { get; init; }
    public double Top1Agreement { get; init; }
    public double MeanKeptMass { get; init; }
    public double MeanKdLossError { get; init; }
}

/// <summary>Compares a store with a reference over a sample of positions spread evenly across the store.</summary>
public static class FidelityMeter
{
    public static FidelityReport Measure(StoreReader store, IReferenceSource reference, long samplePositions = 20_000)
    {
        if (samplePositions < 1)
            throw new ArgumentOutOfRangeException(nameof(samplePositions), samplePositions, "sample at least one position");
        var sequences = PickSequences(store, samplePositions);
        var results = new List<PositionFidelity>[sequences.Count];
        Parallel.For(0, sequences.Count, () => (new DecodedBlock(), new PositionComparer(store.VocabSize)), (i, _, local) =>
        {
            var (scratch, comparer) = local;
            ulong seq = sequences[i];
            var view = store.ReadSequence(seq, scratch);
            var refSeq = reference.Sequence(seq, view.Length);
            if (refSeq.Length != view.Length)
                throw new InvalidOperationException($"reference sequence {seq} has {refSeq.Length} positions, the store {view.Length}");
            var list = new List<PositionFidelity>(view.Length);
            int re = 0;
            for (int t = 0; t < view.Length; t++)
            {
                if (refSeq.Tokens[t] != view.Tokens[t])
                    throw new InvalidOperationException(
                        $"the reference holds token {refSeq.Tokens[t]} at sequence {seq} position {t}, the store {view.Tokens[t]}: " +
                        $"not the same data");
                int rn = refSeq.KeptCounts[t];
                var r = new PositionDistribution(refSeq.Ids.AsSpan(re, rn), refSeq.Probs.AsSpan(re, rn), refSeq.Residual[t]);
                var s = new PositionDistribution(view.IdsAt(t), view.ProbsAt(t), view.Residual[t]);
                var f = comparer.Compare(r, s);
                list.Add(f);
                re += rn;
            }
            results[i] = list;
            return local;
        }, _ => { });

        var all = results.SelectMany(l => l).ToArray();
        var kls = all.Select(f => f.Kl).OrderBy(x => x).ToArray();
        double Quantile(double q) => kls.Length == 0 ? 0 : kls[Math.Min(kls.Length - 1, (int)(q * kls.Length))];
        return new FidelityReport
        {
            Store = store.Directory,
            Reference = reference.Description,
            Positions = all.Length,
            MeanKl = all.Average(f => f.Kl),
            P50Kl = Quantile(0.5),
            P99Kl = Quantile(0.99),
            MaxKl = kls.Length == 0 ? 0 : kls[^1],
            MeanKlKept = all.Average(f => f.KlKept),
            MaxKlKept = all.Max(f => f.KlKept),
            MeanTv = all.Average(f => f.Tv),
            Top1Agreement = all.Average(f => f.Top1 ? 1.0 : 0.0),
            MeanKeptMass = all.Average(f => f.KeptMass),
            MeanKdLossError = all.Average(f => f.KdLossError),
        };
    }

    /// <summary>Sequences spread evenly over the store whose lengths add up to at least the sample (or all of them).</summary>
    private static List<ulong> PickSequences(StoreReader store, long samplePositions)
    {
        ulong count = store.SequenceCount;
        double meanLength = store.Manifest.Totals.Positions / Math.Max(1.0, store.Manifest.Totals.Sequences);
        ulong want = (ulong)Math.Clamp(Math.Ceiling(samplePositions / Math.Max(1, meanLength)), 1, count);
        var list = new List<ulong>();
        for (ulong i = 0; i < want; i++) list.Add(store.FirstSequence + i * count / want);
        return list;
    }

    /// <summary>The reference a store can be checked against without another store: its synthetic teacher, regenerated.</summary>
    public static IReferenceSource DefaultReference(Manifest manifest, bool untruncated)
    {
        if ((string?)manifest.Source["kind"] != Synthetic.SyntheticSource.Kind)
            throw new ReferenceRequiredException(manifest.StoreId, (string?)manifest.Source["kind"] ?? "");
        return new SyntheticReference(
            Synthetic.SyntheticSource.FromJson(manifest.Source), ManifestSections.FromSection(manifest.Processing), untruncated);
    }
}
