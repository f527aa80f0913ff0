namespace LogitStore.Processing;

/// <summary>
/// Temperature, top-k, top-p, top-p-k, full and sampled truncation of one teacher distribution
/// (spec section 6). Holds scratch buffers: one instance per thread.
/// </summary>
public sealed class LogitsProcessor
{
    private readonly ProcessingOptions _options;
    private Candidate[] _cands = Array.Empty<Candidate>();
    private double[] _cdf = Array.Empty<double>();
    private double[] _ranked = Array.Empty<double>();
    private readonly Dictionary<int, int> _drawCounts = new();
    private readonly List<(int Id, int Count)> _drawn = new();

    public LogitsProcessor(ProcessingOptions options)
    {
        options.Validate();
        _options = options;
    }

    public ProcessingOptions Options => _options;

    /// <summary>
    /// Truncates the distribution given by <paramref name="logits"/> over the candidate ids (the whole
    /// vocabulary for dense logits). <paramref name="outsideMass"/> is the probability, at the processing
    /// temperature, of all tokens that are not candidates (0 for dense logits).
    /// Writes kept ids and probabilities (rank order) and returns the kept count and the residual mass.
    /// </summary>
    /// <param name="randomStream">Identifies the position for the sampled method (e.g. its global index).</param>
    /// <param name="sampleOutside">Draws a non-candidate id for the sampled method when outsideMass &gt; 0.</param>
    public (int Kept, float Residual) Process(
        ReadOnlySpan<int> candidateIds, ReadOnlySpan<float> logits, double outsideMass,
        Span<int> keptIds, Span<float> keptProbs, ulong randomStream = 0, Func<ulong, int>? sampleOutside = null)
    {
        int n = candidateIds.Length;
        if (n == 0 || logits.Length != n) throw new ArgumentException("need one logit per candidate id and at least one candidate");
        if (!(outsideMass >= 0 && outsideMass < 1)) throw new ArgumentException($"outside mass must be in [0, 1), got {outsideMass}");
        if (_cands.Length < n) _cands = new Candidate[Math.Max(n, 2 * _cands.Length)];

        double invT = 1.0 / _options.Temperature;
        float max = float.NegativeInfinity;
        for (int i = 0; i < n; i++)
        {
            float l = logits[i];
            if (!float.IsFinite(l)) throw new ArgumentException($"logit of id {candidateIds[i]} is {l}: logits must be finite");
            if (l > max) max = l;
        }
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double w = Math.Exp((logits[i] - max) * invT);
            _cands[i] = new Candidate(w, candidateIds[i]);
            sum += w;
        }
        // Z over the whole vocabulary: candidates carry (1 - outsideMass) of it.
        double z = sum / (1.0 - outsideMass);

        if (_options.Method == TruncationMethod.Sampled)
            return Sample(n, z, outsideMass, keptIds, keptProbs, randomStream, sampleOutside);

        int cap = TruncationRule.Cap(_options, n);
        var span = _cands.AsSpan(0, n);
        if (cap < n && n > 4 * cap) SelectTop(span, cap);
        else span.Sort(CandidateOrder.Instance);

