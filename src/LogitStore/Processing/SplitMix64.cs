namespace LogitStore.Processing;

/// <summary>Deterministic, seekable random numbers: every (seed, stream) pair gives its own sequence, whatever thread asks.</summary>
internal struct SplitMix64
{
    private ulong _state;

    public SplitMix64(ulong seed, ulong stream) => _state = Mix(seed ^ Mix(stream + 0x9E3779B97F4A7C15UL));

    public ulong NextUInt64()
    {
        _state += 0x9E3779B97F4A7C15UL;
        return Mix(_state);
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
