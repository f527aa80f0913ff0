using System.Text.Json.Nodes;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

public class ManifestValidationTests
{
    private static string SmallStore()
    {
        string dir = TestData.TempDir();
        var codecs = new CodecOptions
        {
            Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 2, ShardTargetBytes = 4096,
        };
        var sequences = Enumerable.Range(0, 40).Select(i => TestData.RandomSequence(new Random(i), 500, 64, 12));
        StoreRoundTripTests.Write(dir, 500, codecs, sequences);
        return dir;
    }

    public static TheoryData<string> Damages =>
    [
        "shards null", "codecs null", "format_version null", "source null", "totals null", "dictionaries [null]", "shards [null]",
        "shards renamed", "totals doubled", "shard pack_id null", "tokenizer name null",
    ];

    [Theory]
    [MemberData(nameof(Damages))]
    public void DamagedManifest_IsACorruptStore_NamingTheFileAndOffset(string damage)
    {
        string dir = SmallStore();
        string path = Path.Combine(dir, FormatConstants.ManifestFileName);
        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.True(root["shards"]!.AsArray().Count > 1);
        switch (damage)
        {
            case "shards null": root["shards"] = null; break;
            case "codecs null": root["codecs"] = null; break;
            case "format_version null": root["format_version"] = null; break;
            case "source null": root["source"] = null; break;
            case "totals null": root["totals"] = null; break;
            case "dictionaries [null]": root["dictionaries"] = new JsonArray((JsonNode?)null); break;
            case "shards [null]": root["shards"]!.AsArray()[1] = null; break;
            case "shards renamed":
                var shards = root["shards"]!.DeepClone();
                root.Remove("shards");
                root["shard"] = shards;
                break;
            case "totals doubled":
                foreach (var member in new[] { "sequences", "positions", "entries", "bytes" })
                    root["totals"]![member] = 2 * (ulong)root["totals"]![member]!;
                break;
            case "shard pack_id null": root["shards"]!.AsArray()[0]!["pack_id"] = null; break;
            case "tokenizer name null": root["tokenizer"]!["name"] = null; break;
        }
        File.WriteAllText(path, root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var e = Assert.Throws<StoreCorruptException>(() => StoreReader.Open(dir).Dispose());
        Assert.Contains(FormatConstants.ManifestFileName, e.Message);
        if (damage != "shards renamed") Assert.True(e.Offset > 0, $"{damage}: {e.Message}");
        Assert.False(StoreVerifier.Verify(dir).Ok);
    }

    [Fact]
    public void AStorePathThatIsMissingOrAFile_IsBadInputNotCorruption()
    {
        string dir = TestData.TempDir();
        Assert.Throws<DirectoryNotFoundException>(() => Manifest.Load(Path.Combine(dir, "missing")));
        File.WriteAllText(Path.Combine(dir, "a-file"), "");
        Assert.Contains("is a file", Assert.Throws<DirectoryNotFoundException>(() => Manifest.Load(Path.Combine(dir, "a-file"))).Message);
    }

    [Fact]
    public void IntactManifest_StillOpens()
    {
        using var reader = StoreReader.Open(SmallStore());
        Assert.Equal(40ul, reader.SequenceCount);
    }
}
