using System.Buffers.Binary;
using LogitStore.Format;
using Parquet;
using Parquet.Schema;

namespace LogitStore.Interchange;

/// <summary>
/// One top-k Parquet file opened in a <see cref="TopKParquetLayout"/>: the boundary with Parquet.Net. The footer's
/// column chunks are checked against the file's length and their page headers before anything is read, and whatever
/// Parquet.Net throws on a damaged file becomes a <see cref="StoreCorruptException"/> naming the file and the offset.
/// </summary>
internal sealed class TopKParquetFile : IAsyncDisposable
{
    /// <summary>The key-value metadata entry in which an export records the store's vocabulary size (decimal).</summary>
    public const string VocabSizeKey = "logitstore.vocab_size";

    // A Parquet file starts with the magic "PAR1" and ends with the footer's length and the magic again.
    private const int MagicBytes = 4;
    private const int TrailerBytes = 8;

    // What a row group costs in memory while its rows are built: a double value and two int levels per value.
    private const int BytesPerValueHeld = sizeof(double) + 2 * sizeof(int);

    private readonly FileStream _stream;
    private readonly ParquetReader _reader;
    private readonly TopKParquetLayout _layout;
    private readonly DataField[] _fields;
    private readonly long[][] _chunkStarts;
    private readonly long[] _rows;

    private TopKParquetFile(
        string path, FileStream stream, ParquetReader reader, TopKParquetLayout layout, DataField[] fields, long[][] chunkStarts,
        long[] rows)
    {
        Path = path;
        _stream = stream;
        _reader = reader;
        _layout = layout;
        _fields = fields;
        _chunkStarts = chunkStarts;
        _rows = rows;
        RowCount = rows.Sum();
    }

    public string Path { get; }

    public long RowCount { get; }

    public int RowGroupCount => _chunkStarts.Length;

    /// <summary>The vocabulary size an export recorded in the file, or null where the file does not say.</summary>
    public uint? RecordedVocabSize =>
        Guarded(Path, Math.Max(0, _stream.Length - TrailerBytes), "the footer's key-value metadata", () => _reader.CustomMetadata)
            .TryGetValue(VocabSizeKey, out string? text)
            ? uint.TryParse(text, out uint v) && v >= 2
                ? v
                : throw new StoreCorruptException(
                    Path, Math.Max(0, _stream.Length - TrailerBytes), $"key-value metadata {VocabSizeKey} = '{text}' is not a number >= 2")
            : null;

