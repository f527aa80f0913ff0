using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;

namespace LogitStore.Tests.Codecs;

public class CodecPropertyTests
{
    private static readonly ColumnLocation Where = new("test", 0, ColumnKind.Ids);

    [Property]
    public bool PackedIds_RoundTripExactly(PositiveInt count, byte widthSeed, int seed)
    {
        int width = 1 + widthSeed % 32;
        uint vocab = width == 32 ? uint.MaxValue : 1u << width;
        var rng = new Random(seed);
        var ids = Enumerable.Range(0, count.Get % 2000).Select(_ => (int)(rng.NextInt64(Math.Min(vocab, int.MaxValue)))).ToArray();
        var codec = new PackedIdCodec(width);
        var buf = new byte[codec.MaxEncodedLength(ids.Length)];
        int len = codec.Encode(ids, default, default, buf);
        var back = new int[ids.Length];
        codec.Decode(buf.AsSpan(0, len), default, default, back, vocab, Where);
        return len == BitPacking.PackedLength(ids.Length, width) && back.SequenceEqual(ids);
    }

    [Property]
    public bool DeltaIds_RoundTripExactly(int seed, PositiveInt positions)
    {
        var rng = new Random(seed);
        var seq = TestData.RandomSequence(rng, 100_000, positions.Get % 50 + 1, 40);
        var ids = (int[])seq.Ids.Clone();
        var probs = (float[])seq.Probs.Clone();
        int e = 0;
        foreach (int n in seq.KeptCounts) { EntryOrder.SortById(ids.AsSpan(e, n), probs.AsSpan(e, n)); e += n; }
        var buf = new byte[DeltaIdCodec.Instance.MaxEncodedLength(ids.Length)];
        int len = DeltaIdCodec.Instance.Encode(ids, seq.KeptCounts, default, buf);
        var back = new int[ids.Length];
        DeltaIdCodec.Instance.Decode(buf.AsSpan(0, len), seq.KeptCounts, default, back, 100_000, Where);
        return back.SequenceEqual(ids);
    }

    [Property]
    public bool LogRatio_DecodeOfEncode_StaysWithinStatedBound(int seed, bool fourBit)
    {
        var rng = new Random(seed);
        var seq = TestData.RandomSequence(rng, 50_000, 20, 100);
        var codec = new LogRatioValueCodec(fourBit ? 4 : 8, fourBit ? LogRatioValueCodec.DefaultRange4 : LogRatioValueCodec.DefaultRange8);
        var decoded = RoundTrip(codec, seq);
        int e = 0;
        foreach (int n in seq.KeptCounts)
        {
            if (n == 0) continue;
            double kl = 0, sum = 0, max = seq.Probs.AsSpan(e, n).ToArray().Max();
            for (int j = e; j < e + n; j++)
            {
                sum += decoded[j];
                if (decoded[j] < 0) return false;
                if (seq.Probs[j] > 0) kl += seq.Probs[j] * Math.Log(seq.Probs[j] / decoded[j]);
                bool inRange = Math.Log(seq.Probs[j] / max) >= -codec.Range;
                if (inRange && Math.Abs(Math.Log(decoded[j]) - Math.Log(seq.Probs[j])) > codec.Step + n * Math.Exp(-codec.Range) + 1e-4)
                    return false;
            }
            if (Math.Abs(sum - 1) > 1e-4 || kl > codec.KlBound(n) + 1e-5) return false;
            e += n;
        }
        return true;
    }

    [Property]
    public bool F16_StaysWithinStatedBound(int seed)
    {
        var seq = TestData.RandomSequence(new Random(seed), 1000, 10, 64);
        var decoded = RoundTrip(F16ValueCodec.Instance, seq);
        for (int j = 0; j < decoded.Length; j++)
        {
            double p = seq.Probs[j], err = Math.Abs(decoded[j] - p);
            if (err > (p >= Math.Pow(2, -14) ? Math.Pow(2, -11) * p : Math.Pow(2, -25)) * 1.0001) return false;
        }
        return true;
    }

    [Property]
    public bool Counts_RoundTripExactly(int seed, PositiveInt drawsSeed)
    {
        var rng = new Random(seed);
        int draws = drawsSeed.Get % 200 + 1;
        var counts = new List<int>();
        var probs = new List<float>();
        var kept = new List<int>();
        for (int pos = 0; pos < 10; pos++)
        {
            int left = draws, n = 0;
            while (left > 0) { int c = rng.Next(1, left + 1); counts.Add(c); probs.Add((float)c / draws); left -= c; n++; }
            kept.Add(n);
        }
        var codec = new CountsValueCodec(draws);
        var buf = new byte[codec.MaxEncodedLength(probs.Count)];
        int len = codec.Encode(probs.ToArray(), kept.ToArray(), buf);
        var back = new float[probs.Count];
        codec.Decode(buf.AsSpan(0, len), kept.ToArray(), back, Where);
        return back.Select(v => (int)Math.Round(v * draws)).SequenceEqual(counts);
    }

    [Property]
    public bool Unorm16_ErrorIsAtMostHalfAStep(NormalFloat seed)
    {
        float r = (float)Math.Abs(Math.Sin(seed.Get));
        var buf = new byte[2];
        FixedWidthColumns.WriteUnorm16([r], buf);
        var back = new float[1];
        FixedWidthColumns.ReadUnorm16(buf, back);
        return Math.Abs(back[0] - r) <= 1.0 / 131070 + 1e-7;
    }

    [Fact]
    public void PackedDecode_RejectsIdsAtOrAboveTheVocabulary()
    {
        var codec = new PackedIdCodec(4);
        var buf = new byte[codec.MaxEncodedLength(3)];
        codec.Encode([1, 2, 12], default, default, buf);
        var ex = Assert.Throws<StoreCorruptException>(
            () => codec.Decode(buf, default, default, new int[3], 10, new ColumnLocation("f.lss", 1234, ColumnKind.Ids)));
        Assert.Equal("f.lss", ex.File);
        Assert.Equal(1234, ex.Offset);
        Assert.Contains("element 2", ex.Message);
    }

    private static float[] RoundTrip(IValueCodec codec, SparseSequence seq)
    {
        var buf = new byte[codec.MaxEncodedLength(seq.EntryCount)];
        int len = codec.Encode(seq.Probs, seq.KeptCounts, buf);
        var back = new float[seq.EntryCount];
        codec.Decode(buf.AsSpan(0, len), seq.KeptCounts, back, Where);
        return back;
    }
}
