using System.CommandLine;
using LogitStore.Processing;
using LogitStore.Torch.Teacher;
using LogitStore.Writing;

namespace LogitStore.Cli;

/// <summary><c>logitstore teacher train</c>: train a teacher LM on a corpus (optionally recording its online logits).</summary>
internal static class TeacherCommand
{
    public static Command Create()
    {
        var d = new TeacherTrainingOptions { Corpus = "", Output = "" };
        var corpus = new Option<string>("--corpus")
        {
            Description = "Brown directory (tools/fetch-corpus.sh), *.jsonl with {\"text\": ...}, or a text file",
            DefaultValueFactory = _ => "data/brown",
        };
        var outOpt = new Option<string>("--out")
        {
            Description = "checkpoint directory (config.json + model.safetensors)",
            Required = true,
        };
        var preset = new Option<string>("--preset")
        {
            Description = "tiny | cpu-small | small | base",
            DefaultValueFactory = _ => d.Preset,
        };
        var steps = new Option<int>("--max-steps") { DefaultValueFactory = _ => d.MaxSteps };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => d.BatchSize };
        var seqLen = new Option<int>("--seq-len") { DefaultValueFactory = _ => d.SequenceLength };
        var lr = new Option<double>("--lr") { DefaultValueFactory = _ => d.LearningRate };
        var warmup = new Option<int>("--warmup") { DefaultValueFactory = _ => d.WarmupSteps };
        var schedule = new Option<string>("--schedule")
        {
            Description = Choice.Names<LearningRateShape>(),
            DefaultValueFactory = _ => Choice.Name(d.Schedule),
        };
        var evalEvery = new Option<int>("--eval-every") { DefaultValueFactory = _ => d.EvalEvery };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda", DefaultValueFactory = _ => d.Device };
        var resume = new Option<bool>("--resume") { Description = "continue from the checkpoint in --out" };
        var record = new Option<string?>("--record-online")
        {
            Description = "also write the teacher's distributions on each training batch to this store",
        };
        var epochs = new Option<int>("--epochs")
        {
            Description = "train this many whole epochs over the training split (overrides --max-steps)",
        };
        var phases = new Option<int>("--record-phases")
        {
            Description = "split the recording by training step into N stores (STORE/phase-i-of-N)",
            DefaultValueFactory = _ => 1,
        };
        var maxTokens = new Option<long>("--max-corpus-tokens")
        {
            Description = "tokenise at most this many corpus tokens",
            DefaultValueFactory = _ => long.MaxValue,
        };
        var vocab = new Option<string>("--vocab")
        {
            Description = "output layer: corpus (the training split's ids + one 'other' output) | full (every tokenizer id)",
            DefaultValueFactory = _ => d.Vocabulary == VocabularyChoice.Corpus ? "corpus" : "full",
        };
        vocab.AcceptOnlyFromAmong("corpus", "full");
        var train = new Command("train", "train a teacher LM (AdamW, warmup + cosine/WSD, clipping, held-out loss vs a unigram baseline)")
        {
            corpus, outOpt, preset, steps, batch, seqLen, lr, warmup, schedule, evalEvery, device, resume, record, phases, maxTokens,
            epochs, vocab,
        };
        train.SetAction(async (r, ct) =>
        {
            var o = new TeacherTrainingOptions
            {
                Corpus = r.GetValue(corpus)!, Output = r.GetValue(outOpt)!, Preset = r.GetValue(preset)!, MaxSteps = r.GetValue(steps),
                Epochs = r.GetValue(epochs),
                BatchSize = r.GetValue(batch), SequenceLength = r.GetValue(seqLen), LearningRate = r.GetValue(lr),
                WarmupSteps = r.GetValue(warmup),
                Schedule = Choice.Parse<LearningRateShape>(r.GetValue(schedule)!, "--schedule"), EvalEvery = r.GetValue(evalEvery),
                Device = r.GetValue(device)!,
                Resume = r.GetValue(resume),
                RecordOnline = r.GetValue(record), RecordPhases = r.GetValue(phases), MaxCorpusTokens = r.GetValue(maxTokens),
                Vocabulary = r.GetValue(vocab) == "full" ? VocabularyChoice.Full : VocabularyChoice.Corpus,
            };
            var result = await TeacherTrainer.TrainAsync(o, s =>
            {
                if (s.HeldOutLoss is { } h || s.Step % 10 == 0)
                    Console.WriteLine(
                        $"step {s.Step,6}  loss {s.Loss:F4}  lr {s.LearningRate:E2}  {s.TokensPerSecond:N0} tokens/s" +
                        (s.HeldOutLoss is { } hl ? $"  held-out {hl:F4}" : ""));
            }, ct);
            Console.WriteLine(
                $"teacher: {result.Parameters:N0} parameters, {result.Steps} steps, {result.TokensSeen:N0} tokens " +
                $"at {result.TokensPerSecond:N0} tokens/s");
            double gap = result.UnigramHeldOutLoss - result.HeldOutLoss;
            Console.WriteLine(
                $"held-out loss {result.HeldOutLoss:F4} nats/token vs add-one unigram {result.UnigramHeldOutLoss:F4} on the same " +
                $"positions: {Math.Abs(gap):F2} nats {(gap >= 0 ? "below" : "above")} it -> {o.Output}");
            if (result.OnlineStore is { } s) Console.WriteLine($"online logits -> {s}");
            return 0;
        });
        return new Command("teacher", "teacher models") { train, Profile(), Bench() };
    }

    /// <summary><c>teacher profile</c>: milliseconds per training step, by phase, at the full and the compact vocabulary.</summary>
    private static Command Profile()
    {
        var corpus = new Option<string>("--corpus")
        {
            Description = "corpus whose text fills the batches",
            DefaultValueFactory = _ => "data/brown",
        };
        var presets = new Option<string>("--presets")
        {
            Description = "comma-separated presets",
            DefaultValueFactory = _ => "small,cpu-small",
        };
        var batch = new Option<int>("--batch") { DefaultValueFactory = _ => 16 };
        var seqLen = new Option<int>("--seq-len") { DefaultValueFactory = _ => 128 };
        var steps = new Option<int>("--steps") { Description = "steps per model, the first two not counted", DefaultValueFactory = _ => 8 };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda", DefaultValueFactory = _ => "auto" };
        var profile = new Command("profile", "time a training step by phase at the full and at the compact output vocabulary")
        {
            corpus, presets, batch, seqLen, steps, device,
        };
        profile.SetAction(r =>
        {
            var rows = TrainingStepProfile.Measure(r.GetValue(corpus)!, r.GetValue(presets)!.Split(',', StringSplitOptions.TrimEntries),
                r.GetValue(batch), r.GetValue(seqLen), r.GetValue(steps), r.GetValue(device)!);
            Console.WriteLine("| preset | outputs | parameters | output layer | forward | loss | backward | optimiser | step | tokens/s |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var p in rows)
                Console.WriteLine(
                    $"| {p.Preset} | {p.Outputs:N0} | {p.Parameters:N0} | {p.OutputLayerShare:P0} | {p.Forward:N0} | {p.Loss:N0} | " +
                    $"{p.Backward:N0} | {p.Optimiser:N0} | {p.Step:N0} | {p.TokensPerSecond:N0} |");
            return 0;
        });
        return profile;
    }

    /// <summary><c>teacher bench</c>: a pack's tokens/s against the bare forward's over the same tokens, in one process.</summary>
    private static Command Bench()
    {
        var teacher = new Option<string>("--teacher") { Description = "checkpoint directory (Hugging Face layout)", Required = true };
        var corpus = new Option<string>("--corpus") { Description = "corpus to run over", DefaultValueFactory = _ => "data/brown" };
        var textField = new Option<string>("--text-field")
        {
            Description = "the JSON member or Parquet column holding each document's text",
            DefaultValueFactory = _ => Torch.Corpus.TextDocuments.DefaultTextField,
        };
        var tokens = new Option<long>("--tokens") { Description = "tokens to run, in whole sequences", DefaultValueFactory = _ => 8192 };
        var seqLen = new Option<int>("--seq-len") { Description = "positions per sequence", DefaultValueFactory = _ => 512 };
        var batch = new Option<int>("--batch") { Description = "sequences per forward", DefaultValueFactory = _ => 4 };
        var topK = new Option<int>("--top-k")
        {
            Description = "entries kept per position (method top-k)",
            DefaultValueFactory = _ => new ProcessingOptions().TopK,
        };
        var device = new Option<string>("--device") { Description = "auto | cpu | cuda", DefaultValueFactory = _ => "auto" };
        var outOpt = new Option<string?>("--out") { Description = "where the pack writes its store (default: a temporary directory)" };
        var workers = new Option<int>("--workers") { Description = "encoder threads of the pack (0: one per core)" };
        var bench = new Command("bench", "pack tokens/s against the bare forward's over the same tokens (top-k, the default codecs)")
        {
            teacher, corpus, textField, tokens, seqLen, batch, topK, device, outOpt, workers,
        };
        bench.SetAction(async (r, ct) =>
        {
            string? given = r.GetValue(outOpt);
            string dir = given ?? Path.Combine(Path.GetTempPath(), $"logitstore-bench-{Environment.ProcessId}");
            var o = new TeacherPackOptions
            {
                Checkpoint = r.GetValue(teacher)!, Corpus = r.GetValue(corpus)!, TextField = r.GetValue(textField)!, Output = dir,
                SequenceLength = r.GetValue(seqLen), BatchSize = r.GetValue(batch), Device = r.GetValue(device)!,
                MaxTokens = r.GetValue(tokens), Overwrite = given is null, Workers = r.GetValue(workers),
                Processing = new ProcessingOptions { Method = TruncationMethod.TopK, TopK = r.GetValue(topK) },
            };
            o.Processing.Validate();
            try
            {
                var b = await TeacherPack.BenchmarkAsync(o, ct: ct);
                var p = b.Pack;
                Console.WriteLine("| run | tokens | seconds | tokens/s |");
                Console.WriteLine("|---|---:|---:|---:|");
                Console.WriteLine($"| bare forward | {b.ForwardTokens:N0} | {b.ForwardSeconds:F2} | {b.ForwardTokensPerSecond:N0} |");
                Console.WriteLine($"| pack (top-k {o.Processing.TopK}) | {p.Tokens:N0} | {p.Seconds:F2} | {p.TokensPerSecond:N0} |");
                Console.WriteLine(
                    $"pack / forward = {b.Ratio:F3}; pack time: forward {p.Forward:F2} s, softmax/top-k + copy {p.TopKAndTransfer:F2} s, " +
                    $"host cut {p.HostProcessing:F2} s, waiting for encoders + I/O {p.WaitingForWriter:F2} s; bound by {p.Bound}");
                Console.WriteLine(
                    $"store {b.BytesPerToken:F1} B/token; weights {p.WeightBytes / 1048576.0:N0} MiB on disk; peak RSS " +
                    $"{p.LoadedResidentBytes / 1048576.0:N0} MiB once loaded, {b.ForwardPeakResidentBytes / 1048576.0:N0} MiB " +
                    $"after the bare forward, {p.PeakResidentBytes / 1048576.0:N0} MiB at the end");
            }
            finally
            {
                if (given is null && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            }
            return 0;
        });
        return bench;
    }
}
