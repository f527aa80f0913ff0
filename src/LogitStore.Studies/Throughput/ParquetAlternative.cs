using LogitStore.Reading;
using Parquet;
using Parquet.Schema;

namespace LogitStore.Studies.Throughput;

/// <summary>
/// The store's data as Parquet, the layout other distillation toolkits keep top-k teacher outputs in: one row per
/// position with the input token, the kept ids and their probabilities as lists (at most K each, rank order), zstd
/// pages, row groups of whole sequences, about <see cref="PositionsPerRowGroup"/> positions each. <see cref="Reader"/> reads it
/// back into the batch loader's dense layout (tokens [N], ids and probabilities [N, K], zero-padded), so its rate compares
/// with the loader's and the plain arrays'.
/// </summary>
public sealed class ParquetAlternative
{
    public const int PositionsPerRowGroup = 1 << 16;

    private static readonly DataField<int> TokenField = new("token");
    private static readonly DataField<int> IdElement = new("element");
    private static readonly DataField<float> ProbElement = new("element");
    private static readonly ParquetSchema Schema = new(TokenField, new ListField("ids", IdElement), new ListField("probs", ProbElement));

    private ParquetAlternative(string path, long positions, int k)
    {
        Path = path;
        Positions = positions;
        TopK = k;
    }

    public string Path { get; }
    public long Positions { get; }
    public int TopK { get; }

