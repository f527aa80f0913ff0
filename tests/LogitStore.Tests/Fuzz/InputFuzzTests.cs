using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Tests.Ingest;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Fuzz;

/// <summary>
/// Hostile input, generated: mutated manifests (re-checksummed, as a buggy writer would leave them), mutated streams, and
/// mutated shard and dictionary bytes. Each case ends in success or in a <see cref="StoreCorruptException"/> or an
/// <see cref="ArgumentException"/> naming what is wrong, never in another exception. LOGITSTORE_FUZZ_CASES sets the
/// number of cases per input (200 by default).
/// </summary>
public class InputFuzzTests : IDisposable
{
    private static readonly int Cases =
        int.TryParse(Environment.GetEnvironmentVariable("LOGITSTORE_FUZZ_CASES"), out int n) && n > 0 ? n : 200;

    private readonly string _dir = TestData.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    private static bool Expected(Exception e) => e is StoreCorruptException or ArgumentException;

    private static void Check(Func<int, bool> holds) =>
        Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), holds).Check(Config.QuickThrowOnFailure.WithMaxTest(Cases));

    private static bool EndsClearly(Action run)
    {
        try
        {
            run();
            return true;
        }
        catch (AggregateException e) when (e.InnerExceptions.All(Expected))
        {
            return true;
        }
        catch (Exception e) when (Expected(e))
        {
            return true;
        }
    }

    private void WriteStore() =>
        StoreRoundTripTests.Write(
            _dir,
            1000,
            new CodecOptions
            {
                Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Mvq(2), SequencesPerBlock = 2, ShardTargetBytes = 4096,
                DictionarySample = 64,
            },
            Enumerable.Range(0, 8).Select(i => TestData.SyntheticSequence((ulong)i, 48)));

    private void ReadEverything()
    {
        StoreVerifier.Verify(_dir);
        using var reader = StoreReader.Open(_dir, new StoreReaderOptions { OpenDamaged = true });
        var block = new DecodedBlock();
        for (int b = 0; b < reader.BlockCount; b++)
        {
            try { reader.ReadBlock(b, block); }
            catch (StoreCorruptException) { }
        }
    }

    [Fact]
    public void MutatedManifests_AreReadOrRefusedClearly()
    {
        WriteStore();
        string path = Path.Combine(_dir, FormatConstants.ManifestFileName);
        var original = File.ReadAllBytes(path);
        File.WriteAllBytes(path, WithChecksum(JsonNode.Parse(original)!.AsObject()));
        Assert.True(StoreVerifier.Verify(_dir).Ok, "the fuzz's checksum follows spec 2.7, so only the mutation can fail a case");
        JsonNode?[] replacements = [null, "x", 1e300, -1, 4294967296L * 4294967, true, new JsonArray(), new JsonObject()];
        Check(seed =>
        {
            var rng = new Random(seed);
            var root = JsonNode.Parse(original)!.AsObject();
            var (parent, key) = PickMember(root, rng);
            switch (rng.Next(3))
            {
                case 0: Set(parent, key, replacements[rng.Next(replacements.Length)]?.DeepClone()); break;
                case 1: Remove(parent, key); break;
                default:
                    if (parent is JsonObject o) o["extra_" + rng.Next(100)] = replacements[rng.Next(replacements.Length)]?.DeepClone();
                    break;
            }
            File.WriteAllBytes(path, WithChecksum(root));
            try { return EndsClearly(ReadEverything); }
            finally { File.WriteAllBytes(path, original); }
        });
    }

    [Fact]
    public void MutatedStreams_ArePackedOrRefusedClearly()
    {
        var valid = StreamIngestTests.TopKStream(3, 5, 200, 6, 1);
        Check(seed =>
        {
            var rng = new Random(seed);
            var bytes = Mutate(valid, rng);
            string dir = Path.Combine(_dir, "s" + seed);
            return EndsClearly(() => StreamPack.RunAsync(
                dir, TeacherStream.FromStream("fuzz", new MemoryStream(bytes)),
                new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 4 },
                new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 2 },
                overwrite: true).GetAwaiter().GetResult());
        });
    }

    [Fact]
    public void MutatedShardsAndDictionaries_AreReadOrRefusedClearly()
    {
        WriteStore();
        var files = Directory.GetFiles(Path.Combine(_dir, FormatConstants.ShardDirectory))
            .Concat(Directory.GetFiles(Path.Combine(_dir, FormatConstants.DictionaryDirectory))).Order().ToArray();
        var originals = files.Select(File.ReadAllBytes).ToArray();
        Check(seed =>
        {
            var rng = new Random(seed);
            int f = rng.Next(files.Length);
            File.WriteAllBytes(files[f], Mutate(originals[f], rng));
            try { return EndsClearly(ReadEverything); }
            finally { File.WriteAllBytes(files[f], originals[f]); }
        });
    }

    /// <summary>Flips bits, overwrites a u32 with an extreme value, truncates or inserts bytes.</summary>
    private static byte[] Mutate(byte[] original, Random rng)
    {
        var bytes = new List<byte>(original);
        int at = rng.Next(bytes.Count);
        switch (rng.Next(4))
        {
            case 0:
                for (int i = 0, flips = rng.Next(1, 4); i < flips; i++) bytes[rng.Next(bytes.Count)] ^= (byte)(1 << rng.Next(8));
                break;
            case 1:
                uint[] extremes = [0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x40000000];
                var word = BitConverter.GetBytes(extremes[rng.Next(extremes.Length)]);
                for (int i = 0; i < 4 && at + i < bytes.Count; i++) bytes[at + i] = word[i];
                break;
            case 2:
                bytes.RemoveRange(at, bytes.Count - at);
                break;
            default:
                bytes.InsertRange(at, Enumerable.Range(0, rng.Next(1, 9)).Select(_ => (byte)rng.Next(256)));
                break;
        }
        return [.. bytes];
    }

    private static (JsonNode Parent, object Key) PickMember(JsonObject root, Random rng)
    {
        JsonNode parent = root;
        object key = root.ElementAt(rng.Next(root.Count)).Key;
        for (int depth = 0; depth < 3 && Child(parent, key) is { } child && rng.Next(2) == 0; depth++)
        {
            if (child is JsonObject { Count: > 0 } o) (parent, key) = (o, o.ElementAt(rng.Next(o.Count)).Key);
            else if (child is JsonArray { Count: > 0 } a) (parent, key) = (a, rng.Next(a.Count));
            else break;
        }
        return (parent, key);
    }

    private static JsonNode? Child(JsonNode parent, object key) =>
        key is string s ? parent.AsObject()[s] : parent.AsArray()[(int)key];

    private static void Set(JsonNode parent, object key, JsonNode? value)
    {
        if (key is string s) parent.AsObject()[s] = value;
        else parent.AsArray()[(int)key] = value;
    }

    private static void Remove(JsonNode parent, object key)
    {
        if (key is string s) parent.AsObject().Remove(s);
        else parent.AsArray().RemoveAt((int)key);
    }

    /// <summary>The manifest with a valid <c>manifest_xxh3</c>, computed as spec 2.7 says (independently of the writer).</summary>
    private static byte[] WithChecksum(JsonObject root)
    {
        root.Remove("manifest_xxh3");
        root["manifest_xxh3"] = new string('0', 16);
        var bytes = Encoding.UTF8.GetBytes(root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        string marker = "\"manifest_xxh3\": \"";
        int at = Encoding.UTF8.GetString(bytes).LastIndexOf(marker, StringComparison.Ordinal);
        at = Encoding.UTF8.GetByteCount(Encoding.UTF8.GetString(bytes)[..at]) + marker.Length;
        string hex = System.IO.Hashing.XxHash3.HashToUInt64(bytes).ToString("x16");
        Encoding.ASCII.GetBytes(hex, bytes.AsSpan(at, 16));
        return bytes;
    }
}
