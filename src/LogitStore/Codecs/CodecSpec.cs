using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>One codec as the manifest, the CLI and a block's column directory name it (spec 5).</summary>
public sealed record CodecTableEntry(CodecId Id, string Name, bool NeedsDictionary);

/// <summary>
/// The one table of codec ids and names; the spec types and the registry read it. Which column takes which codec is
/// <see cref="ColumnTable"/>'s.
/// </summary>
public static class CodecTable
{
    public static IReadOnlyList<CodecTableEntry> Entries { get; } =
    [
        new(CodecId.U32, "u32", NeedsDictionary: false),
        new(CodecId.Packed, "packed", NeedsDictionary: false),
        new(CodecId.Delta, "delta", NeedsDictionary: false),
        new(CodecId.U16, "u16", NeedsDictionary: false),
        new(CodecId.Ranked, "ranked", NeedsDictionary: true),
        new(CodecId.Context, "context", NeedsDictionary: true),
        new(CodecId.F32, "f32", NeedsDictionary: false),
        new(CodecId.F16, "f16", NeedsDictionary: false),
        new(CodecId.Q8, "q8", NeedsDictionary: false),
        new(CodecId.Q4, "q4", NeedsDictionary: false),
        new(CodecId.Counts, "counts", NeedsDictionary: false),
        new(CodecId.Mvq, "mvq", NeedsDictionary: true),
        new(CodecId.Unorm16, "unorm16", NeedsDictionary: false),
    ];

    public static CodecTableEntry Of(CodecId id) => Entries.First(e => e.Id == id);

    public static string Name(CodecId id) => Entries.FirstOrDefault(e => e.Id == id)?.Name ?? $"codec-{(byte)id}";
}

/// <summary>The codec of a store's ids column (or its tokens column: u32 or packed), parsed once from its name.</summary>
public readonly record struct IdCodecSpec(CodecId Id)
{
    public static readonly IdCodecSpec U32 = new(CodecId.U32);
    public static readonly IdCodecSpec Packed = new(CodecId.Packed);
    public static readonly IdCodecSpec Delta = new(CodecId.Delta);
    public static readonly IdCodecSpec Ranked = new(CodecId.Ranked);
    public static readonly IdCodecSpec Context = new(CodecId.Context);

    public static IEnumerable<string> Names => NamesFor(ColumnKind.Ids);

    /// <summary>The names of the id codecs a column takes (the ids or the tokens column).</summary>
    public static IEnumerable<string> NamesFor(ColumnKind column) => ColumnTable.Of(column).Codecs.Select(CodecTable.Name);

    public string Name => CodecTable.Name(Id);

    /// <summary>True for the ranked and context codecs, which need the store's id rank table or id context model.</summary>
    public bool NeedsDictionary => CodecTable.Of(Id).NeedsDictionary;

    public static IdCodecSpec Parse(string name) =>
        CodecTable.Entries.FirstOrDefault(e => e.Name == name && ColumnTable.Of(ColumnKind.Ids).Accepts(e.Id)) is { } e
            ? new IdCodecSpec(e.Id)
            : throw new ArgumentException($"unknown id codec '{name}' ({string.Join(", ", Names)})");

    public override string ToString() => Name;
}

/// <summary>The codec of a store's values column with its parameter (M codebooks for mvq), parsed once from its name.</summary>
public readonly record struct ValueCodecSpec
{
    private ValueCodecSpec(CodecId id, int codebooks)
    {
        Id = id;
        Codebooks = codebooks;
    }

    public static readonly ValueCodecSpec F32 = new(CodecId.F32, 0);
    public static readonly ValueCodecSpec F16 = new(CodecId.F16, 0);
    public static readonly ValueCodecSpec Q8 = new(CodecId.Q8, 0);
    public static readonly ValueCodecSpec Q4 = new(CodecId.Q4, 0);
    public static readonly ValueCodecSpec Counts = new(CodecId.Counts, 0);

    public CodecId Id { get; }

    /// <summary>M of mvq:M; 0 for every other codec.</summary>
    public int Codebooks { get; }

    public static ValueCodecSpec Mvq(int codebooks) =>
        codebooks is >= 1 and <= Codecs.Mvq.MvqCodebooks.MaxCodebooks
            ? new ValueCodecSpec(CodecId.Mvq, codebooks)
            : throw new ArgumentException(
                $"value codec 'mvq:{codebooks}': write mvq:M with M codebooks, 1..{Codecs.Mvq.MvqCodebooks.MaxCodebooks} (e.g. mvq:8)");

    public static IEnumerable<string> Names =>
        ColumnTable.Of(ColumnKind.Values).Codecs.Select(id => id == CodecId.Mvq ? "mvq:M" : CodecTable.Name(id));

    public string Name => Id == CodecId.Mvq ? $"mvq:{Codebooks}" : CodecTable.Name(Id);

    public bool IsMvq => Id == CodecId.Mvq;

    /// <summary>True for mvq, which needs the store's codebooks.</summary>
    public bool NeedsDictionary => CodecTable.Of(Id).NeedsDictionary;

    /// <summary>The log range R (nats) q8 and q4 use when none is given (spec 5.4); 0 for the other codecs.</summary>
    public double DefaultLogRange => Id switch
    {
        CodecId.Q8 => LogRatioValueCodec.DefaultRange8,
        CodecId.Q4 => LogRatioValueCodec.DefaultRange4,
        _ => 0,
    };

    /// <summary>The log range a q8/q4 store is written with: the given one, or the codec's default; 0 for other codecs.</summary>
    public double LogRangeOrDefault(double given) => DefaultLogRange == 0 ? 0 : given > 0 ? given : DefaultLogRange;

    public static ValueCodecSpec Parse(string name)
    {
        if (name.StartsWith("mvq", StringComparison.Ordinal))
            return name.Length > 4 && name[3] == ':' && int.TryParse(name.AsSpan(4), out int m)
                ? Mvq(m)
                : throw new ArgumentException(
                    $"value codec '{name}': write mvq:M with M codebooks, 1..{Codecs.Mvq.MvqCodebooks.MaxCodebooks} (e.g. mvq:8)");
        return CodecTable.Entries.FirstOrDefault(e => e.Name == name && ColumnTable.Of(ColumnKind.Values).Accepts(e.Id)) is { } e
            ? new ValueCodecSpec(e.Id, 0)
            : throw new ArgumentException($"unknown value codec '{name}' ({string.Join(", ", Names)})");
    }

    public override string ToString() => Name;
}
