using System.Buffers.Binary;
using System.Diagnostics;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Reading;

namespace LogitStore.Tests.Cli;

/// <summary>
/// Four producers stream four parts into four <c>logitstore pack</c> processes at once; one pack is killed mid-way and
/// finished with <c>--resume</c>; the merged parts equal one process's pack of the whole stream, sequence for sequence.
/// </summary>
public class ConcurrentPartsTests
{
    private static string Cli => Path.Combine(AppContext.BaseDirectory, "LogitStore.Cli.dll");

    private const int Length = 256, K = 8;
    private const uint Vocab = 1000;

    // Part 1 is large enough (about 1.5 MiB with u32 ids, f32 values, no zstd) to commit a 1 MiB shard before it is killed.
    private static readonly (ulong First, int Count)[] Slices = [(0, 16), (16, 80), (96, 16), (112, 10)];

    private static readonly string[] Settings =
    [
        "--method", "top-k", "--top-k", $"{K}", "--ids", "u32", "--values", "f32", "--zstd-level", "0", "--seqs-per-block", "4",
        "--shard-mib", "1", "--workers", "1",
    ];

    /// <summary>The C# test producer: sequence s of a seeded teacher, as a stream frame.</summary>
    private static byte[] Frame(ulong s)
    {
        var rng = new Random((int)s + 1);
        var payload = new MemoryStream();
        var w = new BinaryWriter(payload);
        w.Write((uint)Length);
        for (int t = 0; t < Length; t++) w.Write((uint)rng.Next((int)Vocab));
        for (int t = 0; t < Length; t++)
        {
            var ids = new HashSet<int>();
            while (ids.Count < K) ids.Add(rng.Next((int)Vocab));
            var logits = ids.Select(_ => rng.NextDouble() * 8).ToArray();
            double z = Math.Log(logits.Sum(Math.Exp) / 0.9);
            w.Write((ushort)K);
            foreach (int id in ids) w.Write((uint)id);
            foreach (double l in logits) w.Write((float)(l - z));
        }
        return StreamFrame.Encode(StreamFrame.SequenceType, payload.ToArray());
    }

    private static byte[] Header(ulong first) =>
        new StreamHeader(StreamPayloadKind.TopKLogProbs, Vocab, K, first, "test-producer").ToBytes();

    private static byte[] End(int count)
    {
        var b = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(b, (ulong)count);
        return StreamFrame.Encode(StreamFrame.EndType, b);
    }

    /// <summary>Streams [first, first + count) into the process's stdin; with <paramref name="stopAfter"/>, stops there.</summary>
    private static async Task ProduceAsync(Process p, ulong first, int count, int? stopAfter = null)
    {
        var stdin = p.StandardInput.BaseStream;
        await stdin.WriteAsync(Header(first));
        for (int i = 0; i < (stopAfter ?? count); i++) await stdin.WriteAsync(Frame(first + (ulong)i));
        if (stopAfter is not null)
        {
            await stdin.FlushAsync();
            return;
        }
        await stdin.WriteAsync(End(count));
        stdin.Close();
    }

    [Fact]
    public async Task FourConcurrentStreamParts_OneKilledAndResumed_MergeIntoTheSingleProcessPack()
    {
        string root = TestData.TempDir();
        try
        {
            var parts = Enumerable.Range(0, 4).Select(i => Path.Combine(root, $"part{i}")).ToArray();
            // Part 2 finds its place from torchrun's variables; the others are told.
            var packs = Enumerable.Range(0, 4).Select(i => Start(
                ["pack", "--from-stream", "-", "--part", i == 2 ? "auto" : $"{i}/4", "--out", parts[i], .. Settings],
                i == 2 ? new() { ["RANK"] = "2", ["WORLD_SIZE"] = "4" } : [])).ToArray();
            var producers = Enumerable.Range(0, 4)
                .Select(i => ProduceAsync(packs[i], Slices[i].First, Slices[i].Count, i == 1 ? 70 : null)).ToArray();
            await Task.WhenAll(producers);
            await WaitForShardAsync(parts[1], packs[1]);
            packs[1].Kill(entireProcessTree: true);
            foreach (var p in packs) await p.WaitForExitAsync();
            Assert.Contains("part 2/4 from RANK=2, WORLD_SIZE=4", packs[2].StandardError.ReadToEnd());
            foreach (int i in new[] { 0, 2, 3 }) Assert.Equal(0, packs[i].ExitCode);
            var killed = Manifest.Load(parts[1]);
            Assert.False(killed.IsComplete);
            Assert.NotEmpty(killed.Shards);

            using (var resume = Start(["pack", "--resume", "--from-stream", "-", "--out", parts[1]], []))
            {
                await ProduceAsync(resume, Slices[1].First, Slices[1].Count);
                await resume.WaitForExitAsync();
                Assert.True(resume.ExitCode == 0, resume.StandardError.ReadToEnd());
            }
            string merged = Path.Combine(root, "merged"), single = Path.Combine(root, "single");
            Assert.Equal(0, await RunAsync(["merge", "--out", merged, parts[3], parts[1], parts[0], parts[2]]));
            using (var whole = Start(["pack", "--from-stream", "-", "--out", single, .. Settings], []))
            {
                await ProduceAsync(whole, 0, Slices.Sum(s => s.Count));
                await whole.WaitForExitAsync();
                Assert.Equal(0, whole.ExitCode);
            }
            Assert.Equal(0, await RunAsync(["verify", merged]));
            using var a = StoreReader.Open(merged);
            using var b = StoreReader.Open(single);
            Assert.Equal(StoreFingerprint.Recorded(b.Manifest), StoreFingerprint.Recorded(a.Manifest));
            Assert.Equal(b.SequenceCount, a.SequenceCount);
            for (ulong s = 0; s < a.SequenceCount; s++)
            {
                var (x, y) = (a.ReadSequence(s), b.ReadSequence(s));
                Assert.Equal(y.Tokens, x.Tokens);
                Assert.Equal(y.KeptCounts, x.KeptCounts);
                Assert.Equal(y.Ids, x.Ids);
                Assert.Equal(y.Probs, x.Probs);
                Assert.Equal(y.Residual, x.Residual);
            }
        }
        finally { Directory.Delete(root, true); }
    }

    private static async Task WaitForShardAsync(string store, Process pack)
    {
        var clock = Stopwatch.StartNew();
        while (!pack.HasExited && clock.Elapsed < TimeSpan.FromMinutes(3))
        {
            try { if (Manifest.Load(store).Shards.Count >= 1) return; }
            catch (Exception e) when (e is StoreCorruptException or IOException) { }
            await Task.Delay(20);
        }
        Assert.Fail($"the pack of {store} committed no shard before its producer stopped (exited: {pack.HasExited})");
    }

    private static Process Start(string[] args, Dictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var name in new[] { "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "RANK", "WORLD_SIZE" }) psi.Environment.Remove(name);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        var p = Process.Start(psi)!;
        p.OutputDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        return p;
    }

    private static async Task<int> RunAsync(string[] args)
    {
        using var p = Start(args, []);
        p.StandardInput.Close();
        string err = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, err);
        return p.ExitCode;
    }
}
