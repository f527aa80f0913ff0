using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;

namespace LogitStore.Writing;

/// <summary>How blocks are laid out and encoded; defaults were chosen by measurement (README, "Choosing the defaults").</summary>
public sealed record CodecOptions
{
    /// <summary>The tokens column's codec: u32 or packed.</summary>
    public IdCodecSpec Tokens { get; init; } = IdCodecSpec.Packed;
    public IdCodecSpec Ids { get; init; } = IdCodecSpec.Context;
    public ValueCodecSpec Values { get; init; } = ValueCodecSpec.Mvq(4);

    /// <summary>R of the q8/q4 codecs in nats; 0 picks the codec's default.</summary>
    public double ValueLogRange { get; init; }

    /// <summary>Widest beam the mvq encoder searches with: beyond it the search costs more than it finds.</summary>
    public const int MaxMvqBeam = 64;

    /// <summary>Beam width of the mvq encoder's search over the codebooks (1 = greedy).</summary>
    public int MvqBeam { get; init; } = Codecs.MvqValueCodec.DefaultBeam;

    /// <summary>Positions the writer collects to train the dictionaries a codec needs (mvq codebooks, id rank table).</summary>
    public int DictionarySample { get; init; } = 32768;

    /// <summary>Codebooks for an mvq value codec; when null the writer trains them from the first positions it sees.</summary>
    public Codecs.Mvq.MvqCodebooks? Codebooks { get; init; }

    /// <summary>Id rank table for the ranked id codec; when null the writer builds it from the first positions.</summary>
    internal IdRankTable? RankTable { get; init; }

    /// <summary>Id context model for the context id codec; when null the writer trains it from the first positions.</summary>
    internal IdContextModel? IdModel { get; init; }

    public int ZstdLevel { get; init; } = 3;
    public int SequencesPerBlock { get; init; } = 16;
    public long ShardTargetBytes { get; init; } = 256L << 20;

    /// <summary>
    /// Checks every setting, without resolving codecs that need dictionaries: what it passes, <see cref="Resolve"/> accepts.
    /// </summary>
    public void Validate()
    {
        if (SequencesPerBlock < 1) throw new ArgumentException($"sequences per block must be >= 1, got {SequencesPerBlock}");
        if (ZstdLevel is < -7 or > 22) throw new ArgumentException($"zstd level must be in [-7, 22], got {ZstdLevel}");
        if (ShardTargetBytes < 4096) throw new ArgumentException($"shard target size must be at least 4096 bytes, got {ShardTargetBytes}");
        if (!CodecTable.Accepts(ColumnKind.Tokens, Tokens.Id))
            throw new ArgumentException(
                $"the tokens column takes {string.Join(" or ", IdCodecSpec.NamesFor(ColumnKind.Tokens))}, not '{Tokens}'");
        if (MvqBeam is < 1 or > MaxMvqBeam)
            throw new ArgumentException($"the mvq beam width must be in [1, {MaxMvqBeam}], got {MvqBeam}");
        if (!double.IsFinite(ValueLogRange) || ValueLogRange < 0)
            throw new ArgumentException(
                $"the q8/q4 log range must be a finite number of nats >= 0 (0: the codec's default), got {ValueLogRange}");
        if (Codebooks is { } given && given.M != Values.Codebooks)
            throw new ArgumentException($"the given codebook set has {given.M} codebooks, the value codec is '{Values}'");
        if (DictionarySample < 1) throw new ArgumentException("the dictionary sample must be >= 1 position");
        if (Ids == IdCodecSpec.Delta && Values.IsMvq)
            throw new ArgumentException(
                $"'delta' ids with '{Values}' values: delta stores each position's values in ascending id order, where the " +
                "mvq codebooks fit almost no position (they escape to q8); use 'ranked' or 'context' ids with mvq, or " +
                "'delta' ids with q8");
    }

    /// <summary>
    /// The largest vocabulary the <c>ranked</c> and <c>context</c> ids codecs take (spec 5.8): their dictionaries hold
    /// tables of a few bytes per vocabulary id, in memory while they are trained and on disk, so a writer refuses a larger
    /// vocabulary before it commits any memory to one.
    /// </summary>
    public const uint MaxDictionaryVocabulary = 1u << 24;

    /// <summary>Checks these options against the store's vocabulary, before anything is allocated for it.</summary>
    public void Validate(uint vocabSize)
    {
        if (Ids.NeedsDictionary && vocabSize > MaxDictionaryVocabulary)
            throw new SettingException(
                "ids",
                $"'{Ids}' keeps tables of a few bytes per vocabulary id and takes vocabularies of up to " +
                $"{MaxDictionaryVocabulary:N0} ids, not {vocabSize:N0}: use 'packed' ids");
    }

    /// <summary>Checks these options together with the truncation they store.</summary>
    public void Validate(ProcessingOptions processing)
    {
        Validate();
        if (Values == ValueCodecSpec.Counts && processing.Method != TruncationMethod.Sampled)
            throw new SettingException("values", "'counts' stores sampled distributions only (method 'sampled')");
    }

    /// <summary>True when a codec needs a dictionary the writer trains from the first positions (none was given).</summary>
    public bool TrainsDictionaries => (Ids == IdCodecSpec.Ranked && RankTable is null) || (Ids.TakesIdModel && IdModel is null)
        || (Values.NeedsDictionary && Codebooks is null);

    /// <summary>Builds the block codecs of options that passed <see cref="Validate(uint)"/> and its siblings.</summary>
    internal BlockCodecs Resolve(
        uint vocabSize, int draws, IdRankTable? rankTable = null, Codecs.Mvq.MvqCodebooks? codebooks = null,
        IdContextModel? idModel = null)
    {
        var inputs = new CodecWriterInputs
        {
            VocabSize = vocabSize, ValueLogRange = ValueLogRange, Draws = draws, MvqBeam = MvqBeam,
            RankTable = rankTable, IdModel = idModel, Codebooks = codebooks,
        };
        return new BlockCodecs(Tokens.Create(inputs), Ids.Create(inputs), Values.Create(inputs), ZstdLevel);
    }
}

/// <summary>The codec instances a block is encoded with.</summary>
internal sealed record BlockCodecs(IIdCodec Tokens, IIdCodec Ids, IValueCodec Values, int ZstdLevel);
