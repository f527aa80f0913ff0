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
    private readonly string _where;
    private readonly bool _integral;

    private NestedColumn(double[] values, int[] repetition, string where, bool integral)
    {
        _values = values;
        _repetition = repetition;
        _where = where;
        _integral = integral;
        _rowStarts = [.. Enumerable.Range(0, repetition.Length).Where(i => repetition[i] == 0), repetition.Length];
    }

    public int Rows => _rowStarts.Length - 1;

    public static async Task<NestedColumn> ReadAsync(
        ParquetRowGroupReader group, DataField field, int depth, string where, CancellationToken ct)
    {
        string at = $"{where}, column '{field.Path}'";
        int levels = checked((int)(group.GetMetadata(field)?.MetaData?.NumValues
            ?? throw new InvalidDataException($"{at}: no column metadata")));
        var definition = new int[levels];
        var repetition = new int[levels];
        double[] values;
        bool integral = true;
        switch (Type.GetTypeCode(field.ClrType))
        {
            case TypeCode.Int32:
                var i32 = new int[levels];
                await group.ReadRawAsync<int>(field, i32, definition, repetition, ct);
                values = Array.ConvertAll(i32, v => (double)v);
                break;
            case TypeCode.Int64:
                var i64 = new long[levels];
                await group.ReadRawAsync<long>(field, i64, definition, repetition, ct);
                values = Array.ConvertAll(i64, v => (double)v);
                break;
            case TypeCode.Single:
                var f32 = new float[levels];
                await group.ReadRawAsync<float>(field, f32, definition, repetition, ct);
                values = Array.ConvertAll(f32, v => (double)v);
                integral = false;
                break;
            case TypeCode.Double:
                values = new double[levels];
                await group.ReadRawAsync<double>(field, values, definition, repetition, ct);
                integral = false;
                break;
            default:
                throw new InvalidDataException($"{at}: holds {field.ClrType.Name}, not int32, int64, float or double");
        }
        if (field.MaxRepetitionLevel != depth)
            throw new InvalidDataException($"{at}: nested {field.MaxRepetitionLevel} lists deep, {depth} expected");
        for (int i = 0; i < levels; i++)
            if (definition[i] != field.MaxDefinitionLevel)
                throw new InvalidDataException($"{at}, value {i}: an empty or null list or value (every list needs an element)");
        return new NestedColumn(values, repetition, at, integral);
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
    public int[] IntsOf(int row, string path, int group) =>
        Ints(new ListNode(0, _rowStarts[row], _rowStarts[row + 1]), $"{path}: row group {group}, row {row}");

    /// <summary>The values under <paramref name="node"/> as ids: integers in [0, 2^31).</summary>
    public int[] Ints(ListNode node, string where)
    {
        if (!_integral) throw new InvalidDataException($"{_where}: ids must be an integer column");
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
                throw new InvalidDataException($"{where}: id {v} (value {node.Start + i} of {_where}) is not an integer in [0, 2^31)");
            ids[i] = (int)v;
        }
        return ids;
    }

    public float[] Floats(ListNode node) => [.. _values.AsSpan(node.Start, node.End - node.Start).ToArray().Select(v => (float)v)];
}
