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

    /// <summary>
    /// "-" for stdin; "unix:/path.sock" to listen on a Unix socket and accept one producer. The socket path must not
    /// exist (pack never deletes a file it did not make), and the socket is removed once the producer connected or
    /// the wait was cancelled. <paramref name="listening"/> is told the path once pack listens.
    /// </summary>
    public static async Task<TeacherStream> OpenAsync(string spec, CancellationToken ct, Action<string>? listening = null)
    {
        if (spec == "-") return FromStream("stdin", Console.OpenStandardInput());
        if (spec.StartsWith("unix:", StringComparison.Ordinal))
        {
            string path = spec["unix:".Length..];
            if (path.Length == 0) throw new SettingException("stream", "unix: needs a socket path, e.g. unix:/tmp/teacher.sock");
            if (File.Exists(path) || Directory.Exists(path))
                throw new ArgumentException(
                    $"{path} already exists: give a path where pack can create its socket (it never replaces a file)");
            var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            Socket conn;
            try
            {
                listener.Bind(new UnixDomainSocketEndPoint(path));
                listener.Listen(1);
                listening?.Invoke(path);
                conn = await listener.AcceptAsync(ct);
            }
            finally
            {
                listener.Dispose();
                File.Delete(path);   // the socket file this listener created; the connection stays open
            }
            var ns = new NetworkStream(conn, ownsSocket: true);
            return new TeacherStream(path, PipeReader.Create(ns, new StreamPipeReaderOptions(bufferSize: 1 << 20)), ns);
        }
        throw new SettingException("stream", $"takes '-' or unix:/path.sock, got '{spec}'");
    }

    /// <summary>
    /// Reads the stream to its end and drops it: a retried producer of a store that is already complete then finishes
    /// as it would have, instead of failing on a closed pipe.
    /// </summary>
    public async Task DrainAsync(CancellationToken ct)
    {
        while (true)
        {
            var result = await Reader.ReadAsync(ct);
            Reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted) return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Reader.CompleteAsync();
        if (_owned is not null) await _owned.DisposeAsync();
    }
}
