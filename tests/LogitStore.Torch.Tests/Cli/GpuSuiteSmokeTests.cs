using System.Diagnostics;
using System.Text.Json;
using LogitStore.Torch.Corpus;

namespace LogitStore.Tests.Cli;

/// <summary>
/// <c>tools/device/gpu-suite.sh --cpu-smoke</c>: every step of the GPU suite at tiny sizes on the CPU, so the script a
/// GPU machine runs has already run end to end, report included.
/// </summary>
public class GpuSuiteSmokeTests
{
    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "tools", "device", "gpu-suite.sh"))) return dir.FullName;
        throw new InvalidOperationException("tools/device/gpu-suite.sh not found above the test's directory");
    }

    /// <summary>Every file under reports/gpu with its bytes' hash: what a rehearsal must leave as it was.</summary>
    private static Dictionary<string, ulong> MeasuredReports()
    {
        string dir = Path.Combine(RepositoryRoot(), "reports", "gpu");
        return Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
                .ToDictionary(f => f, f => System.IO.Hashing.XxHash3.HashToUInt64(File.ReadAllBytes(f)))
            : [];
    }

    [Fact]
    public async Task CpuSmoke_IntoReportsGpu_IsRefused_AndWritesNothing()
    {
        var before = MeasuredReports();
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(RepositoryRoot(), "tools", "device", "gpu-suite.sh"), "--cpu-smoke",
                     Path.Combine(RepositoryRoot(), "reports", "gpu") })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("never writes to reports/gpu", stderr);
        Assert.Equal(before, MeasuredReports());
    }

    /// <summary>Run without a directory, as a rehearsal usually is: the report goes to a new temporary directory.</summary>
    [Fact]
    public async Task CpuSmoke_RunsEveryStep_AndWritesTheReport()
    {
        var measured = MeasuredReports();
        string work = TestData.TempDir(), temp = TestData.TempDir(), corpus = Path.Combine(TestData.TempDir(), "lines.jsonl");
        var sample = Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample");
        var lines = TextDocuments.Read(sample).SelectMany(d => d.Text.Split('\n')).Where(l => l.Length > 80).Take(240);
        File.WriteAllLines(corpus, lines.Select(l => JsonSerializer.Serialize(new { text = l })));
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(RepositoryRoot(), "tools", "device", "gpu-suite.sh"), "--cpu-smoke" })
            psi.ArgumentList.Add(a);
        psi.Environment["TMPDIR"] = temp;
        psi.Environment["LOGITSTORE_CLI"] = "dotnet " + Path.Combine(AppContext.BaseDirectory, "LogitStore.Cli.dll");
        psi.Environment["LOGITSTORE_SUITE_CORPUS"] = corpus;
        psi.Environment["LOGITSTORE_SUITE_WORK"] = work;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await p.WaitForExitAsync(limit.Token);
        string log = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, log);
        Assert.Equal(measured, MeasuredReports());
        string out_ = Assert.Single(Directory.GetDirectories(temp, "logitstore-gpu-smoke.*"));

        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(out_, "gpu-suite.json")));
        var root = summary.RootElement;
        foreach (var step in new[]
                 {
                     "teacher-train", "teacher-pack", "hf-checkpoint", "hf-teacher-bench", "student-lm", "student-offline",
                     "student-online", "device-feed",
                 })
            Assert.True(root.GetProperty("steps").GetProperty(step).GetProperty("rc").GetInt32() == 0, $"{step} failed:\n{log}");
        Assert.True(root.GetProperty("pack").GetProperty("tokens_per_second").GetDouble() > 0);
        var hf = root.GetProperty("hf_teacher");
        Assert.True(hf.GetProperty("ratio").GetDouble() > 0);
        Assert.True(hf.GetProperty("rss_peak_mib").GetDouble() >= hf.GetProperty("rss_loaded_mib").GetDouble());
        foreach (var mode in new[] { "lm", "offline", "online" })
            Assert.True(root.GetProperty("students").GetProperty(mode).GetProperty("ms_per_step").GetDouble() > 0, mode);
        // The suite packs with mvq:4 values, so the feed is measured three ways: the loader's arrays, decoded
        // probabilities in torch tensors, and codes decoded by torch ops (fewer bytes per position).
        var feed = root.GetProperty("device_feed").GetProperty("feed");
        Assert.Equal(3, feed.GetArrayLength());
        Assert.True(feed[2].GetProperty("bytes_per_position").GetInt32() < feed[1].GetProperty("bytes_per_position").GetInt32());
        Assert.True(root.GetProperty("feed_over_offline_student").GetDouble() > 0);
        foreach (var file in new[] { "gpu-suite.md", "device-feed.md", "device-feed.png", "suite.log" })
            Assert.True(File.Exists(Path.Combine(out_, file)), file);
        foreach (var d in new[] { work, temp, Path.GetDirectoryName(corpus)! }) Directory.Delete(d, true);
    }
}
