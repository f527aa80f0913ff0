using System.Buffers.Binary;
using LogitStore.Hosting;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Tests.Ingest;

public class StreamPartTests
{
    private static readonly CodecOptions Codecs = new() { SequencesPerBlock = 2, Values = ValueCodecSpec.F32, Ids = IdCodecSpec.Packed };
    private static readonly ProcessingOptions TopK = new() { Method = TruncationMethod.TopK, TopK = 8 };

    /// <summary>Sequences [first, first + count) of one seeded teacher, as a stream (version 2 when first > 0).</summary>
    internal static byte[] PartStream(ulong first, int count)
    {
        var whole = StreamIngestTests.TopKStream((int)first + count, 6, 50, 4, seed: 7);
        var header = new StreamHeader(StreamPayloadKind.TopKLogProbs, 50, 4, 0, "test-teacher");
        var ms = new MemoryStream();
        ms.Write(new StreamHeader(StreamPayloadKind.TopKLogProbs, 50, 4, first, "test-teacher").ToBytes());
        int at = header.Size;
        for (int s = 0; s < (int)first + count; s++)
        {
            int length = 8 + BinaryPrimitives.ReadInt32LittleEndian(whole.AsSpan(at + 4));
            if (s >= (int)first) ms.Write(whole.AsSpan(at, length));
            at += length;
        }
        var end = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(end, (ulong)count);
        ms.Write(StreamFrame.Encode(StreamFrame.EndType, end));
        return ms.ToArray();
    }

    private static async Task<Manifest> PackAsync(string dir, byte[] stream, PartSpec? part) =>
        await Pack.RunAsync(
            dir, await StreamPackSource.OpenAsync(TeacherStream.FromStream("part-stream", new MemoryStream(stream)), default, part: part),
            TopK, Codecs, overwrite: true, workers: 2);

    [Fact]
    public async Task StreamParts_MergeIntoTheStoreOfOneStream()
    {
        string root = TestData.TempDir();
        try
        {
            var whole = await PackAsync(Path.Combine(root, "whole"), PartStream(0, 11), null);
            (ulong First, int Count)[] slices = [(0, 4), (4, 2), (6, 5)];
            var dirs = new List<string>();
            for (int i = 0; i < slices.Length; i++)
            {
                dirs.Add(Path.Combine(root, $"p{i}"));
                var m = await PackAsync(dirs[i], PartStream(slices[i].First, slices[i].Count), new PartSpec(i, 3));
                Assert.Equal((ulong)slices[i].Count, m.Partition!.SequenceCount);
            }
            var merged = StoreMerger.Merge(Path.Combine(root, "merged"), dirs);
            Assert.Equal(StoreFingerprint.Recorded(whole), StoreFingerprint.Recorded(merged));
            using var a = StoreReader.Open(Path.Combine(root, "whole"));
            using var b = StoreReader.Open(Path.Combine(root, "merged"));
            for (ulong s = 0; s < 11; s++)
            {
                var (x, y) = (a.ReadSequence(s), b.ReadSequence(s));
                Assert.Equal(x.Tokens, y.Tokens);
                Assert.Equal(x.Ids, y.Ids);
                Assert.Equal(x.Probs, y.Probs);
            }
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task Merge_RefusesAGapAnOverlapAndAShortBlockInside_NamingThePart()
    {
        string root = TestData.TempDir();
        try
        {
            async Task<string> Part(string name, ulong first, int count, int index, int of)
            {
                string dir = Path.Combine(root, name);
                await PackAsync(dir, PartStream(first, count), new PartSpec(index, of));
                return dir;
            }
            string p0 = await Part("p0", 0, 4, 0, 2);
            var gap = await Assert.ThrowsAsync<InvalidOperationException>(
                async () => StoreMerger.Merge(Path.Combine(root, "m1"), [p0, await Part("gap", 6, 2, 1, 2)]));
            Assert.Contains("gap", gap.Message);
            var overlap = await Assert.ThrowsAsync<InvalidOperationException>(
                async () => StoreMerger.Merge(Path.Combine(root, "m2"), [p0, await Part("overlap", 2, 4, 1, 2)]));
            Assert.Contains("overlap", overlap.Message);
            // A part that is not the last must hold whole blocks: refused when its stream ends.
            var shortPart = await Assert.ThrowsAsync<StoreCorruptException>(() => Part("short", 0, 3, 0, 2));
            Assert.Contains("not a multiple of sequences_per_block", shortPart.Message);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task AStreamPastSequenceZero_NeedsAPart_AndAVersion1StreamStaysAccepted()
    {
        string root = TestData.TempDir();
        try
        {
            var ex = await Assert.ThrowsAsync<PartRequiredException>(() => PackAsync(Path.Combine(root, "a"), PartStream(4, 2), null));
            Assert.Equal(4UL, ex.FirstSequence);
            var v1 = PartStream(0, 2);
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(v1.AsSpan(StreamHeader.Offsets.Version)));
            Assert.Equal(2UL, (await PackAsync(Path.Combine(root, "b"), v1, null)).Totals.Sequences);
        }
        finally { Directory.Delete(root, true); }
    }

    [Theory]
    [InlineData("auto", "SLURM_ARRAY_TASK_ID=4,SLURM_ARRAY_TASK_MIN=1,SLURM_ARRAY_TASK_COUNT=4", 3, 4)]
    [InlineData("auto/8", "JOB_COMPLETION_INDEX=5", 5, 8)]
    [InlineData("auto", "RANK=1,WORLD_SIZE=2", 1, 2)]
    [InlineData("auto", "SLURM_ARRAY_TASK_ID=0,SLURM_ARRAY_TASK_COUNT=2,RANK=1,WORLD_SIZE=3", 0, 2)]
    [InlineData("2/3", "RANK=1,WORLD_SIZE=2", 2, 3)]
    public void PartAuto_ReadsTheSchedulersVariables_AndSaysWhich(string text, string variables, int index, int count)
    {
        var env = variables.Split(',').Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);
        var (part, from) = SchedulerPartition.Parse(text, name => env.GetValueOrDefault(name));
        Assert.Equal(new PartSpec(index, count), part);
        if (text.StartsWith("auto")) Assert.Contains(env.Keys.First(), from);
        else Assert.Null(from);
    }

    [Theory]
    [InlineData("auto", "")]
    [InlineData("auto", "JOB_COMPLETION_INDEX=1")]
    [InlineData("auto", "RANK=2,WORLD_SIZE=2")]
    public void PartAuto_RefusesWhatItCannotPlace(string text, string variables)
    {
        var env = variables.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(v => v.Split('=')).ToDictionary(v => v[0], v => v[1]);
        var refused = Assert.Throws<SettingException>(() => SchedulerPartition.Parse(text, name => env.GetValueOrDefault(name)));
        Assert.Equal("part", refused.Setting);
    }
}
