using System.Diagnostics;
using System.Text.Json;
using LogitStore.Format.Storage;
using LogitStore.Processing;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Distillation;
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

    /// <summary>When &gt; 0, train this many whole epochs over the training split instead of <see cref="MaxSteps"/>.</summary>
    public int Epochs { get; init; }
    public int BatchSize { get; init; } = 8;
    public int SequenceLength { get; init; } = 128;
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 20;
    public LearningRateShape Schedule { get; init; } = LearningRateShape.Cosine;
    public double ClipNorm { get; init; } = 1.0;
    public double WeightDecay { get; init; } = 0.1;
    public int EvalEvery { get; init; } = 50;
    public int EvalSequences { get; init; } = 32;
    public int CheckpointEvery { get; init; } = 100;
    public ulong Seed { get; init; } = 1;
    public string Device { get; init; } = "auto";
    public bool Resume { get; init; }
    public long MaxCorpusTokens { get; init; } = long.MaxValue;

    /// <summary>The output layer's ids: those of the training split (plus "other"), or the tokenizer's whole vocabulary.</summary>
    public VocabularyChoice Vocabulary { get; init; } = VocabularyChoice.Corpus;

    /// <summary>When set, the distributions behind every training batch's loss are written to this store ("online logits").</summary>
    public string? RecordOnline { get; init; }

    /// <summary>
    /// With N &gt; 1 the recording is split by training step into N stores, <c>RecordOnline/phase-i-of-N</c>, phase i
    /// holding steps [(i-1)·S/N, i·S/N): the early and late teacher of the paper's recorded-online arms.
    /// </summary>
    public int RecordPhases { get; init; } = 1;
    public ProcessingOptions RecordProcessing { get; init; } = new();
    public CodecOptions RecordCodecs { get; init; } = new();
}

/// <summary>Which ids a new model's output layer covers (see <see cref="OutputVocabulary"/>).</summary>
public enum VocabularyChoice
{
    /// <summary>The ids of the training split, plus "other" for the rest: the output layer shrinks to what the corpus uses.</summary>
    Corpus,
    /// <summary>Every tokenizer id.</summary>
    Full,
}

/// <summary>One line of the training log.</summary>
public sealed record TrainingStepLog(int Step, double Loss, double LearningRate, double TokensPerSecond, double? HeldOutLoss);

/// <summary>Final figures of a training run.</summary>
public sealed record TeacherTrainingResult(
    long Parameters, int Steps, long TokensSeen, double FinalLoss, double HeldOutLoss, double UnigramHeldOutLoss, double TokensPerSecond,
    string? OnlineStore);

/// <summary>
/// Trains a teacher LM on a corpus: AdamW, warmup + cosine or WSD, gradient clipping, held-out loss against a
/// unigram baseline, checkpoints (model + step) and resume. With <see cref="TeacherTrainingOptions.RecordOnline"/>
/// it also stores, from the logits it already computed for its loss, the teacher's distributions on each batch.
/// </summary>
public static class TeacherTrainer
{
    private const string StateFile = "training-state.json";

