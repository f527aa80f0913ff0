using System.Diagnostics;
using System.Text.Json;
using LogitStore.Processing;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Teacher;

/// <summary>What <c>logitstore teacher train</c> does; see the README for the presets.</summary>
public sealed record TeacherTrainingOptions
{
    public required string Corpus { get; init; }
    public required string Output { get; init; }
    public string Preset { get; init; } = "tiny";
    public int MaxSteps { get; init; } = 200;
    public int BatchSize { get; init; } = 8;
    public int SequenceLength { get; init; } = 128;
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 20;
    public string Schedule { get; init; } = "cosine";
    public double ClipNorm { get; init; } = 1.0;
    public double WeightDecay { get; init; } = 0.1;
    public int EvalEvery { get; init; } = 50;
    public int EvalSequences { get; init; } = 32;
    public int CheckpointEvery { get; init; } = 100;
    public ulong Seed { get; init; } = 1;
    public string Device { get; init; } = "auto";
    public bool Resume { get; init; }
    public long MaxCorpusTokens { get; init; } = long.MaxValue;

    /// <summary>When set, the distributions behind every training batch's loss are written to this store ("online logits").</summary>
    public string? RecordOnline { get; init; }
    public ProcessingOptions RecordProcessing { get; init; } = new();
    public CodecOptions RecordCodecs { get; init; } = new();
}

/// <summary>One line of the training log.</summary>
public sealed record TrainingStepLog(int Step, double Loss, double LearningRate, double TokensPerSecond, double? HeldOutLoss);

/// <summary>Final figures of a training run.</summary>
public sealed record TeacherTrainingResult(long Parameters, int Steps, long TokensSeen, double FinalLoss, double HeldOutLoss, double UnigramHeldOutLoss, double TokensPerSecond, string? OnlineStore);

/// <summary>
/// Trains a teacher LM on a corpus: AdamW, warmup + cosine or WSD, gradient clipping, held-out loss against a
/// unigram baseline, checkpoints (model + step) and resume. With <see cref="TeacherTrainingOptions.RecordOnline"/>
/// it also stores, from the logits it already computed for its loss, the teacher's distributions on each batch.
/// </summary>
public static class TeacherTrainer
{
    private const string StateFile = "training-state.json";

    public static async Task<TeacherTrainingResult> TrainAsync(TeacherTrainingOptions o, Action<TrainingStepLog>? log = null, CancellationToken ct = default)
    {
        var device = TorchRuntime.Device(o.Device);
        random.manual_seed((long)o.Seed);
        var tokenizer = TextTokenizer.Create();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(o.Corpus), tokenizer, o.SequenceLength + 1, maxTokens: o.MaxCorpusTokens);
        if (corpus.TrainSequences < o.BatchSize) throw new ArgumentException($"the corpus gives {corpus.TrainSequences} training sequences, fewer than a batch of {o.BatchSize}");

