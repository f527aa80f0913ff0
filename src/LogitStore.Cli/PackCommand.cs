using System.CommandLine;
using LogitStore.Hosting;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Ingest;
using LogitStore.Processing;
using LogitStore.Synthetic;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore pack</c>: synthetic teacher or stream in, store out.</summary>
internal static class PackCommand
{
    private static void Listening(string socket) => Console.Error.WriteLine($"logitstore: listening on {socket} for one producer");

    public static Command Create()
    {
        var defaults = new CodecOptions();
        var proc = new ProcessingOptions();
        var outOpt = new Option<string>("--out") { Description = "store directory to write", Required = true };
        var synthetic = new Option<bool>("--synthetic") { Description = "use the deterministic synthetic teacher" };
        var teacher = new Option<string?>("--teacher")
        {
            Description = "teacher checkpoint directory: Hugging Face layout (Llama, Mistral, Qwen2, Qwen3) or 'logitstore teacher train'",
        };
        var corpus = new Option<string>("--corpus")
        {
            Description = "teacher: corpus to run over: *.jsonl, *.parquet, plain text (blank-line documents) or a Brown directory",
            DefaultValueFactory = _ => "data/brown",
        };
        var textField = new Option<string>("--text-field")
        {
            Description = "teacher: the JSON member or Parquet column holding each document's text",
            DefaultValueFactory = _ => Torch.Corpus.TextDocuments.DefaultTextField,
        };
        var batch = new Option<int>("--batch") { Description = "teacher: sequences per forward", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = "teacher: auto | cpu | cuda", DefaultValueFactory = _ => "auto" };
        var stream = new Option<string?>("--from-stream")
        {
            Description = "read teacher output in the stream protocol from '-' (stdin) or unix:/path.sock",
        };
        var resume = new Option<bool>("--resume") { Description = "finish an interrupted pack of this store" };
        var force = new Option<bool>("--force") { Description = "replace an existing store" };
        var part = new Option<string?>("--part")
        {
            Description = $"pack part i/N of the corpus (merge the parts with 'logitstore merge'); {SchedulerPartition.AutoHelp}",
        };
        var tokens = new Option<ulong>("--tokens")
        {
            Description = "synthetic: tokens to generate; teacher: tokens to pack, rounded up to whole sequences (default: all)",
            DefaultValueFactory = _ => 1_000_000,
        };
        var vocab = new Option<uint>("--vocab") { Description = "synthetic: vocabulary size", DefaultValueFactory = _ => 32_000 };
        var seqLen = new Option<int>("--seq-len") { Description = "synthetic: positions per sequence", DefaultValueFactory = _ => 1024 };
        var seed = new Option<ulong>("--seed") { Description = "synthetic: seed", DefaultValueFactory = _ => 1 };
        var method = new Option<string>("--method")
        {
            Description = "top-k | top-p | top-p-k | sampled | full",
            DefaultValueFactory = _ => ProcessingOptions.MethodName(proc.Method),
        };
        var temperature = new Option<float>("--temperature") { DefaultValueFactory = _ => proc.Temperature };
        var topP = new Option<float>("--top-p") { DefaultValueFactory = _ => proc.TopP };
        var topK = new Option<int>("--top-k") { DefaultValueFactory = _ => proc.TopK };
        var draws = new Option<int>("--draws") { Description = "sampled: draws per position", DefaultValueFactory = _ => proc.Draws };
        var tokCodec = new Option<string>("--tokens-codec")
        {
            Description = CodecTable.Help(ColumnKind.Tokens),
            DefaultValueFactory = _ => defaults.Tokens.Name,
        };
        var ids = new Option<string>("--ids")
        {
            Description = CodecTable.Help(ColumnKind.Ids),
            DefaultValueFactory = _ => defaults.Ids.Name,
        };
        var values = new Option<string>("--values")
        {
            Description = CodecTable.Help(ColumnKind.Values),
            DefaultValueFactory = _ => defaults.Values.Name,
        };
        var codebook = new Option<string?>("--codebook")
        {
            Description = "mvq: codebook file from 'logitstore codebook train' (default: train on the first positions)",
        };
        var beam = new Option<int>("--beam")
        {
            Description = $"mvq: beam width of the encoder's search (1-{CodecOptions.MaxMvqBeam})",
            DefaultValueFactory = _ => defaults.MvqBeam,
        };
        var dictSample = new Option<int>("--dictionary-sample")
        {
            Description = "positions collected to train codebooks / the id rank table",
            DefaultValueFactory = _ => defaults.DictionarySample,
        };
        var range = new Option<double>("--value-range") { Description = "R (nats) of q8/q4; 0 = codec default" };
        var zstd = new Option<int>("--zstd-level")
        {
            Description = "zstd level per column; 0 stores columns uncompressed",
            DefaultValueFactory = _ => defaults.ZstdLevel,
        };
        var spb = new Option<int>("--seqs-per-block") { DefaultValueFactory = _ => defaults.SequencesPerBlock };
        var shardMiB = new Option<long>("--shard-mib")
        {
            Description = "start a new shard past this size",
            DefaultValueFactory = _ => defaults.ShardTargetBytes >> 20,
        };
        var split = new Option<string>("--split")
        {
            Description = $"teacher: {Choice.Names<Torch.Teacher.CorpusSplit>()} sequences of the corpus",
            DefaultValueFactory = _ => "all",
        };
        var workers = new Option<int>("--workers") { Description = "encoding threads (0 = all cores)" };
        var idSeed = new Option<ulong?>("--id-seed")
        {
            Description = "derive store_id and pack_id from this seed instead of drawing them (same inputs, same bytes)",
        };

        var cmd = new Command("pack", "run a teacher (synthetic, or an external process through a stream) and write a store")
        {
            outOpt, synthetic, teacher, corpus, textField, batch, device, stream, resume, force, part, tokens, vocab, seqLen, seed, method,
            temperature, topP, topK, draws,
            tokCodec, ids, values, codebook, beam, dictSample, range, zstd, spb, shardMiB, workers, split, idSeed,
        };
        Option[] storeShaping =
        [
            synthetic, teacher, corpus, textField, batch, force, part, tokens, vocab, seqLen, seed, method, temperature, topP, topK, draws,
            tokCodec, ids, values, codebook, beam, dictSample, range, zstd, spb, shardMiB, split,
        ];
        cmd.SetAction(async (r, ct) =>
        {
            // What --resume checks: each store-shaping option the command gives that applies to the recorded source (the
            // source's own options for its kind, processing, codecs, part, codebook) must equal what the manifest records.
            // Options left out take the recorded values; "--top-k: 20 recorded, 5 given" names each difference.
            List<string> ResumeDifferences(Manifest m)
            {
                var found = new List<string>();
                bool Given(Option o) => r.GetResult(o) is { Implicit: false };
                void Compare(Option o, string? recordedValue, string givenValue)
                {
                    if (Given(o) && recordedValue != givenValue)
                        found.Add($"{o.Name}: {recordedValue ?? "none"} recorded, {givenValue} given");
                }
                string? Source(string member) => m.Source[member] is { } v ? v.ToJsonString().Trim('"') : null;
                string kind = Source("kind") ?? "";
                Compare(synthetic, kind, Synthetic.SyntheticSource.Kind);
                Compare(teacher, kind == Torch.Teacher.TeacherPackSource.Kind ? (string?)m.Teacher["id"] : kind,
                    Path.GetFullPath(r.GetValue(teacher) ?? "."));
                if (kind == Synthetic.SyntheticSource.Kind)
                {
                    Compare(tokens, Source("tokens"), r.GetValue(tokens).ToString());
                    Compare(vocab, Source("vocab_size"), r.GetValue(vocab).ToString());
                    Compare(seed, Source("seed"), r.GetValue(seed).ToString());
                }
                if (kind == Torch.Teacher.TeacherPackSource.Kind)
                {
                    Compare(corpus, Source("corpus"), Path.GetFullPath(r.GetValue(corpus)!));
                    Compare(textField, Source("text_field") ?? Torch.Corpus.TextDocuments.DefaultTextField, r.GetValue(textField)!);
                    Compare(batch, Source("batch"), r.GetValue(batch).ToString());
                    Compare(split, Source("split"), r.GetValue(split)!);
                    Compare(tokens, Source("max_tokens") ?? "all", r.GetValue(tokens).ToString());
                }
                Compare(seqLen, Source("sequence_length"), r.GetValue(seqLen).ToString());
                if (Given(part))
                {
                    var (p, _) = SchedulerPartition.Parse(r.GetValue(part)!, Environment.GetEnvironmentVariable);
                    Compare(part, m.Partition is { } q ? $"{q.Index}/{q.Count}" : null, p.ToString());
                }
                if (Given(codebook))
                    Compare(codebook, m.Codecs.ValuesDictionary,
                        Codecs.Mvq.MvqCodebooks.Load(r.GetValue(codebook)!).RefHex);

                // Processing and codecs: the recorded options with the given ones put over them, compared member by member as
                // the manifest writes them (so an option the recorded method ignores, say --top-p of a top-k store, agrees).
                var rp = ManifestSections.FromSection(m.Processing);
                var gp = new ProcessingOptions
                {
                    Method = Given(method) ? ProcessingOptions.ParseMethod(r.GetValue(method)!) : rp.Method,
                    Temperature = Given(temperature) ? r.GetValue(temperature) : rp.Temperature,
                    TopP = Given(topP) ? r.GetValue(topP) : rp.TopP,
                    TopK = Given(topK) ? r.GetValue(topK) : rp.TopK,
                    Draws = Given(draws) ? r.GetValue(draws) : rp.Draws,
                    Seed = Given(seed) && kind != Synthetic.SyntheticSource.Kind ? r.GetValue(seed) : rp.Seed,
                };
                var rc = CodecSections.FromSection(m.Codecs);
                var gc = rc with
                {
                    Tokens = Given(tokCodec) ? IdCodecSpec.Parse(r.GetValue(tokCodec)!) : rc.Tokens,
                    Ids = Given(ids) ? IdCodecSpec.Parse(r.GetValue(ids)!) : rc.Ids,
                    Values = Given(values) ? ValueCodecSpec.Parse(r.GetValue(values)!) : rc.Values,
                    ValueLogRange = Given(range) ? r.GetValue(range) : rc.ValueLogRange,
                    MvqBeam = Given(beam) ? r.GetValue(beam) : rc.MvqBeam,
                    DictionarySample = Given(dictSample) ? r.GetValue(dictSample) : rc.DictionarySample,
                    ZstdLevel = Given(zstd) ? r.GetValue(zstd) : rc.ZstdLevel,
                    SequencesPerBlock = Given(spb) ? r.GetValue(spb) : rc.SequencesPerBlock,
                    ShardTargetBytes = Given(shardMiB) ? r.GetValue(shardMiB) << 20 : rc.ShardTargetBytes,
                };
                var optionOf = new Dictionary<string, Option>
                {
                    ["method"] = method, ["temperature"] = temperature, ["top_p"] = topP, ["top_k"] = topK, ["draws"] = draws,
                    ["seed"] = seed, ["tokens"] = tokCodec, ["ids"] = ids, ["values"] = values, ["value_log_range"] = range,
                    ["mvq_beam"] = beam, ["dictionary_sample"] = dictSample, ["zstd_level"] = zstd,
                    ["sequences_per_block"] = spb, ["shard_target_bytes"] = shardMiB,
                };
                foreach (var (member, recordedValue, givenValue) in ManifestSections.Differences(m.Processing, gp)
                             .Concat(CodecSections.Differences(CodecSections.ToSection(rc), gc)))
                    if (optionOf.TryGetValue(member, out var o) && Given(o))
                        found.Add($"{o.Name}: {recordedValue} recorded, {givenValue} given");
                return found;
            }

            string dir = r.GetValue(outOpt)!;
            string? streamPath = r.GetValue(stream);
            ulong? identitySeed = r.GetValue(idSeed);
            var progress = new PackProgress();
            bool sourceGiven = r.GetValue(synthetic) || streamPath is not null || r.GetValue(teacher) is not null;
            if (r.GetValue(resume))
            {
                if (r.GetValue(force)) throw new ArgumentException("--resume finishes the store at --out, --force replaces it: give one");
                var store = new StoreDirectory(dir);
                if (store.HoldsStore)
                {
                    var recorded = store.LoadManifest();
                    var differences = ResumeDifferences(recorded);
                    if (differences.Count > 0)
                        throw new ArgumentException(
                            $"--resume: {dir} was packed with other settings: {string.Join("; ", differences)}");
                    var inputs = new PackResumeInputs
                    {
                        Stream = streamPath, Listening = Listening, Device = r.GetValue(device)!, IdentitySeed = identitySeed,
                    };
                    var resumed = Pack.ResumeAsync(dir, inputs, r.GetValue(workers), progress, ct);
                    var (m, alreadyComplete) = await ProgressDisplay.RunAsync(
                        "pack", () => (progress.DonePositions, progress.TotalPositions), resumed);
                    if (alreadyComplete && streamPath is not null)
                    {
                        await using var input = await TeacherStream.OpenAsync(streamPath, ct, Listening);
                        await input.DrainAsync(ct);
                    }
                    if (alreadyComplete) Console.WriteLine($"{dir}: already complete, nothing to resume");
                    else PrintSummary(progress, m, dir);
                    return 0;
                }
                // A retried job whose first try stopped before it wrote anything: the command itself says what to pack.
                if (!sourceGiven)
                    throw new ArgumentException(
                        $"--resume: {dir} holds no store; give the pack's source (--synthetic, --teacher or --from-stream) " +
                        "and settings to start it");
                Console.Error.WriteLine($"logitstore: {dir} holds no store yet: packing it from the start");
            }

            var processing = new ProcessingOptions
            {
                Method = ProcessingOptions.ParseMethod(r.GetValue(method)!),
                Temperature = r.GetValue(temperature),
                TopP = r.GetValue(topP),
                TopK = r.GetValue(topK),
                Draws = r.GetValue(draws),
                Seed = r.GetValue(seed),
            };
            var codecs = new CodecOptions
            {
                Tokens = IdCodecSpec.Parse(r.GetValue(tokCodec)!),
                Ids = IdCodecSpec.Parse(r.GetValue(ids)!),
                Values = ValueCodecSpec.Parse(r.GetValue(values)!),
                ValueLogRange = r.GetValue(range),
                MvqBeam = r.GetValue(beam),
                DictionarySample = r.GetValue(dictSample),
                Codebooks = r.GetValue(codebook) is { } cb ? Codecs.Mvq.MvqCodebooks.Load(cb) : null,
                ZstdLevel = r.GetValue(zstd),
                SequencesPerBlock = r.GetValue(spb),
                ShardTargetBytes = r.GetValue(shardMiB) << 20,
            };
            PartSpec? partSpec = null;
            if (r.GetValue(part) is { } ps)
            {
                var (parsed, from) = SchedulerPartition.Parse(ps, Environment.GetEnvironmentVariable);
                partSpec = parsed;
                if (from is not null) Console.Error.WriteLine($"logitstore: part {parsed} from {from}");
            }
            int sources = (r.GetValue(synthetic) ? 1 : 0) + (streamPath is not null ? 1 : 0) + (r.GetValue(teacher) is not null ? 1 : 0);
            if (sources != 1) throw new ArgumentException("choose one source: --synthetic, --teacher CKPT or --from-stream");
            if (r.GetValue(teacher) is { } ckpt)
            {
                if (partSpec is not null) throw new ArgumentException("--part splits synthetic packs; a teacher pack takes --split");
                var o = new Torch.Teacher.TeacherPackOptions
                {
                    Checkpoint = ckpt, Corpus = r.GetValue(corpus)!, TextField = r.GetValue(textField)!, Output = dir,
                    SequenceLength = r.GetValue(seqLen),
                    BatchSize = r.GetValue(batch),
                    Device = r.GetValue(device)!, Processing = processing, Codecs = codecs, Overwrite = r.GetValue(force),
                    Workers = r.GetValue(workers), Split = Choice.Parse<Torch.Teacher.CorpusSplit>(r.GetValue(split)!, "--split"),
                    IdentitySeed = identitySeed,
                    MaxTokens = r.GetResult(tokens) is null ? long.MaxValue : (long)r.GetValue(tokens),
                };
                var (m, timing) = await ProgressDisplay.RunAsync(
                    "pack",
                    () => (progress.DonePositions, progress.TotalPositions),
                    Torch.Teacher.TeacherPack.RunAsync(o, progress, ct));
                Console.WriteLine(
                    $"teacher pack: {timing.Tokens:N0} tokens in {timing.Seconds:F1} s = {timing.TokensPerSecond:N0} tokens/s; " +
                    $"forward {timing.Forward:F1} s, " +
                    $"top-k + copy to host {timing.TopKAndTransfer:F1} s, host cut {timing.HostProcessing:F1} s, " +
                    $"waiting for the encoders {timing.WaitingForWriter:F1} s; bound by {timing.Bound}; peak RSS " +
                    $"{timing.PeakResidentBytes / 1048576.0:N0} MiB, weights {timing.WeightBytes / 1048576.0:N0} MiB");
                PrintSummary(progress, m, dir);
                return 0;
            }
            Func<Task<IPackSource>> openSource = streamPath is null
                ? () => Task.FromResult<IPackSource>(new SyntheticPackSource(
                    new SyntheticSource(r.GetValue(tokens), r.GetValue(vocab), r.GetValue(seqLen), r.GetValue(seed)), partSpec))
                : async () => await StreamPackSource.OpenAsync(
                    await TeacherStream.OpenAsync(streamPath, ct, Listening), ct, part: partSpec);
            var manifest = await ProgressDisplay.RunAsync(
                "pack",
                () => (progress.DonePositions, progress.TotalPositions),
                Pack.RunAsync(dir, openSource, processing, codecs, r.GetValue(force), r.GetValue(workers), identitySeed, progress, ct));
            PrintSummary(progress, manifest, dir);
            return 0;
        });
        return cmd;
    }

    private static void PrintSummary(PackProgress progress, Manifest manifest, string dir)
    {
        while (progress.Messages.TryDequeue(out var note)) Console.WriteLine(note);
        Console.WriteLine(
            $"committed {manifest.Totals.Sequences:N0} sequences, {manifest.Totals.Positions:N0} tokens, " +
            $"{manifest.Shards.Count} shard(s), " +
            $"{manifest.Totals.Bytes / Math.Max(1.0, manifest.Totals.Positions):F2} bytes/token -> {dir}");
    }
}
