using System.Runtime.InteropServices;

namespace LogitStore.Studies.Ids;

/// <summary>
/// Adaptive order-0 model over an alphabet, PPM method C: a seen symbol gets c/(n+d), an unseen one the escape
/// d/(n+d) times a uniform code over the alphabet (n: symbols coded so far, d: distinct ones; the first symbol is
/// coded uniformly). Learns each symbol after pricing it, so the cost is what an arithmetic coder would pay.
/// </summary>
public sealed class AdaptiveOrder0Model(int alphabetSize)
{
    private readonly int[] _counts = new int[alphabetSize];
    private long _total;
    private long _distinct;

    /// <summary>The probability the model gives <paramref name="symbol"/> now; then counts it.</summary>
    public double ProbabilityThenLearn(int symbol)
    {
        double uniform = 1.0 / alphabetSize;
        int c = _counts[symbol];
        double p = _total == 0 ? uniform
            : c > 0 ? (double)c / (_total + _distinct)
            : (double)_distinct / (_total + _distinct) * uniform;
        if (c == 0) _distinct++;
        _counts[symbol] = c + 1;
        _total++;
        return p;
    }
}

/// <summary>
/// Adaptive model of a symbol given one integer context, PPM method C blended down to a lower model without
/// exclusion: seen in this context, c/(n+d); otherwise the escape d/(n+d) (1 for a new context) times the lower
/// model's probability. Without exclusion the probabilities sum to at most 1, so the cost is achievable.
/// </summary>
public sealed class AdaptiveContextModel(int alphabetSize)
{
    private readonly Dictionary<long, int> _pairs = new();
    private readonly Dictionary<long, (long Total, long Distinct)> _contexts = new();

    public long DistinctPairs => _pairs.Count;

    /// <param name="context">Any value below 2^63 / alphabet size.</param>
    public double ProbabilityThenLearn(long context, int symbol, double lowerProbability)
    {
        ref var stats = ref CollectionsMarshal.GetValueRefOrAddDefault(_contexts, context, out _);
        ref int c = ref CollectionsMarshal.GetValueRefOrAddDefault(_pairs, context * alphabetSize + symbol, out _);
        double p = stats.Total == 0 ? lowerProbability
            : c > 0 ? (double)c / (stats.Total + stats.Distinct)
            : (double)stats.Distinct / (stats.Total + stats.Distinct) * lowerProbability;
        if (c == 0) stats.Distinct++;
        c++;
        stats.Total++;
        return p;
    }
}

/// <summary>
/// Adaptive model of a small alphabet (flags, ranks, indices) per small context, Laplace (add-one) counts:
/// every symbol stays possible, and a skewed source costs little once learnt.
/// </summary>
public sealed class AdaptiveSmallAlphabetModel(int contexts, int alphabetSize)
{
    private readonly int[] _counts = new int[contexts * alphabetSize];
    private readonly long[] _totals = new long[contexts];

    public int AlphabetSize => alphabetSize;

    public double ProbabilityThenLearn(int context, int symbol)
    {
        ref int c = ref _counts[context * alphabetSize + symbol];
        double p = (c + 1.0) / (_totals[context] + alphabetSize);
        c++;
        _totals[context]++;
        return p;
    }
}

/// <summary>
/// Mixes several models' probabilities of the coded symbol with weights learnt causally (Bayesian mixture with fixed
/// share): after each symbol, w_m ← w_m·p_m/p, then a share <c>Share</c> of the weight is spread evenly so a model that
/// was poor can come back. One weight vector per small context (e.g. the id's rank).
/// </summary>
public sealed class FixedShareMixture
{
    public const double Share = 0.02;
    private readonly double[] _weights;
    private readonly int _models;

    public FixedShareMixture(int contexts, int models)
    {
        _models = models;
        _weights = new double[contexts * models];
        Array.Fill(_weights, 1.0 / models);
    }

    public double ProbabilityThenLearn(int context, ReadOnlySpan<double> probabilities)
    {
        var w = _weights.AsSpan(context * _models, _models);
        double p = 0;
        for (int m = 0; m < _models; m++) p += w[m] * probabilities[m];
        for (int m = 0; m < _models; m++) w[m] = (1 - Share) * (w[m] * probabilities[m] / p) + Share / _models;
        return p;
    }
}
