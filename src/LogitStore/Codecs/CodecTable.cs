using System.Collections.Immutable;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The codecs of spec 5, one descriptor each: the one place that says which id and name a codec has, which columns
/// take it, what its <c>codec_param</c> means and which values are valid, and how writer and reader make it. The
/// writer, the block decoder, the parsed settings (<see cref="IdCodecSpec"/>, <see cref="ValueCodecSpec"/>) and the
/// command line's help read it.
/// </summary>
public static class CodecTable
{
    private const ColumnKind Lengths = ColumnKind.SequenceLengths, Tokens = ColumnKind.Tokens, Ids = ColumnKind.Ids;

    /// <summary>Every codec, in the order the column table's codecs are listed (and command help names them).</summary>
    internal static ImmutableArray<CodecDescriptor> Entries { get; } =
    [
        new IdCodecDescriptor(
            CodecId.U32, "u32", [Lengths, Tokens, Ids], CodecParameter.None,
            _ => U32IdCodec.Instance,
            (_, _) => U32IdCodec.Instance),
        new IdCodecDescriptor(
            CodecId.Packed, "packed", [Tokens, Ids], new CodecParameter("the bit width w", 1, 32),
            inputs => PackedIdCodec.ForVocabulary(inputs.VocabSize),
            (width, _) => new PackedIdCodec((int)width)),
        new IdCodecDescriptor(
            CodecId.Delta, "delta", [Ids], CodecParameter.None,
            _ => DeltaIdCodec.Instance,
            (_, _) => DeltaIdCodec.Instance),
        new FixedWidthCodecDescriptor(CodecId.U16, "u16", [ColumnKind.KeptCounts]),
        new IdCodecDescriptor(
            CodecId.Ranked, "ranked", [Ids], CodecParameter.RefOf(DictionaryKind.IdRankTable, "id rank table"),
            inputs => new RankedIdCodec(Needs(inputs.RankTable, "ranked", "an id rank table")),
            (reference, dictionaries) => dictionaries?.RankTable(reference) is { } table ? new RankedIdCodec(table) : null),
        new IdCodecDescriptor(
            CodecId.Context, "context", [Ids], CodecParameter.RefOf(DictionaryKind.IdContextModel, "id context model"),
            inputs => new ContextIdCodec(Needs(inputs.IdModel, "context", "an id context model", DictionaryKind.IdContextModel)),
            (reference, dictionaries) => dictionaries?.IdModel(reference) is { Kind: DictionaryKind.IdContextModel } model
                ? new ContextIdCodec(model)
                : null),
        new IdCodecDescriptor(
            CodecId.Banded, "banded", [Ids], CodecParameter.RefOf(DictionaryKind.IdBandModel, "id band model"),
            inputs => new BandedIdCodec(Needs(inputs.IdModel, "banded", "an id band model", DictionaryKind.IdBandModel)),
            (reference, dictionaries) => dictionaries?.IdModel(reference) is { Kind: DictionaryKind.IdBandModel } model
                ? new BandedIdCodec(model)
                : null,
            new CodecSetting("R", "the first rank coded in a set, a power of two", 1, IdContextModel.BandStartLimit / 2,
                Example: 16, Rule: IdBands.IsBandStart)),
        new ValueCodecDescriptor(
            CodecId.F32, "f32", CodecParameter.None,
            (_, _) => F32ValueCodec.Instance,
            (_, _) => F32ValueCodec.Instance),
        new ValueCodecDescriptor(
            CodecId.F16, "f16", CodecParameter.None,
            (_, _) => F16ValueCodec.Instance,
            (_, _) => F16ValueCodec.Instance),
        new ValueCodecDescriptor(
            CodecId.Q8, "q8", LogRange,
            (spec, inputs) => new LogRatioValueCodec(8, spec.LogRangeOrDefault(inputs.ValueLogRange)),
            (param, _) => LogRatioValueCodec.FromParam(8, param)),
        new ValueCodecDescriptor(
            CodecId.Q4, "q4", LogRange,
            (spec, inputs) => new LogRatioValueCodec(4, spec.LogRangeOrDefault(inputs.ValueLogRange)),
            (param, _) => LogRatioValueCodec.FromParam(4, param)),
        new ValueCodecDescriptor(
            CodecId.Counts, "counts", new CodecParameter("N, the draws per position", 1, ushort.MaxValue),
            (_, inputs) => new CountsValueCodec(inputs.Draws),
            (draws, _) => new CountsValueCodec((int)draws)),
        new ValueCodecDescriptor(
            CodecId.Mvq, "mvq", CodecParameter.RefOf(DictionaryKind.MvqCodebooks, "mvq codebooks"),
            (spec, inputs) => spec.Codebooks == inputs.Codebooks?.M
                ? new MvqValueCodec(inputs.Codebooks, inputs.MvqBeam > 0 ? inputs.MvqBeam : MvqValueCodec.DefaultBeam)
                : throw new ArgumentException(
                    $"value codec '{spec}' needs a set of {spec.Codebooks} codebooks" +
                    (inputs.Codebooks is null ? "" : $", got {inputs.Codebooks.M}")),
            (reference, dictionaries) => dictionaries?.Codebooks(reference) is { } books ? new MvqValueCodec(books) : null,
            new CodecSetting("M", "codebooks", 1, MvqCodebooks.MaxCodebooks, Example: 8)),
        new FixedWidthCodecDescriptor(CodecId.Unorm16, "unorm16", [ColumnKind.ResidualMass]),
    ];