    /// <summary>Opens <paramref name="path"/>, finds the layout's columns and checks every chunk of them.</summary>
    public static async Task<TopKParquetFile> OpenAsync(string path, TopKParquetLayout layout, CancellationToken ct)
    {
        var stream = File.OpenRead(path);
        ParquetReader? reader = null;
        try
        {
            long footer = CheckFooter(stream, path);
            reader = await Guarded(path, footer, "the footer", () => ParquetReader.CreateAsync(stream, cancellationToken: ct));
            var parquet = reader;
            var schema = Guarded(path, footer, "the footer's schema", () => parquet.Schema); // decoded on first use
            var fields = layout.Columns.Select(c => FieldOf(schema, c.Name, c.Depth, path)).ToArray();
            var starts = new long[Guarded(path, footer, "the footer's row groups", () => parquet.RowGroupCount)][];
            var rows = new long[starts.Length];
            for (int g = 0; g < starts.Length; g++)
                (starts[g], rows[g]) = CheckRowGroup(path, stream, reader, fields, g);
            return new TopKParquetFile(path, stream, reader, layout, fields, starts, rows);
        }
        catch
        {
            if (reader is not null) await reader.DisposeAsync();
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// The footer's offset, once the file has Parquet's magic at both ends and its footer reads as a Thrift struct that
    /// ends where its length says: Parquet.Net's own Thrift decoder can loop forever on damaged footer bytes.
    /// </summary>
    private static long CheckFooter(FileStream stream, string path)
    {
        Span<byte> trailer = stackalloc byte[TrailerBytes], magic = stackalloc byte[MagicBytes];
        if (stream.Length < MagicBytes + TrailerBytes)
            throw new StoreCorruptException(path, 0, $"{stream.Length} bytes: shorter than Parquet's magic, footer length and magic");
        stream.ReadExactly(magic);
        stream.Position = stream.Length - TrailerBytes;
        stream.ReadExactly(trailer);
        if (!magic.SequenceEqual("PAR1"u8) || !trailer[MagicBytes..].SequenceEqual("PAR1"u8))
            throw new StoreCorruptException(path, 0, "not a Parquet file (no 'PAR1' magic at its start and end)");
        long length = BinaryPrimitives.ReadUInt32LittleEndian(trailer), footer = stream.Length - TrailerBytes - length;
        if (footer < MagicBytes)
            throw new StoreCorruptException(
                path, stream.Length - TrailerBytes, $"a footer of {length} bytes does not fit the {stream.Length}-byte file");
        stream.Position = footer;
        new ThriftCompactReader(stream, stream.Length - TrailerBytes, path).SkipStruct();
        stream.Position = 0;
        return footer;
    }

    /// <summary>The layout's columns of row group <paramref name="g"/>, read whole.</summary>
    public async Task<NestedColumn[]> ReadRowGroupAsync(int g, CancellationToken ct)
    {
        var columns = new NestedColumn[_fields.Length];
        for (int c = 0; c < _fields.Length; c++)
        {
            var field = _fields[c];
            var (at, column) = (_chunkStarts[g][c], $"row group {g}, column '{field.Path}'");
            var read = await Guarded(Path, at, column, async () =>
            {
                using var group = _reader.OpenRowGroupReader(g);
                return await NestedColumn.ReadAsync(group, field, ct);
            });
            columns[c] = NestedColumn.Of(read, field, _layout.Columns[c].Depth, Path, at, column);
            if (columns[c].Rows != _rows[g])
                throw new StoreCorruptException(Path, at, $"{column}: holds {columns[c].Rows} rows, its row group {_rows[g]}");
        }
        return columns;
    }

    /// <summary>The offsets of the row group's chunks, once each lies inside the file and its pages hold its values.</summary>
    private static (long[] Starts, long Rows) CheckRowGroup(
        string path, FileStream stream, ParquetReader reader, DataField[] fields, int g)
    {
        long dataEnd = stream.Length - TrailerBytes, held = 0;
        var (rows, metas) = Guarded(path, dataEnd, $"row group {g}", () =>
        {
            using var group = reader.OpenRowGroupReader(g);
            return (group.RowCount, fields.Select(f => group.GetMetadata(f)?.MetaData).ToArray());
        });
        if (rows < 0) throw new StoreCorruptException(path, dataEnd, $"row group {g}: {rows} rows");
        var starts = new long[fields.Length];
        for (int c = 0; c < fields.Length; c++)
        {
            string column = $"row group {g}, column '{fields[c].Path}'";
            var meta = metas[c] ?? throw new StoreCorruptException(path, dataEnd, $"{column}: the footer has no metadata for it");
            long start = new[] { meta.DictionaryPageOffset ?? 0, meta.DataPageOffset }.Where(o => o > 0).DefaultIfEmpty(0).Min();
            if (start < MagicBytes || meta.TotalCompressedSize < 0 || meta.TotalCompressedSize > dataEnd - start)
                throw new StoreCorruptException(
                    path, dataEnd, $"{column}: the footer places {meta.TotalCompressedSize} bytes at offset {start}, outside the " +
                    $"{stream.Length}-byte file's data");
            if (meta.NumValues < rows || meta.NumValues > Array.MaxLength)
                throw new StoreCorruptException(
                    path, start, $"{column}: {meta.NumValues} values for {rows} rows (each row holds at " +
                    $"least one, and at most {Array.MaxLength} fit a column)");
            held += meta.NumValues * BytesPerValueHeld;
            int valueBytes = Type.GetTypeCode(fields[c].ClrType) is TypeCode.Int64 or TypeCode.Double ? 8 : 4;
            ParquetPageWalk.Check(
                stream, path, column, new(start, meta.TotalCompressedSize, meta.TotalUncompressedSize, meta.NumValues, valueBytes));
            starts[c] = start;
        }
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (held > available)
            throw new StoreCorruptException(
                path, starts[0], $"row group {g} declares values that need {held} bytes in memory, more than the {available} available");
        return (starts, rows);
    }

    /// <summary>The data field under the top-level column <paramref name="name"/>, nested <paramref name="depth"/> lists deep.</summary>
    private static DataField FieldOf(ParquetSchema schema, string name, int depth, string path)
    {
        Field? field = schema.Fields.FirstOrDefault(f => f.Name == name)
            ?? throw new ArgumentException(
                $"{path}: no column '{name}' (columns: {string.Join(", ", schema.Fields.Select(f => f.Name))}); choose it by name");
        for (int d = 0; d < depth; d++)
            field = field is ListField list
                ? list.Item
                : throw new ArgumentException($"{path}: column '{name}' must be nested {depth} list(s) deep, it is {d}");
        var data = field as DataField ?? throw new ArgumentException($"{path}: column '{name}' does not hold numbers at depth {depth}");
        return Type.GetTypeCode(data.ClrType) is TypeCode.Int32 or TypeCode.Int64 or TypeCode.Single or TypeCode.Double
            ? data
            : throw new ArgumentException($"{path}: column '{name}' holds {data.ClrType.Name}, not int32, int64, float or double");
    }

    /// <summary>
    /// Runs a Parquet.Net call on this file. Anything it throws other than a cancellation is the file's fault (truncated,
    /// damaged or crafted bytes: Thrift, decompression, index and overflow errors). An OutOfMemoryException is caught too,
    /// as a last resort: the chunk and page checks bound what the file declares, but not every buffer Parquet.Net sizes.
    /// </summary>
    private static T Guarded<T>(string path, long offset, string what, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Unreadable(path, offset, what, ex);
        }
    }

    private static async Task<T> Guarded<T>(string path, long offset, string what, Func<Task<T>> read)
    {
        try
        {
            return await read();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw Unreadable(path, offset, what, ex);
        }
    }

    private static StoreCorruptException Unreadable(string path, long offset, string what, Exception ex) =>
        new(path, offset, $"{what}: not readable as Parquet ({ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")})");

    public async ValueTask DisposeAsync()
    {
        await _reader.DisposeAsync();
        await _stream.DisposeAsync();
    }
}
