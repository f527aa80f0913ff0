using System.Collections.Immutable;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;

namespace LogitStore.Codecs;

/// <summary>
/// What a column's u32 <c>codec_param</c> holds for one codec (spec 5, "codec_param values"): the values a reader
/// accepts, and for the codecs that need a dictionary, which kind of dictionary its <c>ref</c> names.
/// </summary>
internal sealed record CodecParameter(string Meaning, uint Min, uint Max, DictionaryKind? Dictionary = null, string? DictionaryName = null)
{
    /// <summary>The codecs that take no parameter: <c>codec_param</c> is 0.</summary>
    public static readonly CodecParameter None = new("none (0)", 0, 0);

    /// <summary>The <c>ref</c> of a dictionary of <paramref name="kind"/> the manifest lists (spec 2.4).</summary>
    public static CodecParameter RefOf(DictionaryKind kind, string name) =>
        new($"the ref of the store's {name}", 0, uint.MaxValue, kind, name);

    public bool Accepts(uint value) => value >= Min && value <= Max;
}

/// <summary>
/// A setting a codec's name carries in the manifest and on the command line after a colon (the M of <c>mvq:M</c>),
/// with the values a writer takes.
/// </summary>
internal sealed record CodecSetting(string Letter, string Meaning, int Min, int Max, int Example, Func<int, bool>? Rule = null)
{
    public bool Accepts(int value) => value >= Min && value <= Max && (Rule?.Invoke(value) ?? true);
}

/// <summary>
/// What a writer makes a codec from besides its name: the store's vocabulary, the dictionaries it trained or was given,
/// and the settings of the values codecs.
/// </summary>
internal sealed record CodecWriterInputs
{
    public uint VocabSize { get; init; }

    /// <summary>R of q8/q4 in nats; 0 picks the codec's default.</summary>
    public double ValueLogRange { get; init; }

    /// <summary>N of the counts codec: the draws per position of a sampled store.</summary>
    public int Draws { get; init; }

    public int MvqBeam { get; init; } = MvqValueCodec.DefaultBeam;
    public IdRankTable? RankTable { get; init; }
    public IdContextModel? IdModel { get; init; }
    public MvqCodebooks? Codebooks { get; init; }
}

/// <summary>
/// One codec of spec 5, every fact about it in one place: its id and name, the columns that take it, what its
/// <c>codec_param</c> means and which values are valid. <see cref="CodecTable"/> holds one per codec.
/// </summary>
internal abstract class CodecDescriptor(CodecId id, string name, ImmutableArray<ColumnKind> columns, CodecParameter parameter)
{
    public CodecId Id { get; } = id;
    public string Name { get; } = name;

    /// <summary>The columns that take this codec (spec 4.3), in the table's column order.</summary>
    public ImmutableArray<ColumnKind> Columns { get; } = columns;

    public CodecParameter Parameter { get; } = parameter;

    /// <summary>
    /// True for the codecs whose <c>codec_param</c> names one of the store's dictionaries (ranked, context, banded, mvq).
    /// </summary>
    public bool NeedsDictionary => Parameter.Dictionary is not null;

    /// <summary>The setting the codec's name carries (<c>mvq:M</c>), or null.</summary>
    public virtual CodecSetting? Setting => null;

    /// <summary>How the name is written with its setting: <c>mvq:M</c>; the name itself for the others.</summary>
    public string Syntax => Setting is { } s ? $"{Name}:{s.Letter}" : Name;

    /// <summary>The name as a command's help lists it: <c>mvq:M (M codebooks, 1-32)</c>.</summary>
    public string Help => Setting is { } s ? $"{Syntax} ({s.Letter} {s.Meaning}, {s.Min}-{s.Max})" : Name;

    public bool Accepts(ColumnKind column) => Columns.Contains(column);

    public override string ToString() => Name;
}

/// <summary>A codec of token ids (the tokens and ids columns; u32 also of sequence_lengths): spec 5.1, 5.2, 5.8, 5.10, 5.11.</summary>
internal sealed class IdCodecDescriptor(
    CodecId id,
    string name,
    ImmutableArray<ColumnKind> columns,
    CodecParameter parameter,
    Func<CodecWriterInputs, IIdCodec> forWriter,
    Func<uint, StoreDictionaries?, IIdCodec?> forReader,
    CodecSetting? setting = null)
    : CodecDescriptor(id, name, columns, parameter)
{
    public override CodecSetting? Setting { get; } = setting;

    /// <summary>The codec a writer encodes with.</summary>
    public IIdCodec Create(CodecWriterInputs inputs) => forWriter(inputs);

    /// <summary>
    /// The codec a reader decodes a column with, from its <c>codec_param</c> and the store's dictionaries; null when the
    /// parameter is not one the codec accepts or names no dictionary the store lists.
    /// </summary>
    public IIdCodec? Open(uint param, StoreDictionaries? dictionaries) => Parameter.Accepts(param) ? forReader(param, dictionaries) : null;
}

/// <summary>A codec of kept probabilities (the values column): spec 5.3–5.5, 5.9.</summary>
internal sealed class ValueCodecDescriptor(
    CodecId id,
    string name,
    CodecParameter parameter,
    Func<ValueCodecSpec, CodecWriterInputs, IValueCodec> forWriter,
    Func<uint, StoreDictionaries?, IValueCodec?> forReader,
    CodecSetting? setting = null)
    : CodecDescriptor(id, name, [ColumnKind.Values], parameter)
{
    public override CodecSetting? Setting { get; } = setting;

    /// <summary>The codec a writer encodes with.</summary>
    public IValueCodec Create(ValueCodecSpec spec, CodecWriterInputs inputs) => forWriter(spec, inputs);

    /// <summary>
    /// The codec a reader decodes a column with, from its <c>codec_param</c> and the store's dictionaries; null when the
    /// parameter is not one the codec accepts or names no dictionary the store lists.
    /// </summary>
    public IValueCodec? Open(uint param, StoreDictionaries? dictionaries) =>
        Parameter.Accepts(param) ? forReader(param, dictionaries) : null;
}

/// <summary>A fixed-width codec the block codec reads and writes itself (kept_counts' u16, residual_mass' unorm16).</summary>
internal sealed class FixedWidthCodecDescriptor(CodecId id, string name, ImmutableArray<ColumnKind> columns)
    : CodecDescriptor(id, name, columns, CodecParameter.None);
