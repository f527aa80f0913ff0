using LogitStore.Format;
using Microsoft.Win32.SafeHandles;

namespace LogitStore.Reading;

/// <summary>A shard file open for positioned reads (pread): a file cut short while open is an error, never a SIGBUS.</summary>
/// <remarks>
/// Not a memory map: touching a mapped page past a file's new end (another process truncated it) or on a failing disk
/// raises SIGBUS in the reading thread, which kills a host process such as Python, and no size check before the access
/// closes that window. A read copies a block's encoded bytes once, and checksum and decoder then see the same bytes.
/// Each read also compares the file's length (fstat) with the one the shard was checked at: a shard cut or grown in
/// place is being rewritten, and its blocks are not served even where they still lie inside the file.
/// </remarks>
internal sealed class ShardFile : IDisposable
{
    private readonly SafeFileHandle _handle;

    public ShardFile(string path)
    {
        Path = path;
        // Shared for writing: others may write it whatever we declare, and .NET caches the length of a handle that is
        // not shared for writing, which would blind the per-read length check. On Unix .NET takes a shared flock all
        // the same, so a cooperating writer that opens the shard exclusively (FileShare.None) is refused meanwhile.
        _handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        Length = RandomAccess.GetLength(_handle);
        if (Length == 0)
        {
            _handle.Dispose();
            throw new StoreCorruptException(path, 0, "file is empty");
        }
    }

    public string Path { get; }

    /// <summary>The file's length when it was opened: what the manifest, footer and block index were checked against.</summary>
    public long Length { get; }

    /// <summary>
    /// Fills <paramref name="into"/> from <paramref name="offset"/>; a file whose length changed since it was opened fails
    /// naming where it now ends.
    /// </summary>
    public void Read(long offset, Span<byte> into)
    {
        if (offset < 0 || offset + into.Length > Length)
            throw new StoreCorruptException(
                Path, offset, $"range of {into.Length} bytes runs past the end of the {Length}-byte file");
        long now = RandomAccess.GetLength(_handle);
        if (now != Length)
            throw new StoreCorruptException(
                Path,
                Math.Min(now, Length),
                $"file is now {now} bytes, {Length} when opened: {(now < Length ? "truncated" : "rewritten")} while open " +
                $"(read of [{offset}, +{into.Length}))");
        // The file can still be cut between the check and the read: the short read below names that case.
        int done = 0;
        while (done < into.Length)
        {
            int n = RandomAccess.Read(_handle, into[done..], offset + done);
            if (n == 0)
                throw new StoreCorruptException(
                    Path,
                    offset + done,
                    $"file ends at byte {offset + done}, inside [{offset}, +{into.Length}): it had {Length} bytes when opened " +
                    "and was truncated while open");
            done += n;
        }
    }

    public void Dispose() => _handle.Dispose();
}
