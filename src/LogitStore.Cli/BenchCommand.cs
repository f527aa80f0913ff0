using System.CommandLine;
using LogitStore.Reports;

namespace LogitStore.Cli;

/// <summary><c>logitstore bench</c>: studies that write reports (Markdown + JSON + PNG).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var defaults = new FrontierStudy.Options();
        var outOpt = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/frontier" };
        var tokens = new Option<ulong>("--tokens") { Description = "tokens packed per configuration", DefaultValueFactory = _ => defaults.Tokens };
        var sample = new Option<long>("--sample") { Description = "positions compared per configuration", DefaultValueFactory = _ => defaults.FidelitySample };
        var frontier = new Command("frontier", "bytes/token against fidelity for every value codec (f32, f16, q8, q4, mvq:2..32) and id codec, on the synthetic teacher") { outOpt, tokens, sample };
        frontier.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(outOpt)!;
            var rows = await FrontierStudy.RunAsync(dir, defaults with { Tokens = r.GetValue(tokens), FidelitySample = r.GetValue(sample) }, Console.WriteLine);
            Console.WriteLine($"wrote {dir}/frontier.md, frontier.json, frontier.png ({rows.Count} configurations)");
            return 0;
        });
        return new Command("bench", "measure storage, fidelity and throughput side by side") { frontier };
    }
}
