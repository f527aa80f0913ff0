using System.Buffers.Binary;
using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Tests.Codecs;

public class ContextIdCodecTests
{
    private static readonly ColumnLocation Where = new("test.lss", 4096, ColumnKind.Ids);

    /// <summary>
    /// Sequences whose kept ids depend on the input token (as a teacher's do), so that training finds token contexts:
    /// tokens from a small skewed set, ids mostly from a per-token neighbourhood, some from anywhere.
    /// </summary>
    internal static List<SparseSequence> TokenDependent(Random rng, uint vocab, int sequences, int length, int maxKept)
    {
        var list = new List<SparseSequence>();
        for (int q = 0; q < sequences; q++)
        {
            var b = new SparseSequenceBuilder();
            for (int t = 0; t < length; t++)
            {
                int token = (int)(Math.Min(vocab - 1, (uint)(rng.Next(8) * rng.Next(8))));
                int n = Math.Min(rng.Next(0, maxKept + 1), (int)vocab);
                var set = new HashSet<int>();
                while (set.Count < n)
                    set.Add(rng.Next(4) == 0 ? rng.Next((int)vocab) : (int)((token * 31L + rng.Next(3 * maxKept + 1)) % vocab));
                var ids = set.ToArray();
                var probs = ids.Select((_, j) => (float)Math.Exp(-0.3 * j - rng.NextDouble())).ToArray();
                float sum = probs.Sum();
                for (int j = 0; j < n; j++) probs[j] /= sum;
                EntryOrder.SortByRank(ids, probs);
                b.AddPosition(token, ids, probs, 0.1f);
            }
            list.Add(b.Build());
        }
        return list;
    }

    private static int[] RoundTrip(ContextIdCodec codec, IReadOnlyList<SparseSequence> seqs, out int[] expected)
    {
        expected = seqs.SelectMany(s => s.Ids).ToArray();
        var counts = seqs.SelectMany(s => s.KeptCounts).ToArray();
        var tokens = seqs.SelectMany(s => s.Tokens).ToArray();
        var buf = new byte[codec.MaxEncodedLength(expected.Length)];
        int len = codec.Encode(expected, counts, tokens, buf);
        var back = new int[expected.Length];
        codec.Decode(buf.AsSpan(0, len), counts, tokens, back, (uint)codec.Model.VocabSize, Where);
        return back;
    }

    [Property(MaxTest = 60)]
    public bool ContextIds_RoundTripExactly_UnderAModelTrainedOnOtherData(int seed, byte vocabSeed, byte keptSeed, bool randomIds)
    {
        var rng = new Random(seed);
        // V = 2 and k = 1 are among the cases; kept counts of 0 (empty positions) occur in every stream.
        uint vocab = vocabSeed % 4 == 0 ? 2u : (uint)rng.Next(2, 5000);
        int maxKept = keptSeed % 3 == 0 ? 1 : 1 + keptSeed % 60;
        var model = IdContextTraining.Train(TokenDependent(new Random(seed ^ 0x5bd1), vocab, 8, 200, maxKept), vocab);
        // The coded stream comes from other data: a different seed, and with randomIds ids the model never saw.
        var data = randomIds
            ? Enumerable.Range(0, 3).Select(_ => TestData.RandomSequence(rng, vocab, rng.Next(1, 80), maxKept)).ToList()
            : TokenDependent(rng, vocab, 3, rng.Next(1, 120), maxKept);
        var back = RoundTrip(new ContextIdCodec(model), data, out var expected);
        return back.SequenceEqual(expected);
    }

