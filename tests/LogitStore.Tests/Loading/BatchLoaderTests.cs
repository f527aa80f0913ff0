using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Loading;

public class BatchLoaderTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();

    public BatchLoaderTests()
    {
        // 30 sequences of 64 positions in blocks of 4 (the last block short), top-p-k 0.95/12, lossless values.
        SyntheticPack.RunAsync(_dir, new SyntheticSource(30 * 64, 3000, 64, 5, 32), new ProcessingOptions { TopK = 12 },
            new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 4 },
            overwrite: true).GetAwaiter().GetResult();
    }

    public void Dispose() => Directory.Delete(_dir, true);

    private static List<(ulong Seq, int Offset)> Rows(BatchLoader loader, int steps, Action<Batch>? check = null)
    {
        var rows = new List<(ulong, int)>();
        for (int s = 0; s < steps; s++)
        {
            var b = loader.Next();
            check?.Invoke(b);
            for (int r = 0; r < b.Rows; r++) rows.Add((b.RowSequence[r], b.RowOffset[r]));
            loader.Release(b);
        }
        return rows;
    }

    [Theory]
    [InlineData(false, 12)]
    [InlineData(true, 5)]
    public void Batches_EqualTheStoredData(bool shuffle, int k)
    {
        using var store = StoreReader.Open(_dir);
        using var loader = new BatchLoader(
            store, new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = k, Shuffle = shuffle, Workers = 2, RingSize = 3 });
        Assert.Equal(30 * 4 / 3, loader.StepsPerEpoch);
        var scratch = new DecodedBlock();
        Rows(loader, (int)loader.StepsPerEpoch, b =>
        {
            for (int r = 0; r < b.Rows; r++)
            {
                var seq = store.ReadSequence(b.RowSequence[r]);
                int e = seq.KeptCounts.Take(b.RowOffset[r]).Sum();
                for (int t = 0; t < b.Length; t++)
                {
                    int at = r * b.Length + t, pos = b.RowOffset[r] + t, n = seq.KeptCounts[pos];
                    Assert.Equal(seq.Tokens[pos], b.Tokens[at]);
                    Assert.Equal(Math.Min(n, k), b.KeptCounts[at]);
                    float kept = seq.Probs.AsSpan(e, Math.Min(n, k)).ToArray().Sum();
                    for (int j = 0; j < k; j++)
                    {
                        int id = b.Ids[at * k + j];
                        float p = b.Probs[at * k + j];
                        if (j >= n) { Assert.Equal(0, id); Assert.Equal(0f, p); continue; }
                        Assert.Equal(seq.Ids[e + j], id);
                        Assert.Equal(seq.Probs[e + j] / kept, p, 1e-5f);
                    }
                    // The mass a position represents is unchanged: (1 − r')·p' = (1 − r)·p on the kept entries.
                    Assert.Equal(1 - (1 - seq.Residual[pos]) * kept, b.Residual[at], 1e-5f);
                    e += n;
                }
            }
        });
    }

    [Fact]
    public void Shuffle_IsDeterministicBySeed_CoversEveryRowOnce_AndResumesFromAStep()
    {
        using var store = StoreReader.Open(_dir);
        BatchLoader Make(ulong seed, long start = 0) =>
            new(store, new BatchLoaderOptions
            {
                BatchSize = 4, SequenceLength = 32, Width = 4, Seed = seed, StartStep = start, Workers = 3, RingSize = 2,
            });
        List<(ulong, int)> a, b, c, resumed, twoEpochs;
        using (var l = Make(7)) a = Rows(l, 15);
        using (var l = Make(7)) b = Rows(l, 15);
        using (var l = Make(8)) c = Rows(l, 15);
        using (var l = Make(7)) twoEpochs = Rows(l, 30);
        using (var l = Make(7, 10)) resumed = Rows(l, 20);
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(60, a.Distinct().Count()); // 30 sequences × 2 windows, each once per epoch
        Assert.Equal(twoEpochs.Skip(40), resumed);
        Assert.NotEqual(twoEpochs.Take(60), twoEpochs.Skip(60).Concat(twoEpochs.Skip(60)).Take(60)); // epochs reshuffle
    }

    [Fact]
    public void Batches_HoldTheRowsTheirPlanNames()
    {
        using var store = StoreReader.Open(_dir);
        using var loader = new BatchLoader(store, new BatchLoaderOptions
        {
            BatchSize = 3, SequenceLength = 16, Width = 4, Seed = 5, Rank = 1, WorldSize = 2, Workers = 2, RingSize = 2,
        });
        for (long step = 0; step < 2 * loader.StepsPerEpoch; step++)
        {
            var batch = loader.Next();
            var planned = loader.Plan.RowsOf(step);
            for (int r = 0; r < batch.Rows; r++)
            {
                Assert.Equal(store.BlockEntry(planned[r].Block).FirstSequence + (ulong)(planned[r].Row / 4), batch.RowSequence[r]);
                Assert.Equal(planned[r].Row % 4 * 16, batch.RowOffset[r]);
            }
            loader.Release(batch);
        }
    }

    [Fact]
    public void Ranks_ReadDisjointRows_AndTheSameNumberOfSteps()
    {
        using var store = StoreReader.Open(_dir);
        var seen = new List<List<(ulong, int)>>();
        long steps = -1;
        for (int rank = 0; rank < 3; rank++)
        {
            using var l = new BatchLoader(
                store, new BatchLoaderOptions { BatchSize = 2, SequenceLength = 64, Width = 3, Rank = rank, WorldSize = 3, Workers = 1 });
            if (steps >= 0) Assert.Equal(steps, l.StepsPerEpoch);
            steps = l.StepsPerEpoch;
            seen.Add(Rows(l, (int)l.StepsPerEpoch));
        }
        Assert.Empty(seen[0].Intersect(seen[1]));
        Assert.Empty(seen[1].Intersect(seen[2]));
        Assert.Empty(seen[0].Intersect(seen[2]));
    }

    [Fact]
    public void CorruptBlock_FailsItsBatch_NamingFileAndOffset_AndLaterBatchesStillCome()
    {
        string shard = Path.Combine(_dir, "shards", "shard-00000.lss");
        var bytes = File.ReadAllBytes(shard);
        bytes[200] ^= 0xFF; // inside block 0
        File.WriteAllBytes(shard, bytes);
        using var store = StoreReader.Open(_dir);
        using var loader = new BatchLoader(
            store, new BatchLoaderOptions { BatchSize = 4, SequenceLength = 64, Shuffle = false, Workers = 2 });
        var ex = Assert.Throws<StoreCorruptException>(() => loader.Next());
        Assert.EndsWith("shard-00000.lss", ex.File);
        Assert.Contains("batch 0", ex.Message);
        var next = loader.Next();
        Assert.Equal(1, next.Step);
        loader.Release(next);
    }

    [Theory]
    [InlineData(false, 12)]
    [InlineData(true, 5)]
    public void Int64Columns_InCallerMemory_HoldTheSameBatches(bool shuffle, int k)
    {
        using var store = StoreReader.Open(_dir);
        var options = new BatchLoaderOptions
        {
            BatchSize = 3, SequenceLength = 16, Width = k, Shuffle = shuffle, Workers = 2, RingSize = 3,
        };
        var made = new List<BatchMemory>();
        using var plain = new BatchLoader(store, options);
        using var wide = new BatchLoader(store, options with
        {
            IndexType = BatchIndexType.Int64,
            Memory = layout => { var m = new ArrayBatchMemory(layout); lock (made) made.Add(m); return m; },
        });
        Assert.Equal(3, made.Count);
        for (int step = 0; step < plain.StepsPerEpoch; step++)
        {
            var a = plain.Next();
            var b = wide.Next();
            Assert.Contains(b.Memory, made);
            Assert.Equal(a.RowSequence, b.RowSequence);
            Assert.Equal(a.Tokens.ToArray().Select(x => (long)x), b.Memory.Column<long>(BatchColumn.Tokens).ToArray());
            Assert.Equal(a.Ids.ToArray().Select(x => (long)x), b.Memory.Column<long>(BatchColumn.Ids).ToArray());
            Assert.Equal(a.KeptCounts.ToArray().Select(x => (long)x), b.Memory.Column<long>(BatchColumn.KeptCounts).ToArray());
            Assert.Equal(a.Probs.ToArray(), b.Probs.ToArray());
            Assert.Equal(a.Residual.ToArray(), b.Residual.ToArray());
            Assert.Throws<InvalidOperationException>(() => b.Tokens.Length);
            plain.Release(a);
            wide.Release(b);
        }
    }

    [Fact]
    public void CallerMemory_OfTheWrongSize_IsRefused()
    {
        using var store = StoreReader.Open(_dir);
        var ex = Assert.Throws<ArgumentException>(() => new BatchLoader(store, new BatchLoaderOptions
        {
            BatchSize = 3, SequenceLength = 16, Width = 4, Workers = 1, Memory = layout => new ArrayBatchMemory(layout, tokensShortBy: 4),
        }));
        Assert.Contains("Tokens column has 188 bytes, not 192", ex.Message);
    }

    [Fact]
    public void MvqCodes_FromAStoreWithoutCodebooks_AreRefused()
    {
        using var store = StoreReader.Open(_dir);
        var ex = Assert.Throws<ArgumentException>(() => new BatchLoader(store, new BatchLoaderOptions
        {
            BatchSize = 3, SequenceLength = 16, Width = 12, Workers = 1, Values = BlockValues.MvqCodes,
        }));
        Assert.Contains("one codebook set (this one has 0)", ex.Message);
    }

    // Assembling a step into caller-owned memory (what liblogitstore's loader_fill calls).

    [Fact]
    public void FillInto_EqualsTheBatchNextHandsOutForTheSameStep_AcrossEpochs()
    {
        using var store = StoreReader.Open(_dir);
        var options = new BatchLoaderOptions
        {
            BatchSize = 3, SequenceLength = 16, Width = 5, Seed = 7, Workers = 2, RingSize = 3,
        };
        using var threaded = new BatchLoader(store, options);
        using var filling = new BatchLoader(store, options with { Workers = 0 });
        var mine = new ArrayBatchMemory(filling.Layout);
        for (long step = 0; step < 2 * threaded.StepsPerEpoch + 3; step++)
        {
            var b = threaded.Next();
            Assert.Equal(0, filling.FillInto(step, mine, mine.RowSequence, mine.RowOffset));
            foreach (var c in BatchLayout.Columns) Assert.Equal(b.Memory.Column(c).ToArray(), mine.Column(c).ToArray());
            Assert.Equal(b.RowSequence, mine.RowSequence);
            Assert.Equal(b.RowOffset, mine.RowOffset);
            threaded.Release(b);
        }
    }

    [Fact]
    public void LoaderWithoutWorkers_RefusesNext_AndSmallBuffers()
    {
        using var store = StoreReader.Open(_dir);
        using var loader = new BatchLoader(
            store, new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = 5, Workers = 0 });
        Assert.Throws<InvalidOperationException>(() => loader.Next());
        var small = new ArrayBatchMemory(loader.Layout with { Rows = 2 });
        Assert.Throws<ArgumentException>(() => loader.FillInto(0, small, small.RowSequence, small.RowOffset));
        var shortRows = new ArrayBatchMemory(loader.Layout);
        Assert.Throws<ArgumentException>(
            () => loader.FillInto(0, shortRows, shortRows.RowSequence.AsSpan(0, 2), shortRows.RowOffset));
    }
}