        int startStep = 0;
        DecoderLM model;
        string statePath = Path.Combine(o.Output, StateFile);
        if (o.Resume && File.Exists(statePath))
        {
            model = Checkpoint.Load(o.Output, device);
            startStep = JsonDocument.Parse(File.ReadAllText(statePath)).RootElement.GetProperty("step").GetInt32();
        }
        else
        {
            model = new DecoderLM(TransformerConfig.Preset(o.Preset, tokenizer.VocabSize) with { MaxPositions = Math.Max(o.SequenceLength, 256) });
            model.to(device);
        }
        using var _model = model;
        var optimizer = optim.AdamW(model.parameters(), o.LearningRate, 0.9, 0.95, 1e-8, o.WeightDecay);
        var schedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, o.MaxSteps, o.Schedule);
        double unigram = UnigramLoss(corpus, tokenizer.VocabSize);

        StoreWriter? online = null;
        if (o.RecordOnline is not null)
        {
            online = StoreWriter.Create(o.RecordOnline, new StoreWriterOptions
            {
                VocabSize = (uint)tokenizer.VocabSize,
                Tokenizer = new Format.TokenizerInfo { Name = tokenizer.Name, VocabHash = tokenizer.VocabHash() },
                Teacher = new() { ["id"] = $"online:{Path.GetFullPath(o.Output)}", ["preset"] = o.Preset, ["note"] = "distributions of the teacher while it trained, one batch per step" },
                Processing = o.RecordProcessing,
                Codecs = o.RecordCodecs,
                Source = new() { ["kind"] = "teacher-training", ["corpus"] = Path.GetFullPath(o.Corpus), ["sequence_length"] = o.SequenceLength, ["seed"] = o.Seed },
                Overwrite = true,
            });
        }
        var recorder = online is null ? null : new DeviceLogitsProcessor(o.RecordProcessing);

        var order = Shuffle(corpus.TrainSequences, o.Seed);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        double loss = double.NaN, heldOut = double.NaN;
        int step = startStep;
        for (; step < o.MaxSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            var (inputs, targets, batchTokens, seqIds) = Batch(corpus, order, step, o.BatchSize, o.SequenceLength, device);
            double lr = schedule.At(step);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
            using (var scope = NewDisposeScope())
            {
                model.train();
                optimizer.zero_grad();
                var logits = model.forward(inputs);
                var l = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
                l.backward();
                nn.utils.clip_grad_norm_(model.parameters(), o.ClipNorm);
                optimizer.step();
                loss = l.item<float>();
                if (recorder is not null)
                {
                    SparseSequence[] seqs;
                    using (no_grad()) seqs = recorder.Process(logits.detach(), batchTokens, seqIds);
                    foreach (var s in seqs) await online!.AppendAsync(s, ct);
                }
            }
            inputs.Dispose();
            targets.Dispose();
            tokens += (long)o.BatchSize * o.SequenceLength;
            bool eval = (step + 1) % o.EvalEvery == 0 || step + 1 == o.MaxSteps;
            if (eval) heldOut = HeldOutLoss(model, corpus, o.EvalSequences, o.SequenceLength, device);
            log?.Invoke(new TrainingStepLog(step + 1, loss, lr, tokens / clock.Elapsed.TotalSeconds, eval ? heldOut : null));
            if ((step + 1) % o.CheckpointEvery == 0) Save(o.Output, model, step + 1, loss, heldOut);
        }
        Save(o.Output, model, step, loss, heldOut);
        if (online is not null)
        {
            await online.CompleteAsync(ct);
            await online.DisposeAsync();
        }
        return new TeacherTrainingResult(model.parameters().Sum(p => p.numel()), step, tokens, loss, heldOut, unigram, tokens / clock.Elapsed.TotalSeconds, o.RecordOnline);
    }

    private static void Save(string dir, DecoderLM model, int step, double loss, double heldOut)
    {
        Checkpoint.Save(dir, model, new Dictionary<string, string> { ["step"] = step.ToString(), ["format"] = "pt" });
        DurableFile.WriteAtomic(Path.Combine(dir, StateFile), JsonSerializer.SerializeToUtf8Bytes(new { step, loss = Finite(loss), held_out_loss = Finite(heldOut) }));
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    private static int[] Shuffle(int n, ulong seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random((int)(seed & 0x7FFFFFFF)).Shuffle(order);
        return order;
    }

    /// <summary>Batch of step <paramref name="step"/>: sequences order[(step·B + i) mod n]; inputs are tokens [0, T), targets [1, T].</summary>
    private static (Tensor Inputs, Tensor Targets, int[][] Tokens, ulong[] SequenceIds) Batch(TokenizedCorpus c, int[] order, int step, int batch, int length, Device device)
    {
        var input = new long[batch * length];
        var target = new long[batch * length];
        var host = new int[batch][];
        var ids = new ulong[batch];
        for (int i = 0; i < batch; i++)
        {
            int seq = order[(int)(((long)step * batch + i) % order.Length)];
            ids[i] = (ulong)step * (ulong)batch + (ulong)i;
            var s = c.TrainSequence(seq);
            host[i] = s[..length].ToArray();
            for (int t = 0; t < length; t++)
            {
                input[i * length + t] = s[t];
                target[i * length + t] = s[t + 1];
            }
        }
        return (tensor(input, [batch, length]).to(device), tensor(target, [batch, length]).to(device), host, ids);
    }

    /// <summary>Mean next-token cross-entropy (nats) over the first <paramref name="sequences"/> held-out sequences.</summary>
    public static double HeldOutLoss(DecoderLM model, TokenizedCorpus c, int sequences, int length, Device device)
    {
        int n = Math.Min(sequences, c.HeldOutSequences);
        if (n == 0) return double.NaN;
        using var _ = no_grad();
        model.eval();
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            using var scope = NewDisposeScope();
            var s = c.HeldOutSequence(i).ToArray().Select(x => (long)x).ToArray();
            var input = tensor(s[..length], [1, length]).to(device);
            var target = tensor(s[1..(length + 1)], [1, length]).to(device);
            var logits = model.forward(input);
            sum += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), target.reshape(-1)).item<float>();
        }
        return sum / n;
    }

    /// <summary>Held-out cross-entropy of an add-one unigram model fitted on the training split: the baseline any LM must beat.</summary>
    public static double UnigramLoss(TokenizedCorpus c, int vocab)
    {
        var counts = new long[vocab];
        foreach (int t in c.Train) counts[t]++;
        double total = c.Train.Length + (double)vocab;
        double sum = 0;
        long n = 0;
        for (int i = 0; i < c.HeldOutSequences; i++)
        {
            var s = c.HeldOutSequence(i);
            for (int t = 1; t < s.Length; t++) { sum -= Math.Log((counts[s[t]] + 1) / total); n++; }
        }
        return n == 0 ? double.NaN : sum / n;
    }
}
