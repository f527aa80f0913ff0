using LogitStore.Codecs;

namespace LogitStore.Writing;

/// <summary>How blocks are laid out and encoded; defaults were chosen by measurement (README, "Choosing the defaults").</summary>
public sealed record CodecOptions
{
    public string Tokens { get; init; } = "packed";
    public string Ids { get; init; } = "packed";
    public string Values { get; init; } = "q8";

    /// <summary>R of the q8/q4 codecs in nats; 0 picks the codec's default.</summary>
    public double ValueLogRange { get; init; }

    public int ZstdLevel { get; init; } = 3;
    public int SequencesPerBlock { get; init; } = 16;
    public long ShardTargetBytes { get; init; } = 256L << 20;

    public BlockCodecs Resolve(uint vocabSize, int draws)
    {
        if (SequencesPerBlock < 1) throw new ArgumentException("sequences per block must be >= 1");
        if (ZstdLevel is < -7 or > 22) throw new ArgumentException($"zstd level must be in [-7, 22], got {ZstdLevel}");
        if (ShardTargetBytes < 4096) throw new ArgumentException("shard target size must be at least 4096 bytes");
        if (Tokens == "delta") throw new ArgumentException("the tokens column takes 'u32' or 'packed'");
        return new BlockCodecs(
            CodecRegistry.IdCodec(Tokens, vocabSize),
            CodecRegistry.IdCodec(Ids, vocabSize),
            CodecRegistry.ValueCodec(Values, ValueLogRange, draws),
            ZstdLevel);
    }
}

/// <summary>The codec instances a block is encoded with.</summary>
public sealed record BlockCodecs(IIdCodec Tokens, IIdCodec Ids, IValueCodec Values, int ZstdLevel);
