using System.CommandLine;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Studies.Frontier;
using LogitStore.Studies.Ids;
using LogitStore.Studies.Throughput;

namespace LogitStore.Cli;

/// <summary><c>logitstore bench</c>: studies that write reports (Markdown + JSON + PNG).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var defaults = new FrontierStudy.Options();
        var outOpt = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/frontier" };
        var tokens = new Option<ulong>("--tokens")
        {
            Description = "tokens packed per configuration",
            DefaultValueFactory = _ => defaults.Tokens,
        };
        var sample = new Option<long>("--sample")
        {
            Description = "positions compared per configuration",
            DefaultValueFactory = _ => defaults.FidelitySample,
        };
        var stores = new Option<string[]>("--store")
        {
            Description = "stores a real teacher packed losslessly (f32 or counts values), one per setting: re-encode their positions " +
                "with every codec instead of packing the synthetic teacher",
            AllowMultipleArgumentsPerToken = true,
        };
        var storePositions = new Option<long>("--positions") { Description = "with --store: positions re-encoded per store (0: all)" };
        var name = new Option<string>("--name")
        {
            Description = "with --store: report file name (without extension)", DefaultValueFactory = _ => "frontier",
        };
        var noEntropy = new Option<bool>("--no-entropy") { Description = "with --store: skip the id entropy models" };
        var storeDefaults = new StoreFrontierStudy.Options();
        var idCodecs = new Option<string[]>("--ids")
        {
            Description = $"with --store: ids codecs ({CodecTable.Help(ColumnKind.Ids)})",
            DefaultValueFactory = _ => storeDefaults.Ids, AllowMultipleArgumentsPerToken = true,
        };
        var valueCodecs = new Option<string[]>("--values")
        {
            Description = $"with --store: value codecs of the stores with probabilities ({CodecTable.Help(ColumnKind.Values)})",
            DefaultValueFactory = _ => storeDefaults.Values, AllowMultipleArgumentsPerToken = true,
        };
        var frontier = new Command(
            "frontier",
            "bytes/token against fidelity for every value codec (f32, f16, q8, q4, mvq:2..32) and id codec, on the synthetic teacher " +
            "or on real-teacher stores (--store)")
        {
            outOpt, tokens, sample, stores, storePositions, name, noEntropy, idCodecs, valueCodecs,
        };
        frontier.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(outOpt)!;
            string file = r.GetValue(name)!;
            var given = r.GetValue(stores) ?? [];
            if (given.Length > 0)
            {
                var o = new StoreFrontierStudy.Options
                {
                    Positions = r.GetValue(storePositions), Entropy = !r.GetValue(noEntropy),
                    Ids = [.. r.GetValue(idCodecs)!.Select(n => IdCodecSpec.Parse(n).Name)],
                    Values = [.. r.GetValue(valueCodecs)!.Select(n => ValueCodecSpec.Parse(n).Name)],
                };
                var frontiers = StoreFrontierStudy.Run(given, o, Console.WriteLine);
                string line = $"logitstore bench frontier --store {string.Join(" --store ", given)}" +
                    (o.Positions > 0 ? $" --positions {o.Positions}" : "") + (o.Entropy ? "" : " --no-entropy") +
                    (o.Ids.SequenceEqual(storeDefaults.Ids) ? "" : $" --ids {string.Join(' ', o.Ids)}") +
                    (o.Values.SequenceEqual(storeDefaults.Values) ? "" : $" --values {string.Join(' ', o.Values)}") +
                    $" --name {file} --out {dir}";
                StoreFrontierReport.Write(dir, file, frontiers, line);
                Console.WriteLine($"wrote {dir}/{file}.md, {file}.json, {file}.png ({frontiers.Sum(f => f.Rows.Count)} configurations)");
                return 0;
            }
            var rows = await FrontierStudy.RunAsync(
                dir, defaults with { Tokens = r.GetValue(tokens), FidelitySample = r.GetValue(sample) }, Console.WriteLine);
            Console.WriteLine($"wrote {dir}/frontier.md, frontier.json, frontier.png ({rows.Count} configurations)");
            return 0;
        });
        var store = new Argument<string>("store") { Description = "store directory" };
        var readOut = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/read" };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 8 };
        var seq = new Option<int>("--seq") { Description = "positions per row (0: the store's sequence length)" };
        var k = new Option<int>("--k") { Description = "entries per position in the dense batch (0: the store's top_k)" };
        var workers = new Option<int>("--workers")
        {
            Description = "most threads (decode scaling and loader workers)",
            DefaultValueFactory = _ => Environment.ProcessorCount,
        };
        var readDefaults = new ReadBenchmark.Options();
        var coldRounds = new Option<int>("--cold-rounds")
        {
            Description = "cold passes of each path, each after dropping its files from the page cache (Linux)",
            DefaultValueFactory = _ => readDefaults.ColdRounds,
        };
        var hotPasses = new Option<int>("--hot-passes")
        {
            Description = "passes of each path with its files cached; the best counts", DefaultValueFactory = _ => readDefaults.HotPasses,
        };
        var read = new Command(
            "read",
            "decode, random access, batch loader, and whole passes, cold and hot, of the store against the plain alternatives " +
            "(int32+fp32 via mmap, Parquet) written from the same data, side by side")
        {
            store, readOut, batch, seq, k, workers, coldRounds, hotPasses,
        };
        read.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(readOut)!;
            var o = readDefaults with
            {
                BatchSize = r.GetValue(batch), SequenceLength = r.GetValue(seq), TopK = r.GetValue(k), MaxThreads = r.GetValue(workers),
                ColdRounds = r.GetValue(coldRounds), HotPasses = r.GetValue(hotPasses),
            };
            string line = $"logitstore bench read {r.GetValue(store)} --out {dir} --batch {o.BatchSize}" +
                (o.SequenceLength > 0 ? $" --seq {o.SequenceLength}" : "") + (o.TopK > 0 ? $" --k {o.TopK}" : "") +
                $" --workers {o.MaxThreads} --cold-rounds {o.ColdRounds} --hot-passes {o.HotPasses}";
            var result = await ReadBenchmark.RunAsync(r.GetValue(store)!, dir, o, line, Console.WriteLine, ct);
            Console.WriteLine($"wrote {dir}/read.md, read.json, read.png ({result.Rows.Count + result.Passes.Rows.Count} rows)");
            return 0;
        });
        var entropyStore = new Option<string>("--store") { Description = "store directory", Required = true };
        var entropyOut = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/frontier" };
        var positions = new Option<long>("--positions") { Description = "positions measured from the start (0: all)" };
        var idEntropy = new Command(
            "id-entropy",
            "bits per kept id under adaptive context models (order-0, input token, label, previous set, bigrams, mixture)")
        {
            entropyStore, entropyOut, positions,
        };
        idEntropy.SetAction(async (r, ct) =>
        {
            string dir = r.GetValue(entropyOut)!;
            var result = await IdContextEntropy.RunAsync(
                r.GetValue(entropyStore)!, dir, new IdContextEntropy.Options { Positions = r.GetValue(positions) }, Console.WriteLine);
            foreach (var row in result.Rows)
                Console.WriteLine($"{row.Model,-28} {row.BitsPerId,8:F3} bits/id {row.BitsPerPosition,8:F1} bits/position");
            Console.WriteLine($"wrote {dir}/id-entropy.md, id-entropy.json ({result.Positions:N0} positions)");
            return 0;
        });
        return new Command("bench", "measure storage, fidelity and throughput side by side")
        {
            frontier, read, idEntropy, IdCodecs(), DeviceFeed(),
        };
    }

    private static Command IdCodecs()
    {
        var d = new IdCodecStudy.Options();
        var store = new Option<string>("--store") { Description = "store directory", Required = true };
        var outOpt = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/frontier" };
        var positions = new Option<long>("--positions")
        {
            Description = "positions re-encoded from the start", DefaultValueFactory = _ => d.Positions,
        };
        var sample = new Option<int>("--dictionary-sample")
        {
            Description = "positions the dictionaries are trained on", DefaultValueFactory = _ => d.DictionarySample,
        };
        var values = new Option<string>("--values")
        {
            Description = "value codec of the re-encoded blocks", DefaultValueFactory = _ => d.Values,
        };
        var command = new Command(
            "id-codecs",
            "re-encode a store's first positions with every ids codec: ids bytes/token, bits/id, decode positions/s on one thread")
        {
            store, outOpt, positions, sample, values,
        };
        command.SetAction((r, ct) =>
        {
            string dir = r.GetValue(outOpt)!;
            var o = d with { Positions = r.GetValue(positions), DictionarySample = r.GetValue(sample), Values = r.GetValue(values)! };
            var result = IdCodecStudy.Run(r.GetValue(store)!, o, Console.WriteLine);
            string line = $"logitstore bench id-codecs --store {r.GetValue(store)} --positions {o.Positions} " +
                $"--dictionary-sample {o.DictionarySample} --values {o.Values} --out {dir}";
            IdCodecStudy.Write(dir, result, line);
            Console.WriteLine($"wrote {dir}/id-codecs.md, id-codecs.json");
            return Task.FromResult(0);
        });
        return command;
    }

    private static Command DeviceFeed()
    {
        var d = new DeviceFeedBenchmark.Options();
        var store = new Argument<string>("store") { Description = "store directory" };
        var outOpt = new Option<string>("--out") { Description = "report directory", DefaultValueFactory = _ => "reports/device" };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda", DefaultValueFactory = _ => d.Device };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => d.BatchSize };
        var seq = new Option<int>("--seq") { Description = "positions per row (0: the store's sequence length)" };
        var k = new Option<int>("--k") { Description = "entries per position in the dense batch (0: the store's most)" };
        var batches = new Option<int>("--batches") { Description = "batches timed per path", DefaultValueFactory = _ => d.Batches };
        var command = new Command(
            "device",
            "host→device copy rates (page-locked and pageable) and the batch loader's positions/s into torch tensors on the device")
        {
            store, outOpt, device, batch, seq, k, batches,
        };
        command.SetAction(r =>
        {
            string dir = r.GetValue(outOpt)!;
            DeviceFeedBenchmark.Run(r.GetValue(store)!, dir, d with
            {
                Device = r.GetValue(device)!, BatchSize = r.GetValue(batch), SequenceLength = r.GetValue(seq), Width = r.GetValue(k),
                Batches = r.GetValue(batches),
            }, Console.WriteLine);
            Console.WriteLine($"wrote {dir}/device-feed.md, device-feed.json, device-feed.png");
            return 0;
        });
        return command;
    }
}
