using System.Text.Json.Nodes;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Interchange;

/// <summary>What an import of top-k Parquet files records about its teacher and tokenizer (the files do not say).</summary>
public sealed record ParquetImportOptions
{
    public required IReadOnlyList<string> Files { get; init; }
    public TopKParquetLayout Layout { get; init; } = new();

    /// <summary>
    /// V; 0: the vocabulary size the files record (<see cref="TopKParquetFile.VocabSizeKey"/>, written by an export), else one
    /// more than the largest id in the files (read once more to find it).
    /// </summary>
    public uint VocabSize { get; init; }

    /// <summary>
    /// The largest vocabulary an import infers from the ids: beyond it a stray id is likelier than a vocabulary, and a store's
    /// id codecs size tables by V. A larger one is imported when stated.
    /// </summary>
    public const uint MaxInferredVocabSize = 1 << 24;

    public string TeacherId { get; init; } = "imported";
    public string TokenizerName { get; init; } = "external";
    public string TokenizerVocabHash { get; init; } = "";
}

/// <summary>
/// Top-k Parquet files (<c>logitstore import --parquet</c>) as a pack source: each row a sequence, its per-position log-
/// probabilities processed as a stream's top-k records are (stream-protocol.md 3). A resume reads the files again and
/// skips the sequences the store holds.
/// </summary>
public sealed class ParquetPackSource : IPackSource
{
    public const string Kind = "parquet";

    private readonly ParquetImportOptions _o;

    private ParquetPackSource(ParquetImportOptions o) => _o = o;

    /// <summary>
    /// Checks that the files exist, have the layout's columns, hold rows and have footers that agree with their bytes, and
    /// without a vocabulary size finds it; nothing is written.
    /// </summary>
    public static async Task<ParquetPackSource> OpenAsync(ParquetImportOptions o, CancellationToken ct = default)
    {
        if (o.Files.Count == 0) throw new ArgumentException("import needs at least one Parquet file");
        foreach (var f in o.Files)
            if (!File.Exists(f)) throw new FileNotFoundException($"{f}: no such Parquet file");
        long rows = 0;
        var recorded = new List<(string File, uint VocabSize)>();
        foreach (var f in o.Files)
        {
            await using var file = await TopKParquetFile.OpenAsync(f, o.Layout, ct);
            rows += file.RowCount;
            if (file.RecordedVocabSize is { } v) recorded.Add((f, v));
        }
        if (rows == 0)
            throw new ArgumentException($"{string.Join(", ", o.Files)}: no rows; an import needs at least one sequence");
        if (o.VocabSize == 0 && recorded.Count > 0)
        {
            if (recorded.DistinctBy(r => r.VocabSize).Count() > 1)
                throw new ArgumentException(
                    "the files record different vocabulary sizes " +
                    $"({string.Join(", ", recorded.Select(r => $"{r.File}: {r.VocabSize}"))}); state the vocabulary size");
            o = o with { VocabSize = recorded[0].VocabSize };
        }
        if (o.VocabSize == 0) o = o with { VocabSize = await InferVocabSizeAsync(o, ct) };
        return new ParquetPackSource(o with { Files = [.. o.Files.Select(Path.GetFullPath)] });
    }

    /// <summary>
    /// One more than the largest id in the files (at least 2), up to <see cref="ParquetImportOptions.MaxInferredVocabSize"/>.
    /// </summary>
    private static async Task<uint> InferVocabSizeAsync(ParquetImportOptions o, CancellationToken ct)
    {
        int most = -1;
        TopKRowOrigin? where = null;
        await foreach (var row in TopKParquetReader.ReadAsync(o.Files, o.Layout, ct))
        {
            int rowMost = Math.Max(row.InputIds.Max(), row.Ids.Max(ids => ids.Max()));
            if (rowMost > most) (most, where) = (rowMost, row.Origin);
        }
        long size = Math.Max(2L, most + 1L);
        if (size > ParquetImportOptions.MaxInferredVocabSize)
            throw new ArgumentException(
                $"{where!.File}: {where.Where} holds id {most}, which would make the vocabulary {size} ids, more than the " +
                $"{ParquetImportOptions.MaxInferredVocabSize} an import infers; state the vocabulary size");
        return (uint)size;
    }

    /// <summary>Lets <c>pack --resume</c> finish an import.</summary>
    public static void Register() => PackSources.Register(Kind, (m, _, _) => Task.FromResult<IPackSource>(Resume(m)));

    private static ParquetPackSource Resume(Manifest m) => new(new ParquetImportOptions
    {
        Files = [.. (m.Source["files"]?.AsArray() ?? throw new ArgumentException("the store's source lists no files"))
            .Select(f => (string?)f ?? throw new ArgumentException("the store's source.files holds a non-string"))],
        Layout = TopKParquetLayout.FromJson(m.Source),
        VocabSize = m.VocabSize,
    });

