using System.Globalization;
using Parquet;
using Parquet.Schema;

namespace LogitStore.Interchange;

/// <summary>
/// Writes top-k rows as Parquet in a <see cref="TopKParquetLayout"/>: int32 ids, float log-probabilities, zstd pages, row
/// groups of whole rows of about <see cref="PositionsPerRowGroup"/> positions.
/// </summary>
public sealed class TopKParquetWriter : IAsyncDisposable
{
    public const int PositionsPerRowGroup = 1 << 16;

    private readonly TopKParquetLayout _layout;
    private readonly FileStream _file;
    private readonly ParquetWriter _writer;
    private readonly DataField[] _fields;
    private readonly List<TopKRow> _rows = new();
    private int _positions;

    private TopKParquetWriter(TopKParquetLayout layout, FileStream file, ParquetWriter writer, DataField[] fields)
    {
        _layout = layout;
        _file = file;
        _writer = writer;
        _fields = fields;
    }

    /// <summary>Creates the file; a <paramref name="vocabSize"/> is recorded under <see cref="TopKParquetFile.VocabSizeKey"/>.</summary>
    public static async Task<TopKParquetWriter> CreateAsync(
        string path, TopKParquetLayout layout, uint? vocabSize = null, CancellationToken ct = default)
    {
        var inputIds = new DataField<int>("element");
        DataField[] fields;
        ParquetSchema schema;
        if (layout.Shape == TopKParquetShape.Lists)
        {
            var ids = new DataField<int>("element");
            var logprobs = new DataField<float>("element");
            schema = new ParquetSchema(
                new ListField(layout.InputIds, inputIds),
                new ListField(layout.Ids, new ListField("element", ids)),
                new ListField(layout.LogProbs, new ListField("element", logprobs)));
            fields = [inputIds, ids, logprobs];
        }
        else
        {
            var targets = new DataField<float>("element");
            schema = new ParquetSchema(
                new ListField(layout.InputIds, inputIds),
                new ListField(layout.Targets, new ListField("element", new ListField("element", targets))));
            fields = [inputIds, targets];
        }
        var file = File.Create(path);
        try
        {
            var writer = await ParquetWriter.CreateAsync(
                schema, file, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd }, cancellationToken: ct);
            if (vocabSize is { } v)
                writer.CustomMetadata = new Dictionary<string, string>
                {
                    [TopKParquetFile.VocabSizeKey] = v.ToString(CultureInfo.InvariantCulture),
                };
            return new TopKParquetWriter(layout, file, writer, fields);
        }
        catch
        {
            await file.DisposeAsync();
            throw;
        }
    }

    public async Task WriteAsync(TopKRow row, CancellationToken ct = default)
    {
        for (int t = 0; t < row.InputIds.Length; t++)
            if (row.Ids[t].Length == 0)
                throw new ArgumentException("a position with no kept entry has no place in a top-k Parquet layout (lists need an element)");
        _rows.Add(row);
        _positions += row.InputIds.Length;
        if (_positions >= PositionsPerRowGroup) await FlushAsync(ct);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_rows.Count == 0) return;
        using var group = _writer.CreateRowGroup();
        var tokens = new Levels<int>();
        foreach (var row in _rows)
            for (int t = 0; t < row.InputIds.Length; t++) tokens.Add(row.InputIds[t], t == 0 ? 0 : 1);
        await tokens.WriteAsync(group, _fields[0], ct);
        if (_layout.Shape == TopKParquetShape.Lists)
        {
            var ids = new Levels<int>();
            var logprobs = new Levels<float>();
            foreach (var row in _rows)
                for (int t = 0; t < row.InputIds.Length; t++)
                    for (int j = 0; j < row.Ids[t].Length; j++)
                    {
                        int level = j > 0 ? 2 : t > 0 ? 1 : 0;
                        ids.Add(row.Ids[t][j], level);
                        logprobs.Add(row.LogProbs[t][j], level);
                    }
            await ids.WriteAsync(group, _fields[1], ct);
            await logprobs.WriteAsync(group, _fields[2], ct);
        }
        else
        {
            var targets = new Levels<float>();
            foreach (var row in _rows)
                for (int t = 0; t < row.InputIds.Length; t++)
                {
                    for (int j = 0; j < row.Ids[t].Length; j++) targets.Add(row.Ids[t][j], j > 0 ? 3 : t > 0 ? 1 : 0);
                    for (int j = 0; j < row.LogProbs[t].Length; j++) targets.Add(row.LogProbs[t][j], j > 0 ? 3 : 2);
                }
            await targets.WriteAsync(group, _fields[1], ct);
        }
        group.CompleteValidate();
        _rows.Clear();
        _positions = 0;
    }

    public async ValueTask DisposeAsync()
    {
        try { await FlushAsync(CancellationToken.None); }
        finally
        {
            await _writer.DisposeAsync();
            await _file.DisposeAsync();
        }
    }

    /// <summary>A nested column's values with their repetition levels; every value is defined.</summary>
    private sealed class Levels<T> where T : struct
    {
        private readonly List<T> _values = new();
        private readonly List<int> _repetition = new();

        public void Add(T value, int repetition)
        {
            _values.Add(value);
            _repetition.Add(repetition);
        }

        public async Task WriteAsync(ParquetRowGroupWriter group, DataField field, CancellationToken ct)
        {
            var definition = new int[_values.Count];
            Array.Fill(definition, field.MaxDefinitionLevel);
            await group.WriteAllPartsAsync(field, new ReadOnlyMemory<T>(_values.ToArray()), definition, _repetition.ToArray(), ct);
        }
    }
}