    /// <summary>
    /// A model drawn at random rather than trained: random candidate lists, and frequency tables that give every symbol
    /// the encoder can need a frequency and random others one too (with <paramref name="wide"/>, tables of more than 64
    /// coded symbols, which the decoder keeps in wider rows).
    /// </summary>
    private static IdContextModel RandomModel(Random rng, uint vocab, bool wide)
    {
        const int symbols = IdContextModel.Symbols;
        var idOfRank = Enumerable.Range(0, (int)vocab).OrderBy(_ => rng.Next()).ToArray();
        int contexts = rng.Next(0, Math.Min(12, (int)vocab) + 1);
        var tokens = Enumerable.Range(0, (int)vocab).OrderBy(_ => rng.Next()).Take(contexts).Order().ToArray();
        var lists = tokens.Select(_ => Enumerable.Range(0, (int)vocab).OrderBy(_ => rng.Next()).Take(rng.Next(1, (int)vocab + 1))
            .ToArray()).ToArray();
        var frequencies = new ushort[IdContextModel.Groups * symbols * (1 + contexts)];
        var counts = new long[symbols];
        var required = new bool[symbols];
        for (int t = 0; t < IdContextModel.Groups * (1 + contexts); t++)
        {
            bool global = t < IdContextModel.Groups;
            int length = global ? (int)vocab : lists[t / IdContextModel.Groups - 1].Length;
            Array.Clear(required);
            for (int v = 1; v <= length; v++) required[ValueClass.Of((uint)v, out _, out _)] = true;
            if (!global) required[IdContextModel.Escape] = true;
            for (int c = 0; c < symbols; c++)
            {
                // Some symbols no value of the table needs (in a wide model, most of them); never the escape in a global table.
                bool unneeded = c != IdContextModel.Escape && rng.Next(4) < (wide ? 3 : 1);
                counts[c] = required[c] || unneeded ? rng.Next(1, 1000) : 0;
            }
            IdContextModel.Normalise(counts, required, frequencies.AsSpan(t * symbols, symbols));
        }
        return new IdContextModel(idOfRank, tokens, lists, frequencies);
    }

    [Property(MaxTest = 80)]
    public bool ContextIds_RoundTripExactly_UnderRandomModels(int seed, bool wide, byte keptSeed)
    {
        var rng = new Random(seed);
        uint vocab = (uint)rng.Next(2, wide ? 3000 : 600);
        var model = RandomModel(rng, vocab, wide);
        // Positions of up to 300 entries (longer than the decoder's batches), half of them at a context's token, with ids
        // mostly from that context's list (so that some escape) and otherwise from anywhere.
        int maxKept = keptSeed % 4 == 0 ? 300 : 1 + keptSeed % 60;
        var contextTokens = Enumerable.Range(0, (int)vocab).Where(t => model.ContextOf(t) >= 0).ToArray();
        var data = new List<SparseSequence>();
        for (int q = rng.Next(1, 4); q > 0; q--)
        {
            var b = new SparseSequenceBuilder();
            for (int t = rng.Next(1, 60); t > 0; t--)
            {
                int token = contextTokens.Length > 0 && rng.Next(2) == 0
                    ? contextTokens[rng.Next(contextTokens.Length)]
                    : rng.Next((int)vocab);
                int context = model.ContextOf(token);
                var list = context < 0 ? [] : model.Candidates[model.CandidateStart[context]..model.CandidateStart[context + 1]].ToArray();
                var ids = new HashSet<int>();
                for (int n = Math.Min(rng.Next(0, maxKept + 1), (int)vocab); ids.Count < n;)
                    ids.Add(list.Length > 0 && rng.Next(4) != 0 ? list[rng.Next(list.Length)] : rng.Next((int)vocab));
                var probs = ids.Select(_ => 1f / ids.Count).ToArray();
                b.AddPosition(token, [.. ids], probs, 0f);
            }
            data.Add(b.Build());
        }
        var back = RoundTrip(new ContextIdCodec(model), data, out var expected);
        return back.SequenceEqual(expected);
    }

    [Fact]
    public void TablesOfMoreThan64Symbols_AndPositionsLongerThanABatch_RoundTrip()
    {
        var rng = new Random(11);
        var model = RandomModel(rng, 2000, wide: true);
        Assert.Equal(RansDecodeTables.WideEntries, model.DecodeTables.EntriesPerRow);
        var data = new List<SparseSequence> { TestData.RandomSequence(rng, 2000, 3, 700), TestData.RandomSequence(rng, 2000, 40, 20) };
        var back = RoundTrip(new ContextIdCodec(model), data, out var expected);
        Assert.Equal(expected, back);
    }

