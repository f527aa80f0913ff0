using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Makes codec instances from parsed specs (writer) and from a column's codec id and parameter (reader).</summary>
public static class CodecRegistry
{
    public static IIdCodec IdCodec(IdCodecSpec spec, uint vocabSize, IdRankTable? rankTable = null, IdContextModel? idModel = null)
        => spec.Id switch
    {
        CodecId.U32 => U32IdCodec.Instance,
        CodecId.Packed => PackedIdCodec.ForVocabulary(vocabSize),
        CodecId.Delta => DeltaIdCodec.Instance,
        CodecId.Ranked => new RankedIdCodec(rankTable ?? throw new ArgumentException("the 'ranked' id codec needs an id rank table")),
        CodecId.Context => new ContextIdCodec(idModel ?? throw new ArgumentException("the 'context' id codec needs an id context model")),
        _ => throw new ArgumentException($"'{spec.Name}' is not an id codec ({string.Join(", ", IdCodecSpec.Names)})"),
    };

    public static IValueCodec ValueCodec(ValueCodecSpec spec, double logRange, int draws, Mvq.MvqCodebooks? codebooks = null, int beam = 0)
        => spec.Id switch
    {
        CodecId.Mvq => spec.Codebooks == codebooks?.M
            ? new MvqValueCodec(codebooks, beam > 0 ? beam : MvqValueCodec.DefaultBeam)
            : throw new ArgumentException(
                $"value codec '{spec.Name}' needs a set of {spec.Codebooks} codebooks" + (codebooks is null ? "" : $", got {codebooks.M}")),
        CodecId.F32 => F32ValueCodec.Instance,
        CodecId.F16 => F16ValueCodec.Instance,
        CodecId.Q8 => new LogRatioValueCodec(8, spec.LogRangeOrDefault(logRange)),
        CodecId.Q4 => new LogRatioValueCodec(4, spec.LogRangeOrDefault(logRange)),
        CodecId.Counts => new CountsValueCodec(draws),
        _ => throw new ArgumentException($"'{spec.Name}' is not a value codec ({string.Join(", ", ValueCodecSpec.Names)})"),
    };

    public static IIdCodec? IdCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) => id switch
    {
        CodecId.Ranked => dictionaries?.RankTable(param) is { } table ? new RankedIdCodec(table) : null,
        CodecId.Context => dictionaries?.IdModel(param) is { } model ? new ContextIdCodec(model) : null,
        CodecId.U32 when param == 0 => U32IdCodec.Instance,
        CodecId.Packed when param is >= 1 and <= 32 => new PackedIdCodec((int)param),
        CodecId.Delta when param == 0 => DeltaIdCodec.Instance,
        _ => null,
    };

    public static IValueCodec? ValueCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) => id switch
    {
        CodecId.Mvq => dictionaries?.Codebooks(param) is { } books ? new MvqValueCodec(books) : null,
        CodecId.F32 when param == 0 => F32ValueCodec.Instance,
        CodecId.F16 when param == 0 => F16ValueCodec.Instance,
        CodecId.Q8 when param is > 0 and < 256_000 => LogRatioValueCodec.FromParam(8, param),
        CodecId.Q4 when param is > 0 and < 256_000 => LogRatioValueCodec.FromParam(4, param),
        CodecId.Counts when param is >= 1 and <= ushort.MaxValue => new CountsValueCodec((int)param),
        _ => null,
    };

    public static string Name(CodecId id) => CodecTable.Name(id);
}
