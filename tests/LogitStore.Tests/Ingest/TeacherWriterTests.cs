using System.Buffers.Binary;
using System.Text.Json.Nodes;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Tests.Ingest;

/// <summary>
/// The in-process writer writes the store a stream pack writes of the same sequences (byte for byte but for the
/// manifest's source), refuses bad input before it takes it, and finishes an aborted store as a stream resume does.
/// </summary>
public class TeacherWriterTests
{
    private const uint Vocab = 300;

    /// <summary>One sequence as a producer has it: tokens, and full logits [T, V] or top-k lists [T, K] with counts.</summary>
    private sealed record Sequence(int[] Tokens, float[]? Logits, int[]? Ids, float[]? LogProbs, int Width, int[]? Counts);

    private static Sequence[] TopKSequences(int count, int length, int k, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ =>
        {
            var tokens = Enumerable.Range(0, length).Select(_ => rng.Next((int)Vocab)).ToArray();
            var ids = new int[length * k];
            var lps = new float[length * k];
            var counts = new int[length];
            for (int t = 0; t < length; t++)
            {
                var chosen = Enumerable.Range(0, (int)Vocab).OrderBy(_ => rng.Next()).Take(k).ToArray();
                var logits = chosen.Select(_ => rng.NextDouble() * 8).OrderByDescending(l => l).ToArray();
                double z = Math.Log(logits.Sum(Math.Exp) / 0.9);
                counts[t] = 1 + rng.Next(k);
                for (int j = 0; j < k; j++) (ids[t * k + j], lps[t * k + j]) = (chosen[j], (float)(logits[j] - z));
            }
            return new Sequence(tokens, null, ids, lps, k, counts);
        })];
    }

    private static Sequence[] LogitSequences(int count, int length, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, count).Select(_ => new Sequence(
            [.. Enumerable.Range(0, length).Select(_ => rng.Next((int)Vocab))],
            [.. Enumerable.Range(0, length * (int)Vocab).Select(_ => (float)(rng.NextDouble() * 12 - 6))],
            null, null, 0, null))];
    }

    /// <summary>The same sequences in the stream protocol (a part's when <paramref name="first"/> &gt; 0).</summary>
    private static byte[] Stream(Sequence[] sequences, ulong first = 0, int take = -1)
    {
        bool topK = sequences[0].Logits is null;
        var ms = new MemoryStream();
        var kind = topK ? StreamPayloadKind.TopKLogProbs : StreamPayloadKind.FullLogits;
        ms.Write(new StreamHeader(kind, Vocab, topK ? (uint)sequences[0].Width : 0, first, "writer-teacher").ToBytes());
        int sent = take < 0 ? sequences.Length : take;
        foreach (var s in sequences.Take(sent))
        {
            var payload = new MemoryStream();
            var w = new BinaryWriter(payload);
            w.Write((uint)s.Tokens.Length);
            foreach (int token in s.Tokens) w.Write((uint)token);
            for (int t = 0; t < s.Tokens.Length; t++)
            {
                if (!topK)
                {
                    for (int j = 0; j < Vocab; j++) w.Write(s.Logits![t * (int)Vocab + j]);
                    continue;
                }
                int n = s.Counts![t];
                w.Write((ushort)n);
                for (int j = 0; j < n; j++) w.Write((uint)s.Ids![t * s.Width + j]);
                for (int j = 0; j < n; j++) w.Write(s.LogProbs![t * s.Width + j]);
            }
            ms.Write(StreamFrame.Encode(StreamFrame.SequenceType, payload.ToArray()));
        }
        var end = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(end, (ulong)sent);
        ms.Write(StreamFrame.Encode(StreamFrame.EndType, end));
        return ms.ToArray();
    }

    private static void Append(TeacherWriter writer, Sequence s, bool tokensOnly = false)
    {
        if (s.Logits is not null) writer.AppendLogits(s.Tokens, tokensOnly ? default : s.Logits);
        else if (tokensOnly) writer.AppendTopK(s.Tokens, default, default, 0, default);
        else writer.AppendTopK(s.Tokens, s.Ids, s.LogProbs, s.Width, s.Counts);
    }

    private static TeacherWriterOptions Options(ProcessingOptions processing, CodecOptions codecs) => new()
    {
        VocabSize = Vocab, TeacherId = "writer-teacher", Processing = processing, Codecs = codecs, Workers = 2, IdentitySeed = 7,
    };

    private static readonly ProcessingOptions TopPK = new() { Method = TruncationMethod.TopPK, TopP = 0.9f, TopK = 6 };

    /// <summary>Small blocks, shards and dictionary sample, so that a few sequences train dictionaries and roll shards.</summary>
    private static CodecOptions Codecs(string ids, string values) => new()
    {
        Ids = IdCodecSpec.Parse(ids), Values = ValueCodecSpec.Parse(values), SequencesPerBlock = 2, ShardTargetBytes = 4096,
        DictionarySample = 40,
    };

    public static TheoryData<string, string, bool> Cases => new()
    {
        { "context", "mvq:4", true },
        { "context", "q8", false },
        { "packed", "f32", true },
        { "ranked", "q4", false },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task WrittenStore_EqualsTheStreamPackOfTheSameSequences_ButForItsSource(string ids, string values, bool topK)
    {
        string root = TestData.TempDir();
        try
        {
            var sequences = topK ? TopKSequences(9, 40, 8, seed: 1) : LogitSequences(9, 40, seed: 2);
            var codecs = Codecs(ids, values);
            string streamed = Path.Combine(root, "stream"), written = Path.Combine(root, "writer");
            await StreamPack.RunAsync(
                streamed, TeacherStream.FromStream("s", new MemoryStream(Stream(sequences))), TopPK, codecs, workers: 2, identitySeed: 7);
            using (var writer = TeacherWriter.Create(written, Options(TopPK, codecs)))
            {
                foreach (var s in sequences) Append(writer, s);
                Assert.True(writer.Commit().IsComplete);
            }
            Assert.True(Manifest.Load(streamed).Shards.Count > 1);
            AssertSameStore(streamed, written);
            Assert.True(StoreVerifier.Verify(written).Ok);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public async Task WrittenPart_EqualsTheStreamPackOfThePart()
    {
        string root = TestData.TempDir();
        try
        {
            var sequences = TopKSequences(6, 5, 4, seed: 3);
            var codecs = Codecs("packed", "q8");
            string streamed = Path.Combine(root, "stream"), written = Path.Combine(root, "writer");
            await Pack.RunAsync(
                streamed,
                await StreamPackSource.OpenAsync(
                    TeacherStream.FromStream("s", new MemoryStream(Stream(sequences, 4))), default, part: new(1, 2)),
                TopPK, codecs, identitySeed: 7);
            using (var writer = TeacherWriter.Create(written, Options(TopPK, codecs) with { Part = new(1, 2), FirstSequence = 4 }))
            {
                foreach (var s in sequences) Append(writer, s);
                Assert.Equal(6ul, writer.Commit().Partition!.SequenceCount);
            }
            AssertSameStore(streamed, written);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void AbortedWriter_IsFinishedByAResume_ToTheStoreOfAnUninterruptedWrite()
    {
        string root = TestData.TempDir();
        try
        {
            var sequences = LogitSequences(16, 64, seed: 4);
            var options = Options(TopPK, Codecs("packed", "q8"));
            string whole = Path.Combine(root, "whole"), resumed = Path.Combine(root, "resumed");
            using (var writer = TeacherWriter.Create(whole, options))
            {
                foreach (var s in sequences) Append(writer, s);
                writer.Commit();
            }
            using (var writer = TeacherWriter.Create(resumed, options))
            {
                foreach (var s in sequences.Take(11)) Append(writer, s);
                writer.Abort();
            }
            var partial = Manifest.Load(resumed);
            Assert.False(partial.IsComplete);
            Assert.InRange(partial.Totals.Sequences, 2ul, 10ul);
            var before = partial.Shards.Select(s => s.File).ToArray();

            using (var writer = TeacherWriter.Resume(resumed, options))
            {
                Assert.Equal(partial.Totals.Sequences, writer.Committed);
                for (int i = 0; i < sequences.Length; i++) Append(writer, sequences[i], tokensOnly: writer.NextIsResent && i % 2 == 0);
                Assert.True(writer.Commit().IsComplete);
            }
            foreach (string file in before)
                Assert.Equal(File.ReadAllBytes(Path.Combine(whole, file)), File.ReadAllBytes(Path.Combine(resumed, file)));
            AssertSameSequences(whole, resumed);
            Assert.True(StoreVerifier.Verify(resumed).Ok);

            using var again = TeacherWriter.Resume(resumed, options);
            Assert.True(again.WasComplete);
            foreach (var s in sequences) Append(again, s, tokensOnly: true);
            Assert.Throws<InvalidOperationException>(() => Append(again, sequences[0], tokensOnly: true));
            Assert.True(again.Commit().IsComplete);
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void Resume_RefusesOtherSettingsAndAnotherCorpus()
    {
        string dir = TestData.TempDir();
        try
        {
            var sequences = TopKSequences(8, 64, 5, seed: 5);
            var options = Options(TopPK, Codecs("packed", "f32"));
            using (var writer = TeacherWriter.Create(dir, options))
            {
                foreach (var s in sequences.Take(7)) Append(writer, s);
            }
            Assert.True(Manifest.Load(dir).Totals.Sequences > 0);
            var changed = Assert.Throws<ArgumentException>(() => TeacherWriter.Resume(
                dir, options with { Processing = TopPK with { TopK = 5 }, TeacherId = "other" }));
            Assert.Contains("top_k: 6 recorded, 5 given", changed.Message);
            Assert.Contains("teacher_id: writer-teacher recorded, other given", changed.Message);

            using var writer2 = TeacherWriter.Resume(dir, options);
            var other = TopKSequences(8, 64, 5, seed: 6);
            var refused = Assert.Throws<ArgumentException>(() =>
            {
                for (ulong i = 0; i < writer2.Committed; i++) Append(writer2, other[i]);
            });
            Assert.Contains("not the ones the store committed", refused.Message);
            Assert.Throws<InvalidOperationException>(() => Append(writer2, sequences[0]));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void BadSettings_AreRefusedBeforeAnyFileIsWritten()
    {
        string root = TestData.TempDir();
        try
        {
            var good = Options(TopPK, Codecs("packed", "f32"));
            TeacherWriterOptions[] bad =
            [
                good with { VocabSize = 1 },
                good with { Processing = TopPK with { TopK = 0 } },
                good with { Processing = TopPK with { Temperature = -1 } },
                good with { Codecs = good.Codecs with { Values = ValueCodecSpec.Counts } },
                good with { FirstSequence = 4 },
                good with { Part = new(1, 2) },
                good with { Part = new(1, 2), FirstSequence = 3 },
                good with { Workers = -1 },
            ];
            foreach (var options in bad)
            {
                string dir = Path.Combine(root, "store");
                Assert.ThrowsAny<ArgumentException>(() => TeacherWriter.Create(dir, options));
                Assert.False(Directory.Exists(dir), $"{options} left {dir}");
            }
        }
        finally { Directory.Delete(root, true); }
    }

    [Fact]
    public void BadSequences_AreRefusedWhole_AndTheWriterGoesOn()
    {
        string dir = TestData.TempDir();
        try
        {
            var topK = TopKSequences(3, 4, 3, seed: 8)[0];
            var logits = LogitSequences(1, 4, seed: 9)[0];
            using var writer = TeacherWriter.Create(dir, Options(TopPK, Codecs("packed", "f32")));
            void Refused(string expected, Action append) => Assert.Contains(expected, Assert.Throws<ArgumentException>(append).Message);
            Refused("tokens: position 1: token 300", () => writer.AppendLogits([1, 300, 2, 3], logits.Logits));
            Refused("logits: 1199 values", () => writer.AppendLogits(logits.Tokens, logits.Logits.AsSpan(1)));
            var nan = (float[])logits.Logits!.Clone();
            nan[2 * Vocab + 7] = float.NaN;
            Refused("logits: position 2: logit NaN of id 7 is not finite", () => writer.AppendLogits(logits.Tokens, nan));
            var twice = (int[])topK.Ids!.Clone();
            twice[1] = twice[0];
            Refused("ids: position 0: id", () => writer.AppendTopK(topK.Tokens, twice, topK.LogProbs, 3, [3, 1, 1, 1]));
            var positive = (float[])topK.LogProbs!.Clone();
            positive[4] = 0.5f;
            Refused("logprobs: position 1: log-probability 0.5", () => writer.AppendTopK(topK.Tokens, topK.Ids, positive, 3, default));
            Refused("counts: position 0 counts 4", () => writer.AppendTopK(topK.Tokens, topK.Ids, topK.LogProbs, 3, [4, 1, 1, 1]));
            Assert.Equal(0ul, writer.Received);
            Append(writer, topK);
            Append(writer, logits);
            Assert.Equal(2ul, writer.Commit().Totals.Sequences);

            string hot = Path.Combine(dir, "hot");
            using var warm = TeacherWriter.Create(hot, Options(TopPK with { Temperature = 2 }, Codecs("packed", "f32")));
            Refused("temperature 1", () => Append(warm, topK));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task PackResume_OfAWritersStore_SaysToResumeTheWriter()
    {
        string dir = TestData.TempDir();
        try
        {
            TeacherWriter.Register();
            using (var writer = TeacherWriter.Create(dir, Options(TopPK, Codecs("packed", "f32"))))
                foreach (var s in TopKSequences(5, 4, 3, seed: 10)) Append(writer, s);
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => Pack.ResumeAsync(dir, new PackResumeInputs()));
            Assert.Contains("resume=True", refused.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>The same files; shards and dictionaries byte for byte, the manifests equal but for source and checksum.</summary>
    internal static void AssertSameStore(string expected, string actual)
    {
        string[] Files(string d) => [.. Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(d, f)).Where(f => f != FormatConstants.WriterLockFileName).Order(StringComparer.Ordinal)];
        Assert.Equal(Files(expected), Files(actual));
        foreach (string file in Files(expected).Where(f => f != FormatConstants.ManifestFileName))
            Assert.True(
                File.ReadAllBytes(Path.Combine(expected, file)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(actual, file))),
                $"{file} differs");
        JsonObject Manifest(string d)
        {
            var m = JsonNode.Parse(File.ReadAllText(Path.Combine(d, FormatConstants.ManifestFileName)))!.AsObject();
            m.Remove("source");
            m.Remove("manifest_xxh3");
            return m;
        }
        Assert.Equal(Manifest(expected).ToJsonString(), Manifest(actual).ToJsonString());
        var source = JsonNode.Parse(File.ReadAllText(Path.Combine(actual, FormatConstants.ManifestFileName)))!["source"]!;
        Assert.Equal(TeacherWriter.Kind, (string?)source["kind"]);
    }

    private static void AssertSameSequences(string expected, string actual)
    {
        using var a = StoreReader.Open(expected);
        using var b = StoreReader.Open(actual);
        Assert.Equal(a.SequenceCount, b.SequenceCount);
        for (ulong s = 0; s < a.SequenceCount; s++)
        {
            var (x, y) = (a.ReadSequence(s), b.ReadSequence(s));
            Assert.Equal(x.Tokens.ToArray(), y.Tokens.ToArray());
            Assert.Equal(x.KeptCounts.ToArray(), y.KeptCounts.ToArray());
            Assert.Equal(x.Ids.ToArray(), y.Ids.ToArray());
            Assert.Equal(x.Probs.ToArray(), y.Probs.ToArray());
            Assert.Equal(x.Residual.ToArray(), y.Residual.ToArray());
        }
    }
}