    [Fact]
    public void ContextIds_CodeTheirTrainingDataBelowTheRankedCodec()
    {
        var rng = new Random(3);
        var data = TokenDependent(rng, 20_000, 40, 256, 50);
        var model = IdContextTraining.Train(data, 20_000);
        Assert.True(model.ContextCount > 0);
        var ids = data.SelectMany(s => s.Ids).ToArray();
        var counts = data.SelectMany(s => s.KeptCounts).ToArray();
        var tokens = data.SelectMany(s => s.Tokens).ToArray();
        var context = new ContextIdCodec(model);
        var buf = new byte[context.MaxEncodedLength(ids.Length)];
        int contextBytes = context.Encode(ids, counts, tokens, buf);
        var ranked = new RankedIdCodec(DictionaryTraining.RankTable(data, 20_000));
        var rbuf = new byte[ranked.MaxEncodedLength(ids.Length)];
        int rankedBytes = ranked.Encode(ids, counts, tokens, rbuf);
        Assert.True(contextBytes < rankedBytes, $"context {contextBytes} bytes, ranked {rankedBytes}");
    }

    [Fact]
    public void EmptyColumn_IsTwentyBytes_AndDecodes()
    {
        var model = IdContextTraining.Train(TokenDependent(new Random(1), 50, 2, 40, 5), 50);
        var codec = new ContextIdCodec(model);
        var buf = new byte[codec.MaxEncodedLength(0)];
        int len = codec.Encode([], [0, 0], [1, 2], buf);
        Assert.Equal(20, len);
        codec.Decode(buf.AsSpan(0, len), [0, 0], [1, 2], [], 50, Where);
    }

    [Fact]
    public void ColumnDecodedWithAnotherModel_OrDamaged_IsRefusedNamingFileAndOffset()
    {
        var rng = new Random(7);
        var data = TokenDependent(rng, 3000, 4, 128, 40);
        var codec = new ContextIdCodec(IdContextTraining.Train(data, 3000));
        var other = new ContextIdCodec(IdContextTraining.Train(TokenDependent(new Random(8), 3000, 4, 128, 40), 3000));
        var ids = data.SelectMany(s => s.Ids).ToArray();
        var counts = data.SelectMany(s => s.KeptCounts).ToArray();
        var tokens = data.SelectMany(s => s.Tokens).ToArray();
        var buf = new byte[codec.MaxEncodedLength(ids.Length)];
        int len = codec.Encode(ids, counts, tokens, buf);
        var column = buf.AsSpan(0, len).ToArray();
        var back = new int[ids.Length];
        var ex = Assert.Throws<StoreCorruptException>(() => other.Decode(column, counts, tokens, back, 3000, Where));
        Assert.Equal("test.lss", ex.File);
        Assert.Equal(4096, ex.Offset);
        // Damage to the rANS stream (its length, a state, a word) leaves the states off 2^16 at the end; the extra bits are
        // raw, and only the block checksum protects them.
        int ransBytes = BinaryPrimitives.ReadInt32LittleEndian(column);
        foreach (int i in new[] { 0, 5, 21, 4 + ransBytes / 2, 3 + ransBytes })
        {
            var damaged = (byte[])column.Clone();
            damaged[i] ^= 0x24;
            Assert.Throws<StoreCorruptException>(() => codec.Decode(damaged, counts, tokens, back, 3000, Where));
        }
    }

