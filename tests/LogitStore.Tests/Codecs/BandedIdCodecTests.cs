using System.Buffers.Binary;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;
using BandFields = LogitStore.Format.DictionaryFile.IdBandFieldOffsets;

namespace LogitStore.Tests.Codecs;

public class BandedIdCodecTests
{
    private static readonly ColumnLocation Where = new("test.lss", 4096, ColumnKind.Ids);

    private static (int[] Ids, int[] Counts, int[] Tokens) Flatten(IReadOnlyList<SparseSequence> seqs) =>
        (seqs.SelectMany(s => s.Ids).ToArray(), seqs.SelectMany(s => s.KeptCounts).ToArray(), seqs.SelectMany(s => s.Tokens).ToArray());

    private static byte[] Encode(BandedIdCodec codec, int[] ids, int[] counts, int[] tokens)
    {
        var buf = new byte[codec.MaxEncodedLength(ids.Length)];
        return buf.AsSpan(0, codec.Encode(ids, counts, tokens, buf)).ToArray();
    }

    /// <summary>What a decoder must give back: each position's set bands in canonical order (spec 5.11).</summary>
    private static int[] Canonical(IdContextModel model, int[] ids, int[] counts, int[] tokens)
    {
        var expected = (int[])ids.Clone();
        var scratch = new long[Math.Max(1, counts.DefaultIfEmpty().Max())];
        int e = 0;
        for (int p = 0; p < counts.Length; p++)
        {
            BandSymbols.Canonicalise(model, model.ContextOf(tokens[p]), expected.AsSpan(e, counts[p]), scratch);
            e += counts[p];
        }
        return expected;
    }

    [Property(MaxTest = 60)]
    public bool BandedIds_DecodeToTheCanonicalOrder_KeepingEachPositionsSetAndFirstId(
        int seed, byte vocabSeed, byte keptSeed, byte setsSeed, bool randomIds)
    {
        var rng = new Random(seed);
        uint vocab = vocabSeed % 4 == 0 ? 2u : (uint)rng.Next(2, 5000);
        int maxKept = keptSeed % 3 == 0 ? 1 : 1 + keptSeed % 70;
        int setsFrom = new[] { 1, 8, 16, 32, 1024 }[setsSeed % 5];
        var training = ContextIdCodecTests.TokenDependent(new Random(seed ^ 0x5bd1), vocab, 8, 200, maxKept);
        var model = IdContextTraining.Train(training, vocab, IdCodecSpec.Banded(setsFrom));
        var data = randomIds
            ? Enumerable.Range(0, 3).Select(_ => TestData.RandomSequence(rng, vocab, rng.Next(1, 80), maxKept)).ToList()
            : ContextIdCodecTests.TokenDependent(rng, vocab, 3, rng.Next(1, 120), maxKept);
        var (ids, counts, tokens) = Flatten(data);
        var codec = new BandedIdCodec(model);
        var back = new int[ids.Length];
        codec.Decode(Encode(codec, ids, counts, tokens), counts, tokens, back, vocab, Where);
        if (!back.SequenceEqual(Canonical(model, ids, counts, tokens))) return false;
        int e = 0;
        foreach (int n in counts)
        {
            if (n > 0 && back[e] != ids[e]) return false;
            if (!back.AsSpan(e, n).ToArray().Order().SequenceEqual(ids.AsSpan(e, n).ToArray().Order())) return false;
            e += n;
        }
        return !codec.IsLossless || back.SequenceEqual(ids);
    }

    [Fact]
    public void TheWritersBands_DoubleAfterTheSecond_AndSetFromNamesTheBandAtR()
    {
        Assert.Equal([0], IdBands.Starts(1, 16));
        Assert.Equal([0, 1, 2, 4, 8, 16, 32], IdBands.Starts(50, 1024));
        Assert.Equal([0, 1, 2, 4, 8, 16, 20, 24, 28, 32, 36, 40, 44, 48], IdBands.Starts(50, 16));
        Assert.Equal([0, 1, 2, 4, 8, 12, 16, 20], IdBands.Starts(21, 8));
        Assert.Equal([60, 64, 72, 80], IdBands.Starts(81, 16)[^4..]);
        Assert.Equal([0, 1, 5], IdBands.Starts(6, 1));
        Assert.True(IdBands.Starts(65535, 1).Length <= IdContextModel.MaxBands);
        Assert.Equal(5, IdBands.SetFrom([0, 1, 2, 4, 8, 16, 20], 16));
        Assert.Equal(5, IdBands.SetFrom([0, 1, 2, 4, 8], 64));
        Assert.True(IdBands.IsBandStart(1) && IdBands.IsBandStart(4) && IdBands.IsBandStart(32));
        Assert.False(IdBands.IsBandStart(3) || IdBands.IsBandStart(12) || IdBands.IsBandStart(0));
        Assert.Equal("banded:16", IdCodecSpec.Parse("banded:16").Name);
        Assert.Throws<ArgumentException>(() => IdCodecSpec.Parse("banded:12"));
        Assert.Throws<ArgumentException>(() => IdCodecSpec.Parse("banded"));
        Assert.Throws<ArgumentException>(() => IdCodecSpec.Parse("context:8"));
    }