    /// <summary>256 · R, R the log range in nats of q8 and q4, below 1000 nats (spec 5.4).</summary>
    private static CodecParameter LogRange => new("256 × R, R the log range in nats", 1, 255_999);

    /// <summary>The descriptor of codec <paramref name="id"/>, or null for an id spec 5 does not define.</summary>
    internal static CodecDescriptor? Find(CodecId id)
    {
        foreach (var d in Entries)
            if (d.Id == id) return d;
        return null;
    }

    /// <summary>The descriptor of codec <paramref name="id"/>, which must be one spec 5 defines.</summary>
    internal static CodecDescriptor Of(CodecId id) =>
        Find(id) ?? throw new ArgumentOutOfRangeException(nameof(id), id, "not a codec of spec 5");

    /// <summary>The codec's name, or its number for an id spec 5 does not define.</summary>
    public static string Name(CodecId id) => Find(id)?.Name ?? $"codec-{(byte)id}";

    /// <summary>The codecs <paramref name="column"/> takes, in table order.</summary>
    internal static IEnumerable<CodecDescriptor> For(ColumnKind column) => Entries.Where(d => d.Accepts(column));

    /// <summary>Whether <paramref name="column"/> takes codec <paramref name="id"/> (spec 4.3).</summary>
    public static bool Accepts(ColumnKind column, CodecId id) => Find(id)?.Accepts(column) == true;

    /// <summary>The codecs <paramref name="column"/> takes, as help lists them: <c>f32 | … | mvq:M (M codebooks, 1-32)</c>.</summary>
    public static string Help(ColumnKind column) => string.Join(" | ", For(column).Select(d => d.Help));

    /// <summary>The decoder of an id column stored with (<paramref name="id"/>, <paramref name="param"/>), or null.</summary>
    internal static IIdCodec? OpenIdCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) =>
        Find(id) is IdCodecDescriptor d ? d.Open(param, dictionaries) : null;

    /// <summary>The decoder of a values column stored with (<paramref name="id"/>, <paramref name="param"/>), or null.</summary>
    internal static IValueCodec? OpenValueCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) =>
        Find(id) is ValueCodecDescriptor d ? d.Open(param, dictionaries) : null;

    private static T Needs<T>(T? dictionary, string codec, string what) where T : class =>
        dictionary ?? throw new ArgumentException($"the '{codec}' id codec needs {what}");

    private static IdContextModel Needs(IdContextModel? model, string codec, string what, DictionaryKind kind) =>
        Needs(model, codec, what).Kind == kind ? model! : throw new ArgumentException($"the '{codec}' id codec needs {what}");
}