    [Fact]
    public void DamagedModel_IsRefusedNamingFileAndOffset_EvenWithChecksumsRecomputed()
    {
        var model = IdContextTraining.Train(TokenDependent(new Random(2), 400, 6, 200, 20), 400);
        Assert.True(model.ContextCount > 0);
        int v = 400, body = FormatConstants.DictionaryHeaderSize;
        // A global frequency (sum no longer 4096), a directory token out of order, a repeated candidate.
        int globalAt = body + 4 * v, directoryAt = globalAt + 744;
        int candidatesAt = directoryAt + 8 * model.ContextCount + 744 * model.ContextCount;
        foreach (var (at, value, expectedOffset) in new (int, uint, long)[]
        {
            (globalAt, 0u, globalAt),
            (directoryAt, (uint)v, directoryAt),
            (candidatesAt + 4, ReadU32(model.FileBytes, candidatesAt), candidatesAt + 4),
        })
        {
            var bytes = (byte[])model.FileBytes.Clone();
            if (at == globalAt) BinaryPrimitives.WriteUInt16LittleEndian(
                bytes.AsSpan(at), (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(at)) + 1));
            else BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), value);
            Reseal(bytes);
            var ex = Assert.Throws<StoreCorruptException>(
                () => IdContextModel.FromDictionary(DictionaryFile.Parse(bytes, "idctx.lsd"), "idctx.lsd", (uint)v));
            Assert.Equal("idctx.lsd", ex.File);
            Assert.Equal(expectedOffset, ex.Offset);
        }
        var wrongVocab = Assert.Throws<StoreCorruptException>(
            () => IdContextModel.FromDictionary(DictionaryFile.Parse(model.FileBytes, "idctx.lsd"), "idctx.lsd", 401));
        Assert.Equal(DictionaryFile.Offsets.KindFields + DictionaryFile.IdContextFieldOffsets.VocabSize, wrongVocab.Offset);
        var reread = IdContextModel.FromDictionary(DictionaryFile.Parse(model.FileBytes, "idctx.lsd"), "idctx.lsd", (uint)v);
        Assert.Equal(model.FileBytes, reread.FileBytes);
    }

    [Fact]
    public void StoreWithContextIds_RefusesASwappedOrFlippedModel_NamingTheFile()
    {
        string dir = TestData.TempDir();
        try
        {
            var data = TokenDependent(new Random(5), 1000, 6, 64, 30);
            StoreRoundTripTests.Write(
                dir, 1000, new CodecOptions { Ids = IdCodecSpec.Context, Values = ValueCodecSpec.Q8, SequencesPerBlock = 2 }, data);
            using (var reader = StoreReader.Open(dir))
                for (int i = 0; i < data.Count; i++) Assert.Equal(data[i].Ids, reader.ReadSequence((ulong)i).Ids);
            var entry = Manifest.Load(dir).Dictionaries.Single();
            Assert.Equal("idctx", entry.Kind);
            string path = Path.Combine(dir, entry.File);
            var original = File.ReadAllBytes(path);
            var other = IdContextTraining.Train(TokenDependent(new Random(6), 1000, 6, 64, 30), 1000);
            File.WriteAllBytes(path, other.FileBytes);
            var ex = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(dir));
            Assert.Equal(path, ex.File);
            var flipped = (byte[])original.Clone();
            flipped[original.Length / 2] ^= 0x01;
            File.WriteAllBytes(path, flipped);
            var report = StoreVerifier.Verify(dir);
            Assert.False(report.Ok);
            Assert.Equal(path, report.Faults[0].File);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void ExtraBitsThatEndMidDecode_AreCorrupt_NamingTheColumn()
    {
        var data = TokenDependent(new Random(3), 400, 8, 64, 20);
        var codec = new ContextIdCodec(IdContextTraining.Train(data, 400));
        var ids = data.SelectMany(s => s.Ids).ToArray();
        var counts = data.SelectMany(s => s.KeptCounts).ToArray();
        var tokens = data.SelectMany(s => s.Tokens).ToArray();
        var buf = new byte[codec.MaxEncodedLength(ids.Length)];
        int len = codec.Encode(ids, counts, tokens, buf);
        Assert.True(len > 20 + 8, "the column needs some extra bits");
        // The last 8 bytes of extra bits cut off: the rANS stream is intact, the bits run out before the last entries.
        var ex = Assert.Throws<StoreCorruptException>(
            () => codec.Decode(buf.AsSpan(0, len - 8), counts, tokens, new int[ids.Length], 400, Where));
        Assert.Equal(Where.File, ex.File);
        Assert.Equal(Where.Offset, ex.Offset);
        Assert.Contains("extra bits end", ex.Message);
    }

    private static uint ReadU32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at));

    /// <summary>Recomputes both inner checksums, so that only the model's own rules can catch the change.</summary>
    internal static void Reseal(byte[] bytes)
    {
        int h = FormatConstants.DictionaryHeaderSize;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(DictionaryFile.Offsets.BodyChecksum), Checksum.Of(bytes.AsSpan(h)));
        BinaryPrimitives.WriteUInt64LittleEndian(
            bytes.AsSpan(DictionaryFile.Offsets.HeaderChecksum), Checksum.Of(bytes.AsSpan(0, DictionaryFile.Offsets.HeaderChecksum)));
    }
}
