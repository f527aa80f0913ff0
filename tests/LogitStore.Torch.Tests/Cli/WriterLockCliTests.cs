using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Tests.Cli;

/// <summary>
/// Two <c>pack</c> processes on one <c>--out</c>: the one that holds the store's lock commits, the other is refused in
/// one line naming it (exit 1) and writes nothing, and the store left behind verifies.
/// </summary>
public class WriterLockCliTests
{
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "LogitStore.Cli.dll");

    private static (Process Process, Task<string> Stderr) Start(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return (p, p.StandardError.ReadToEndAsync());
    }

    [Fact]
    public async Task ASecondPackOfTheSameDirectory_IsRefused_AndTheFirstCommitsAStoreThatVerifies()
    {
        string dir = TestData.TempDir();
        string[] pack = ["pack", "--synthetic", "--tokens", "3000000", "--vocab", "5000", "--seq-len", "256", "--ids", "packed",
            "--values", "q8", "--workers", "1", "--out", dir];
        var (first, firstErrors) = Start([.. pack, "--seed", "1"]);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(Path.Combine(dir, FormatConstants.ManifestFileName)) && clock.Elapsed < TimeSpan.FromMinutes(2))
            await Task.Delay(20);
        Assert.False(first.HasExited, "the first pack finished before the second started; make it larger");

        var (second, secondErrors) = Start([.. pack, "--seed", "2", "--force"]);
        await second.WaitForExitAsync();
        string refusal = await secondErrors;
        await first.WaitForExitAsync();
        Assert.True(first.ExitCode == 0, await firstErrors);
        Assert.Equal(1, second.ExitCode);
        string line = Assert.Single(refusal.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains($"is being written by pid {first.Id}", line);

        var report = StoreVerifier.Verify(dir);
        Assert.True(report.Ok, string.Join("\n", report.Faults));
        using var store = StoreReader.Open(dir);
        Assert.Equal(1ul, (ulong?)store.Manifest.Source["seed"]);
        Directory.Delete(dir, true);
    }
}
