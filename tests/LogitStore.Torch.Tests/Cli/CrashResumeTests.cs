using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Reading;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;

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
        await KillAfterTheFirstShardAsync([.. args, "--out", killed], killed);
        await ResumeAndCompareAsync(killed, clean, [.. args, "--out", clean, "--force"], []);
    }

    /// <summary>
    /// A teacher pack resumes from its manifest alone (checkpoint, corpus, split and batch recorded there): it restarts
    /// at the batch holding the next sequence (batch 3, one sequence per block, so mid-batch) and gives the same data.
    /// </summary>
    [Fact]
    public async Task KillDuringTeacherPack_ThenResume_EqualsAnUninterruptedPack()
    {
        TorchSharp.torch.random.manual_seed(5);
        string ckpt = TestData.TempDir(), killed = TestData.TempDir(), clean = TestData.TempDir();
        using (var model = new DecoderLM(TransformerConfig.Preset("tiny", TextTokenizer.Create().VocabSize)))
            Checkpoint.Save(ckpt, model);
        string[] args =
        [
            "pack", "--teacher", ckpt, "--corpus", Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample"), "--device", "cpu",
            "--seq-len", "32", "--batch", "3", "--method", "top-k", "--top-k", "4000", "--ids", "packed", "--values", "f32",
            "--seqs-per-block", "1", "--shard-mib", "1", "--workers", "2",
        ];
        await KillAfterTheFirstShardAsync([.. args, "--out", killed], killed);
        await ResumeAndCompareAsync(killed, clean, [.. args, "--out", clean], ["--device", "cpu"]);
        Assert.Equal(1, await Run(["pack", "--resume", "--out", killed, "--top-k", "5"])); // a setting the manifest owns
        Assert.Equal(0, await Run(["pack", "--resume", "--out", killed])); // complete: "already complete"
    }

    private static async Task KillAfterTheFirstShardAsync(string[] args, string store)
    {
        using var p = Start(args);
        // Wait for at least one committed shard, then kill -9 mid-write.
        var clock = Stopwatch.StartNew();
        while (!p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
        {
            try { if (Manifest.Load(store).Shards.Count >= 1) break; } catch (StoreCorruptException) { }
            await Task.Delay(20);
        }
        Assert.False(p.HasExited, "pack finished before it could be killed; make the job larger");
        p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
    }

    private static async Task ResumeAndCompareAsync(string killed, string clean, string[] cleanArgs, string[] resumeArgs)
    {
        var partial = Manifest.Load(killed);
        Assert.False(partial.IsComplete);
        using (var r = StoreReader.Open(killed)) Assert.True(r.SequenceCount > 0); // committed state is readable
        Assert.Equal(0, await Run(["verify", killed]) == 0 ? 1 : 0); // verify refuses a partial store...
        Assert.Equal(0, await Run(["verify", "--allow-partial", killed])); // ...but its committed shards verify

        Assert.Equal(0, await Run(["pack", "--resume", "--out", killed, .. resumeArgs]));
        Assert.Equal(0, await Run(["verify", killed]));
        Assert.Equal(0, await Run(cleanArgs));
        using var a = StoreReader.Open(killed);
        using var b = StoreReader.Open(clean);
        Assert.Equal(b.SequenceCount, a.SequenceCount);
        Assert.Equal(
            b.Manifest.Shards.Select(s => (s.FirstSequence, s.Sequences, s.Positions, s.Entries, s.Blocks, s.Bytes)),
            a.Manifest.Shards.Select(s => (s.FirstSequence, s.Sequences, s.Positions, s.Entries, s.Blocks, s.Bytes)));
        for (ulong s = 0; s < a.SequenceCount; s++)
        {
            var (x, y) = (a.ReadSequence(s), b.ReadSequence(s));
            Assert.Equal(y.Tokens, x.Tokens);
            Assert.Equal(y.Ids, x.Ids);
            Assert.Equal(y.Probs, x.Probs);
            Assert.Equal(y.Residual, x.Residual);
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
