using LogitStore.Processing;

namespace LogitStore.Synthetic;

/// <summary>
/// A deterministic stand-in teacher for tests and benchmarks. At every position the full distribution is a
/// Zipf law over a position-specific ranking of the vocabulary, p(rank r) ∝ r^(−s), with s drawn per position
/// (30% "confident" positions with s ∈ [2, 3], the rest s ∈ [0.9, 1.6]), so entropy varies from ~0.2 to ~6 nats
/// as in real LM teachers. The top <c>Head</c> ranks carry explicit, slightly noisy logits; the tail's mass is
/// the Zipf law's exact-in-the-limit integral, so truncation and residual mass are realistic without materialising
/// the vocabulary. Candidate ids follow a Zipf-like frequency order (frequent tokens recur), and each next input
/// token is drawn from the previous position's distribution. Everything is a pure function of (seed, position).
/// </summary>
internal sealed class SyntheticTeacher
{
    private readonly uint _vocab;
    private readonly ulong _seed;
    private readonly int _head;
    private readonly ulong _multiplier;
    private readonly double _logVocab;

    public SyntheticTeacher(uint vocabSize, ulong seed, int head = 128)
    {
        if (vocabSize < 4)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), vocabSize, "synthetic vocabulary needs at least 4 tokens");
        _vocab = vocabSize;
        _seed = seed;
        _head = Math.Clamp(head, 2, (int)Math.Min(vocabSize / 2, 4096));
        _logVocab = Math.Log(vocabSize);
        // An odd multiplier coprime to V makes f → (f·A + B) mod V a bijection from frequency rank to token id.
        ulong a = 0x9E3779B1UL % vocabSize;
        while (Gcd(a, vocabSize) != 1 || a < 2) a++;
        _multiplier = a;
    }

    public uint VocabSize => _vocab;
    public int Head => _head;

    /// <summary>
    /// Generates sequence <paramref name="sequenceId"/> of <paramref name="length"/> positions through <paramref name="processor"/>.
    /// </summary>
    public SparseSequence Generate(ulong sequenceId, int length, LogitsProcessor processor, Workspace? workspace = null)
    {
        var w = workspace ?? new Workspace(_head, processor.MaxKept(_head));
        var builder = w.Builder;
        builder.Clear();
        var rng0 = new SplitMix64(_seed, sequenceId * 0x100000001B3UL);
        int token = TokenOfFrequencyRank(FrequencyRank(ref rng0));
        float temperature = processor.Options.Temperature;
        for (int t = 0; t < length; t++)
        {
            ulong position = sequenceId * (ulong)length + (ulong)t;
            var rng = new SplitMix64(_seed ^ 0xD1B54A32D192ED03UL, position);
            double outside = FillHead(ref rng, token, temperature, w);
            var (kept, residual) = processor.Process(w.Ids, w.Logits, outside, w.KeptIds, w.KeptProbs, position, w.OutsideSampler(this));
            int current = token;
            token = DrawNext(ref rng, w, outside);
            builder.AddPosition(current, w.KeptIds.AsSpan(0, kept), w.KeptProbs.AsSpan(0, kept), residual);
        }
        return builder.Build();
    }

    /// <summary>Fills the head (ids + logits at τ = 1) and returns the tail mass at temperature τ.</summary>
    private double FillHead(ref SplitMix64 rng, int context, float temperature, Workspace w)
    {
        double s = rng.NextDouble() < 0.3 ? 2.0 + rng.NextDouble() : 0.9 + 0.7 * rng.NextDouble();
        w.Seen.Clear();
        // The context token nudges which frequent tokens are likely, so ids correlate along a sequence.
        ulong salt = SplitMix64.Mix((ulong)context);
        double headSum = 0, a = s / temperature;
        for (int r = 0; r < _head; r++)
        {
            int id, attempt = 0;
            do
            {
                // The first ranks come from the context's favourite frequent tokens, the rest from the frequency law.
                int f = r < 4 && attempt == 0 ? (int)((salt >> (8 * r)) % Math.Min(_vocab, 512u)) : FrequencyRank(ref rng);
                id = TokenOfFrequencyRank(f);
                attempt++;
            }
            while (!w.Seen.Add(id));
            double noise = (rng.NextDouble() + rng.NextDouble() + rng.NextDouble() - 1.5) * 0.4;
            float logit = (float)(-s * Math.Log(r + 1) + (r == 0 ? 0 : noise));
            w.Ids[r] = id;
            w.Logits[r] = logit;
            headSum += Math.Exp(logit / temperature);
        }
        double lo = _head + 0.5, hi = _vocab + 0.5;
        double tail = Math.Abs(a - 1) < 1e-9 ? Math.Log(hi / lo) : (Math.Pow(hi, 1 - a) - Math.Pow(lo, 1 - a)) / (1 - a);
        w.HeadSum = headSum;
        w.Temperature = temperature;
        return tail / (headSum + tail);
    }

    /// <summary>The next input token, drawn from this position's distribution (at the processing temperature).</summary>
    private int DrawNext(ref SplitMix64 rng, Workspace w, double outside)
    {
        double u = rng.NextDouble() * w.HeadSum / (1 - outside);
        if (u >= w.HeadSum) return SampleTail(rng.NextUInt64(), w);
        double acc = 0;
        for (int r = 0; r < _head; r++)
        {
            acc += Math.Exp(w.Logits[r] / w.Temperature);
            if (acc >= u) return w.Ids[r];
        }
        return w.Ids[_head - 1];
    }

    /// <summary>A token outside the head, by the Zipf tail law (rank) and a fresh frequency rank (identity).</summary>
    internal int SampleTail(ulong bits, Workspace w)
    {
        var rng = new SplitMix64(bits, 7);
        for (int tries = 0; tries < 64; tries++)
        {
            int id = TokenOfFrequencyRank(FrequencyRank(ref rng));
            if (!w.Seen.Contains(id)) return id;
        }
        for (int id = 0; ; id++) if (!w.Seen.Contains(id)) return id;
    }

    /// <summary>Log-uniform frequency rank in [0, V): rank f has probability ∝ 1/(f+1), like word frequencies.</summary>
    private int FrequencyRank(ref SplitMix64 rng) => Math.Min((int)_vocab - 1, (int)Math.Exp(rng.NextDouble() * _logVocab) - 1);

    private int TokenOfFrequencyRank(int f) => (int)(((ulong)f * _multiplier + 17) % _vocab);

    private static ulong Gcd(ulong a, ulong b)
    {
        while (b != 0) (a, b) = (b, a % b);
        return a;
    }

    /// <summary>Per-thread buffers of the generator.</summary>
    public sealed class Workspace
    {
        public Workspace(int head, int maxKept)
        {
            Ids = new int[head];
            Logits = new float[head];
            KeptIds = new int[Math.Max(maxKept, head)];
            KeptProbs = new float[Math.Max(maxKept, head)];
        }

        internal int[] Ids { get; }
        internal float[] Logits { get; }
        internal int[] KeptIds { get; }
        internal float[] KeptProbs { get; }
        internal HashSet<int> Seen { get; } = new();
        internal SparseSequenceBuilder Builder { get; } = new();
        internal double HeadSum { get; set; }
        internal double Temperature { get; set; } = 1;

        private SyntheticTeacher? _owner;
        private Func<ulong, int>? _sampler;

        internal Func<ulong, int> OutsideSampler(SyntheticTeacher owner)
        {
            if (_sampler is null || _owner != owner)
            {
                _owner = owner;
                _sampler = bits => owner.SampleTail(bits, this);
            }
            return _sampler;
        }
    }
}
