using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

public class StoreRoundTripTests
{
    private static readonly string[] IdCodecs = ["u32", "packed", "delta", "ranked", "context"];
    private static readonly string[] ValueCodecs = ["f32", "f16", "q8", "q4", "mvq:2", "mvq:5"];

    [Property(MaxTest = 25)]
    public bool WriteThenRead_ReturnsEveryEntryWithinTheCodecBound(int seed, byte idCodec, byte valueCodec, PositiveInt spbSeed, bool zstd)
    {
        var rng = new Random(seed);
        uint vocab = (uint)rng.Next(2, 70_000);
        var ids = IdCodecSpec.Parse(IdCodecs[idCodec % IdCodecs.Length]);
        var values = ValueCodecSpec.Parse(ValueCodecs[valueCodec % ValueCodecs.Length]);
        if (ids == IdCodecSpec.Delta && values.IsMvq) values = ValueCodecSpec.Q8;   // a writer refuses delta + mvq (spec 5.9)
        var codecs = new CodecOptions
        {
            Ids = ids,
            Values = values,
            Tokens = rng.Next(2) == 0 ? IdCodecSpec.U32 : IdCodecSpec.Packed,
            SequencesPerBlock = spbSeed.Get % 5 + 1, ZstdLevel = zstd ? 3 : 0, ShardTargetBytes = 4096,
        };
        var seqs = Enumerable.Range(0, rng.Next(1, 12)).Select(_ => TestData.RandomSequence(rng, vocab, rng.Next(1, 30), 20)).ToList();
        string dir = TestData.TempDir();
        try
        {
            Write(dir, vocab, codecs, seqs);
            using var reader = StoreReader.Open(dir);
            // mvq: the bound of the codebooks the writer trained and listed; the others need no dictionary.
            var valueBound = codecs.Values.Create(
                new CodecWriterInputs { Draws = 50, Codebooks = reader.Dictionaries.AllCodebooks.SingleOrDefault() });
            if (reader.SequenceCount != (ulong)seqs.Count) return false;
            var scratch = new DecodedBlock();
            for (int i = seqs.Count - 1; i >= 0; i--) // random access, backwards
                if (!Matches(seqs[i], reader.ReadSequence((ulong)i, scratch).ToSparseSequence(), valueBound)) return false;
            return StoreVerifier.Verify(dir).Ok;
        }
        finally { Directory.Delete(dir, true); }
    }

