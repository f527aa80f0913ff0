using System.Buffers;
using LogitStore.Format;
using LogitStore.Ingest;

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
}
