using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// The codec of a store's ids column (or its tokens column: u32 or packed) with its setting (the first rank coded in a
/// set, R of banded:R), parsed once from its name.
/// </summary>
public readonly record struct IdCodecSpec(CodecId Id, int SetsFrom = 0)
{
    public static readonly IdCodecSpec U32 = new(CodecId.U32);
    public static readonly IdCodecSpec Packed = new(CodecId.Packed);
    public static readonly IdCodecSpec Delta = new(CodecId.Delta);
    public static readonly IdCodecSpec Ranked = new(CodecId.Ranked);
    public static readonly IdCodecSpec Context = new(CodecId.Context);

    /// <summary>The banded codec whose bands from rank <paramref name="setsFrom"/> on are sets (spec 5.11).</summary>
    public static IdCodecSpec Banded(int setsFrom) => Parse($"banded:{setsFrom}");

    public static IEnumerable<string> Names => NamesFor(ColumnKind.Ids);

    /// <summary>The names of the id codecs a column takes (the ids or the tokens column), with their settings' letters.</summary>
    public static IEnumerable<string> NamesFor(ColumnKind column) => CodecTable.For(column).Select(d => d.Syntax);

    internal IdCodecDescriptor Descriptor => (IdCodecDescriptor)CodecTable.Of(Id);

    public string Name => Descriptor.Setting is null ? CodecTable.Name(Id) : $"{Descriptor.Name}:{SetsFrom}";

    /// <summary>True for the ranked, context and banded codecs, which need one of the store's id dictionaries.</summary>
    public bool NeedsDictionary => Descriptor.NeedsDictionary;

    /// <summary>True for the context and banded codecs, which code under an id context model (kind 3) or id band model (kind 4).</summary>
    public bool TakesIdModel => Id is CodecId.Context or CodecId.Banded;

    /// <summary>The codec a writer encodes the column with.</summary>
    internal IIdCodec Create(CodecWriterInputs inputs) => Descriptor.Create(inputs);

    public static IdCodecSpec Parse(string name)
    {
        var (codec, setting) = CodecNames.Parse(ColumnKind.Ids, "id", name, Names);
        return new IdCodecSpec(codec.Id, setting);
    }

    public override string ToString() => Name;
}

/// <summary>The codec of a store's values column with its setting (M codebooks for mvq), parsed once from its name.</summary>
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

    /// <summary>M of mvq:M, the one codec whose name carries a setting (<see cref="CodecDescriptor.Setting"/>); else 0.</summary>
    public int Codebooks { get; }

    public static ValueCodecSpec Mvq(int codebooks) => Parse($"mvq:{codebooks}");

    public static IEnumerable<string> Names => CodecTable.For(ColumnKind.Values).Select(d => d.Syntax);

    internal ValueCodecDescriptor Descriptor => (ValueCodecDescriptor)CodecTable.Of(Id);

    public string Name => Descriptor.Setting is null ? Descriptor.Name : $"{Descriptor.Name}:{Codebooks}";

    public bool IsMvq => Id == CodecId.Mvq;

    /// <summary>True for mvq, which needs the store's codebooks.</summary>
    public bool NeedsDictionary => Descriptor.NeedsDictionary;

    /// <summary>The log range R (nats) q8 and q4 use when none is given (spec 5.4); 0 for the other codecs.</summary>
    public double DefaultLogRange => Id switch
    {
        CodecId.Q8 => LogRatioValueCodec.DefaultRange8,
        CodecId.Q4 => LogRatioValueCodec.DefaultRange4,
        _ => 0,
    };

    /// <summary>The log range a q8/q4 store is written with: the given one, or the codec's default; 0 for other codecs.</summary>
    public double LogRangeOrDefault(double given) => DefaultLogRange == 0 ? 0 : given > 0 ? given : DefaultLogRange;

    /// <summary>The codec a writer encodes the column with.</summary>
    internal IValueCodec Create(CodecWriterInputs inputs) => Descriptor.Create(this, inputs);

    public static ValueCodecSpec Parse(string name)
    {
        var (codec, setting) = CodecNames.Parse(ColumnKind.Values, "value", name, Names);
        return new ValueCodecSpec(codec.Id, setting);
    }

    public override string ToString() => Name;
}

/// <summary>Codec names with their settings (<c>mvq:M</c>, <c>banded:R</c>), as the manifest and the command line write them.</summary>
internal static class CodecNames
{
    /// <summary>
    /// The codec <paramref name="name"/> names among <paramref name="column"/>'s, and its setting (0 when it takes none);
    /// throws <see cref="ArgumentException"/> naming the valid names or the setting's range.
    /// </summary>
    public static (CodecDescriptor Codec, int Setting) Parse(ColumnKind column, string what, string name, IEnumerable<string> names)
    {
        int colon = name.IndexOf(':');
        string codec = colon < 0 ? name : name[..colon];
        var found = CodecTable.For(column).FirstOrDefault(d => d.Name == codec);
        if (found is null || (found.Setting is null && colon >= 0))
            throw new ArgumentException($"unknown {what} codec '{name}' ({string.Join(", ", names)})");
        if (found.Setting is not { } s) return (found, 0);
        string? setting = colon < 0 ? null : name[(colon + 1)..];
        return int.TryParse(setting, out int value) && s.Accepts(value)
            ? (found, value)
            : throw new ArgumentException(
                $"{what} codec '{name}': write {found.Syntax} with {s.Letter} {s.Meaning}, {s.Min}..{s.Max} " +
                $"(e.g. {found.Name}:{s.Example})");
    }
}
