using FsCheck;
using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Loading;
using LogitStore.Reading;
using LogitStore.Tests.Writing;
using LogitStore.Writing;

namespace LogitStore.Tests.Reading;

/// <summary>
/// The manifest is checksummed as a whole, and damage stays where it is: a damaged shard or dictionary makes only the
/// sequences that need it unreadable.
/// </summary>
public class DamageLocalityTests : IDisposable
{
    private readonly string _dir = TestData.TempDir();

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>Twelve sequences, two per block, in three shards; ranked ids + mvq:2 values, so two dictionaries.</summary>
    private void WriteThreeShards(CodecOptions? codecs = null)
    {
        codecs ??= new CodecOptions
        {
            Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Mvq(2), SequencesPerBlock = 2, ShardTargetBytes = 4096, ZstdLevel = 0,
            DictionarySample = 64,
        };
        StoreRoundTripTests.Write(_dir, 1000, codecs, Enumerable.Range(0, 12).Select(i => TestData.SyntheticSequence((ulong)i, 64)));
        Assert.True(Manifest.Load(_dir).Shards.Count >= 3, "the store needs at least three shards");
    }

    private string ManifestPath => Path.Combine(_dir, FormatConstants.ManifestFileName);

    [Property(MaxTest = 200)]
    public bool EverySingleBitFlipInTheManifest_IsDetectedWithFileAndOffset(PositiveInt at, byte bit)
    {
        if (!File.Exists(ManifestPath)) CorruptionTests.WriteSmallStore(_dir);
        var original = File.ReadAllBytes(ManifestPath);
        try
        {
            var bytes = (byte[])original.Clone();
            int i = at.Get % bytes.Length;
            bytes[i] ^= (byte)(1 << (bit % 8));
            File.WriteAllBytes(ManifestPath, bytes);
            var report = StoreVerifier.Verify(_dir);
            return !report.Ok && report.Faults[0].File == ManifestPath && report.Faults[0].Offset >= 0
                && report.Faults[0].Offset <= bytes.Length;
        }
        finally
        {
            File.WriteAllBytes(ManifestPath, original);
        }
    }

    [Fact]
    public void ManifestChecksum_CoversEveryByte_AndNamesTheChecksumOnMismatch()
    {
        WriteThreeShards();
        var text = File.ReadAllText(ManifestPath);
        Assert.EndsWith("\"manifest_xxh3\": \"" + Manifest.Load(_dir).ManifestXxh3 + "\"\n}", text.Replace("\r", ""));
        File.WriteAllText(ManifestPath, text.Replace("\"temperature\": 1", "\"temperature\": 2"));
        var e = Assert.Throws<StoreCorruptException>(() => Manifest.Load(_dir));
        Assert.Contains("checksum", e.Message);
        // The offset names the value: its opening quote (spec 7).
        Assert.Equal(text.IndexOf("\"manifest_xxh3\": \"", StringComparison.Ordinal) + "\"manifest_xxh3\": ".Length, e.Offset);
    }

    [Fact]
    public void A11ManifestWithoutChecksum_StillReads_A12OneWithoutItDoesNot()
    {
        WriteThreeShards();
        var text = File.ReadAllText(ManifestPath);
        int member = text.IndexOf(",\n  \"manifest_xxh3\"", StringComparison.Ordinal);
        Assert.True(member > 0);
        string withoutChecksum = text[..member] + "\n}";
        File.WriteAllText(ManifestPath, withoutChecksum.Replace($"\"minor\": {FormatConstants.MinorVersion}", "\"minor\": 1"));
        Assert.True(StoreVerifier.Verify(_dir).Ok);
        File.WriteAllText(ManifestPath, withoutChecksum);
        Assert.Contains("manifest_xxh3", Assert.Throws<StoreCorruptException>(() => Manifest.Load(_dir)).Message);
    }

