namespace LogitStore.Torch.Teacher;

/// <summary>The process's resident memory as the kernel counts it (Linux's /proc/self/status), for reports.</summary>
public static class ProcessMemory
{
    /// <summary>The peak resident set size so far (VmHWM), in bytes; 0 where the kernel does not say.</summary>
    public static long PeakResidentBytes() => StatusKilobytes("VmHWM:") * 1024;

    private static long StatusKilobytes(string key)
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status)) return 0;
        foreach (var line in File.ReadLines(status))
            if (line.StartsWith(key, StringComparison.Ordinal))
                return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
        return 0;
    }
}
