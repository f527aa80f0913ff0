using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Reading;

namespace LogitStore.Tests.Cli;

/// <summary>A pack killed with SIGKILL leaves its last committed state readable, and --resume finishes it.</summary>
public class CrashResumeTests
{
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "LogitStore.Cli.dll");

    [Fact]
    public async Task KillDuringPack_ThenResume_YieldsAStoreThatVerifiesAndEqualsAnUninterruptedPack()
    {
        string killed = TestData.TempDir(), clean = TestData.TempDir();
        string[] args =
        [
            "pack", "--synthetic", "--tokens", "400000", "--vocab", "5000", "--seq-len", "256", "--shard-mib", "1", "--workers", "2"
        ];
        using (var p = Start([.. args, "--out", killed]))
        {
            // Wait for at least one committed shard, then kill -9 mid-write.
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
            {
                try { if (Manifest.Load(killed).Shards.Count >= 1) break; } catch (StoreCorruptException) { }
                await Task.Delay(20);
            }
            Assert.False(p.HasExited, "pack finished before it could be killed; make the job larger");
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        var partial = Manifest.Load(killed);
        Assert.False(partial.IsComplete);
        using (var r = StoreReader.Open(killed)) Assert.True(r.SequenceCount > 0); // committed state is readable
        Assert.Equal(0, await Run(["verify", killed]) == 0 ? 1 : 0); // verify refuses a partial store...
        Assert.Equal(0, await Run(["verify", "--allow-partial", killed])); // ...but its committed shards verify

        Assert.Equal(0, await Run(["pack", "--resume", "--out", killed]));
        Assert.Equal(0, await Run(["verify", killed]));
        Assert.Equal(0, await Run([.. args, "--out", clean, "--force"]));
        using var a = StoreReader.Open(killed);
        using var b = StoreReader.Open(clean);
        Assert.Equal(b.SequenceCount, a.SequenceCount);
        foreach (ulong s in new ulong[] { 0, a.SequenceCount / 2, a.SequenceCount - 1 })
        {
            Assert.Equal(b.ReadSequence(s).Ids, a.ReadSequence(s).Ids);
            Assert.Equal(b.ReadSequence(s).Probs, a.ReadSequence(s).Probs);
        }
    }

    private static Process Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static async Task<int> Run(string[] args)
    {
        using var p = Start(args);
        await p.WaitForExitAsync();
        return p.ExitCode;
    }
}
