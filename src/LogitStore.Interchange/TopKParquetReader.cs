namespace LogitStore.Interchange;

/// <summary>
/// Reads the rows of top-k Parquet files in a <see cref="TopKParquetLayout"/>, one row group at a time. A file that does
/// not have the layout's columns throws <see cref="ArgumentException"/>; a damaged file, or rows that break the layout's
/// rules, throw <see cref="Format.StoreCorruptException"/> naming the file, the row group and the row.
/// </summary>
public static class TopKParquetReader
{
    /// <summary>Every row of <paramref name="files"/>, in file order then row order.</summary>
    public static async IAsyncEnumerable<TopKRow> ReadAsync(
        IReadOnlyList<string> files, TopKParquetLayout layout,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (string path in files)
        {
            await using var file = await TopKParquetFile.OpenAsync(path, layout, ct);
            for (int g = 0; g < file.RowGroupCount; g++)
            {
                var columns = await file.ReadRowGroupAsync(g, ct);
                var rows = layout.Shape == TopKParquetShape.Lists
                    ? ListsRows(columns, path, g)
                    : StackedRows(columns, path, g);
                foreach (var row in rows) yield return row;
            }
        }
    }

    private static IEnumerable<TopKRow> ListsRows(NestedColumn[] c, string path, int group)
    {
        var (tokens, ids, logprobs) = (c[0], c[1], c[2]);
        for (int r = 0; r < tokens.Rows; r++)
        {
            var origin = new TopKRowOrigin(path, tokens.Offset, group, r);
            var input = tokens.IntsOf(r, origin.Where);
            var positionIds = ids.ListsOf(r);
            var positionLogProbs = logprobs.ListsOf(r);
            if (positionIds.Count != input.Length || positionLogProbs.Count != input.Length)
                throw ids.Corrupt(
                    $"{origin.Where}: {input.Length} input ids but {positionIds.Count} id lists and " +
                    $"{positionLogProbs.Count} log-probability lists");
            var rowIds = new int[input.Length][];
            var rowLogProbs = new float[input.Length][];
            for (int t = 0; t < input.Length; t++)
            {
                string where = $"{origin.Where}, position {t}";
                rowIds[t] = ids.Ints(positionIds[t], where);
                rowLogProbs[t] = logprobs.Floats(positionLogProbs[t]);
                if (rowIds[t].Length != rowLogProbs[t].Length)
                    throw logprobs.Corrupt($"{where}: {rowIds[t].Length} ids but {rowLogProbs[t].Length} log-probabilities");
            }
            yield return new TopKRow(input, rowIds, rowLogProbs) { Origin = origin };
        }
    }

    private static IEnumerable<TopKRow> StackedRows(NestedColumn[] c, string path, int group)
    {
        var (tokens, targets) = (c[0], c[1]);
        for (int r = 0; r < tokens.Rows; r++)
        {
            var origin = new TopKRowOrigin(path, tokens.Offset, group, r);
            var input = tokens.IntsOf(r, origin.Where);
            var positions = targets.ListsOf(r);
            if (positions.Count != input.Length)
                throw targets.Corrupt($"{origin.Where}: {input.Length} input ids but {positions.Count} targets");
            var rowIds = new int[input.Length][];
            var rowLogProbs = new float[input.Length][];
            for (int t = 0; t < input.Length; t++)
            {
                string where = $"{origin.Where}, position {t}";
                var pair = targets.ListsOf(positions[t]);
                if (pair.Count != 2) throw targets.Corrupt($"{where}: a target is [2, k], this one has {pair.Count} rows");
                rowIds[t] = targets.IntegralFloats(pair[0], where);
                rowLogProbs[t] = targets.Floats(pair[1]);
                if (rowIds[t].Length != rowLogProbs[t].Length)
                    throw targets.Corrupt($"{where}: {rowIds[t].Length} ids but {rowLogProbs[t].Length} log-probabilities");
            }
            yield return new TopKRow(input, rowIds, rowLogProbs) { Origin = origin };
        }
    }
}
