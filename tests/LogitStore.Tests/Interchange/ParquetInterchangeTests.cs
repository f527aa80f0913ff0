using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Interchange;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;
using Parquet.Serialization;

namespace LogitStore.Tests.Interchange;

public class ParquetInterchangeTests
{
    /// <summary>A row as the DistillKit / HF datasets layout holds it, written by Parquet.Net's own serializer.</summary>
    public sealed class ListsRow
    {
        public List<int> input_ids { get; set; } = new();
        public List<List<int>> top_k_ids { get; set; } = new();
        public List<List<float>> top_k_logprobs { get; set; } = new();
    }

    /// <summary>A row with [T, 2, k] targets: ids then log-probabilities, stacked as floats.</summary>
    public sealed class StackedRow
    {
        public List<long> input_ids { get; set; } = new();
        public List<List<List<float>>> targets { get; set; } = new();
    }

    private static List<TopKRow> RandomRows(Random rng, int vocab)
    {
        var rows = new List<TopKRow>();
        for (int s = rng.Next(1, 7); s > 0; s--)
        {
            int length = rng.Next(1, 12);
            var ids = new int[length][];
            var logprobs = new float[length][];
            for (int t = 0; t < length; t++)
            {
                int k = rng.Next(1, 9);
                ids[t] = [.. Enumerable.Range(0, vocab).OrderBy(_ => rng.Next()).Take(k)];
                var weights = Enumerable.Range(0, k).Select(_ => rng.NextDouble() + 0.01).OrderDescending().ToArray();
                double mass = rng.NextDouble() * 0.5 + 0.5, sum = weights.Sum();
                logprobs[t] = [.. weights.Select(w => (float)Math.Log(w / sum * mass))];
            }
            rows.Add(new TopKRow([.. Enumerable.Range(0, length).Select(_ => rng.Next(vocab))], ids, logprobs));
        }
        return rows;
    }

    private static async Task WriteWithSerializerAsync(string path, List<TopKRow> rows, TopKParquetShape shape)
    {
        if (shape == TopKParquetShape.Lists)
            await ParquetSerializer.SerializeAsync(rows.Select(r => new ListsRow
            {
                input_ids = [.. r.InputIds],
                top_k_ids = [.. r.Ids.Select(i => i.ToList())],
                top_k_logprobs = [.. r.LogProbs.Select(l => l.ToList())],
            }), path);
        else
            await ParquetSerializer.SerializeAsync(rows.Select(r => new StackedRow
            {
                input_ids = [.. r.InputIds.Select(t => (long)t)],
                targets =
                [
                    .. r.Ids.Select((ids, t) => new List<List<float>> { ids.Select(i => (float)i).ToList(), r.LogProbs[t].ToList() }),
                ],
            }), path);
    }

    [Property(MaxTest = 12)]
    public bool ImportThenExport_GivesBackTheFilesRows(int seed, bool stacked)
    {
        var rng = new Random(seed);
        const int vocab = 40;
        var rows = RandomRows(rng, vocab);
        var layout = new TopKParquetLayout { Shape = stacked ? TopKParquetShape.Stacked : TopKParquetShape.Lists };
        string root = TestData.TempDir();
        try
        {
            string input = Path.Combine(root, "in.parquet"), store = Path.Combine(root, "store");
            string output = Path.Combine(root, "out.parquet");
            WriteWithSerializerAsync(input, rows, layout.Shape).GetAwaiter().GetResult();
            var source = ParquetPackSource.OpenAsync(new ParquetImportOptions { Files = [input], Layout = layout })
                .GetAwaiter().GetResult();
            var manifest = Pack.RunAsync(
                store, source, new ProcessingOptions { Method = TruncationMethod.Full },
                new CodecOptions { Values = ValueCodecSpec.F32, SequencesPerBlock = 2 }, workers: 2).GetAwaiter().GetResult();
            if (manifest.VocabSize != rows.Max(r => r.Ids.SelectMany(i => i).Concat(r.InputIds).Max()) + 1) return false;
            using (var reader = StoreReader.Open(store))
                ParquetExport.WriteAsync(reader, output, layout).GetAwaiter().GetResult();
            var back = ReadAll(output, layout);
            return back.Count == rows.Count && rows.Zip(back).All(p => Same(p.First, p.Second));
        }
        finally { Directory.Delete(root, true); }
    }

    private static List<TopKRow> ReadAll(string path, TopKParquetLayout layout)
    {
        var rows = new List<TopKRow>();
        var e = TopKParquetReader.ReadAsync([path], layout).GetAsyncEnumerator();
        while (e.MoveNextAsync().AsTask().GetAwaiter().GetResult()) rows.Add(e.Current);
        return rows;
    }

    private static bool Same(TopKRow a, TopKRow b) =>
        a.InputIds.SequenceEqual(b.InputIds)
        && a.Ids.Zip(b.Ids).All(p => p.First.SequenceEqual(p.Second))
        && a.LogProbs.Zip(b.LogProbs).All(p => p.First.Zip(p.Second).All(v => Math.Abs(v.First - v.Second) < 1e-4));

    [Fact]
    public async Task AMissingColumn_IsNamedWithTheColumnsThereAre()
    {
        string root = TestData.TempDir();
        try
        {
            string input = Path.Combine(root, "in.parquet");
            await WriteWithSerializerAsync(input, RandomRows(new Random(1), 20), TopKParquetShape.Lists);
            var layout = new TopKParquetLayout { Ids = "topk_ids" };
            var ex = await Assert.ThrowsAsync<ArgumentException>(
                () => ParquetPackSource.OpenAsync(new ParquetImportOptions { Files = [input], Layout = layout }));
            Assert.Contains("no column 'topk_ids'", ex.Message);
            Assert.Contains("top_k_ids", ex.Message);
        }
        finally { Directory.Delete(root, true); }
    }
}
