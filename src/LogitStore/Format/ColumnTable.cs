using System.Collections.Immutable;

namespace LogitStore.Format;

/// <summary>
/// One column kind of spec 4.3: its spec name and whether every block must have it. Which codecs it takes is each codec's
/// fact (<c>Codecs.CodecTable</c>).
/// </summary>
internal sealed record ColumnDefinition(ColumnKind Kind, string Name, bool Required);

/// <summary>
/// The column kinds of a block (spec 4.3) in their fixed directory order: what the block encoder writes and what the
/// block decoder expects.
/// </summary>
internal static class ColumnTable
{
    public static ImmutableArray<ColumnDefinition> Columns { get; } =
    [
        new(ColumnKind.SequenceLengths, "sequence_lengths", Required: true),
        new(ColumnKind.Tokens, "tokens", Required: true),
        new(ColumnKind.KeptCounts, "kept_counts", Required: true),
        new(ColumnKind.Ids, "ids", Required: true),
        new(ColumnKind.Values, "values", Required: true),
        new(ColumnKind.ResidualMass, "residual_mass", Required: true),
    ];

    /// <summary>The columns a writer writes: the required ones, in directory order (spec 4.3 writes no optional column).</summary>
    public static ImmutableArray<ColumnDefinition> Written { get; } = [.. Columns.Where(c => c.Required)];

    /// <summary>The definition of <paramref name="kind"/>, which must be one the table defines.</summary>
    public static ColumnDefinition Of(ColumnKind kind) =>
        IndexOf(kind) is >= 0 and var i
            ? Columns[i]
            : throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a column kind of spec 4.3");

    /// <summary>Position of <paramref name="kind"/> in <see cref="Columns"/>, or −1 for a kind the table does not define.</summary>
    public static int IndexOf(ColumnKind kind)
    {
        for (int i = 0; i < Columns.Length; i++)
            if (Columns[i].Kind == kind) return i;
        return -1;
    }

    /// <summary>The first required column at a position in [<paramref name="from"/>, <paramref name="to"/>), or null.</summary>
    public static ColumnDefinition? FirstRequired(int from, int to = int.MaxValue)
    {
        for (int i = Math.Max(from, 0); i < Math.Min(to, Columns.Length); i++)
            if (Columns[i].Required) return Columns[i];
        return null;
    }

    /// <summary>The spec name of <paramref name="kind"/> (spec 4.3), or its number for a kind the table does not define.</summary>
    public static string NameOf(ColumnKind kind) => IndexOf(kind) is >= 0 and var i ? Columns[i].Name : $"kind-{(byte)kind}";
}
