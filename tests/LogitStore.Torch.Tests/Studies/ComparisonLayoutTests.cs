using LogitStore.Processing;
using LogitStore.Studies.Frontier;

namespace LogitStore.Tests.Studies;

public class ComparisonLayoutTests
{
    private const uint Vocab = 100_277;
    private const int K = 50;

    private static List<SparseSequence> TopK(int sequences) =>
        Enumerable.Range(0, sequences)
            .Select(i => TestData.SyntheticSequence(
                (ulong)i, 64, new ProcessingOptions { Method = TruncationMethod.TopK, TopK = K }, Vocab))
            .ToList();

    [Fact]
    public void Megatron_KeepsIdsExactly_AndProbabilitiesToFp16LogPrecision()
    {
        var seqs = TopK(3);
        var layout = new MegatronOfflineLayout();
        var (ids, values) = layout.Encode(seqs, K);
        int positions = seqs.Sum(s => s.Length);
        Assert.Equal(3 * positions * K, ids.Length);      // uint16 + one bool byte per entry
        Assert.Equal(2 * positions * K, values.Length);   // fp16 per entry
        AssertRoundTrip(layout, seqs, ids, values, relative: 2e-2);
    }

    [Fact]
    public void DistillKit_KeepsIdsExactly_AndItsHeadToBf16Precision()
    {
        var seqs = TopK(3);
        var layout = new DistillKitLayout(Vocab);
        var (ids, values) = layout.Encode(seqs, K);
        int positions = seqs.Sum(s => s.Length);
        Assert.Equal(positions * ((K * 17 + 7) / 8), ids.Length);                          // ⌈log2 V⌉ = 17 bits per id
        Assert.Equal(positions * (2 * DistillKitLayout.ExactK + 4 * 6), values.Length);    // bf16 head, 6 float32 terms
        var row = ComparisonLayouts.Measure(layout, seqs, K, Vocab, perBlock: 2, zstdLevel: 3, repeats: 1);
        Assert.Equal(1.0, row.Top1Agreement);
        Assert.True(row.MeanKlKept < 0.05, $"mean KL {row.MeanKlKept}");
        AssertRoundTrip(layout, seqs, ids, values, relative: null);
    }

    /// <summary>Ids come back exactly, probabilities sum to 1; with <paramref name="relative"/>, each within that error.</summary>
    private static void AssertRoundTrip(
        IComparisonLayout layout, List<SparseSequence> seqs, byte[] ids, byte[] values, double? relative)
    {
        int positions = seqs.Sum(s => s.Length);
        var idsOut = new int[positions * K];
        var probsOut = new float[positions * K];
        layout.Decode(ids, values, positions, K, idsOut, probsOut);
        int p = 0;
        foreach (var s in seqs)
        {
            int e = 0;
            for (int t = 0; t < s.Length; t++, p++)
            {
                int n = s.KeptCounts[t];
                Assert.Equal(s.Ids.AsSpan(e, n).ToArray(), idsOut.AsSpan(p * K, n).ToArray());
                Assert.Equal(1.0, probsOut.AsSpan(p * K, K).ToArray().Sum(x => (double)x), 3);
                for (int j = 0; relative is { } r && j < n; j++)
                    Assert.True(
                        Math.Abs(probsOut[p * K + j] - s.Probs[e + j]) <= r * s.Probs[e + j],
                        $"position {p} entry {j}: {probsOut[p * K + j]} against {s.Probs[e + j]}");
                e += n;
            }
        }
    }
}
