using System.Buffers;
using System.Buffers.Binary;
using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Tests.Ingest;

/// <summary>A C# producer of the stream protocol, and the ingest path's behaviour on good and bad streams.</summary>
public class StreamIngestTests
{
    /// <summary>
    /// Writes a kind-1 stream: per position, the top-<paramref name="k"/> ids and log-probabilities of a random distribution.
    /// </summary>
    internal static byte[] TopKStream(
        int sequences, int length, uint vocab, int k, int seed, Action<int, int, int[], float[]>? tamper = null, bool end = true)
    {
        var rng = new Random(seed);
        var ms = new MemoryStream();
        ms.Write(new StreamHeader(StreamPayloadKind.TopKLogProbs, vocab, (uint)k, 0, "test-teacher").ToBytes());
        for (int s = 0; s < sequences; s++)
        {
            var payload = new MemoryStream();
            var w = new BinaryWriter(payload);
            w.Write((uint)length);
            for (int t = 0; t < length; t++) w.Write((uint)rng.Next((int)vocab));
            for (int t = 0; t < length; t++)
            {
                var ids = Enumerable.Range(0, (int)vocab).OrderBy(_ => rng.Next()).Take(k).ToArray();
                var logits = ids.Select(_ => rng.NextDouble() * 8).ToArray();
                double z = Math.Log(logits.Sum(Math.Exp) / 0.9); // the k entries carry 90% of the mass
                var lp = logits.Select(l => (float)(l - z)).ToArray();
                tamper?.Invoke(s, t, ids, lp);
                w.Write((ushort)k);
                foreach (int id in ids) w.Write((uint)id);
                foreach (float v in lp) w.Write(v);
            }
            ms.Write(StreamFrame.Encode(StreamFrame.SequenceType, payload.ToArray()));
        }
        if (end)
        {
            var count = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(count, (ulong)sequences);
            ms.Write(StreamFrame.Encode(StreamFrame.EndType, count));
        }
        return ms.ToArray();
    }

    private static Task<Manifest> Pack(string dir, byte[] stream, ProcessingOptions? p = null) =>
        StreamPack.RunAsync(
            dir,
            TeacherStream.FromStream("test-stream", new MemoryStream(stream)),
            p ?? new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 8 },
            new LogitStore.Writing.CodecOptions { SequencesPerBlock = 2, Values = ValueCodecSpec.F32 },
            overwrite: true);

    [Fact]
    public async Task TopKStream_IsPackedWithExactValuesAndResidualMass()
    {
        string dir = TestData.TempDir();
        var m = await Pack(dir, TopKStream(5, 7, 300, 8, 1));
        Assert.True(m.IsComplete);
        Assert.Equal(35ul, m.Totals.Positions);
        Assert.Equal("test-teacher", (string?)m.Teacher["id"]);
        using var r = StoreReader.Open(dir);
        var s = r.ReadSequence(3);
        Assert.Equal(8, s.KeptCounts[0]);
        Assert.InRange(s.Residual[0], 0.1 - 1e-4, 0.1 + 1e-4); // the producer's entries carry 90% of the mass
        Assert.InRange(s.Probs.Take(8).Sum(), 1 - 1e-5, 1 + 1e-5);
        Assert.True(StoreVerifier.Verify(dir).Ok);
    }

    [Property(MaxTest = 30)]
    public bool FrameParser_GivesTheSameFramesForAnySplitOfTheInput(int seed, PositiveInt chunkSeed)
    {
        var bytes = TopKStream(3, 4, 100, 5, seed);
        var header = new ReadOnlySequence<byte>(bytes);
        Assert.True(StreamHeader.TryRead(ref header, "s", out var h));
        var whole = ReadFrames(bytes[h!.Size..], bytes.Length, h);
        var chunked = new List<StreamFrame>();
        int chunk = chunkSeed.Get % 37 + 1;
        var pending = new List<byte>();
        long offset = h.Size;
        for (int i = h.Size; i < bytes.Length; i += chunk)
        {
            pending.AddRange(bytes.AsSpan(i, Math.Min(chunk, bytes.Length - i)).ToArray());
            var seq = new ReadOnlySequence<byte>(pending.ToArray());
            long before = seq.Length;
            while (StreamFrame.TryRead(ref seq, offset + (before - seq.Length), "s", h, out var f)) chunked.Add(f);
            offset += before - seq.Length;
            pending = seq.ToArray().ToList();
        }
        return whole.Count == chunked.Count && whole.Zip(chunked).All(p =>
            p.First.Type == p.Second.Type && p.First.Offset == p.Second.Offset && p.First.Payload.SequenceEqual(p.Second.Payload));

        static List<StreamFrame> ReadFrames(byte[] body, int total, StreamHeader header)
        {
            var seq = new ReadOnlySequence<byte>(body);
            var list = new List<StreamFrame>();
            long off = total - body.Length;
            while (StreamFrame.TryRead(ref seq, off + (body.Length - seq.Length), "s", header, out var f)) list.Add(f);
            return list;
        }
    }

    [Fact]
    public async Task OutOfRangeId_NamesTheStreamAndOffset()
    {
        var bytes = TopKStream(3, 4, 300, 8, 2, (s, t, ids, lp) => { if (s == 1 && t == 2) ids[3] = 300; });
        var ex = await Assert.ThrowsAsync<StoreCorruptException>(() => Pack(TestData.TempDir(), bytes));
        Assert.Equal("test-stream", ex.File);
        Assert.Contains("id 300", ex.Message);
        Assert.True(ex.Offset > 30);
    }

    [Fact]
    public async Task NaNLogProbability_IsRejected()
    {
        var bytes = TopKStream(2, 3, 300, 8, 3, (s, t, ids, lp) => { if (s == 0 && t == 1) lp[0] = float.NaN; });
        var ex = await Assert.ThrowsAsync<StoreCorruptException>(() => Pack(TestData.TempDir(), bytes));
        Assert.Contains("NaN", ex.Message);
    }

    [Fact]
    public async Task TruncatedStream_LeavesAPartialStore()
    {
        string dir = TestData.TempDir();
        var bytes = TopKStream(6, 3, 300, 8, 4, end: false);
        var ex = await Assert.ThrowsAsync<StoreCorruptException>(() => Pack(dir, bytes));
        Assert.Contains("without an end frame", ex.Message);
        Assert.False(Manifest.Load(dir).IsComplete);
    }

    [Fact]
    public async Task ResumeWithAStreamOfAnotherVocabulary_IsRefused()
    {
        string dir = TestData.TempDir();
        await Assert.ThrowsAsync<StoreCorruptException>(() => Pack(dir, TopKStream(6, 3, 300, 8, 5, end: false)));
        var ex = await Assert.ThrowsAsync<StoreCorruptException>(() =>
            StreamPack.ResumeAsync(dir, TeacherStream.FromStream("other", new MemoryStream(TopKStream(6, 3, 400, 8, 5)))));
        Assert.Contains("vocab_size 400", ex.Message);
        Assert.Equal(12, ex.Offset);
    }

    [Fact]
    public async Task WrongMagic_IsRejectedAtOffsetZero()
    {
        var bytes = TopKStream(1, 2, 300, 8, 6);
        bytes[0] = (byte)'X';
        var ex = await Assert.ThrowsAsync<StoreCorruptException>(() => Pack(TestData.TempDir(), bytes));
        Assert.Equal(0, ex.Offset);
        Assert.Contains("magic", ex.Message);
    }
}
