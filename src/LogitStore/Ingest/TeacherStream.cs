using System.IO.Pipelines;
using System.Net.Sockets;

namespace LogitStore.Ingest;

/// <summary>Where teacher records come from: standard input, a Unix socket (pack listens, one producer connects), or any stream.</summary>
public sealed class TeacherStream : IAsyncDisposable
{
    private readonly IAsyncDisposable? _owned;

    public TeacherStream(string name, PipeReader reader, IAsyncDisposable? owned = null)
    {
        Name = name;
        Reader = reader;
        _owned = owned;
    }

    public string Name { get; }
    public PipeReader Reader { get; }

    public static TeacherStream FromStream(string name, Stream stream) =>
        new(name, PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 20)));

    /// <summary>"-" for stdin; "unix:/path.sock" to listen on a Unix socket and accept one producer.</summary>
    public static async Task<TeacherStream> OpenAsync(string spec, CancellationToken ct)
    {
        if (spec == "-") return FromStream("stdin", Console.OpenStandardInput());
        if (spec.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = spec["unix:".Length..];
            if (File.Exists(path)) File.Delete(path);
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            listener.Bind(new UnixDomainSocketEndPoint(path));
            listener.Listen(1);
            var conn = await listener.AcceptAsync(ct);
            listener.Dispose();
            var ns = new NetworkStream(conn, ownsSocket: true);
            return new TeacherStream(path, PipeReader.Create(ns, new StreamPipeReaderOptions(bufferSize: 1 << 20)), ns);
        }
        throw new ArgumentException($"--from-stream takes '-' or unix:/path.sock, got '{spec}'");
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.CompleteAsync();
        if (_owned is not null) await _owned.DisposeAsync();
    }
}
