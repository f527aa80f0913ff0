using LogitStore.Format;
using Parquet;
using Parquet.Schema;

namespace LogitStore.Interchange;

/// <summary>A run of values nested <c>Depth</c> lists deep inside one row: the values [Start, End) of its column.</summary>
internal readonly record struct ListNode(int Depth, int Start, int End);

/// <summary>
/// One numeric column of a row group, nested in lists, as its values and repetition levels. Every list must hold at least
/// one value (an empty or null list is refused), so values and levels align one to one.
/// </summary>
internal sealed class NestedColumn
{
    private readonly double[] _values;
    private readonly int[] _repetition;
    private readonly int[] _rowStarts;
    private readonly string _file;
    private readonly long _offset;
    private readonly string _column;
    private readonly bool _integral;

    private NestedColumn(RawColumn raw, string file, long offset, string column)
    {
        _values = raw.Values;
        _repetition = raw.Repetition;
        _file = file;
        _offset = offset;
        _column = column;
        _integral = raw.Integral;
        _rowStarts = [.. Enumerable.Range(0, _repetition.Length).Where(i => _repetition[i] == 0), _repetition.Length];
    }

    public int Rows => _rowStarts.Length - 1;

    /// <summary>Where the column's chunk starts in its file.</summary>
    public long Offset => _offset;

    /// <summary>A column's values and levels as Parquet.Net decodes them, before any check of ours.</summary>
    internal sealed record RawColumn(double[] Values, int[] Definition, int[] Repetition, bool Integral);

    /// <summary>Reads the chunk whole; its value count was checked against the file before (TopKParquetFile).</summary>
    public static async Task<RawColumn> ReadAsync(ParquetRowGroupReader group, DataField field, CancellationToken ct)
    {
        int levels = checked((int)(group.GetMetadata(field)?.MetaData?.NumValues ?? 0));
        var definition = new int[levels];
        var repetition = new int[levels];
        switch (Type.GetTypeCode(field.ClrType))
        {
            case TypeCode.Int32:
                var i32 = new int[levels];
                await group.ReadRawAsync<int>(field, i32, definition, repetition, ct);
                return new(Array.ConvertAll(i32, v => (double)v), definition, repetition, true);
            case TypeCode.Int64:
                var i64 = new long[levels];
                await group.ReadRawAsync<long>(field, i64, definition, repetition, ct);
                return new(Array.ConvertAll(i64, v => (double)v), definition, repetition, true);
            case TypeCode.Single:
                var f32 = new float[levels];
                await group.ReadRawAsync<float>(field, f32, definition, repetition, ct);
                return new(Array.ConvertAll(f32, v => (double)v), definition, repetition, false);
            default:
                var f64 = new double[levels];
                await group.ReadRawAsync<double>(field, f64, definition, repetition, ct);
                return new(f64, definition, repetition, false);
        }
    }

    /// <summary>
    /// The column, once its nesting is the layout's and every list holds a value; <paramref name="offset"/> is its chunk's,
    /// which errors name.
    /// </summary>
    public static NestedColumn Of(RawColumn raw, DataField field, int depth, string file, long offset, string column)
    {
        if (field.MaxRepetitionLevel != depth)
            throw new ArgumentException($"{file}: {column} is nested {field.MaxRepetitionLevel} lists deep, {depth} expected");
        for (int i = 0; i < raw.Definition.Length; i++)
            if (raw.Definition[i] != field.MaxDefinitionLevel)
                throw new StoreCorruptException(
                    file, offset, $"{column}, value {i}: an empty or null list or value (every list needs an element)");
        for (int i = 0; i < raw.Repetition.Length; i++)
            if (raw.Repetition[i] < 0 || raw.Repetition[i] > depth || (i == 0 && raw.Repetition[i] != 0))
                throw new StoreCorruptException(
                    file, offset, $"{column}, value {i}: repetition level {raw.Repetition[i]} (the first is 0, none above {depth})");
        return new NestedColumn(raw, file, offset, column);
    }

    /// <summary>Row <paramref name="row"/>'s lists one level down.</summary>
    public IReadOnlyList<ListNode> ListsOf(int row) => ListsOf(new ListNode(0, _rowStarts[row], _rowStarts[row + 1]));

    /// <summary>The lists one level below <paramref name="node"/>.</summary>
    public IReadOnlyList<ListNode> ListsOf(ListNode node)
    {
        var children = new List<ListNode>();
        int start = node.Start;
        for (int i = node.Start + 1; i <= node.End; i++)
            if (i == node.End || _repetition[i] <= node.Depth + 1)
            {
                children.Add(new ListNode(node.Depth + 1, start, i));
                start = i;
            }
        return children;
    }

    /// <summary>Row <paramref name="row"/>'s values of a one-level list column as ids.</summary>
    public int[] IntsOf(int row, string where) => Ints(new ListNode(0, _rowStarts[row], _rowStarts[row + 1]), where);

    /// <summary>The values under <paramref name="node"/> as ids: integers in [0, 2^31).</summary>
    public int[] Ints(ListNode node, string where)
    {
        if (!_integral) throw new ArgumentException($"{_file}: {_column}: ids must be an integer column");
        return IntegralFloats(node, where);
    }

    /// <summary>The values under <paramref name="node"/> as ids, from a column of any number type (whole values only).</summary>
    public int[] IntegralFloats(ListNode node, string where)
    {
        var ids = new int[node.End - node.Start];
        for (int i = 0; i < ids.Length; i++)
        {
            double v = _values[node.Start + i];
            if (v is < 0 or > int.MaxValue || v != Math.Floor(v))
                throw Corrupt($"{where}: id {v} (value {node.Start + i} of {_column}) is not an integer in [0, 2^31)");
            ids[i] = (int)v;
        }
        return ids;
    }

    /// <summary>The values under <paramref name="node"/> as log-probabilities, from a float or double column.</summary>
    public float[] Floats(ListNode node)
    {
        if (_integral) throw new ArgumentException($"{_file}: {_column}: log-probabilities must be a float or double column");
        return [.. _values.AsSpan(node.Start, node.End - node.Start).ToArray().Select(v => (float)v)];
    }

    /// <summary>An error in this column's values: names the file and the offset of the column's chunk.</summary>
    public StoreCorruptException Corrupt(string problem) => new(_file, _offset, problem);
}
