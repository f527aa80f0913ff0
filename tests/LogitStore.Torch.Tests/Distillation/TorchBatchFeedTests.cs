using System.Runtime.InteropServices;
using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;
using LogitStore.Tests;
using LogitStore.Torch.Distillation;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

public class TorchBatchFeedTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();

    public TorchBatchFeedTests() =>
        SyntheticPack.RunAsync(_dir, new SyntheticSource(24 * 64, 3000, 64, 7, 32), new ProcessingOptions { TopK = 10 },
            new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 4 },
            overwrite: true).GetAwaiter().GetResult();

    public void Dispose() => Directory.Delete(_dir, true);

    private static unsafe IntPtr AddressOf(Span<byte> column) => (IntPtr)System.Runtime.CompilerServices.Unsafe.AsPointer(
        ref MemoryMarshal.GetReference(column));

    [Fact]
    public void OnTheCpu_TheTrainerReadsTheMemoryTheDecoderWrote_AndTheValuesAreTheLoaders()
    {
        using var store = StoreReader.Open(_dir);
        var options = new BatchLoaderOptions { BatchSize = 3, SequenceLength = 32, Width = 8, Workers = 2, RingSize = 3 };
        using var plain = new BatchLoader(store, options);
        using var feed = new TorchBatchFeed(store, options, CPU);
        for (int step = 0; step < 2 * plain.StepsPerEpoch; step++)
        {
            var expected = plain.Next();
            using (var batch = feed.Next())
            {
                // No copy after decoding: every tensor the trainer gets is the ring slot's own memory.
                var columns = new (Tensor Tensor, BatchColumn Column)[]
                {
                    (batch.Tokens, BatchColumn.Tokens), (batch.Targets.Ids, BatchColumn.Ids),
                    (batch.Targets.KeptCounts, BatchColumn.KeptCounts), (batch.Targets.Probs, BatchColumn.Probs),
                    (batch.Targets.Residual, BatchColumn.Residual),
                };
                foreach (var (t, c) in columns)
                    Assert.Equal(AddressOf(batch.Source.Memory.Column(c)), TensorBatchMemory.DataAddress(t));
                Assert.Equal(ScalarType.Int64, batch.Tokens.dtype);
                Assert.Equal(ScalarType.Int64, batch.Targets.Ids.dtype);
                Assert.Equal(new long[] { 3, 32, 8 }, batch.Targets.Probs.shape);
                Assert.Equal(expected.Step, batch.Step);
                Assert.Equal(expected.Tokens.ToArray().Select(x => (long)x), batch.Tokens.data<long>().ToArray());
                Assert.Equal(expected.Ids.ToArray().Select(x => (long)x), batch.Targets.Ids.data<long>().ToArray());
                Assert.Equal(expected.KeptCounts.ToArray().Select(x => (long)x), batch.Targets.KeptCounts.data<long>().ToArray());
                Assert.Equal(expected.Probs.ToArray(), batch.Targets.Probs.data<float>().ToArray());
                Assert.Equal(expected.Residual.ToArray(), batch.Targets.Residual.data<float>().ToArray());
            }
            plain.Release(expected);
        }
    }

    [Fact]
    public void Layouts_CostTheBytesTheySay()
    {
        var layout = new BatchLayout(2, 16, 50, BatchIndexType.Int64);
        Assert.Equal(8 + 50 * 8 + 8 + 50 * 4 + 4, layout.BytesPerPosition());
        Assert.Equal(4 + 50 * 4 + 4 + 50 * 4 + 4, (layout with { IndexType = BatchIndexType.Int32 }).BytesPerPosition());
        // mvq:4 codes instead of 50 probabilities; 8 of the 32 positions escaped (an 8-byte index and 50 q8 codes each).
        var codes = layout with { MvqCodebooks = 4 };
        Assert.Equal(8 + 50 * 8 + 8 + 4 + 4 + 8 * (8 + 50) / 32.0, codes.BytesPerPosition(escapes: 8));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(8)]
    [InlineData(16)]
    [InlineData(32)]
    public void MvqDecodedOnTheDevice_EqualsTheHostDecoder_EscapesIncluded(int m)
    {
        const int d = 15, k = d + 1, positions = 400;
        var rng = new Random(m);
        var centroids = new float[m * MvqCodebooks.Centroids * d];
        for (int c = 0; c < m; c++)
            for (int i = 0; i < MvqCodebooks.Centroids; i++)
                for (int j = 0; j < d; j++)
                    centroids[(c * MvqCodebooks.Centroids + i) * d + j] =
                        c == 0 ? -(j + 1) * (0.2f + 0.6f * (float)rng.NextDouble()) : 0.3f * (float)(rng.NextDouble() - 0.5);
        var books = new MvqCodebooks(m, d, centroids);
        var codec = new MvqValueCodec(books);
        // Positions decoded from random codes (the encoder finds codes for them) and random ones (most escape); 0 and 1 entries too.
        var counts = new int[positions];
        var probs = new List<float>();
        var decoded = new float[k + 16];
        var someCodes = new byte[m];
        for (int i = 0; i < positions; i++)
        {
            int n = counts[i] = i % 7 == 0 ? i % 2 : rng.Next(2, k + 1);
            if (n < 2) { if (n == 1) probs.Add(1f); continue; }
            if (i % 3 != 0)
            {
                rng.NextBytes(someCodes);
                books.DecodePosition(someCodes, n, decoded);
                probs.AddRange(decoded.Take(n));
            }
            else
            {
                var p = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).OrderDescending().ToArray();
                probs.AddRange(p.Select(x => x / p.Sum()));
            }
        }
        var column = new byte[codec.MaxEncodedLength(probs.Count)];
        int length = codec.Encode(probs.ToArray(), counts, column);
        var where = new ColumnLocation("test", 0, ColumnKind.Values);
        var host = new float[probs.Count];
        codec.Decode(column.AsSpan(0, length), counts, host, where);

        var codes = new byte[positions * m];
        var escaped = new byte[positions];
        var escapeCodes = new byte[probs.Count];
        codec.ReadCodes(column.AsSpan(0, length), counts, codes, escaped, escapeCodes, where);
        var escapeRows = Enumerable.Range(0, positions).Where(i => escaped[i] != 0).ToArray();
        Assert.InRange(escapeRows.Length, 3, positions / 2);
        var entryStart = new int[positions + 1];
        for (int i = 0; i < positions; i++) entryStart[i + 1] = entryStart[i] + counts[i];
        var escapeMatrix = new byte[escapeRows.Length * k];
        for (int r = 0; r < escapeRows.Length; r++)
            escapeCodes.AsSpan(entryStart[escapeRows[r]], counts[escapeRows[r]]).CopyTo(escapeMatrix.AsSpan(r * k));

        using var decoder = new MvqDeviceDecoder(books, CPU);
        using var device = decoder.Decode(
            tensor(codes, [1, positions, m]), tensor(counts.Select(x => (long)x).ToArray(), [1, positions]),
            tensor(escapeRows.Select(x => (long)x).ToArray()), tensor(escapeMatrix, [escapeRows.Length, k]), k);
        var dense = device.data<float>().ToArray();
        for (int i = 0; i < positions; i++)
            for (int j = 0; j < k; j++)
            {
                float expected = j < counts[i] ? host[entryStart[i] + j] : 0f;
                Assert.True(Math.Abs(expected - dense[i * k + j]) <= 1e-6f,
                    $"position {i} ({counts[i]} entries, escaped {escaped[i]}) entry {j}: host {expected}, device {dense[i * k + j]}");
            }
    }

    [Fact]
    public async Task MvqCodesThroughTheFeed_GiveTheLoadersProbabilities_InFewerBytes()
    {
        string dir = TestData.TempDir();
        await SyntheticPack.RunAsync(dir, new SyntheticSource(24 * 64, 3000, 64, 9, 32), new ProcessingOptions { TopK = 10 },
            new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Mvq(4), SequencesPerBlock = 4 },
            overwrite: true);
        using (var store = StoreReader.Open(dir))
        {
            var options = new BatchLoaderOptions { BatchSize = 3, SequenceLength = 32, Width = 10, Workers = 2, RingSize = 3 };
            using var probabilities = new TorchBatchFeed(store, options, CPU);
            using var codes = new TorchBatchFeed(store, options with { Values = BlockValues.MvqCodes }, CPU);
            Assert.Equal(4, codes.Layout.MvqCodebooks);
            int escapes = 0;
            for (int step = 0; step < probabilities.StepsPerEpoch; step++)
            {
                using var a = probabilities.Next();
                using var b = codes.Next();
                escapes += b.Source.EscapeCount;
                Assert.Equal(a.Targets.Ids.data<long>().ToArray(), b.Targets.Ids.data<long>().ToArray());
                Assert.Equal(a.Targets.KeptCounts.data<long>().ToArray(), b.Targets.KeptCounts.data<long>().ToArray());
                var pa = a.Targets.Probs.data<float>().ToArray();
                var pb = b.Targets.Probs.data<float>().ToArray();
                Assert.Equal(pa.Length, pb.Length);
                for (int i = 0; i < pa.Length; i++)
                    Assert.True(Math.Abs(pa[i] - pb[i]) <= 1e-6f, $"step {step} entry {i}: {pa[i]} vs {pb[i]}");
            }
            Assert.True(codes.BytesPerPosition < probabilities.BytesPerPosition,
                $"codes move {codes.BytesPerPosition:F1} B/position, probabilities {probabilities.BytesPerPosition:F1} " +
                $"({escapes} escapes)");
            Assert.Throws<ArgumentException>(
                () => new TorchBatchFeed(store, options with { Values = BlockValues.MvqCodes, Width = 5 }, CPU));
        }
        Directory.Delete(dir, true);
    }
}