    public static async Task<TeacherTrainingResult> TrainAsync(
        TeacherTrainingOptions o, Action<TrainingStepLog>? log = null, CancellationToken ct = default)
    {
        var device = TorchRuntime.Device(o.Device);
        random.manual_seed((long)o.Seed);
        var tokenizer = TextTokenizer.Create();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(o.Corpus), tokenizer, o.SequenceLength, maxTokens: o.MaxCorpusTokens);
        if (corpus.TrainSequences < o.BatchSize)
            throw new ArgumentException(
                $"the corpus gives {corpus.TrainSequences} training sequences, fewer than a batch of {o.BatchSize}");

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
            var vocabulary = o.Vocabulary == VocabularyChoice.Corpus
                ? OutputVocabulary.FromCorpus(corpus.Train, tokenizer.VocabSize)
                : OutputVocabulary.Full(tokenizer.VocabSize);
            var config = TransformerConfig.Preset(o.Preset, vocabulary) with { MaxPositions = Math.Max(o.SequenceLength, 256) };
            model = new DecoderLM(config, vocabulary);
            model.to(device);
        }
        using var _model = model;
        var optimizer = optim.AdamW(model.parameters(), o.LearningRate, 0.9, 0.95, 1e-8, o.WeightDecay);
        int maxSteps = o.Epochs > 0 ? StepsFor(o.Epochs, corpus.TrainSequences, o.BatchSize) : o.MaxSteps;
        var schedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, maxSteps, o.Schedule);

        if (o.RecordPhases < 1) throw new SettingException("record_phases", "must be at least 1");
        var phases = new StoreWriter?[o.RecordPhases];
        StoreWriter? online = null;
        int phase = -1;
        var recorder = o.RecordOnline is null ? null : new DeviceLogitsProcessor(o.RecordProcessing);
        int stepsPerEpoch = corpus.TrainSequences / o.BatchSize;
        var order = Shuffle(corpus.TrainSequences, o.Seed);
        var heldOutSet = EvaluationSet.HeldOut("held-out", corpus, o.EvalSequences);
        double unigram = UnigramLoss(corpus, heldOutSet, tokenizer.VocabSize);
        var clock = Stopwatch.StartNew();
        long tokens = 0;
        double loss = double.NaN, heldOut = double.NaN;
        int step = startStep;
        try
        {
            for (; step < maxSteps; step++)
            {
                ct.ThrowIfCancellationRequested();
                TorchRuntime.PrepareThread();
                var (inputs, batchTokens, seqIds) = Batch(corpus, order, step, stepsPerEpoch, o.BatchSize, device);
                if (recorder is not null && (int)((long)step * o.RecordPhases / maxSteps) is var p && p != phase)
                {
                    phase = p;
                    online = phases[p] = CreateOnlineStore(o, tokenizer, p, step, maxSteps);
                }
                double lr = schedule.At(step);
                foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
                using (var scope = NewDisposeScope())
                {
                    model.train();
                    optimizer.zero_grad();
                    var logits = model.forward(inputs);
                    var l = model.Vocabulary.CrossEntropy(logits[.., ..^1].reshape(-1, logits.shape[2]), inputs[.., 1..].reshape(-1));
                    l.backward();
                    nn.utils.clip_grad_norm_(model.parameters(), o.ClipNorm);
                    optimizer.step();
                    loss = l.item<float>();
                    if (recorder is not null)
                    {
                        SparseSequence[] seqs;
                        using (no_grad()) seqs = recorder.Process(logits.detach(), model.Vocabulary, batchTokens, seqIds);
                        foreach (var s in seqs) await online!.AppendAsync(s, ct);
                    }
                }
                inputs.Dispose();
                tokens += (long)o.BatchSize * o.SequenceLength;
                bool eval = (step + 1) % o.EvalEvery == 0 || step + 1 == maxSteps;
                if (eval) heldOut = HeldOutEvaluation.Measure(model, heldOutSet, device).Loss;
                log?.Invoke(new TrainingStepLog(step + 1, loss, lr, tokens / clock.Elapsed.TotalSeconds, eval ? heldOut : null));
                if ((step + 1) % o.CheckpointEvery == 0) Save(o.Output, model, step + 1, loss, heldOut);
            }
            Save(o.Output, model, step, loss, heldOut);
            foreach (var w in phases.OfType<StoreWriter>()) await w.CompleteAsync(ct);
        }
        finally
        {
            // Writers of a run that failed leave their last commit, and let go of their stores' locks.
            foreach (var w in phases.OfType<StoreWriter>()) await w.DisposeAsync();
        }
        return new TeacherTrainingResult(
            model.parameters().Sum(p => p.numel()), step, tokens, loss, heldOut, unigram, tokens / clock.Elapsed.TotalSeconds,
            o.RecordOnline);
    }

    /// <summary>
    /// The store of recording phase <paramref name="phase"/> (0-based): <c>RecordOnline</c> itself, or <c>phase-i-of-N</c> inside it.
    /// </summary>
    public static string PhaseStore(string recordOnline, int phase, int phases) =>
        phases == 1 ? recordOnline : Path.Combine(recordOnline, $"phase-{phase + 1}-of-{phases}");

    private static StoreWriter CreateOnlineStore(
        TeacherTrainingOptions o, TextTokenizer tokenizer, int phase, int firstStep, int totalSteps) =>
        StoreWriter.Create(PhaseStore(o.RecordOnline!, phase, o.RecordPhases), new StoreWriterOptions
        {
            VocabSize = (uint)tokenizer.VocabSize,
            Tokenizer = new Format.TokenizerInfo { Name = tokenizer.Name, VocabHash = tokenizer.VocabHash() },
            Teacher = new()
            {
                ["id"] = $"online:{Path.GetFullPath(o.Output)}", ["preset"] = o.Preset,
                ["note"] = "distributions of the teacher while it trained, one batch per step",
            },
            Processing = o.RecordProcessing,
            Codecs = o.RecordCodecs,
            Source = new()
            {
                ["kind"] = "teacher-training", ["corpus"] = Path.GetFullPath(o.Corpus), ["sequence_length"] = o.SequenceLength,
                ["seed"] = o.Seed,
                ["phase"] = phase + 1, ["phases"] = o.RecordPhases, ["first_step"] = firstStep, ["teacher_steps"] = totalSteps,
            },
            Overwrite = true,
        });

    private static void Save(string dir, DecoderLM model, int step, double loss, double heldOut)
    {
        Checkpoint.Save(dir, model, new Dictionary<string, string> { ["step"] = step.ToString(), ["format"] = "pt" });
        DurableFile.WriteAtomic(
            Path.Combine(dir, StateFile),
            JsonSerializer.SerializeToUtf8Bytes(new { step, loss = Finite(loss), held_out_loss = Finite(heldOut) }));
    }

    private static double? Finite(double x) => double.IsFinite(x) ? x : null;

    /// <summary>
    /// Training steps that make <paramref name="epochs"/> whole epochs over a corpus of <paramref name="trainSequences"/>.
    /// </summary>
    public static int StepsFor(int epochs, int trainSequences, int batch) => epochs * (trainSequences / batch);

    private static int[] Shuffle(int n, ulong seed)
    {
        var order = Enumerable.Range(0, n).ToArray();
        new Random((int)(seed & 0x7FFFFFFF)).Shuffle(order);
        return order;
    }

    /// <summary>
    /// Batch of step <paramref name="step"/>: sequences order[(step mod E)·B + i] with E = ⌊n/B⌋ steps per epoch (the
    /// last partial batch of each epoch is dropped, so that every epoch, and every recording phase of whole
    /// epochs, covers the same sequences); the loss predicts tokens 1..T-1 of each sequence from their prefixes.
    /// </summary>
    private static (Tensor Inputs, int[][] Tokens, ulong[] SequenceIds) Batch(
        TokenizedCorpus c, int[] order, int step, int stepsPerEpoch, int batch, Device device)
    {
        int length = c.SequenceLength;
        var input = new long[batch * length];
        var host = new int[batch][];
        var ids = new ulong[batch];
        for (int i = 0; i < batch; i++)
        {
            var s = c.TrainSequence(order[step % stepsPerEpoch * batch + i]);
            ids[i] = (ulong)step * (ulong)batch + (ulong)i;
            host[i] = s.ToArray();
            for (int t = 0; t < length; t++) input[i * length + t] = s[t];
        }
        return (tensor(input, [batch, length]).to(device), host, ids);
    }

    /// <summary>
    /// Cross-entropy on <paramref name="set"/> (the positions a model is measured on: tokens 1..T−1 of each sequence)
    /// of an add-one unigram model fitted on the training split: the baseline any LM must beat.
    /// </summary>
    public static double UnigramLoss(TokenizedCorpus c, EvaluationSet set, int vocab)
    {
        var counts = new long[vocab];
        foreach (int t in c.Train) counts[t]++;
        double total = c.Train.Length + (double)vocab;
        double sum = 0;
        long n = 0;
        foreach (var s in set.Sequences)
            for (int t = 1; t < s.Length; t++) { sum -= Math.Log((counts[s[t]] + 1) / total); n++; }
        return n == 0 ? double.NaN : sum / n;
    }
}