        if (_ranked.Length < cap) _ranked = new double[Math.Max(cap, 2 * _ranked.Length)];
        for (int i = 0; i < cap; i++) _ranked[i] = span[i].Weight / z;
        int kept = TruncationRule.Kept<double>(_options, _ranked.AsSpan(0, cap), n);
        if (keptIds.Length < kept) throw new ArgumentException($"output spans hold {keptIds.Length} entries, {kept} needed");
        double keptSum = 0;
        for (int i = 0; i < kept; i++) keptSum += span[i].Weight;
        for (int i = 0; i < kept; i++)
        {
            keptIds[i] = span[i].Id;
            keptProbs[i] = (float)(span[i].Weight / keptSum);
        }
        return (kept, ClampUnit(1.0 - keptSum / z));
    }

    /// <summary>Dense logits over the whole vocabulary.</summary>
    public (int Kept, float Residual) ProcessDense(
        ReadOnlySpan<float> logits, Span<int> keptIds, Span<float> keptProbs, ulong randomStream = 0)
    {
        int[] ids = DenseIds(logits.Length);
        return Process(ids, logits, 0, keptIds, keptProbs, randomStream);
    }

    /// <summary>The most entries one position can keep for a vocabulary (or candidate list) of this size.</summary>
    public int MaxKept(int candidates) =>
        _options.Method == TruncationMethod.Sampled ? _options.Draws : TruncationRule.Cap(_options, candidates);

    private int[] _denseIds = Array.Empty<int>();

    private int[] DenseIds(int v)
    {
        if (_denseIds.Length != v)
        {
            _denseIds = new int[v];
            for (int i = 0; i < v; i++) _denseIds[i] = i;
        }
        return _denseIds;
    }

    private (int, float) Sample(
        int n, double z, double outsideMass, Span<int> keptIds, Span<float> keptProbs, ulong stream, Func<ulong, int>? sampleOutside)
    {
        if (outsideMass > 0 && sampleOutside is null)
            throw new InvalidOperationException(
                "sampled truncation needs the whole distribution (dense logits, or a teacher that can sample outside its candidates)");
        if (_cdf.Length < n) _cdf = new double[Math.Max(n, 2 * _cdf.Length)];
        double cum = 0;
        for (int i = 0; i < n; i++)
        {
            cum += _cands[i].Weight / z;
            _cdf[i] = cum;
        }
        var rng = new SplitMix64(_options.Seed, stream);
        _drawCounts.Clear();
        for (int d = 0; d < _options.Draws; d++)
        {
            double u = rng.NextDouble();
            int id;
            if (u >= cum) id = sampleOutside!(rng.NextUInt64());
            else
            {
                int j = Array.BinarySearch(_cdf, 0, n, u);
                j = j < 0 ? ~j : j + 1;
                id = _cands[Math.Min(j, n - 1)].Id;
            }
            _drawCounts[id] = _drawCounts.TryGetValue(id, out int c) ? c + 1 : 1;
        }
        _drawn.Clear();
        foreach (var kv in _drawCounts) _drawn.Add((kv.Key, kv.Value));
        _drawn.Sort(static (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Id.CompareTo(b.Id));
        if (keptIds.Length < _drawn.Count)
            throw new ArgumentException($"output spans hold {keptIds.Length} entries, {_drawn.Count} needed");

        // Residual: true mass of the tokens that were never drawn.
        double drawnMass = 0;
        for (int i = 0; i < n; i++)
            if (_drawCounts.ContainsKey(_cands[i].Id)) drawnMass += _cands[i].Weight / z;
        for (int i = 0; i < _drawn.Count; i++)
        {
            keptIds[i] = _drawn[i].Id;
            keptProbs[i] = (float)_drawn[i].Count / _options.Draws;
        }
        return (_drawn.Count, ClampUnit(1.0 - drawnMass));
    }

    private static float ClampUnit(double r) => (float)Math.Clamp(r, 0.0, 1.0);

    /// <summary>Moves the top <paramref name="k"/> candidates, sorted, to the front (min-heap selection).</summary>
    private static void SelectTop(Span<Candidate> c, int k)
    {
        var cmp = CandidateOrder.Instance;
        // Build a heap whose root is the *worst* of the current top k.
        for (int i = k / 2 - 1; i >= 0; i--) SiftDown(c, i, k, cmp);
        for (int i = k; i < c.Length; i++)
        {
            if (cmp.Compare(c[i], c[0]) < 0)
            {
                c[0] = c[i];
                SiftDown(c, 0, k, cmp);
            }
        }
        c[..k].Sort(cmp);
    }

    private static void SiftDown(Span<Candidate> h, int i, int n, CandidateOrder cmp)
    {
        while (true)
        {
            int l = 2 * i + 1, r = l + 1, worst = i;
            if (l < n && cmp.Compare(h[l], h[worst]) > 0) worst = l;
            if (r < n && cmp.Compare(h[r], h[worst]) > 0) worst = r;
            if (worst == i) return;
            (h[i], h[worst]) = (h[worst], h[i]);
            i = worst;
        }
    }

    private readonly record struct Candidate(double Weight, int Id);

    /// <summary>Rank order: weight descending, then id ascending.</summary>
    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();

        public int Compare(Candidate a, Candidate b)
        {
            int c = b.Weight.CompareTo(a.Weight);
            return c != 0 ? c : a.Id.CompareTo(b.Id);
        }
    }
}
