using System.Numerics;

namespace LogitStore.Processing;

/// <summary>
/// The one nucleus and top-k rule of spec 6. Over a distribution's probabilities in rank order: top-k keeps the first
/// k, top-p the shortest prefix whose mass reaches p, top-p-k that prefix capped at k (full keeps everything). The host
/// processor and the device processor call it; online targets mirror it with tensor ops (an entry is kept when the
/// mass ranked before it is below p), and a property test holds the three to the same entries.
/// </summary>
public static class TruncationRule
{
    /// <summary>The most entries a distribution over <paramref name="candidates"/> ids can keep.</summary>
    public static int Cap(ProcessingOptions o, int candidates) => o.Method switch
    {
        TruncationMethod.TopK or TruncationMethod.TopPK => Math.Min(o.TopK, candidates),
        TruncationMethod.Sampled => throw new ArgumentException("the sampled method draws entries; it has no cut"),
        _ => candidates,
    };

    /// <summary>
    /// Entries kept from <paramref name="ranked"/>, the candidates' probabilities in rank order (at least the first
    /// <see cref="Cap"/> of them), summed in double precision whatever their type.
    /// </summary>
    public static int Kept<T>(ProcessingOptions o, ReadOnlySpan<T> ranked, int candidates) where T : IFloatingPoint<T>
    {
        int cap = Cap(o, candidates);
        if (o.Method is not (TruncationMethod.TopP or TruncationMethod.TopPK)) return cap;
        double cumulative = 0;
        int kept = 0;
        while (kept < cap)
        {
            cumulative += double.CreateTruncating(ranked[kept++]);
            if (cumulative >= o.TopP) break;
        }
        return kept;
    }
}
