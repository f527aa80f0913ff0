using System.Runtime.InteropServices;
using LogitStore.Codecs;
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
        Assert.Equal(0, feed.DeviceBytesPerPosition);
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
    public void Int64Layout_CostsTheBytesItSays()
    {
        var layout = new BatchLayout(2, 16, 50, BatchIndexType.Int64);
        Assert.Equal(8 + 50 * 8 + 8 + 50 * 4 + 4, layout.BytesPerPosition);
        Assert.Equal(4 + 50 * 4 + 4 + 50 * 4 + 4, (layout with { IndexType = BatchIndexType.Int32 }).BytesPerPosition);
    }
}
