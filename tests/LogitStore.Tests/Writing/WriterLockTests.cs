using System.Diagnostics;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Tests.Writing;

/// <summary>A store directory has one writer (spec 2.5.1): a second is refused, naming the first, and writes nothing.</summary>
public class WriterLockTests
{
    private static readonly CodecOptions Codecs = new() { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8, SequencesPerBlock = 2 };

    private static StoreWriterOptions Options(ulong seed) => new()
    {
        VocabSize = 500, Processing = new ProcessingOptions { TopK = 4 }, Codecs = Codecs, IdentitySeed = seed, Workers = 2,
    };

    [Fact]
    public async Task ASecondWriter_IsRefusedNamingTheFirst_AndTheFirstCommitsAStoreThatVerifies()
    {
        string dir = TestData.TempDir();
        try
        {
            await using (var first = StoreWriter.Create(dir, Options(1)))
            {
                for (ulong s = 0; s < 4; s++) await first.AppendAsync(TestData.SyntheticSequence(s, 16, new() { TopK = 4 }, 500));
                var refused = Assert.Throws<StoreLockedException>(() => StoreWriter.Create(dir, Options(2) with { Overwrite = true }));
                Assert.Contains($"pid {Environment.ProcessId}", refused.Message);
                Assert.Contains("writing a new store", refused.Message);
                Assert.Throws<StoreLockedException>(() => StoreWriter.Resume(dir));
                await first.CompleteAsync();
            }
            var report = StoreVerifier.Verify(dir);
            Assert.True(report.Ok, string.Join("\n", report.Faults));
            Assert.Equal(4ul, report.Sequences);
            await using (var next = StoreWriter.Create(dir, Options(3) with { Overwrite = true })) { } // released on completion
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    /// <summary>The lock a killed process held is taken over: the kernel dropped it with the process.</summary>
    [Fact]
    public async Task ALockLeftByAKilledProcess_IsTakenOver()
    {
        string dir = TestData.TempDir();
        try
        {
            string lockFile = Path.Combine(dir, FormatConstants.WriterLockFileName);
            File.WriteAllText(lockFile, "{\"pid\":1,\"host\":\"elsewhere\",\"purpose\":\"pack\",\"since\":\"2000-01-01T00:00:00Z\"}\n");
            // flock(1) holds LOCK_EX on the file as a writer of another host would, until it is killed.
            using var holder = Process.Start(new ProcessStartInfo("flock", ["-o", "-x", lockFile, "sleep", "120"]))!;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                using var probe = Process.Start(new ProcessStartInfo("flock", ["-n", "-x", lockFile, "true"]))!;
                await probe.WaitForExitAsync();
                if (probe.ExitCode != 0) break; // held
                await Task.Delay(50);
            }
            var refused = Assert.Throws<StoreLockedException>(() => StoreWriter.Create(dir, Options(1)));
            Assert.Contains("pid 1 on host elsewhere (pack, since 2000-01-01T00:00:00Z)", refused.Message);
            Assert.False(File.Exists(Path.Combine(dir, FormatConstants.ManifestFileName)), "a refused writer wrote a manifest");

            holder.Kill(entireProcessTree: true); // with -o, flock(1) itself holds the lock, not its child
            await holder.WaitForExitAsync();
            await using (var writer = StoreWriter.Create(dir, Options(1) with { Overwrite = true }))
            {
                await writer.AppendAsync(TestData.SyntheticSequence(0, 16, new() { TopK = 4 }, 500));
                await writer.CompleteAsync();
            }
            Assert.Contains($"\"pid\":{Environment.ProcessId}", File.ReadAllText(lockFile));
            Assert.True(StoreVerifier.Verify(dir).Ok);
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
