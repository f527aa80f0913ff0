using System.CommandLine;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore merge</c>: commit the parts of a partitioned pack as one store.</summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var outOpt = new Option<string>("--out") { Description = "merged store directory", Required = true };
        var parts = new Argument<string[]>("parts")
        {
            Description = "the part stores (pack --part i/N), in any order",
            Arity = ArgumentArity.OneOrMore,
        };
        var cmd = new Command("merge", "commit the parts of a partitioned pack as one store") { outOpt, parts };
        cmd.SetAction(r =>
        {
            var m = StoreMerger.Merge(r.GetValue(outOpt)!, r.GetValue(parts)!);
            Console.WriteLine(
                $"merged {r.GetValue(parts)!.Length} parts: {m.Totals.Sequences:N0} sequences, {m.Shards.Count} shards " +
                $"-> {r.GetValue(outOpt)}");
            return 0;
        });
        return cmd;
    }
}