    /// <summary>
    /// Writes every position of <paramref name="store"/> to <paramref name="path"/>. Parquet lists here hold at least
    /// one element, so a position that kept no entry (all its mass in the residual) is written as id 0 with probability 0,
    /// which the dense layout reads back as the same zero padding.
    /// </summary>
    public static async Task<ParquetAlternative> WriteAsync(StoreReader store, string path, int k, CancellationToken ct = default)
    {
        var tokens = new List<int>(PositionsPerRowGroup);
        var ids = new List<int>(PositionsPerRowGroup * k);
        var probs = new List<float>(PositionsPerRowGroup * k);
        var repetition = new List<int>(PositionsPerRowGroup * k);
        long positions = 0;
        await using (var file = File.Create(path))
        await using (var writer = await ParquetWriter.CreateAsync(
            Schema, file, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd }, cancellationToken: ct))
        {
            foreach (var block in store.ScanBlocks())
                for (int s = 0; s < block.SequenceCount; s++)
                {
                    positions += Append(block, s, k, tokens, ids, probs, repetition);
                    if (tokens.Count >= PositionsPerRowGroup) await FlushAsync(writer, tokens, ids, probs, repetition, ct);
                }
            if (tokens.Count > 0) await FlushAsync(writer, tokens, ids, probs, repetition, ct);
        }
        return new ParquetAlternative(path, positions, k);
    }

    private static int Append(
        DecodedBlock block, int sequence, int k, List<int> tokens, List<int> ids, List<float> probs, List<int> repetition)
    {
        var v = block.Sequence(sequence);
        for (int t = 0; t < v.Length; t++)
        {
            tokens.Add(v.Tokens[t]);
            var kept = v.IdsAt(t);
            var p = v.ProbsAt(t);
            int n = Math.Min(k, kept.Length);
            if (n == 0) { ids.Add(0); probs.Add(0); repetition.Add(0); }
            for (int j = 0; j < n; j++)
            {
                ids.Add(kept[j]);
                probs.Add(p[j]);
                repetition.Add(j == 0 ? 0 : 1);
            }
        }
        return v.Length;
    }

    private static async Task FlushAsync(
        ParquetWriter writer, List<int> tokens, List<int> ids, List<float> probs, List<int> repetition, CancellationToken ct)
    {
        using var group = writer.CreateRowGroup();
        var repetitionLevels = repetition.ToArray();
        var definitionLevels = new int[repetitionLevels.Length];
        Array.Fill(definitionLevels, IdElement.MaxDefinitionLevel); // every list present, every element defined
        await group.WriteAsync(TokenField, new ReadOnlyMemory<int>(tokens.ToArray()), null, null, ct);
        await group.WriteAllPartsAsync(IdElement, new ReadOnlyMemory<int>(ids.ToArray()), definitionLevels, repetitionLevels, ct);
        await group.WriteAllPartsAsync(ProbElement, new ReadOnlyMemory<float>(probs.ToArray()), definitionLevels, repetitionLevels, ct);
        group.CompleteValidate();
        tokens.Clear(); ids.Clear(); probs.Clear(); repetition.Clear();
    }

    /// <summary>Reusable buffers for reading one row group at a time.</summary>
    public sealed class Reader : IAsyncDisposable
    {
        private readonly FileStream _file;
        private readonly ParquetReader _parquet;
        private int[] _ids = [], _repetition = [], _definition = [];
        private float[] _probs = [];

        private Reader(FileStream file, ParquetReader parquet)
        {
            _file = file;
            _parquet = parquet;
        }

        public int RowGroupCount => _parquet.RowGroupCount;

        /// <summary>The most rows any row group holds: the size of a destination that takes any group.</summary>
        public int MaxRowsPerGroup { get; private init; }

        public static async Task<Reader> OpenAsync(string path, CancellationToken ct = default)
        {
            var file = File.OpenRead(path);
            var parquet = await ParquetReader.CreateAsync(file, cancellationToken: ct);
            long most = 0;
            for (int g = 0; g < parquet.RowGroupCount; g++)
                using (var rg = parquet.OpenRowGroupReader(g)) most = Math.Max(most, rg.RowCount);
            return new Reader(file, parquet) { MaxRowsPerGroup = checked((int)most) };
        }

        /// <summary>
        /// Row group <paramref name="group"/> into the dense layout at position <paramref name="at"/> of the destination
        /// spans (tokens [N], ids/probs [N, K]); returns the positions it held.
        /// </summary>
        public async Task<int> ReadGroupAsync(
            int group, int[] tokens, int[] ids, float[] probs, int at, int k, CancellationToken ct = default)
        {
            using var rg = _parquet.OpenRowGroupReader(group);
            int rows = checked((int)rg.RowCount);
            int values = checked((int)rg.GetMetadata(IdElement)!.MetaData!.NumValues);
            if (_ids.Length < values)
            {
                _ids = new int[values]; _probs = new float[values];
                _repetition = new int[values]; _definition = new int[values];
            }
            await rg.ReadAsync<int>(TokenField, tokens.AsMemory(at, rows), null, ct);
            // Both list columns share one shape (written with the same levels): the ids' levels place the probabilities too.
            await rg.ReadRawAsync<int>(
                IdElement, _ids.AsMemory(0, values), _definition.AsMemory(0, values), _repetition.AsMemory(0, values), ct);
            await rg.ReadRawAsync<float>(
                ProbElement, _probs.AsMemory(0, values), _definition.AsMemory(0, values), _repetition.AsMemory(0, values), ct);
            Array.Clear(ids, at * k, rows * k);
            Array.Clear(probs, at * k, rows * k);
            int row = at - 1, j = 0;
            for (int i = 0; i < values; i++)
            {
                if (_definition[i] != IdElement.MaxDefinitionLevel)
                    throw new InvalidDataException($"{_file.Name}: row group {group} has an empty or null list at value {i}");
                if (_repetition[i] == 0) { row++; j = 0; }
                if (j < k)
                {
                    ids[row * k + j] = _ids[i];
                    probs[row * k + j] = _probs[i];
                }
                j++;
            }
            if (row != at + rows - 1)
                throw new InvalidDataException(
                    $"{_file.Name}: row group {group} has {rows} rows but its ids column starts {row - at + 1} lists");
            return rows;
        }

        public async ValueTask DisposeAsync()
        {
            await _parquet.DisposeAsync();
            await _file.DisposeAsync();
        }
    }

    /// <summary>
    /// Opens the file and reads every row group once, in order, into the dense layout (one group's rows at a time):
    /// positions read. The read benchmark's whole pass, cold or hot.
    /// </summary>
    public async Task<long> ReadPassAsync(CancellationToken ct = default)
    {
        await using var reader = await Reader.OpenAsync(Path, ct);
        var tokens = new int[reader.MaxRowsPerGroup];
        var ids = new int[reader.MaxRowsPerGroup * TopK];
        var probs = new float[reader.MaxRowsPerGroup * TopK];
        long done = 0;
        for (int group = 0; group < reader.RowGroupCount; group++)
            done += await reader.ReadGroupAsync(group, tokens, ids, probs, 0, TopK, ct);
        return done;
    }
}