    [Fact]
    public void MoreBands_AndSetBands_CodeTheirTrainingDataBelowTheContextCodec()
    {
        var data = ContextIdCodecTests.TokenDependent(new Random(3), 20_000, 40, 256, 50);
        var (ids, counts, tokens) = Flatten(data);
        var context = new ContextIdCodec(IdContextTraining.Train(data, 20_000));
        var contextBuf = new byte[context.MaxEncodedLength(ids.Length)];
        int contextBytes = context.Encode(ids, counts, tokens, contextBuf);
        var lossless = new BandedIdCodec(IdContextTraining.Train(data, 20_000, IdCodecSpec.Banded(1024)));
        var banded = new BandedIdCodec(IdContextTraining.Train(data, 20_000, IdCodecSpec.Banded(8)));
        Assert.True(lossless.IsLossless);
        Assert.False(banded.IsLossless);
        int bandedBytes = Encode(banded, ids, counts, tokens).Length, losslessBytes = Encode(lossless, ids, counts, tokens).Length;
        // These ids are drawn at random from each token's neighbourhood, so their order carries log2(4!) bits per set of 4.
        Assert.True(losslessBytes < contextBytes, $"lossless banded {losslessBytes} bytes, context {contextBytes}");
        Assert.True(bandedBytes < 0.95 * losslessBytes, $"banded:8 {bandedBytes} bytes, lossless banded {losslessBytes}");
    }

    [Fact]
    public void ColumnDecodedWithAnotherModel_OrDamaged_IsRefusedNamingFileAndOffset()
    {
        var data = ContextIdCodecTests.TokenDependent(new Random(7), 3000, 4, 128, 40);
        var (ids, counts, tokens) = Flatten(data);
        var codec = new BandedIdCodec(IdContextTraining.Train(data, 3000, IdCodecSpec.Banded(8)));
        var training = ContextIdCodecTests.TokenDependent(new Random(8), 3000, 4, 128, 40);
        var other = new BandedIdCodec(IdContextTraining.Train(training, 3000, IdCodecSpec.Banded(8)));
        var column = Encode(codec, ids, counts, tokens);
        var back = new int[ids.Length];
        var ex = Assert.Throws<StoreCorruptException>(() => other.Decode(column, counts, tokens, back, 3000, Where));
        Assert.Equal(("test.lss", 4096L), (ex.File, ex.Offset));
        int ransBytes = BinaryPrimitives.ReadInt32LittleEndian(column);
        foreach (int i in new[] { 0, 5, 21, 4 + ransBytes / 2, 3 + ransBytes })
        {
            var damaged = (byte[])column.Clone();
            damaged[i] ^= 0x24;
            Assert.Throws<StoreCorruptException>(() => codec.Decode(damaged, counts, tokens, back, 3000, Where));
        }
        Assert.Throws<StoreCorruptException>(() => codec.Decode(column.AsSpan(0, column.Length - 1), counts, tokens, back, 3000, Where));
    }

    [Fact]
    public void BandModel_RoundTripsThroughItsFile_AndADamagedOneIsRefusedNamingTheOffset()
    {
        const int v = 400;
        var model = IdContextTraining.Train(ContextIdCodecTests.TokenDependent(new Random(2), v, 6, 200, 40), v, IdCodecSpec.Banded(16));
        Assert.Equal(DictionaryKind.IdBandModel, model.Kind);
        Assert.Equal([0, 1, 2, 4, 8, 16, 20, 24, 28, 32, 36], model.BandStarts.ToArray());
        Assert.Equal(5, model.SetFrom);
        var reread = IdContextModel.FromDictionary(DictionaryFile.Parse(model.FileBytes, "idband.lsd"), "idband.lsd", v);
        Assert.Equal(model.FileBytes, reread.FileBytes);
        Assert.Equal(5, reread.SetFrom);

        int fields = DictionaryFile.Offsets.KindFields, startsAt = FormatConstants.DictionaryHeaderSize + 4 * v;
        foreach (var (at, value) in new (int, uint)[]
        {
            (fields + BandFields.BandCount, 129), (fields + BandFields.SetFrom, 0), (fields + BandFields.SetFrom, 12),
            (fields + BandFields.Reserved, 1), (startsAt, 1), (startsAt + 8, 1), (startsAt + 16, 65536),
        })
        {
            var bytes = (byte[])model.FileBytes.Clone();
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
            ContextIdCodecTests.Reseal(bytes);
            var ex = Assert.Throws<StoreCorruptException>(
                () => IdContextModel.FromDictionary(DictionaryFile.Parse(bytes, "idband.lsd"), "idband.lsd", v));
            Assert.Equal(("idband.lsd", (long)at), (ex.File, ex.Offset));
        }
    }

    [Fact]
    public void AStoreWithBandedIds_ReadsBackEachPositionsKeptSet_AndNamesItsModelKind()
    {
        string dir = TestData.TempDir();
        try
        {
            var data = ContextIdCodecTests.TokenDependent(new Random(5), 1000, 6, 64, 30);
            var codecs = new CodecOptions { Ids = IdCodecSpec.Banded(8), Values = ValueCodecSpec.F32, SequencesPerBlock = 2 };
            StoreRoundTripTests.Write(dir, 1000, codecs, data);
            Assert.Equal("idband", Manifest.Load(dir).Dictionaries.Single().Kind);
            Assert.Equal("banded:8", Manifest.Load(dir).Codecs.Ids);
            using var reader = StoreReader.Open(dir);
            for (int i = 0; i < data.Count; i++)
            {
                var read = reader.ReadSequence((ulong)i);
                Assert.Equal(data[i].Probs, read.Probs);
                int e = 0;
                foreach (int n in data[i].KeptCounts)
                {
                    Assert.Equal(data[i].Ids.AsSpan(e, n).ToArray().Order(), read.Ids.AsSpan(e, n).ToArray().Order());
                    if (n > 0) Assert.Equal(data[i].Ids[e], read.Ids[e]);
                    e += n;
                }
            }
            Assert.True(StoreVerifier.Verify(dir).Ok);
        }
        finally { Directory.Delete(dir, true); }
    }
}
