using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Tests.Codecs;

public class MvqPropertyTests
{
    private static readonly ColumnLocation Where = new("test", 0, ColumnKind.Values);

    /// <summary>Codebooks trained once on synthetic top-k 20 positions (D = 19), shared by the properties.</summary>
    private static readonly Lazy<MvqCodebooks> Books = new(() =>
    {
        var seqs = Enumerable.Range(0, 8)
            .Select(i => TestData.SyntheticSequence((ulong)i, 256, new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 20 }))
            .ToList();
        return MvqTrainer.Train(
            DictionaryTraining.Positions(seqs, 2048), new MvqTrainingOptions { Codebooks = 4, LloydIterations = 4, Threads = 2 }).Codebooks;
    });

    /// <summary>Random positions in rank order: steep or flat, with zeros, longer than the codebooks allow, of 0 or 1 entry.</summary>
    private static (float[] Probs, int[] Counts) RandomColumn(int seed, int positions)
    {
        var rng = new Random(seed);
        var probs = new List<float>();
        var counts = new int[positions];
        for (int t = 0; t < positions; t++)
        {
            int n = rng.Next(0, 30); // D + 1 = 20: some positions must escape
            double slope = rng.NextDouble() * 3, sum = 0;
            var w = new double[n];
            for (int j = 0; j < n; j++) sum += w[j] = rng.Next(12) == 0 ? 0 : Math.Exp(-slope * Math.Log(j + 1) + rng.NextDouble() * 0.5);
            if (sum == 0 && n > 0) { w[0] = 1; sum = 1; }
            var p = w.Select(x => (float)(x / sum)).OrderByDescending(x => x).ToArray();
            probs.AddRange(p);
            counts[t] = n;
        }
        return (probs.ToArray(), counts);
    }

    [Property(MaxTest = 60)]
    public bool Decoded_IsAValidRankOrderedDistribution_WithinTheClaimedKl(int seed, PositiveInt positions, bool greedy)
    {
        var codec = new MvqValueCodec(Books.Value, greedy ? 1 : 4);
        var (probs, counts) = RandomColumn(seed, positions.Get % 40 + 1);
        var buf = new byte[codec.MaxEncodedLength(probs.Length)];
        int len = codec.Encode(probs, counts, buf);
        var back = new float[probs.Length];
        codec.Decode(buf.AsSpan(0, len), counts, back, Where);
        int e = 0;
        foreach (int n in counts)
        {
            var p = probs.AsSpan(e, n);
            var q = back.AsSpan(e, n);
            e += n;
            if (n == 0) continue;
            double sum = 0;
            for (int j = 0; j < n; j++)
            {
                if (!(q[j] >= 0) || float.IsInfinity(q[j])) return false;
                if (j > 0 && q[j] > q[j - 1] * (1 + 1e-6f)) return false; // rank order kept
                if (q[j] > q[0]) return false; // the first entry is a maximum: top-1 survives, ties included
                sum += q[j];
            }
            if (Math.Abs(sum - 1) > 1e-4) return false;
            if (MvqCodebooks.KlOf(p, q) > codec.KlBound(n) + 1e-4) return false; // what fidelity reports claim per position
        }
        return true;
    }

    [Property(MaxTest = 30)]
    public bool Beam_IsNeverWorseThanGreedy_OnTheSearchObjective(int seed)
    {
        var (probs, counts) = RandomColumn(seed, 8);
        var books = Books.Value;
        int e = 0;
        var g = new byte[books.M];
        var b = new byte[books.M];
        var y = new float[32];
        var w = new float[32];
        foreach (int n in counts)
        {
            var p = probs.AsSpan(e, n);
            e += n;
            if (n < 2 || n - 1 > books.D) continue;
            books.Encode(p, g, 1, out _);
            books.Encode(p, b, 8, out _);
            int dims = books.Prepare(p, y, w);
            if (Objective(books, g, y, w, dims) + 1e-5 < Objective(books, b, y, w, dims)) return false;
        }
        return true;
    }

    private static double Objective(MvqCodebooks books, byte[] codes, float[] y, float[] w, int dims)
    {
        double s = 0;
        for (int j = 0; j < dims; j++)
        {
            double r = y[j];
            for (int m = 0; m < books.M; m++) r -= books.Centroid(m, codes[m], j);
            s += w[j] * r * r;
        }
        return s;
    }

    [Fact]
    public void CodebookFile_RoundTrips_AndDamageIsNamed()
    {
        var books = Books.Value;
        var again = MvqCodebooks.FromDictionary(DictionaryFile.Parse(books.FileBytes, "cb.lsd"), "cb.lsd");
        Assert.Equal(books.Ref, again.Ref);
        Assert.Equal(books.Centroid(3, 200, 7), again.Centroid(3, 200, 7));
        var damaged = (byte[])books.FileBytes.Clone();
        damaged[FormatConstants.DictionaryHeaderSize + 4000] ^= 1;
        var ex = Assert.Throws<StoreCorruptException>(() => DictionaryFile.Parse(damaged, "cb.lsd"));
        Assert.Equal("cb.lsd", ex.File);
        Assert.Contains("body checksum", ex.Message);
        damaged = (byte[])books.FileBytes.Clone();
        damaged[33] ^= 1; // M
        ex = Assert.Throws<StoreCorruptException>(() => DictionaryFile.Parse(damaged, "cb.lsd"));
        Assert.Equal(56, ex.Offset);
    }

    [Property(MaxTest = 50)]
    public bool RankedIds_RoundTripExactly(int seed, PositiveInt count)
    {
        var rng = new Random(seed);
        int v = rng.Next(2, 5000);
        var perm = Enumerable.Range(0, v).OrderBy(_ => rng.Next()).ToArray();
        var codec = new RankedIdCodec(new IdRankTable(perm));
        var ids = Enumerable.Range(0, count.Get % 3000).Select(_ => rng.Next(v)).ToArray();
        var buf = new byte[codec.MaxEncodedLength(ids.Length)];
        int len = codec.Encode(ids, default, default, buf);
        var back = new int[ids.Length];
        codec.Decode(buf.AsSpan(0, len), default, default, back, (uint)v, Where);
        return back.SequenceEqual(ids);
    }

    [Fact]
    public void RankedIds_RefuseMalformedColumns()
    {
        var codec = new RankedIdCodec(new IdRankTable([2, 0, 1]));
        var buf = new byte[codec.MaxEncodedLength(2)];
        int len = codec.Encode([1, 2], default, default, buf);
        var back = new int[2];
        var bad = buf.AsSpan(0, len).ToArray();
        bad[0] = 40;
        Assert.Contains(
            "above 31", Assert.Throws<StoreCorruptException>(() => codec.Decode(bad, default, default, back, 3, Where)).Message);
        Assert.Contains(
            "bytes",
            Assert.Throws<StoreCorruptException>(() => codec.Decode(buf.AsSpan(0, len + 1), default, default, back, 3, Where)).Message);
        bad = [2, 0b11]; // one entry: exponent 2, mantissa 3, so v = 7 > V
        Assert.Contains(
            "not below the vocabulary",
            Assert.Throws<StoreCorruptException>(() => codec.Decode(bad, default, default, back.AsSpan(0, 1), 3, Where)).Message);
    }
}