    public StoreWriterOptions Describe(ProcessingOptions processing, CodecOptions codecs)
    {
        if (processing.Temperature != 1 || processing.Method == TruncationMethod.Sampled)
            throw new ArgumentException("top-k log-probabilities are imported at temperature 1 and with a truncation method, not sampled");
        var source = new JsonObject { ["kind"] = Kind, ["files"] = new JsonArray([.. _o.Files.Select(f => (JsonNode)f)]) };
        foreach (var (name, value) in _o.Layout.ToJson()) source[name] = value?.DeepClone();
        return new StoreWriterOptions
        {
            VocabSize = _o.VocabSize,
            Tokenizer = new TokenizerInfo { Name = _o.TokenizerName, VocabHash = _o.TokenizerVocabHash },
            Teacher = new() { ["id"] = _o.TeacherId },
            Processing = processing,
            Codecs = codecs,
            Source = source,
        };
    }

    public async Task FillAsync(StoreWriter writer, ProcessingOptions processing, PackProgress? progress, CancellationToken ct)
    {
        using var processors = new ThreadLocal<TopKRowProcessor>(() => new TopKRowProcessor(_o.VocabSize, processing));
        progress?.Start(writer, 0, (long)writer.Manifest.Totals.Positions);
        ulong skip = writer.NextSequence - writer.Manifest.FirstSequence, seen = 0;
        var batch = new List<TopKRow>(writer.SequencesPerBlock);
        await foreach (var row in TopKParquetReader.ReadAsync(_o.Files, _o.Layout, ct))
        {
            if (seen++ < skip) continue;
            batch.Add(row);
            if (batch.Count == writer.SequencesPerBlock) await SubmitAsync(writer, batch, processors, ct);
        }
        if (seen < skip)
            throw new InvalidOperationException($"the files hold {seen} rows, the store already has {skip} sequences: not its files");
        if (batch.Count > 0) await SubmitAsync(writer, batch, processors, ct);
        await writer.CompleteAsync(ct);
    }

    private static ValueTask SubmitAsync(
        StoreWriter writer, List<TopKRow> batch, ThreadLocal<TopKRowProcessor> processors, CancellationToken ct)
    {
        var rows = batch.ToArray();
        batch.Clear();
        ulong first = writer.NextSequence;
        return writer.AppendBlockAsync(
            rows.Length, () => [.. rows.Select((r, i) => processors.Value!.Process(r, first + (ulong)i))], ct);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Turns a row's top-k log-probabilities into a stored sequence, by the rules of stream-protocol.md 2.1 and 3.</summary>
internal sealed class TopKRowProcessor(uint vocabSize, ProcessingOptions processing)
{
    private readonly LogitsProcessor _processor = new(processing);
    private readonly SparseSequenceBuilder _builder = new();
    private readonly HashSet<int> _seen = new();
    private int[] _keptIds = [];
    private float[] _keptProbs = [];

    public SparseSequence Process(TopKRow row, ulong sequence)
    {
        _builder.Clear();
        if (row.InputIds.Length == 0) throw Invalid(row, sequence, "no input ids (a sequence needs a token)");
        for (int t = 0; t < row.InputIds.Length; t++)
        {
            string where = $"position {t}";
            if ((uint)row.InputIds[t] >= vocabSize)
                throw Invalid(row, sequence, $"{where}: input id {row.InputIds[t]} is not below the vocabulary size {vocabSize}");
            var ids = row.Ids[t];
            var logprobs = row.LogProbs[t];
            _seen.Clear();
            double mass = 0;
            for (int j = 0; j < ids.Length; j++)
            {
                if ((uint)ids[j] >= vocabSize)
                    throw Invalid(row, sequence, $"{where}: id {ids[j]} is not below the vocabulary size {vocabSize}");
                if (!_seen.Add(ids[j])) throw Invalid(row, sequence, $"{where}: id {ids[j]} appears twice");
                if (!float.IsFinite(logprobs[j]) || logprobs[j] > 1e-4f)
                    throw Invalid(row, sequence, $"{where}: log-probability {logprobs[j]} is not a finite value <= 0");
                mass += Math.Exp(logprobs[j]);
            }
            if (mass > 1 + ProcessingOptions.SuppliedMassTolerance)
                throw Invalid(row, sequence, $"{where}: log-probabilities give a mass of {mass:G6}, more than 1");
            int most = _processor.MaxKept(ids.Length);
            if (_keptIds.Length < most) (_keptIds, _keptProbs) = (new int[most], new float[most]);
            var (kept, residual) = _processor.Process(
                ids, logprobs, Math.Clamp(1 - mass, 0, 0.999999), _keptIds, _keptProbs, sequence * 65536 + (ulong)t);
            _builder.AddPosition(row.InputIds[t], _keptIds.AsSpan(0, kept), _keptProbs.AsSpan(0, kept), residual);
        }
        return _builder.Build();
    }

    /// <summary>A row that breaks the rules: named by its file, row group and row where it was read from one.</summary>
    private static Exception Invalid(TopKRow row, ulong sequence, string problem) => row.Origin is { } o
        ? new StoreCorruptException(o.File, o.Offset, $"{o.Where} (sequence {sequence}), {problem}")
        : new ArgumentException($"sequence {sequence}, {problem}");
}
