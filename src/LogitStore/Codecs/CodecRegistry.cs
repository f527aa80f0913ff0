using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>Maps codec names (manifest, CLI) and ids (block directory) to codec instances.</summary>
public static class CodecRegistry
{
    /// <summary>Names of the codecs each column accepts (spec 4.3), as options and the manifest spell them.</summary>
    public static readonly string[] TokenCodecNames = NamesOf(ColumnKind.Tokens);
    public static readonly string[] IdCodecNames = NamesOf(ColumnKind.Ids);
    public static readonly string[] ValueCodecNames = NamesOf(ColumnKind.Values);

    /// <summary>True for codec names that need a dictionary (trained by the writer or given to it).</summary>
    public static bool NeedsDictionary(string name) => name == "ranked" || name.StartsWith("mvq", StringComparison.Ordinal);

    /// <summary>M of a value codec name "mvq:M" (spec 5.9), or 0 when the name is not an mvq codec.</summary>
    public static int MvqCodebookCount(string name)
    {
        if (!name.StartsWith("mvq", StringComparison.Ordinal)) return 0;
        if (name.Length > 4 && name[3] == ':' && int.TryParse(name.AsSpan(4), out int m) && m is >= 1 and <= Mvq.MvqCodebooks.MaxCodebooks)
            return m;
        throw new ArgumentException($"value codec '{name}': write mvq:M with M codebooks, 1..{Mvq.MvqCodebooks.MaxCodebooks} (e.g. mvq:8)");
    }

    public static IIdCodec IdCodec(string name, uint vocabSize, IdRankTable? rankTable = null) => name switch
    {
        "u32" => U32IdCodec.Instance,
        "packed" => PackedIdCodec.ForVocabulary(vocabSize),
        "delta" => DeltaIdCodec.Instance,
        "ranked" => new RankedIdCodec(rankTable ?? throw new ArgumentException("the 'ranked' id codec needs an id rank table")),
        _ => throw new ArgumentException($"unknown id codec '{name}' ({string.Join(", ", IdCodecNames)})"),
    };

    public static IValueCodec ValueCodec(string name, double logRange, int draws, Mvq.MvqCodebooks? codebooks = null) => name switch
    {
        _ when name.StartsWith("mvq", StringComparison.Ordinal) => MvqCodebookCount(name) == codebooks?.M
            ? new MvqValueCodec(codebooks)
            : throw new ArgumentException(
                $"value codec '{name}' needs a set of {MvqCodebookCount(name)} codebooks" +
                (codebooks is null ? "" : $", got {codebooks.M}")),
        "f32" => F32ValueCodec.Instance,
        "f16" => F16ValueCodec.Instance,
        "q8" => new LogRatioValueCodec(8, logRange > 0 ? logRange : LogRatioValueCodec.DefaultRange8),
        "q4" => new LogRatioValueCodec(4, logRange > 0 ? logRange : LogRatioValueCodec.DefaultRange4),
        "counts" => new CountsValueCodec(draws),
        _ => throw new ArgumentException($"unknown value codec '{name}' ({string.Join(", ", ValueCodecNames)})"),
    };

    public static IIdCodec? IdCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) => id switch
    {
        CodecId.Ranked => dictionaries?.RankTable(param) is { } table ? new RankedIdCodec(table) : null,
        CodecId.U32 when param == 0 => U32IdCodec.Instance,
        CodecId.Packed when param is >= 1 and <= 32 => new PackedIdCodec((int)param),
        CodecId.Delta when param == 0 => DeltaIdCodec.Instance,
        _ => null,
    };

    public static IValueCodec? ValueCodec(CodecId id, uint param, StoreDictionaries? dictionaries = null) => id switch
    {
        CodecId.Mvq => dictionaries?.Codebooks(param) is { } books ? new MvqValueCodec(books) : null,
        CodecId.F32 => F32ValueCodec.Instance,
        CodecId.F16 => F16ValueCodec.Instance,
        CodecId.Q8 when param is > 0 and < 256_000 => LogRatioValueCodec.FromParam(8, param),
        CodecId.Q4 when param is > 0 and < 256_000 => LogRatioValueCodec.FromParam(4, param),
        CodecId.Counts when param is >= 1 and <= ushort.MaxValue => new CountsValueCodec((int)param),
        _ => null,
    };

    private static string[] NamesOf(ColumnKind kind) =>
        [.. ColumnTable.Of(kind).Codecs.Select(id => id == CodecId.Mvq ? "mvq:M" : Name(id))];

    public static string Name(CodecId id) => id switch
    {
        CodecId.U32 => "u32",
        CodecId.Packed => "packed",
        CodecId.Delta => "delta",
        CodecId.Ranked => "ranked",
        CodecId.U16 => "u16",
        CodecId.F32 => "f32",
        CodecId.F16 => "f16",
        CodecId.Q8 => "q8",
        CodecId.Q4 => "q4",
        CodecId.Counts => "counts",
        CodecId.Mvq => "mvq",
        CodecId.Unorm16 => "unorm16",
        _ => $"codec-{(byte)id}",
    };
}
