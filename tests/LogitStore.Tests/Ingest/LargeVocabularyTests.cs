using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Tests.Ingest;

/// <summary>
/// Memory follows the ids a pack sees, not the vocabulary a stream declares: codecs whose dictionaries hold a table per
/// vocabulary id refuse a vocabulary past their limit (spec 5.8) before anything is written or allocated for it.
/// </summary>
public class LargeVocabularyTests
{
    private const uint Vocabulary = 2_000_000_000;

    /// <summary>A stream declaring two billion ids, then one 8-token sequence keeping 4 ids per position.</summary>
    private static byte[] Stream()
    {
        var ms = new MemoryStream();
        ms.Write(new StreamHeader(StreamPayloadKind.TopKLogProbs, Vocabulary, 4, 0, "wide-teacher").ToBytes());
        var payload = new BinaryWriter(new MemoryStream());
        payload.Write(8u);
        for (uint t = 0; t < 8; t++) payload.Write(1_999_999_000u + t);
        for (int t = 0; t < 8; t++)
        {
            payload.Write((ushort)4);
            foreach (uint id in new[] { 7u, 1_999_999_999u, 123_456_789u, 42u }) payload.Write(id);
            foreach (double p in new[] { 0.5, 0.25, 0.125, 0.0625 }) payload.Write((float)Math.Log(p));
        }
        ms.Write(StreamFrame.Encode(StreamFrame.SequenceType, ((MemoryStream)payload.BaseStream).ToArray()));
        ms.Write(StreamFrame.Encode(StreamFrame.EndType, BitConverter.GetBytes(1UL)));
        return ms.ToArray();
    }

    private static Task<Manifest> PackAsync(string dir, CodecOptions codecs) =>
        StreamPack.RunAsync(
            dir, TeacherStream.FromStream("wide", new MemoryStream(Stream())),
            new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 4 }, codecs, overwrite: true);

    [Theory]
    [InlineData("context")]
    [InlineData("ranked")]
    public async Task DictionaryIdCodecs_RefuseAVocabularyPastTheirLimit_BeforeWritingAnything(string ids)
    {
        string dir = TestData.TempDir();
        try
        {
            var refused = await Assert.ThrowsAsync<SettingException>(
                () => PackAsync(dir, new CodecOptions { Ids = IdCodecSpec.Parse(ids) }));
            Assert.Contains("16,777,216", refused.Message);
            Assert.Contains("2,000,000,000", refused.Message);
            Assert.False(File.Exists(Path.Combine(dir, FormatConstants.ManifestFileName)));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task PackedIds_PackTheWideStore()
    {
        string dir = TestData.TempDir();
        try
        {
            await PackAsync(dir, new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8 });
            using var store = StoreReader.Open(dir);
            var s = store.ReadSequence(0);
            Assert.Equal(1_999_999_000, s.Tokens[0]);
            Assert.Contains(1_999_999_999, s.Ids.ToArray());
            Assert.True(StoreVerifier.Verify(dir).Ok);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