    [Fact]
    public void DamagedShard_VerifyNamesItAndGoesOn_IntactSequencesStayReadable_LoaderSkipsItWhenAsked()
    {
        WriteThreeShards();
        var manifest = Manifest.Load(_dir);
        string damaged = Path.Combine(_dir, manifest.Shards[1].File);
        var bytes = File.ReadAllBytes(damaged);
        bytes[ShardHeader.Offsets.VocabSize] ^= 1; // the header: the whole shard is unreadable
        File.WriteAllBytes(damaged, bytes);

        var report = StoreVerifier.Verify(_dir);
        var fault = Assert.Single(report.Faults);
        Assert.Equal(damaged, fault.File);
        Assert.Equal(manifest.Shards.Count, report.Shards);

        Assert.Throws<StoreCorruptException>(() => StoreReader.Open(_dir)); // by default a damaged store does not open
        using var reader = StoreReader.Open(_dir, new StoreReaderOptions { OpenDamaged = true });
        Assert.Equal(damaged, Assert.Single(reader.Damage).File);
        var inDamaged = manifest.Shards[1].FirstSequence;
        Assert.Equal(damaged, Assert.Throws<StoreCorruptException>(() => reader.ReadSequence(inDamaged)).File);
        foreach (var shard in new[] { manifest.Shards[0], manifest.Shards[^1] })
            Assert.Equal(TestData.SyntheticSequence(shard.FirstSequence, 64).Tokens, reader.ReadSequence(shard.FirstSequence).Tokens);

        var options = new BatchLoaderOptions { BatchSize = 2, SequenceLength = 64, Width = 8, Workers = 1, RingSize = 2 };
        using (var failing = new BatchLoader(reader, options with { Shuffle = false }))
            Assert.Throws<StoreCorruptException>(() => Drain(failing));
        using var skipping = new BatchLoader(reader, options with { SkipDamagedBlocks = true, Shuffle = false });
        int intact = 12 - (int)manifest.Shards[1].Sequences;
        Assert.Equal(intact / 2, skipping.StepsPerEpoch);
        Assert.Equal((int)manifest.Shards[1].Blocks, skipping.SkippedBlocks);
        var seen = new HashSet<string>();
        for (long s = 0; s < skipping.StepsPerEpoch; s++)
        {
            var batch = skipping.Next();
            foreach (var row in batch.Tokens.Slice(0, 2 * 64).ToArray().Chunk(64)) seen.Add(string.Join(',', row));
            skipping.Release(batch);
        }
        Assert.Equal(intact, seen.Count);
    }

    [Fact]
    public void DamagedDictionary_NamesItself_NotAMissingRankTable()
    {
        WriteThreeShards();
        var manifest = Manifest.Load(_dir);
        var mvq = manifest.Dictionaries.Single(d => d.Kind == "mvq");
        string path = Path.Combine(_dir, mvq.File);
        var bytes = File.ReadAllBytes(path);
        bytes[^1] ^= 1;
        File.WriteAllBytes(path, bytes);
        var report = StoreVerifier.Verify(_dir);
        Assert.Contains(report.Faults, f => f.File == path);
        Assert.DoesNotContain(report.Faults, f => f.Message.Contains("lists no id rank table"));
        Assert.All(report.Faults.Where(f => f.File != path), f => Assert.Contains(mvq.File, f.Message));
    }

    [Fact]
    public void CompleteStore_WithAShardTheManifestDoesNotList_FailsVerify()
    {
        WriteThreeShards();
        var manifest = Manifest.Load(_dir);
        var shorter = manifest.Shards.Take(manifest.Shards.Count - 1).ToList();
        manifest.Shards = shorter;
        manifest.RecomputeTotals();
        File.WriteAllBytes(ManifestPath, manifest.ToUtf8()); // an older, valid manifest put back
        var report = StoreVerifier.Verify(_dir);
        Assert.Contains(report.Faults, f => f.Problem.Contains("not listed"));
    }

    private static void Drain(BatchLoader loader)
    {
        for (long s = 0; s < loader.StepsPerEpoch; s++)
        {
            var batch = loader.Next();
            loader.Release(batch);
        }
    }
}
