using System.CommandLine;
using LogitStore.Codecs;
using LogitStore.Interchange;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore import</c> and <c>export</c>: top-k Parquet datasets into a store and back.</summary>
internal static class InterchangeCommands
{
    private static (Option<string> Shape, Option<string> InputIds, Option<string> Ids, Option<string> LogProbs, Option<string> Targets)
        LayoutOptions()
    {
        var d = new TopKParquetLayout();
        return (
            new Option<string>("--layout")
            {
                Description = "lists: input ids + per-position id and log-probability lists; stacked: [T, 2, k] targets",
                DefaultValueFactory = _ => TopKParquetLayout.ShapeName(d.Shape),
            },
            new Option<string>("--input-ids-column") { DefaultValueFactory = _ => d.InputIds },
            new Option<string>("--ids-column") { Description = "lists layout", DefaultValueFactory = _ => d.Ids },
            new Option<string>("--logprobs-column") { Description = "lists layout", DefaultValueFactory = _ => d.LogProbs },
            new Option<string>("--targets-column") { Description = "stacked layout", DefaultValueFactory = _ => d.Targets });
    }

    private static TopKParquetLayout Layout(ParseResult r, (Option<string> S, Option<string> I, Option<string> D, Option<string> L,
        Option<string> T) o) => new()
    {
        Shape = TopKParquetLayout.ParseShape(r.GetValue(o.S)!), InputIds = r.GetValue(o.I)!, Ids = r.GetValue(o.D)!,
        LogProbs = r.GetValue(o.L)!, Targets = r.GetValue(o.T)!,
    };

    public static Command Import()
    {
        var layout = LayoutOptions();
        var files = new Option<string[]>("--parquet") { Description = "top-k Parquet files, read in order", Required = true, 
            AllowMultipleArgumentsPerToken = true };
        var outOpt = new Option<string>("--out") { Description = "store directory to write", Required = true };
        var vocab = new Option<uint>("--vocab")
        {
            Description = "vocabulary size (0: the size the files record, written by export, else the largest id in the files + 1)",
        };
        var teacher = new Option<string>("--teacher-id") { DefaultValueFactory = _ => new ParquetImportOptions { Files = [] }.TeacherId };
        var tokenizer = new Option<string>("--tokenizer")
        {
            DefaultValueFactory = _ => new ParquetImportOptions { Files = [] }.TokenizerName,
        };
        var method = new Option<string>("--method")
        {
            Description = "full (keep every entry the files give) | top-k | top-p | top-p-k", DefaultValueFactory = _ => "full",
        };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => new ProcessingOptions().TopK };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => new ProcessingOptions().TopP };
        var values = new Option<string>("--values") { DefaultValueFactory = _ => new CodecOptions().Values.Name };
        var ids = new Option<string>("--ids") { DefaultValueFactory = _ => new CodecOptions().Ids.Name };
        var force = new Option<bool>("--force") { Description = "replace an existing store" };
        var idSeed = new Option<ulong?>("--id-seed") { Description = "derive store_id and pack_id from this seed" };
        var cmd = new Command("import", "read a top-k Parquet dataset (DistillKit / HF datasets layouts) into a store")
        {
            files, outOpt, vocab, teacher, tokenizer, method, topK, topP, values, ids, force, idSeed,
            layout.Shape, layout.InputIds, layout.Ids, layout.LogProbs, layout.Targets,
        };
        cmd.SetAction(async (r, ct) =>
        {
            var processing = new ProcessingOptions
            {
                Method = ProcessingOptions.ParseMethod(r.GetValue(method)!), TopK = r.GetValue(topK), TopP = r.GetValue(topP),
            };
            var codecs = new CodecOptions { Values = ValueCodecSpec.Parse(r.GetValue(values)!), Ids = IdCodecSpec.Parse(r.GetValue(ids)!) };
            var options = new ParquetImportOptions
            {
                Files = r.GetValue(files)!, Layout = Layout(r, layout), VocabSize = r.GetValue(vocab),
                TeacherId = r.GetValue(teacher)!, TokenizerName = r.GetValue(tokenizer)!,
            };
            string dir = r.GetValue(outOpt)!;
            var m = await ParquetImport.RunAsync(
                dir, options, processing, codecs, r.GetValue(force), identitySeed: r.GetValue(idSeed), ct: ct);
            long input = r.GetValue(files)!.Sum(f => new FileInfo(f).Length);
            long stored = new Format.StoreDirectory(dir).ShardBytesOnDisk() + m.Dictionaries.Sum(d => (long)d.Bytes);
            Console.WriteLine(
                $"imported {m.Totals.Sequences:N0} sequences, {m.Totals.Positions:N0} tokens: Parquet {input:N0} bytes " +
                $"({input / Math.Max(1.0, m.Totals.Positions):F2} bytes/token) -> store {stored:N0} bytes " +
                $"({stored / Math.Max(1.0, m.Totals.Positions):F2} bytes/token), {(double)input / Math.Max(1, stored):F2}x -> {dir}");
            return 0;
        });
        return cmd;
    }

    public static Command Export()
    {
        var layout = LayoutOptions();
        var store = new Argument<string>("store") { Description = "store directory" };
        var parquet = new Option<string>("--parquet") { Description = "Parquet file to write", Required = true };
        var cmd = new Command("export", "write a store as a top-k Parquet dataset, in the layout import reads")
        {
            store, parquet, layout.Shape, layout.InputIds, layout.Ids, layout.LogProbs, layout.Targets,
        };
        cmd.SetAction(async (r, ct) =>
        {
            using var reader = StoreReader.Open(r.GetValue(store)!);
            string path = r.GetValue(parquet)!;
            long positions = await ParquetExport.WriteAsync(reader, path, Layout(r, layout), ct);
            long bytes = new FileInfo(path).Length;
            Console.WriteLine(
                $"exported {reader.SequenceCount:N0} sequences, {positions:N0} tokens: {bytes:N0} bytes " +
                $"({bytes / Math.Max(1.0, positions):F2} bytes/token) -> {path}");
            return 0;
        });
        return cmd;
    }
}
