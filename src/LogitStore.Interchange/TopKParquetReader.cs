using Parquet;
using Parquet.Schema;

namespace LogitStore.Interchange;

/// <summary>Reads the rows of top-k Parquet files in a <see cref="TopKParquetLayout"/>, one row group at a time.</summary>
public static class TopKParquetReader
{
    /// <summary>Every row of <paramref name="files"/>, in file order then row order.</summary>
    public static async IAsyncEnumerable<TopKRow> ReadAsync(
        IReadOnlyList<string> files, TopKParquetLayout layout,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (string path in files)
        {
            await using var file = File.OpenRead(path);
            await using var parquet = await ParquetReader.CreateAsync(file, cancellationToken: ct);
            var fields = layout.Columns.Select(c => FieldOf(parquet.Schema, c.Name, c.Depth, path)).ToArray();
            for (int g = 0; g < parquet.RowGroupCount; g++)
            {
                using var group = parquet.OpenRowGroupReader(g);
                var columns = new NestedColumn[fields.Length];
                for (int c = 0; c < fields.Length; c++)
                    columns[c] = await NestedColumn.ReadAsync(group, fields[c], layout.Columns[c].Depth, $"{path}: row group {g}", ct);
                var rows = layout.Shape == TopKParquetShape.Lists
                    ? ListsRows(columns, path, g)
                    : StackedRows(columns, path, g);
                foreach (var row in rows) yield return row;
            }
        }
    }

    /// <summary>The data field under the top-level column <paramref name="name"/>, nested <paramref name="depth"/> lists deep.</summary>
    private static DataField FieldOf(ParquetSchema schema, string name, int depth, string path)
    {
        Field? field = schema.Fields.FirstOrDefault(f => f.Name == name)
            ?? throw new InvalidDataException(
                $"{path}: no column '{name}' (columns: {string.Join(", ", schema.Fields.Select(f => f.Name))}); choose it by name");
        for (int d = 0; d < depth; d++)
            field = field is ListField list
                ? list.Item
                : throw new InvalidDataException($"{path}: column '{name}' must be nested {depth} list(s) deep, it is {d}");
        return field as DataField ?? throw new InvalidDataException($"{path}: column '{name}' does not hold numbers at depth {depth}");
    }

    private static IEnumerable<TopKRow> ListsRows(NestedColumn[] c, string path, int group)
    {
        var (tokens, ids, logprobs) = (c[0], c[1], c[2]);
        for (int r = 0; r < tokens.Rows; r++)
        {
            var input = tokens.IntsOf(r, path, group);
            var positionIds = ids.ListsOf(r);
            var positionLogProbs = logprobs.ListsOf(r);
            if (positionIds.Count != input.Length || positionLogProbs.Count != input.Length)
                throw new InvalidDataException(
                    $"{path}: row group {group}, row {r}: {input.Length} input ids but {positionIds.Count} id lists and " +
                    $"{positionLogProbs.Count} log-probability lists");
            var rowIds = new int[input.Length][];
            var rowLogProbs = new float[input.Length][];
            for (int t = 0; t < input.Length; t++)
            {
                rowIds[t] = ids.Ints(positionIds[t], $"{path}: row group {group}, row {r}, position {t}");
                rowLogProbs[t] = logprobs.Floats(positionLogProbs[t]);
                if (rowIds[t].Length != rowLogProbs[t].Length)
                    throw new InvalidDataException(
                        $"{path}: row group {group}, row {r}, position {t}: {rowIds[t].Length} ids but " +
                        $"{rowLogProbs[t].Length} log-probabilities");
            }
            yield return new TopKRow(input, rowIds, rowLogProbs);
        }
    }

    private static IEnumerable<TopKRow> StackedRows(NestedColumn[] c, string path, int group)
    {
        var (tokens, targets) = (c[0], c[1]);
        for (int r = 0; r < tokens.Rows; r++)
        {
            var input = tokens.IntsOf(r, path, group);
            var positions = targets.ListsOf(r);
            if (positions.Count != input.Length)
                throw new InvalidDataException(
                    $"{path}: row group {group}, row {r}: {input.Length} input ids but {positions.Count} targets");
            var rowIds = new int[input.Length][];
            var rowLogProbs = new float[input.Length][];
            for (int t = 0; t < input.Length; t++)
            {
                string where = $"{path}: row group {group}, row {r}, position {t}";
                var pair = targets.ListsOf(positions[t]);
                if (pair.Count != 2) throw new InvalidDataException($"{where}: a target is [2, k], this one has {pair.Count} rows");
                rowIds[t] = targets.IntegralFloats(pair[0], where);
                rowLogProbs[t] = targets.Floats(pair[1]);
                if (rowIds[t].Length != rowLogProbs[t].Length)
                    throw new InvalidDataException($"{where}: {rowIds[t].Length} ids but {rowLogProbs[t].Length} log-probabilities");
            }
            yield return new TopKRow(input, rowIds, rowLogProbs);
        }
    }
}
