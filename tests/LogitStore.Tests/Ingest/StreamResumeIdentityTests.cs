using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;

namespace LogitStore.Tests.Ingest;

/// <summary>
/// A resumed stream pack takes only the stream it was packed from (stream-protocol.md 5): the resent sequences' tokens
/// must give the committed corpus fingerprint again, and the stream must reach past what is committed.
/// </summary>
public class StreamResumeIdentityTests
{
    private static readonly ProcessingOptions TopK = new() { Method = TruncationMethod.TopK, TopK = 8 };

    /// <summary>
    /// A store that committed two shards of a block each (4 sequences) of a stream that then ended without its end frame:
    /// the producer sends 4 sequences, waits for their commit, sends a fifth and stops.
    /// </summary>
    private static async Task<string> PartialStoreAsync(int seed)
    {
        string dir = TestData.TempDir();
        byte[] committed = StreamIngestTests.TopKStream(4, 256, 300, 8, seed, end: false);
        byte[] cut = StreamIngestTests.TopKStream(5, 256, 300, 8, seed, end: false);
        var pipe = new System.IO.Pipelines.Pipe();
        var pack = StreamPack.RunAsync(
            dir, TeacherStream.FromStream("first", pipe.Reader.AsStream()), TopK,
            new LogitStore.Writing.CodecOptions
            {
                SequencesPerBlock = 2, Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, ShardTargetBytes = 4096,
            },
            overwrite: true);
        await pipe.Writer.WriteAsync(committed);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!(File.Exists(Path.Combine(dir, FormatConstants.ManifestFileName)) && Manifest.Load(dir).EndSequence == 4))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(2), "the first 4 sequences were not committed");
            await Task.Delay(20);
        }
        await pipe.Writer.WriteAsync(cut.AsMemory(committed.Length));
        await pipe.Writer.CompleteAsync();
        var cutShort = await Assert.ThrowsAsync<StoreCorruptException>(() => pack);
        Assert.Contains("without an end frame", cutShort.Message);
        var manifest = Manifest.Load(dir);
        Assert.False(manifest.IsComplete);
        Assert.Equal(4ul, manifest.EndSequence);
        return dir;
    }

    private static Task<Manifest> ResumeAsync(string dir, byte[] stream) =>
        StreamPack.ResumeAsync(dir, TeacherStream.FromStream("resent", new MemoryStream(stream)));

    [Fact]
    public async Task AnotherProducersStream_IsRefused_AndTheStoreStillResumesFromItsOwn()
    {
        string dir = await PartialStoreAsync(seed: 5);
        try
        {
            var refused = await Assert.ThrowsAsync<StoreCorruptException>(
                () => ResumeAsync(dir, StreamIngestTests.TopKStream(8, 256, 300, 8, seed: 6)));
            Assert.Equal("resent", refused.File);
            Assert.Contains("not the ones the store committed", refused.Message);
            Assert.Equal(4ul, Manifest.Load(dir).EndSequence);

            var own = StreamIngestTests.TopKStream(8, 256, 300, 8, seed: 5);
            var resumed = await ResumeAsync(dir, own);
            Assert.True(resumed.IsComplete);
            string whole = TestData.TempDir();
            await StreamPack.RunAsync(
                whole, TeacherStream.FromStream("whole", new MemoryStream(own)), TopK,
                new LogitStore.Writing.CodecOptions { SequencesPerBlock = 2, Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32 },
                overwrite: true);
            using var a = StoreReader.Open(dir);
            using var b = StoreReader.Open(whole);
            Assert.Equal(b.SequenceCount, a.SequenceCount);
            for (ulong s = 0; s < a.SequenceCount; s++)
            {
                Assert.Equal(b.ReadSequence(s).Tokens, a.ReadSequence(s).Tokens);
                Assert.Equal(b.ReadSequence(s).Probs, a.ReadSequence(s).Probs);
            }
            Directory.Delete(whole, true);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task AStreamShorterThanWhatIsCommitted_IsRefused()
    {
        string dir = await PartialStoreAsync(seed: 5);
        try
        {
            var refused = await Assert.ThrowsAsync<StoreCorruptException>(
                () => ResumeAsync(dir, StreamIngestTests.TopKStream(3, 256, 300, 8, seed: 5)));
            Assert.Contains("ends after 3 sequences; the store already holds 4", refused.Message);
            Assert.False(Manifest.Load(dir).IsComplete);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
