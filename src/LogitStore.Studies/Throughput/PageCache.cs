using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace LogitStore.Studies.Throughput;

/// <summary>How much of a file, or of several, the page cache holds: resident pages of all their pages.</summary>
public readonly record struct Residency(long ResidentPages, long Pages)
{
    /// <summary>Resident pages over all pages; 0 for empty files.</summary>
    public double Share => Pages == 0 ? 0 : ResidentPages / (double)Pages;

    public static Residency operator +(Residency a, Residency b) => new(a.ResidentPages + b.ResidentPages, a.Pages + b.Pages);
}

/// <summary>What dropping files from the page cache did: their residency before and after, and the files that kept pages.</summary>
public sealed record PageCacheDrop(Residency Before, Residency After, IReadOnlyList<string> FilesStillResident);

/// <summary>
/// Takes files out of the page cache so that the next read of them goes to the disk, and checks that it did: each file is
/// flushed (fsync, since dirty pages cannot be dropped), dropped with posix_fadvise(POSIX_FADV_DONTNEED) over its whole
/// length, and its residency read with mincore over a read-only map that touches none of its pages. Linux only: elsewhere
/// <see cref="CanDrop"/> is false and the calls throw <see cref="PlatformNotSupportedException"/>. Some filesystems (tmpfs)
/// keep every page whatever the advice; <see cref="PageCacheDrop.FilesStillResident"/> names such files.
/// </summary>
public static class PageCache
{
    public static bool CanDrop => OperatingSystem.IsLinux();

    /// <summary>The pages of <paramref name="path"/> the page cache holds now.</summary>
    public static Residency ResidencyOf(string path)
    {
        ThrowUnlessSupported();
        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
        return ResidentPages.Of(file, path);
    }

    /// <summary>The pages of all of <paramref name="paths"/> the page cache holds now.</summary>
    public static Residency ResidencyOf(IEnumerable<string> paths) =>
        paths.Aggregate(new Residency(0, 0), (sum, path) => sum + ResidencyOf(path));

    /// <summary>Flushes and drops every file of <paramref name="paths"/> from the page cache; says what stayed.</summary>
    public static PageCacheDrop Drop(IEnumerable<string> paths)
    {
        ThrowUnlessSupported();
        Residency before = new(0, 0), after = new(0, 0);
        var kept = new List<string>();
        foreach (string path in paths)
        {
            using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            var was = ResidentPages.Of(file, path);
            ResidentPages.FlushAndDrop(file, path);
            var now = ResidentPages.Of(file, path);
            before += was;
            after += now;
            if (now.ResidentPages > 0) kept.Add(path);
        }
        return new PageCacheDrop(before, after, kept);
    }

    private static void ThrowUnlessSupported()
    {
        if (!CanDrop)
            throw new PlatformNotSupportedException("dropping files from the page cache needs posix_fadvise and mincore (Linux)");
    }

    /// <summary>
    /// The calls into libc, and the only place a file's map address and descriptor are handled: everyone else passes a
    /// <see cref="SafeFileHandle"/>. The map is read-only and shared, and never read through, so making it faults in no page.
    /// </summary>
    private static class ResidentPages
    {
        private const int ProtRead = 1;
        private const int MapShared = 1;
        private const int FadviseDontNeed = 4;

        public static Residency Of(SafeFileHandle file, string path)
        {
            long length = RandomAccess.GetLength(file);
            if (length == 0) return new Residency(0, 0);
            long pageSize = Environment.SystemPageSize;
            var vector = new byte[(length + pageSize - 1) / pageSize];
            bool added = false;
            file.DangerousAddRef(ref added);
            try
            {
                nint map = Mmap(0, (nuint)length, ProtRead, MapShared, Descriptor(file), 0);
                if (map == -1) throw Failure("mmap", path);
                try
                {
                    if (Mincore(map, (nuint)length, vector) != 0) throw Failure("mincore", path);
                }
                finally
                {
                    _ = Munmap(map, (nuint)length);
                }
            }
            finally
            {
                if (added) file.DangerousRelease();
            }
            long resident = 0;
            foreach (byte page in vector) resident += page & 1; // the low bit says resident; the others are reserved
            return new Residency(resident, vector.Length);
        }

        public static void FlushAndDrop(SafeFileHandle file, string path)
        {
            bool added = false;
            file.DangerousAddRef(ref added);
            try
            {
                int fd = Descriptor(file);
                if (Fsync(fd) != 0) throw Failure("fsync", path);
                int error = PosixFadvise(fd, 0, 0, FadviseDontNeed); // returns the error number, sets no errno
                if (error != 0) throw new IOException($"{path}: posix_fadvise(POSIX_FADV_DONTNEED) failed with errno {error}");
            }
            finally
            {
                if (added) file.DangerousRelease();
            }
        }

        private static int Descriptor(SafeFileHandle file) => checked((int)file.DangerousGetHandle());

        private static IOException Failure(string call, string path) =>
            new($"{path}: {call} failed with errno {Marshal.GetLastPInvokeError()}");

        [DllImport("libc", EntryPoint = "mmap", SetLastError = true)]
        private static extern nint Mmap(nint address, nuint length, int protection, int flags, int fd, long offset);

        [DllImport("libc", EntryPoint = "munmap", SetLastError = true)]
        private static extern int Munmap(nint address, nuint length);

        [DllImport("libc", EntryPoint = "mincore", SetLastError = true)]
        private static extern int Mincore(nint address, nuint length, [Out] byte[] vector);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        private static extern int Fsync(int fd);

        [DllImport("libc", EntryPoint = "posix_fadvise")]
        private static extern int PosixFadvise(int fd, long offset, long length, int advice);
    }
}
