using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Interchange;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;
using Parquet;
using Parquet.Serialization;

namespace LogitStore.Tests.Interchange;

/// <summary>
/// Malformed top-k Parquet input: every import of it ends in a StoreCorruptException (a damaged file or rows that break
/// the rules) or an ArgumentException (a file without the layout's columns or rows), whose message names the file, and
/// leaves nothing in the output directory.
/// </summary>
public class ParquetMalformedInputTests
{
    public sealed class FloatIdsRow
    {
        public List<int> input_ids { get; set; } = new();
        public List<List<float>> top_k_ids { get; set; } = new();
        public List<List<float>> top_k_logprobs { get; set; } = new();
    }

    public sealed class IntLogProbsRow
    {
        public List<int> input_ids { get; set; } = new();
        public List<List<int>> top_k_ids { get; set; } = new();
        public List<List<int>> top_k_logprobs { get; set; } = new();
    }

    public sealed class StringIdsRow
    {
        public List<string> input_ids { get; set; } = new();
        public List<List<int>> top_k_ids { get; set; } = new();
        public List<List<float>> top_k_logprobs { get; set; } = new();
    }

    private const uint Vocab = 1000;

    private static readonly float Half = MathF.Log(0.5f);

    private static ParquetInterchangeTests.ListsRow Row(int[] input, int[][] ids, float[][] logprobs) => new()
    {
        input_ids = [.. input], top_k_ids = [.. ids.Select(i => i.ToList())], top_k_logprobs = [.. logprobs.Select(l => l.ToList())],
    };

    /// <summary>Rows that make a valid file, then one row that breaks it (the last, so earlier rows may be stored first).</summary>
    private static Func<string, Task> Lists(ParquetInterchangeTests.ListsRow bad) => path =>
        ParquetSerializer.SerializeAsync(
            Enumerable.Range(0, 6).Select(i => Row([i, i + 1], [[i, 7], [i + 2]], [[Half, -2f], [-0.1f]])).Append(bad), path);

    private static async Task WriteValidAsync(string path, int rows = 6, uint? vocab = Vocab)
    {
        await using var writer = await TopKParquetWriter.CreateAsync(path, new TopKParquetLayout(), vocab);
        for (int r = 0; r < rows; r++)
            await writer.WriteAsync(new TopKRow([r, r + 1, 5], [[r, 7], [r + 2], [9, 3, 1]], [[Half, -2f], [-0.1f], [-1f, -2f, -3f]]));
    }

