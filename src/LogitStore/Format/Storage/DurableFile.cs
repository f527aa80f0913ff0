using System.Runtime.InteropServices;

namespace LogitStore.Format.Storage;

/// <summary>
/// The one crash-safe commit of the store (spec 2.5): a file is written under a temporary name, flushed to disk,
/// renamed over its final name, and the rename made durable by syncing the directory. A reader sees the old file or
/// the new one, never a mix, and a crash leaves at most a temporary file that the next writer removes.
/// </summary>
public static partial class DurableFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAtomic(string path, ReadOnlySpan<byte> bytes)
    {
        using var file = Create(path, bufferSize: 0);
        file.Stream.Write(bytes);
        file.Commit();
    }

    /// <summary>
    /// Opens <paramref name="path"/>'s temporary file for writing; <see cref="PendingFile.Commit"/> moves it into place,
    /// disposing it uncommitted removes it.
    /// </summary>
    public static PendingFile Create(string path, int bufferSize = 1 << 20) => new(path, bufferSize);

    /// <summary>Makes a rename or create inside <paramref name="directory"/> durable (no-op where the OS cannot).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return;
        int fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) return;
        try { Fsync(fd); }
        finally { Close(fd); }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync")]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>A file being written under its temporary name until <see cref="Commit"/> moves it into place.</summary>
public sealed class PendingFile : IDisposable
{
    private readonly string _finalPath;
    private readonly string _tempPath;
    private bool _done;

    internal PendingFile(string path, int bufferSize)
    {
        _finalPath = Path.GetFullPath(path);
        _tempPath = _finalPath + FormatConstants.TempSuffix;
        Stream = new FileStream(_tempPath, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize);
    }

    /// <summary>The temporary file's stream.</summary>
    public FileStream Stream { get; }

    /// <summary>Flushes the file to disk, renames it over the final name and syncs the directory; returns its length.</summary>
    public long Commit()
    {
        if (_done) throw new InvalidOperationException($"{_finalPath} is already committed or abandoned");
        Stream.Flush(flushToDisk: true);
        long length = Stream.Length;
        Stream.Dispose();
        File.Move(_tempPath, _finalPath, overwrite: true);
        _done = true;
        DurableFile.SyncDirectory(Path.GetDirectoryName(_finalPath)!);
        return length;
    }

    /// <summary>Abandons an uncommitted file: the temporary file is removed, the final name untouched.</summary>
    public void Dispose()
    {
        if (_done) return;
        _done = true;
        Stream.Dispose();
        try { File.Delete(_tempPath); } catch (IOException) { }
    }
}
