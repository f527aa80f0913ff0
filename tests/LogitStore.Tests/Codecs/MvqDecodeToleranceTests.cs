using LogitStore.Codecs;
using LogitStore.Codecs.Mvq;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;
using Xunit.Abstractions;

namespace LogitStore.Tests.Codecs;

/// <summary>
/// Spec 5.9's tolerance: a reader that follows the decode steps with another binary32 <c>exp</c> (here binary64 exp
/// rounded to binary32) gets values within the stated number of units in the last place of LogitStore's.
/// </summary>
public class MvqDecodeToleranceTests(ITestOutputHelper output)
{
    /// <summary>The bound spec 5.9 promises, in units in the last place of the larger of the two values.</summary>
    private const int PromisedUlps = 32;

    [Fact]
    public void DecodedValues_StayWithinTheStatedUlps_OfAReferenceDecoderWithAnotherExp()
    {
        string dir = TestData.TempDir();
        try
        {
            var codecs = new CodecOptions
            {
                Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Mvq(2), SequencesPerBlock = 4, DictionarySample = 4096,
            };
            StoreRoundTripTests.Write(dir, 1000, codecs, Enumerable.Range(0, 64).Select(i => TestData.SyntheticSequence((ulong)i, 64)));
            using var reader = StoreReader.Open(dir);
            var probs = new DecodedBlock();
            var codes = new DecodedBlock();
            int worst = 0;
            long compared = 0;
            var reference = new float[MvqCodebooks.MaxDimensions + 1];
            for (int b = 0; b < reader.BlockCount; b++)
            {
                reader.ReadBlock(b, probs);
                reader.ReadBlock(b, codes, BlockValues.MvqCodes);
                var books = codes.MvqCodebooks!;
                for (int i = 0; i < probs.PositionCount; i++)
                {
                    int n = probs.KeptCounts[i];
                    if (n < 2 || codes.MvqEscaped[i] != 0) continue;
                    Reference(books, codes.MvqCodes.AsSpan(i * books.M, books.M), n, reference);
                    for (int j = 0; j < n; j++)
                    {
                        worst = Math.Max(worst, Ulps(probs.Probs[probs.EntryStart[i] + j], reference[j]));
                        compared++;
                    }
                }
            }
            output.WriteLine($"{compared} decoded values, at most {worst} ulp from the reference (promised: {PromisedUlps})");
            Assert.True(compared > 1000);
            Assert.InRange(worst, 0, PromisedUlps);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>Spec 5.9's decode steps 1–5, the exp of step 3 being binary64 exp rounded to binary32.</summary>
    private static void Reference(MvqCodebooks books, ReadOnlySpan<byte> codes, int n, float[] p)
    {
        int k = n - 1;
        var a = new float[k];
        for (int j = 0; j < k; j++)
        {
            a[j] = books.Centroid(0, codes[0], j);
            for (int m = 1; m < books.M; m++) a[j] += books.Centroid(m, codes[m], j);
        }
        for (int j = 1; j < k; j++) if (a[j] > a[j - 1]) a[j] = a[j - 1];
        var e = new float[k];
        for (int j = 0; j < k; j++) e[j] = Math.Min((float)Math.Exp(Math.Min(Math.Max(a[j], -books.LogFloor), 0f)), 1f);
        int f = 8 * (k / 8);
        var t = new float[8];
        for (int j = 0; j < f; j++) t[j % 8] += e[j];
        float u = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
        for (int j = f; j < k; j++) u += e[j];
        float inv = 1f / (1f + u);
        p[0] = inv;
        for (int j = 0; j < k; j++) p[j + 1] = e[j] * inv;
    }

    /// <summary>Distance in units in the last place between two non-negative finite binary32 values.</summary>
    private static int Ulps(float x, float y) => Math.Abs(BitConverter.SingleToInt32Bits(x) - BitConverter.SingleToInt32Bits(y));
}
