using System.CommandLine;
using System.Text.Json;
using LogitStore.Fidelity;
using LogitStore.Format;
using LogitStore.Reading;
using Spectre.Console;

namespace LogitStore.Cli;

/// <summary><c>logitstore fidelity</c>: how far what a store returns is from a reference distribution (spec 6.1).</summary>
internal static class FidelityCommand
{
    public static Command Create()
    {
        var store = new Argument<string>("store") { Description = "store directory" };
        var reference = new Option<string?>("--reference")
        {
            Description = "reference store holding the same sequences (default: regenerate the synthetic teacher)",
        };
        var against = new Option<string>("--against")
        {
            Description = "synthetic reference: untruncated | truncated (the store's own processing, lossless)",
            DefaultValueFactory = _ => "untruncated",
        };
        var sample = new Option<long>("--sample") { Description = "positions to compare", DefaultValueFactory = _ => 20_000 };
        var json = new Option<bool>("--json") { Description = "print JSON instead of a table" };
        var cmd = new Command(
            "fidelity",
            "compare a store with a reference: KL, total variation, top-1 agreement, kept mass, KD loss error")
        {
            store, reference, against, sample, json,
        };
        cmd.SetAction(r =>
        {
            using var reader = StoreReader.Open(r.GetValue(store)!);
            string mode = r.GetValue(against)!;
            if (mode is not ("untruncated" or "truncated")) throw new ArgumentException("--against takes untruncated or truncated");
            using IReferenceSource source = r.GetValue(reference) is { } refDir
                ? new StoreReference(refDir)
                : FidelityMeter.DefaultReference(reader.Manifest, untruncated: mode == "untruncated");
            var report = FidelityMeter.Measure(reader, source, r.GetValue(sample));
            if (r.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(report, Manifest.JsonOptions));
                return 0;
            }
            var t = new Table().AddColumns("metric", "value");
            t.AddRow("reference", CliErrors.Escape(report.Reference));
            t.AddRow("positions", $"{report.Positions:N0}");
            t.AddRow("KL(ref ‖ store), mean", $"{report.MeanKl:G4} nats");
            t.AddRow("KL p50 / p99 / max", $"{report.P50Kl:G3} / {report.P99Kl:G3} / {report.MaxKl:G3}");
            t.AddRow("KL over the kept set, mean / max", $"{report.MeanKlKept:G4} / {report.MaxKlKept:G3}");
            t.AddRow("total variation, mean", $"{report.MeanTv:G4}");
            t.AddRow("top-1 agreement", $"{100 * report.Top1Agreement:F3}%");
            t.AddRow("kept mass, mean", $"{report.MeanKeptMass:F4}");
            t.AddRow("KD loss error, mean", $"{report.MeanKdLossError:G4} nats");
            AnsiConsole.Write(t);
            return 0;
        });
        return cmd;
    }
}
