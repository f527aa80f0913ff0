using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace LogitStore.Format;

/// <summary>
/// The one writer of a store directory (spec 2.5.1): an exclusive advisory lock on <c>writer.lock</c>, taken before
/// anything in the store is written and held until the writer commits or stops. The kernel drops the lock when its
/// process dies, so a lock a killed writer left is taken over by the next one; the file's text only names the holder.
/// </summary>
public sealed partial class StoreWriteLock : IDisposable
{
    private int _fd;
    private FileStream? _portable;

    private StoreWriteLock(int fd, FileStream? portable)
    {
        _fd = fd;
        _portable = portable;
    }

    /// <summary>
    /// Takes the lock of the store at <paramref name="directory"/> (created when missing) for <paramref name="purpose"/>
    /// (what the holder does, as a refused writer will read it); throws <see cref="StoreLockedException"/> naming the
    /// holder when another writer has it.
    /// </summary>
    public static StoreWriteLock Acquire(string directory, string purpose)
    {
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FormatConstants.WriterLockFileName);
        byte[] holder = HolderText(purpose);
        if (!OperatingSystem.IsLinux()) return AcquirePortable(directory, path, holder); // the constants below are Linux's
        int fd = Open(path, OpenReadWrite | OpenCreate | OpenCloseOnExec, 0b110_100_100);
        if (fd < 0) throw new IOException($"{path}: cannot open the store's writer lock (errno {Marshal.GetLastPInvokeError()})");
        if (Flock(fd, LockExclusive | LockNonBlocking) != 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            string text = ReadHolder(fd);
            Close(fd);
            throw errno == WouldBlock
                ? new StoreLockedException(directory, text)
                : new IOException($"{path}: cannot lock the store for writing (errno {errno})");
        }
        // Ours now: the text of a writer that died holding it goes, ours replaces it.
        if (Ftruncate(fd, 0) != 0 || Pwrite(fd, holder, holder.Length, 0) != holder.Length)
        {
            Close(fd);
            throw new IOException($"{path}: cannot record the store's writer (errno {Marshal.GetLastPInvokeError()})");
        }
        return new StoreWriteLock(fd, null);
    }

    private static StoreWriteLock AcquirePortable(string directory, string path, byte[] holder)
    {
        try
        {
            var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            fs.SetLength(0);
            fs.Write(holder);
            fs.Flush();
            return new StoreWriteLock(-1, fs);
        }
        catch (IOException) when (File.Exists(path))
        {
            throw new StoreLockedException(directory, "another process");
        }
    }

    /// <summary>One line of JSON: process id, host, what it does and since when (UTC).</summary>
    private static byte[] HolderText(string purpose)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("pid", Environment.ProcessId);
            json.WriteString("host", Environment.MachineName);
            json.WriteString("purpose", purpose);
            json.WriteString("since", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }

    /// <summary>The holder as a refused writer words it: "pid 12 on host h (pack, since ...)", or what the file says.</summary>
    private static string ReadHolder(int fd)
    {
        var buffer = new byte[1024];
        long n = Pread(fd, buffer, buffer.Length, 0);
        string text = n > 0 ? Encoding.UTF8.GetString(buffer, 0, (int)n).Trim() : "";
        try
        {
            using var doc = JsonDocument.Parse(text);
            var o = doc.RootElement;
            return $"pid {o.GetProperty("pid").GetInt32()} on host {o.GetProperty("host").GetString()} " +
                $"({o.GetProperty("purpose").GetString()}, since {o.GetProperty("since").GetString()})";
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return text.Length > 0 ? $"a writer that recorded '{text}'" : "a writer that has not yet recorded itself";
        }
    }

    /// <summary>Drops the lock; the file stays (removing it would race a writer that has just opened it).</summary>
    public void Dispose()
    {
        if (_fd >= 0) Close(_fd);
        _fd = -1;
        _portable?.Dispose();
        _portable = null;
    }

    private const int OpenReadWrite = 2, OpenCreate = 0x40, OpenCloseOnExec = 0x80000;
    private const int LockExclusive = 2, LockNonBlocking = 4, WouldBlock = 11;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static partial int Flock(int fd, int operation);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int Ftruncate(int fd, long length);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint Pwrite(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "pread", SetLastError = true)]
    private static partial nint Pread(int fd, byte[] buffer, nint count, long offset);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}

/// <summary>Another writer holds the store (spec 2.5.1); the message names it.</summary>
public sealed class StoreLockedException(string directory, string holder)
    : IOException($"{directory} is being written by {holder}; wait for it to finish, or stop it first")
{
    public string Directory { get; } = directory;

    public string Holder { get; } = holder;
}
