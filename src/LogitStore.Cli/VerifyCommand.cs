using System.CommandLine;
using LogitStore.Reading;

namespace LogitStore.Cli;

/// <summary><c>logitstore verify</c>: checksums and a full decode; non-zero exit naming file and offset on any fault.</summary>
internal static class VerifyCommand
{
    public static Command Create()
    {
        var store = new Argument<string>("store") { Description = "store directory" };
        var allowPartial = new Option<bool>("--allow-partial")
        {
            Description = "accept a store whose pack has not finished (its committed shards are still checked)",
        };
        var cmd = new Command("verify", "check every checksum and decode every block") { store, allowPartial };
        cmd.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(store)!;
            long done = 0;
            long total = new Format.StoreDirectory(dir).ShardBytesOnDisk();
            var report = await ProgressDisplay.RunAsync("verify", () => (Interlocked.Read(ref done), total),
                Task.Run(() => StoreVerifier.Verify(dir, n => Interlocked.Add(ref done, n)), ct), unit: "bytes");
            foreach (var f in report.Faults) CliErrors.Fail($"corrupt: {f.Message}");
            if (!report.Ok) return CliErrors.Corrupt;
            if (!report.Complete && !r.GetValue(allowPartial))
            {
                CliErrors.Fail(
                    $"{dir}: store is partial (a pack did not finish): its {report.Shards} committed shard(s) verify; " +
                    $"run 'logitstore pack --resume --out {dir}'");
                return 3;
            }
            Console.WriteLine(
                $"ok: {report.Shards} shard(s), {report.Blocks:N0} blocks, {report.Sequences:N0} sequences, " +
                $"{report.Positions:N0} tokens, {report.Bytes:N0} bytes verified{(report.Complete ? "" : " (partial store)")}");
            return 0;
        });
        return cmd;
    }
}
