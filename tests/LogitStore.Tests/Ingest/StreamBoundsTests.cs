using System.Buffers;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Writing;

namespace LogitStore.Tests.Ingest;

public class StreamBoundsTests
{
    [Theory]
    [InlineData(0xFFFFFFFFu)]
    [InlineData(0x80000001u)]
    [InlineData(1u)]
    public void HeaderVocabularyOutsideItsBounds_IsRefusedAtItsOffset(uint vocab)
    {
        var bytes = new StreamHeader(StreamPayloadKind.FullLogits, 1000, 0, 0, "t").ToBytes();
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(12), vocab);
        var buffer = new ReadOnlySequence<byte>(bytes);
        var e = Assert.Throws<StoreCorruptException>(() => StreamHeader.TryRead(ref buffer, "stdin", out _));
        Assert.Equal(12, e.Offset);
    }

    [Fact]
    public async Task SocketPath_NeverReplacesAnExistingFile()
    {
        string path = Path.Combine(TestData.TempDir(), "precious.txt");
        File.WriteAllText(path, "keep me");
        await Assert.ThrowsAsync<ArgumentException>(() => TeacherStream.OpenAsync("unix:" + path, CancellationToken.None));
        Assert.Equal("keep me", File.ReadAllText(path));
    }

    [Fact]
    public async Task CancelledWaitForAProducer_RemovesItsSocket()
    {
        string path = Path.Combine(TestData.TempDir(), "teacher.sock");
        using var cts = new CancellationTokenSource();
        string? listening = null;
        var open = TeacherStream.OpenAsync("unix:" + path, cts.Token, p => listening = p);
        while (listening is null) await Task.Delay(10);
        Assert.True(File.Exists(path));
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => open);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void OversizedSequenceFrame_IsRefusedFromItsFirstTwelveBytes_BeforeItsPayloadArrives()
    {
        var header = new StreamHeader(StreamPayloadKind.TopKLogProbs, 1000, 8, 0, "t");
        var bytes = new byte[12];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes, StreamFrame.SequenceType);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), 1u << 30);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(8), 16); // 16 tokens: at most 1,124 bytes
        var buffer = new ReadOnlySequence<byte>(bytes);
        var e = Assert.Throws<StoreCorruptException>(() => StreamFrame.TryRead(ref buffer, 100, "stdin", header, out _));
        Assert.Equal(104, e.Offset);
        Assert.Contains("16 tokens", e.Message);
    }

    [Fact]
    public void FullLogitsHeader_WhoseOnePositionCannotFitAFrame_IsRefusedAtItsVocabSize()
    {
        var bytes = new StreamHeader(StreamPayloadKind.FullLogits, 1u << 28, 0, 0, "t").ToBytes();
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.Equal(12, Assert.Throws<StoreCorruptException>(() => StreamHeader.TryRead(ref buffer, "stdin", out _)).Offset);
    }

    [Fact]
    public async Task LogProbabilitiesWithMassAboveOne_AreRefused()
    {
        var stream = StreamIngestTests.TopKStream(2, 3, 100, 4, 1, (s, t, ids, lp) => { if (s == 1 && t == 2) lp[0] = 0; });
        var e = await Assert.ThrowsAsync<StoreCorruptException>(() => PackAsync(stream));
        Assert.Contains("mass", e.Message);
    }

    [Fact]
    public async Task BytesAfterTheEndFrame_AreRefused()
    {
        var stream = StreamIngestTests.TopKStream(2, 3, 100, 4, 1);
        var e = await Assert.ThrowsAsync<StoreCorruptException>(() => PackAsync([.. stream, 0x01]));
        Assert.Equal(stream.Length, e.Offset);
    }

    private static Task PackAsync(byte[] stream) =>
        StreamPack.RunAsync(
            TestData.TempDir(),
            TeacherStream.FromStream("test-stream", new MemoryStream(stream)),
            new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 4 },
            new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32, SequencesPerBlock = 2 },
            overwrite: true);
}