    internal static void Write(
        string dir, uint vocab, CodecOptions codecs, IEnumerable<SparseSequence> seqs, ProcessingOptions? processing = null)
    {
        var w = StoreWriter.Create(
            dir,
            new StoreWriterOptions { VocabSize = vocab, Codecs = codecs, Processing = processing ?? new ProcessingOptions(), Workers = 2 });
        foreach (var s in seqs) w.AppendAsync(s).AsTask().GetAwaiter().GetResult();
        w.CompleteAsync().GetAwaiter().GetResult();
        w.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Same tokens, counts and id sets; probabilities within the codec's per-position KL bound.</summary>
    internal static bool Matches(SparseSequence expected, SparseSequence actual, IValueCodec codec)
    {
        if (!expected.Tokens.SequenceEqual(actual.Tokens) || !expected.KeptCounts.SequenceEqual(actual.KeptCounts)) return false;
        int e = 0;
        for (int t = 0; t < expected.Length; t++)
        {
            int n = expected.KeptCounts[t];
            var byId = new Dictionary<int, float>();
            for (int j = e; j < e + n; j++) byId[actual.Ids[j]] = actual.Probs[j];
            for (int j = e + 1; j < e + n; j++)
                if (actual.Probs[j] > actual.Probs[j - 1]) return false; // rank order (ties may come in any id order after lossy coding)
            double kl = 0;
            for (int j = e; j < e + n; j++)
            {
                if (!byId.TryGetValue(expected.Ids[j], out float p)) return false;
                if (expected.Probs[j] > 0) kl += expected.Probs[j] * Math.Log(expected.Probs[j] / p);
            }
            if (kl > codec.KlBound(n) + 1e-5) return false;
            if (Math.Abs(expected.Residual[t] - actual.Residual[t]) > 1.0 / 131070 + 1e-7) return false;
            e += n;
        }
        return true;
    }

    [Fact]
    public async Task SyntheticPack_IsDeterministic_AndPartsMergeIntoTheSameData()
    {
        string whole = TestData.TempDir(), p0 = TestData.TempDir(), p1 = TestData.TempDir(), p2 = TestData.TempDir(),
            merged = TestData.TempDir();
        var src = new SyntheticSource(40 * 64, 2000, 64, 3, 32);
        // q8 values so that parts and the whole agree bit for bit; ranked ids make each part build its own rank table.
        var codecs = new CodecOptions
        {
            Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Q8, SequencesPerBlock = 4, ShardTargetBytes = 8192,
        };
        await SyntheticPack.RunAsync(whole, src, new ProcessingOptions(), codecs, overwrite: true);
        for (int i = 0; i < 3; i++)
            await SyntheticPack.RunAsync(
                new[] { p0, p1, p2 }[i], src, new ProcessingOptions(), codecs, new PartSpec(i, 3), overwrite: true);
        Directory.Delete(merged);
        StoreMerger.Merge(merged, [p2, p0, p1]);
        using var a = StoreReader.Open(whole);
        using var b = StoreReader.Open(merged);
        Assert.Equal(40ul, a.SequenceCount);
        Assert.Equal(a.SequenceCount, b.SequenceCount);
        Assert.True(b.Manifest.IsComplete);
        Assert.Null(b.Manifest.Partition);
        for (ulong s = 0; s < a.SequenceCount; s++)
        {
            var x = a.ReadSequence(s);
            var y = b.ReadSequence(s);
            Assert.Equal(x.Tokens, y.Tokens);
            Assert.Equal(x.Ids, y.Ids);
            Assert.Equal(x.Probs, y.Probs);
        }
        Assert.True(StoreVerifier.Verify(merged).Ok);
        Assert.Equal(3, b.Manifest.Dictionaries.Count(d => d.Kind == "idrank"));
    }

    [Fact]
    public void RankPartitions_AreDisjointAndCoverEveryBlock()
    {
        string dir = TestData.TempDir();
        Write(
            dir,
            1000,
            new CodecOptions { SequencesPerBlock = 3, ShardTargetBytes = 4096 },
            Enumerable.Range(0, 31).Select(i => TestData.SyntheticSequence((ulong)i, 16)));
        using var reader = StoreReader.Open(dir);
        var seen = new List<ulong>();
        var block = new DecodedBlock();
        for (int rank = 0; rank < 4; rank++)
        {
            var blocks = reader.BlocksForRank(rank, 4);
            Assert.InRange(blocks.Count, reader.BlockCount / 4, reader.BlockCount / 4 + 1);
            foreach (int b in blocks)
            {
                reader.ReadBlock(b, block);
                for (int i = 0; i < block.SequenceCount; i++) seen.Add(block.Sequence(i).Id);
            }
        }
        Assert.Equal(Enumerable.Range(0, 31).Select(i => (ulong)i), seen.Order());
    }

    [Fact]
    public async Task ConcurrentReaders_SeeTheSameData()
    {
        string dir = TestData.TempDir();
        var seqs = Enumerable.Range(0, 24).Select(i => TestData.SyntheticSequence((ulong)i, 32)).ToList();
        Write(dir, 1000, new CodecOptions { SequencesPerBlock = 2, Values = ValueCodecSpec.F32 }, seqs);
        using var reader = StoreReader.Open(dir);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
        {
            var scratch = new DecodedBlock();
            var rng = new Random(t);
            for (int k = 0; k < 200; k++)
            {
                int i = rng.Next(seqs.Count);
                var v = reader.ReadSequence((ulong)i, scratch);
                Assert.Equal(seqs[i].Tokens, v.Tokens.ToArray());
                Assert.Equal(seqs[i].Probs, v.Probs.ToArray());
            }
        })));
    }

    [Fact]
    public async Task InvalidInput_IsRefusedBeforeAnythingIsCommitted()
    {
        string dir = TestData.TempDir();
        var w = StoreWriter.Create(dir, new StoreWriterOptions { VocabSize = 10, Codecs = new CodecOptions { SequencesPerBlock = 1 } });
        var bad = new SparseSequence([1, 2], [1, 1], [3, 99], [1f, 1f], [0f, 0f]);
        var ex = await Assert.ThrowsAnyAsync<Exception>(async () => { await w.AppendAsync(bad); await w.CompleteAsync(); });
        Assert.Contains("id 99", ex.Message);
        await w.DisposeAsync();
        var m = Manifest.Load(dir);
        Assert.False(m.IsComplete);
        Assert.Empty(m.Shards);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "shards")));
    }
}
