using LogitStore.Studies.Throughput;

namespace LogitStore.Tests.Studies;

/// <summary>
/// A fact that runs only where the temporary directory's files can leave the page cache: on Linux (posix_fadvise and
/// mincore), on a filesystem other than tmpfs or ramfs, which keep every page in memory whatever the advice.
/// </summary>
public sealed class PageCacheFactAttribute : FactAttribute
{
    public PageCacheFactAttribute()
    {
        if (!PageCache.CanDrop)
        {
            Skip = "dropping a file from the page cache needs posix_fadvise and mincore, which only Linux has here";
            return;
        }
        string fs = FileSystemOf(Path.GetTempPath());
        if (fs is "tmpfs" or "ramfs")
            Skip = $"the temporary directory {Path.GetTempPath()} is on {fs}, which keeps file pages in memory after " +
                "POSIX_FADV_DONTNEED, so no drop can be seen there";
    }

    /// <summary>The type of the filesystem holding <paramref name="path"/>: its longest mount point in /proc/self/mounts.</summary>
    private static string FileSystemOf(string path)
    {
        string full = Path.GetFullPath(path).TrimEnd('/') + "/";
        string best = "", type = "";
        foreach (string line in File.ReadLines("/proc/self/mounts"))
        {
            var fields = line.Split(' ');
            if (fields.Length < 3) continue;
            string mount = fields[1].Replace("\\040", " ").TrimEnd('/') + "/";
            if (full.StartsWith(mount, StringComparison.Ordinal) && mount.Length >= best.Length)
                (best, type) = (mount, fields[2]);
        }
        return type;
    }
}

public class PageCacheTests
{
    private static string WriteFile(string dir, int length, int seed = 1)
    {
        string path = Path.Combine(dir, $"file-{length}-{seed}.bin");
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes); // not synced: the drop must flush the dirty pages first
        return path;
    }

    [PageCacheFact]
    public void Drop_LeavesNoPageOfAJustWrittenFileResident()
    {
        string dir = TestData.TempDir();
        try
        {
            string path = WriteFile(dir, 1 << 20);
            long pages = (1 << 20) / Environment.SystemPageSize;
            Assert.Equal(new Residency(pages, pages), PageCache.ResidencyOf(path));

            var drop = PageCache.Drop([path]);

            Assert.Equal(new Residency(pages, pages), drop.Before);
            Assert.Equal(new Residency(0, pages), drop.After);
            Assert.Empty(drop.FilesStillResident);
            Assert.Equal(0, PageCache.ResidencyOf(path).ResidentPages);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [PageCacheFact]
    public void AFileReadAfterTheDrop_IsResidentAgain()
    {
        string dir = TestData.TempDir();
        try
        {
            string path = WriteFile(dir, 3 * Environment.SystemPageSize + 1); // a partial last page counts as a page
            PageCache.Drop([path]);
            Assert.Equal(new Residency(0, 4), PageCache.ResidencyOf(path));

            _ = File.ReadAllBytes(path);

            Assert.Equal(new Residency(4, 4), PageCache.ResidencyOf(path));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [PageCacheFact]
    public void Drop_SumsSeveralFiles_AndAnEmptyFileHasNoPages()
    {
        string dir = TestData.TempDir();
        try
        {
            string empty = Path.Combine(dir, "empty.bin");
            File.WriteAllBytes(empty, []);
            string a = WriteFile(dir, 2 * Environment.SystemPageSize, 1), b = WriteFile(dir, 5 * Environment.SystemPageSize, 2);

            var drop = PageCache.Drop([empty, a, b]);

            Assert.Equal(new Residency(7, 7), drop.Before);
            Assert.Equal(new Residency(0, 7), drop.After);
            Assert.Equal(new Residency(0, 0), PageCache.ResidencyOf(empty));
            Assert.Equal(0, drop.After.Share);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task AfterAWarmUp_EachRoundReadsThePathsCold_ThenHot()
    {
        string dir = TestData.TempDir();
        try
        {
            var calls = new List<string>();
            PassPath PathOf(string name, int length)
            {
                string file = WriteFile(dir, length, name[0]);
                return new PassPath(name, [file], _ =>
                {
                    calls.Add(name);
                    return Task.FromResult((long)File.ReadAllBytes(file).Length / 4); // 4 bytes a position
                });
            }
            var paths = new[] { PathOf("A", 1 << 16), PathOf("B", 1 << 12) };

            var result = await ReadPasses.RunAsync(paths, coldRounds: 2, hotPasses: 3);

            string[] cold = PageCache.CanDrop ? ["A", "B"] : [];
            Assert.Equal(["A", "B", .. cold, "A", "B", .. cold, "A", "B", "A", "B"], calls); // warm-up, 2 × (cold, hot), hot
            cold = [.. cold, .. cold];
            var expectedRows = PageCache.CanDrop
                ? new[] { ("A", ReadPasses.Cold, 2), ("A", ReadPasses.Hot, 3), ("B", ReadPasses.Cold, 2), ("B", ReadPasses.Hot, 3) }
                : [("A", ReadPasses.Hot, 3), ("B", ReadPasses.Hot, 3)];
            Assert.Equal(expectedRows, result.Rows.Select(r => (r.Path, r.Cache, r.Passes)));
            Assert.All(result.Rows, r => Assert.Equal(4, r.BytesPerPosition));
            Assert.All(result.Rows, r => Assert.InRange(r.PositionsPerSecond, r.LowestPositionsPerSecond, r.HighestPositionsPerSecond));
            Assert.Equal(cold, result.ColdPasses.Select(p => p.Path));
            Assert.All(result.ColdPasses, p => Assert.Equal(1.0, p.AfterPass.Share));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
