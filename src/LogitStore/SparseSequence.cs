namespace LogitStore;

/// <summary>
/// One sequence of a store: its input tokens and, per position, the kept teacher entries in rank
/// order (ids + renormalised probabilities) and the residual (dropped) mass.
/// </summary>
public sealed class SparseSequence
{
    public SparseSequence(int[] tokens, int[] keptCounts, int[] ids, float[] probs, float[] residual)
    {
        if (keptCounts.Length != tokens.Length || residual.Length != tokens.Length)
            throw new ArgumentException("tokens, kept counts and residual masses need one element per position");
        if (ids.Length != probs.Length)
            throw new ArgumentException("ids and probabilities need one element per kept entry");
        long total = 0;
        foreach (int c in keptCounts) total += c;
        if (total != ids.Length)
            throw new ArgumentException($"kept counts sum to {total} but there are {ids.Length} entries");
        Tokens = tokens;
        KeptCounts = keptCounts;
        Ids = ids;
        Probs = probs;
        Residual = residual;
    }

    public int[] Tokens { get; }
    public int[] KeptCounts { get; }
    public int[] Ids { get; }
    public float[] Probs { get; }
    public float[] Residual { get; }

    public int Length => Tokens.Length;
    public int EntryCount => Ids.Length;
}
