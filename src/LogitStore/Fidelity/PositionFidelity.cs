namespace LogitStore.Fidelity;

/// <summary>One position's comparison of a store's distribution with a reference (spec 6.1).</summary>
internal readonly record struct PositionFidelity(double Kl, double KlKept, double Tv, bool Top1, double KeptMass, double KdLossError);

/// <summary>
/// A position as spec 6.1 reads it: kept entries (ids, probabilities that sum to 1 over the kept set) and the
/// residual mass, spread evenly over the ids that are not kept.
/// </summary>
internal readonly ref struct PositionDistribution(ReadOnlySpan<int> ids, ReadOnlySpan<float> probs, float residual)
{
    public ReadOnlySpan<int> Ids { get; } = ids;
    public ReadOnlySpan<float> Probs { get; } = probs;
    public float Residual { get; } = residual;
}

/// <summary>
/// Exact comparison of two positions over the whole vocabulary (spec 6.1): closed form over the ids either side
/// keeps, plus one term for the ids neither keeps. Not thread-safe (reusable id → slot map); one per thread.
/// </summary>
internal sealed class PositionComparer
{
    private const double Floor = 1e-30;
    private readonly int[] _slotInStore;
    private readonly uint _vocab;

    public PositionComparer(uint vocabSize)
    {
        _vocab = vocabSize;
        _slotInStore = new int[vocabSize];
        Array.Fill(_slotInStore, -1);
    }

    public PositionFidelity Compare(PositionDistribution reference, PositionDistribution store)
    {
        var pIds = reference.Ids;
        var qIds = store.Ids;
        double V = _vocab;
        double pKeptScale = 1 - reference.Residual, qKeptScale = 1 - store.Residual;
        double pSum = Sum(reference.Probs), qSum = Sum(store.Probs);
        double pNorm = pSum > 0 ? pKeptScale / pSum : 0, qNorm = qSum > 0 ? qKeptScale / qSum : 0;
        double pRest = pIds.Length < V ? reference.Residual / (V - pIds.Length) : 0;
        double qRest = qIds.Length < V ? store.Residual / (V - qIds.Length) : 0;

        for (int j = 0; j < qIds.Length; j++) _slotInStore[qIds[j]] = j;
        try
        {
            // Proxy student s ∝ p^(1/2): its normaliser over the vocabulary.
            double z = (V - pIds.Length) * Math.Sqrt(pRest);
            for (int i = 0; i < pIds.Length; i++) z += Math.Sqrt(reference.Probs[i] * pNorm);
            double lnZ = Math.Log(Math.Max(z, Floor));

            double kl = 0, tv = 0, keptMass = 0, hp = 0, hq = 0, qOnPKept = 0;
            int union = pIds.Length;
            double pMax = double.NegativeInfinity; int pTop = -1;
            for (int i = 0; i < pIds.Length; i++)
            {
                double p = reference.Probs[i] * pNorm;
                int slot = _slotInStore[pIds[i]];
                double q = slot >= 0 ? store.Probs[slot] * qNorm : qRest;
                if (slot >= 0) keptMass += p;
                qOnPKept += q;
                Accumulate(p, q, lnZ, ref kl, ref tv, ref hp, ref hq);
                if (p > pMax) { pMax = p; pTop = pIds[i]; }
            }
            // Mark the reference's ids so the store-only pass can skip them.
            for (int i = 0; i < pIds.Length; i++) if (_slotInStore[pIds[i]] >= 0) _slotInStore[pIds[i]] = -2 - _slotInStore[pIds[i]];
            double qMax = double.NegativeInfinity; int qTop = -1;
            for (int j = 0; j < qIds.Length; j++)
            {
                double q = store.Probs[j] * qNorm;
                if (q > qMax) { qMax = q; qTop = qIds[j]; }
                if (_slotInStore[qIds[j]] <= -2) continue; // also kept by the reference: counted above
                keptMass += pRest;
                union++;
                Accumulate(pRest, q, lnZ, ref kl, ref tv, ref hp, ref hq);
            }
            double rest = V - union;
            if (rest > 0)
            {
                kl += pRest > 0 ? rest * pRest * Math.Log(pRest / Math.Max(qRest, Floor)) : 0;
                tv += rest * Math.Abs(pRest - qRest);
                double lnS = 0.5 * Math.Log(Math.Max(pRest, Floor)) - lnZ;
                hp -= rest * pRest * lnS;
                hq -= rest * qRest * lnS;
            }
            if (pTop >= 0 && pRest > pMax) pTop = -1;   // the reference's maximum is outside its kept set: no single id
            if (qTop >= 0 && qRest > qMax) qTop = -1;

            // KL restricted to the reference's kept set, both sides renormalised there.
            double klKept = 0;
            if (pSum > 0 && qOnPKept > 0)
                for (int i = 0; i < pIds.Length; i++)
                {
                    double pt = reference.Probs[i] / pSum;
                    if (pt <= 0) continue;
                    int slot = _slotInStore[pIds[i]];
                    double q = slot <= -2 ? store.Probs[-2 - slot] * qNorm : qRest;
                    klKept += pt * Math.Log(pt / Math.Max(q / qOnPKept, Floor));
                }
            return new PositionFidelity(
                Math.Max(0, kl), Math.Max(0, klKept), 0.5 * tv, pTop == qTop && pTop >= 0, keptMass, Math.Abs(hq - hp));
        }
        finally
        {
            for (int j = 0; j < qIds.Length; j++) _slotInStore[qIds[j]] = -1;
        }
    }

    private static void Accumulate(double p, double q, double lnZ, ref double kl, ref double tv, ref double hp, ref double hq)
    {
        if (p > 0) kl += p * Math.Log(p / Math.Max(q, Floor));
        tv += Math.Abs(p - q);
        double lnS = 0.5 * Math.Log(Math.Max(p, Floor)) - lnZ;
        hp -= p * lnS;
        hq -= q * lnS;
    }

    private static double Sum(ReadOnlySpan<float> v)
    {
        double s = 0;
        foreach (float x in v) s += x;
        return s;
    }
}
