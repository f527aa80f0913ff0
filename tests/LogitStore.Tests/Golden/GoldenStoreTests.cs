using System.Runtime.Intrinsics;
using System.Text.Json;
using LogitStore.Reading;
using LogitStore.Synthetic;

namespace LogitStore.Tests.Golden;

/// <summary>
/// The golden stores (format-spec section 9): today's reader decodes every version's stores to their committed JSON bit
/// for bit, and today's writer, given the same options and identity seed, writes every file of the current version's
/// stores again byte for byte.
/// A change to the golden bytes is a format change and needs a format version bump (format-spec section 8); after one,
/// tools/golden/regenerate.sh writes a new version directory and the older ones stay, for the reader. Regenerating an
/// existing version is right only when the writer emits other but equally valid bytes for the same data (say, a zstd
/// update that compresses a column differently), and only once the reader test passes on the old files.
/// The <c>mvq</c> store's values are pinned only to about one unit in the last place (format-spec 5.9): its golden JSON
/// comes from a CPU whose 256-bit vectors are accelerated (x64 with AVX2), and a reader on any other compares them within
/// the tolerance of 5.9. Its bytes, codebooks included, are the same on any core count.
/// </summary>
public class GoldenStoreTests
{
    public static TheoryData<string, string> EveryVersionsStores
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (string version in GoldenStores.Versions)
                foreach (var store in GoldenStores.Current.Where(s => GoldenStores.Has(version, s.Name))) data.Add(version, store.Name);
            return data;
        }
    }

    public static TheoryData<string> Names => new(GoldenStores.Current.Select(s => s.Name));

    [Fact]
    public void TheCurrentVersion_HasGoldenStores() =>
        Assert.True(
            GoldenStores.Versions.Contains(GoldenStores.CurrentVersion),
            $"no golden stores for format {GoldenStores.CurrentVersion}: a version bump needs tools/golden/regenerate.sh");

    [Theory]
    [MemberData(nameof(EveryVersionsStores))]
    public void Reader_DecodesEachGoldenStoreToItsJsonExactly(string version, string name)
    {
        string store = GoldenStores.StoreDirectory(version, name);
        string label = $"{version}/{name}";
        var report = StoreVerifier.Verify(store);
        Assert.True(report.Ok, $"{label}: {string.Join("; ", report.Faults.Select(f => f.Message))}");
        using var reader = StoreReader.Open(store);
        // mvq's exp is the vectorised one on such a CPU, the scalar one elsewhere (format-spec 5.9).
        bool withinMvqTolerance = reader.Manifest.Codecs.Values.StartsWith("mvq", StringComparison.Ordinal)
            && !Vector256.IsHardwareAccelerated;
        using var json = JsonDocument.Parse(File.ReadAllBytes(GoldenStores.DecodedJson(version, name)));
        var sequences = json.RootElement;
        Assert.Equal((ulong)sequences.GetArrayLength(), reader.SequenceCount);
        var scratch = new DecodedBlock();
        foreach (var expected in sequences.EnumerateArray())
        {
            ulong id = expected.GetProperty("sequence").GetUInt64();
            var view = reader.ReadSequence(id, scratch);
            Assert.True(Ints(expected.GetProperty("tokens")).SequenceEqual(view.Tokens.ToArray()), $"{label} sequence {id}: tokens");
            var positions = expected.GetProperty("positions");
            Assert.Equal(positions.GetArrayLength(), view.Length);
            int t = 0;
            foreach (var position in positions.EnumerateArray())
            {
                string where = $"{label} sequence {id} position {t}";
                Assert.True(Ints(position.GetProperty("ids")).SequenceEqual(view.IdsAt(t).ToArray()), $"{where}: ids");
                float[] probs = position.GetProperty("probs").EnumerateArray().Select(p => p.GetSingle()).ToArray();
                var decoded = view.ProbsAt(t);
                Assert.Equal(probs.Length, decoded.Length);
                for (int j = 0; j < probs.Length; j++)
                    if (withinMvqTolerance) AssertWithinMvqTolerance(probs[j], decoded[j], $"{where} entry {j}: probability");
                    else AssertSameBits(probs[j], decoded[j], $"{where} entry {j}: probability");
                AssertSameBits(position.GetProperty("residual").GetSingle(), view.Residual[t], $"{where}: residual");
                t++;
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Writer_ReproducesEveryFileOfEachGoldenStoreByteForByte(string name)
    {
        string root = TestData.TempDir();
        try
        {
            string written = Path.Combine(root, name);
            var options = GoldenStores.Named(name);
            await SyntheticPack.RunAsync(
                written, options.Source, options.Processing, options.Codecs, identitySeed: options.IdentitySeed);
            string golden = GoldenStores.StoreDirectory(GoldenStores.CurrentVersion, name);
            string[] files = RelativeFiles(golden);
            Assert.Equal(files, RelativeFiles(written));
            foreach (string file in files)
                AssertSameBytes(
                    File.ReadAllBytes(Path.Combine(golden, file)), File.ReadAllBytes(Path.Combine(written, file)), $"{name}/{file}");
        }
        finally { Directory.Delete(root, true); }
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static void AssertSameBits(float expected, float actual, string what)
    {
        if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual))
            Assert.Fail($"{what}: the golden JSON has {expected:R}, the reader decoded {actual:R}");
    }

    /// <summary>Spec 5.9's promise: within 32 units in the last place of the larger of the two values.</summary>
    private static void AssertWithinMvqTolerance(float expected, float actual, string what)
    {
        float larger = MathF.Max(expected, actual);
        if (!(Math.Abs((double)expected - actual) <= 32.0 * (MathF.BitIncrement(larger) - larger)))
            Assert.Fail($"{what}: the golden JSON has {expected:R}, the reader decoded {actual:R}: more than 32 ulp apart");
    }

    /// <summary>The store's files; the writer's lock is not part of its data (spec 2.5.1).</summary>
    private static string[] RelativeFiles(string directory) =>
        Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace('\\', '/'))
            .Where(f => f != LogitStore.Format.FormatConstants.WriterLockFileName)
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>Names the file and the first differing offset, the way a corruption error would.</summary>
    private static void AssertSameBytes(byte[] golden, byte[] written, string file)
    {
        int common = Math.Min(golden.Length, written.Length);
        int at = golden.AsSpan(0, common).CommonPrefixLength(written.AsSpan(0, common));
        if (at < common)
            Assert.Fail($"{file}: the writer's bytes differ from the golden file at offset {at} " +
                $"(golden 0x{golden[at]:x2}, written 0x{written[at]:x2})");
        if (golden.Length != written.Length)
            Assert.Fail($"{file}: the golden file has {golden.Length} bytes, the writer wrote {written.Length} (equal up to {common})");
    }
}