    public sealed record Case(string Name, Func<string, Task> Write, Type Expected, uint VocabSize = Vocab, string Layout = "lists")
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Case> Cases() => new()
    {
        new("id at the vocabulary size", Lists(Row([1], [[(int)Vocab]], [[Half]])), typeof(StoreCorruptException)),
        new("input id past the vocabulary", Lists(Row([5000], [[1]], [[Half]])), typeof(StoreCorruptException)),
        new("NaN log-probability", Lists(Row([1], [[2]], [[float.NaN]])), typeof(StoreCorruptException)),
        new("+inf log-probability", Lists(Row([1], [[2]], [[float.PositiveInfinity]])), typeof(StoreCorruptException)),
        new("-inf log-probability", Lists(Row([1], [[2]], [[float.NegativeInfinity]])), typeof(StoreCorruptException)),
        new("positive log-probability", Lists(Row([1], [[2]], [[0.5f]])), typeof(StoreCorruptException)),
        new("mass above 1", Lists(Row([1], [[2, 3]], [[MathF.Log(0.8f), MathF.Log(0.8f)]])), typeof(StoreCorruptException)),
        new("duplicate ids", Lists(Row([1], [[2, 2]], [[-1f, -2f]])), typeof(StoreCorruptException)),
        new("ragged ids and log-probabilities", Lists(Row([1], [[2, 3]], [[-1f]])), typeof(StoreCorruptException)),
        new("fewer id lists than input ids", Lists(Row([1, 2], [[2]], [[-1f], [-1f]])), typeof(StoreCorruptException)),
        new("empty id list", Lists(Row([1], [[]], [[]])), typeof(StoreCorruptException)),
        new("empty input ids", Lists(Row([], [], [])), typeof(StoreCorruptException)),
        new("negative id", Lists(Row([1], [[-3]], [[-1f]])), typeof(StoreCorruptException)),
        new("ids in a float column", path => ParquetSerializer.SerializeAsync(
            new[] { new FloatIdsRow { input_ids = [1], top_k_ids = [[2.5f]], top_k_logprobs = [[-1f]] } }, path),
            typeof(ArgumentException)),
        new("log-probabilities in an int column", path => ParquetSerializer.SerializeAsync(
            new[] { new IntLogProbsRow { input_ids = [1], top_k_ids = [[2]], top_k_logprobs = [[-1]] } }, path),
            typeof(ArgumentException)),
        new("input ids as strings", path => ParquetSerializer.SerializeAsync(
            new[] { new StringIdsRow { input_ids = ["a"], top_k_ids = [[2]], top_k_logprobs = [[-1f]] } }, path),
            typeof(ArgumentException)),
        new("missing column", path => ParquetSerializer.SerializeAsync(
            new[] { new ParquetInterchangeTests.StackedRow { input_ids = [1], targets = [[[2f], [-1f]]] } }, path),
            typeof(ArgumentException)),
        new("stacked layout asked of a lists file", path => WriteValidAsync(path), typeof(ArgumentException), Layout: "stacked"),
        new("zero rows", path => WriteValidAsync(path, rows: 0), typeof(ArgumentException)),
        new("zero rows, vocabulary inferred", path => WriteValidAsync(path, rows: 0, vocab: null), typeof(ArgumentException), 0),
        new("id 2^31 - 1, vocabulary inferred", Lists(Row([1], [[int.MaxValue]], [[Half]])), typeof(ArgumentException), 0),
        new("page header declaring 2^31 - 1 values", CraftedPageHeaderAsync, typeof(StoreCorruptException)),
        new("truncated to half", async path =>
        {
            await WriteValidAsync(path);
            var bytes = await File.ReadAllBytesAsync(path);
            await File.WriteAllBytesAsync(path, bytes[..(bytes.Length / 2)]);
        }, typeof(StoreCorruptException)),
        new("not Parquet", path => File.WriteAllBytesAsync(path, [.. Enumerable.Range(0, 300).Select(i => (byte)(i * 37))]),
            typeof(StoreCorruptException)),
        new("vocabulary metadata not a number", async path =>
        {
            await WriteValidAsync(path);
            var bytes = await File.ReadAllBytesAsync(path);
            int at = bytes.AsSpan().IndexOf("1000"u8);
            "x0y0"u8.CopyTo(bytes.AsSpan(at));
            await File.WriteAllBytesAsync(path, bytes);
        }, typeof(StoreCorruptException), 0),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task MalformedInput_IsRefusedNamingTheFile_AndLeavesNothing(Case c)
    {
        string root = TestData.TempDir();
        try
        {
            string input = Path.Combine(root, "bad.parquet"), store = Path.Combine(root, "store");
            await c.Write(input);
            var ex = await Record.ExceptionAsync(() => ImportAsync(input, store, c.VocabSize, c.Layout));
            Assert.NotNull(ex);
            Assert.IsType(c.Expected, ex);
            Assert.Contains(input, ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
            Assert.False(Directory.Exists(store), $"{store} was left behind");
        }
        finally { Directory.Delete(root, true); }
    }

    /// <summary>
    /// The store's directory existed (empty) before: the refused import removes its store files, not the directory.
    /// </summary>
    [Fact]
    public async Task ARowRefusedAfterBlocksWereStored_LeavesAnExistingDirectoryAsItWas()
    {
        string root = TestData.TempDir();
        try
        {
            string input = Path.Combine(root, "bad.parquet"), store = Path.Combine(root, "store");
            await Lists(Row([1], [[2]], [[float.NaN]]))(input);
            Directory.CreateDirectory(store);
            var ex = await Assert.ThrowsAsync<StoreCorruptException>(() => ImportAsync(input, store, Vocab));
            Assert.Contains("row group 0, row 6", ex.Message);
            // The writer's lock stays (spec 2.5.1: a writer never deletes it); it is not part of a store.
            Assert.Equal([Path.Combine(store, FormatConstants.WriterLockFileName)], Directory.EnumerateFileSystemEntries(store));
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task ExportThenImport_KeepsTheVocabularySize()
    {
        string root = TestData.TempDir();
        try
        {
            string input = Path.Combine(root, "in.parquet"), first = Path.Combine(root, "first");
            string exported = Path.Combine(root, "exported.parquet"), second = Path.Combine(root, "second");
            await WriteValidAsync(input, vocab: null); // ids below 10: an inferred vocabulary would be 10
            Assert.Equal(Vocab, (await ImportAsync(input, first, Vocab)).VocabSize);
            using (var reader = StoreReader.Open(first))
                await ParquetExport.WriteAsync(reader, exported, new TopKParquetLayout());
            Assert.Equal(Vocab, (await ImportAsync(exported, second, vocab: 0)).VocabSize);
        }
        finally { Directory.Delete(root, true); }
    }

    /// <summary>
    /// A valid file with bytes flipped or cut at many offsets imports or is refused with our exceptions naming the file,
    /// never another exception, and a refusal leaves no store.
    /// </summary>
    [Fact]
    public async Task FlippedOrTruncatedBytes_ImportOrAreRefusedNamingTheFile()
    {
        string root = TestData.TempDir();
        try
        {
            string valid = Path.Combine(root, "valid.parquet"), input = Path.Combine(root, "damaged.parquet");
            await WriteValidAsync(valid, rows: 20);
            var bytes = await File.ReadAllBytesAsync(valid);
            var damaged = new List<byte[]>();
            for (int at = 0; at < bytes.Length; at += Math.Max(1, bytes.Length / 120))
                foreach (byte mask in new byte[] { 0xFF, 0x01, 0x80 })
                {
                    var flipped = (byte[])bytes.Clone();
                    flipped[at] ^= mask;
                    damaged.Add(flipped);
                }
            for (int length = 0; length < bytes.Length; length += Math.Max(1, bytes.Length / 40)) damaged.Add(bytes[..length]);
            int refused = 0;
            var wrong = new List<string>();
            for (int i = 0; i < damaged.Count; i++)
            {
                await File.WriteAllBytesAsync(input, damaged[i]);
                string store = Path.Combine(root, $"store{i}");
                // A hang is a failure too: the case is named rather than the run stalling.
                var ex = await Record.ExceptionAsync(
                    () => ImportAsync(input, store, i % 2 == 0 ? Vocab : 0).WaitAsync(TimeSpan.FromSeconds(30)));
                if (ex is TimeoutException)
                {
                    await File.WriteAllBytesAsync(Path.Combine(Path.GetTempPath(), $"parquet-hang-{i}.parquet"), damaged[i]);
                    Assert.Fail($"case {i}: the import did not finish in 30 s");
                }
                if (ex is null)
                {
                    Directory.Delete(store, true);
                    continue;
                }
                refused++;
                if (ex is not (StoreCorruptException or ArgumentException) || !ex.Message.Contains(input))
                    wrong.Add($"case {i}: {ex.GetType().Name}: {ex.Message.ReplaceLineEndings(" ")}");
                if (Directory.Exists(store)) wrong.Add($"case {i}: {store} was left behind");
            }
            Assert.True(wrong.Count == 0, string.Join("\n", wrong.Distinct()));
            Assert.True(refused > damaged.Count / 4, $"only {refused} of {damaged.Count} damaged files were refused");
        }
        finally { Directory.Delete(root, true); }
    }

    private static async Task<Manifest> ImportAsync(string input, string store, uint vocab, string layout = "lists")
    {
        var options = new ParquetImportOptions
        {
            Files = [input], VocabSize = vocab, Layout = new TopKParquetLayout { Shape = TopKParquetLayout.ParseShape(layout) },
        };
        return await ParquetImport.RunAsync(
            store, options, new ProcessingOptions { Method = TruncationMethod.Full },
            new CodecOptions { Values = ValueCodecSpec.F32, SequencesPerBlock = 1 }, workers: 1);
    }

    /// <summary>
    /// A valid file whose last column chunk's first data page header declares 2^31 − 1 values: the header's num_values varint
    /// is rewritten in place. Only the footer follows that chunk, and a reader finds the footer from the file's end.
    /// </summary>
    private static async Task CraftedPageHeaderAsync(string path)
    {
        await WriteValidAsync(path);
        long start;
        await using (var reader = await ParquetReader.CreateAsync(path))
        {
            using var group = reader.OpenRowGroupReader(reader.RowGroupCount - 1);
            var last = reader.Schema.GetDataFields()[^1];
            start = group.GetMetadata(last)!.MetaData!.DataPageOffset;
        }
        var bytes = (await File.ReadAllBytesAsync(path)).ToList();
        int at = (int)start;
        while ((bytes[at] & 0x0F) != 12) // the page header's i32 fields, up to its data_page_header struct
        {
            at++;
            while ((bytes[at] & 0x80) != 0) at++;
            at++;
        }
        at += 2; // the struct's field header; num_values is its first field
        int length = 1;
        while ((bytes[at + length - 1] & 0x80) != 0) length++;
        bytes.RemoveRange(at, length);
        bytes.InsertRange(at, [0xFE, 0xFF, 0xFF, 0xFF, 0x0F]); // zigzag(2^31 − 1) as a varint
        await File.WriteAllBytesAsync(path, [.. bytes]);
    }
}
