using System.Diagnostics;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using LogitStore.Torch.Teacher;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Distillation;

/// <summary>Where a student's teacher signal comes from.</summary>
public enum StudentMode { Lm, Offline, Online, RecordedOnline }

public sealed record StudentTrainingOptions
{
    /// <summary>The store whose tokens (all modes but recorded-online) and targets (offline) the student reads.</summary>
    public required string Store { get; init; }
    public StudentMode Mode { get; init; } = StudentMode.Offline;
    public string? Teacher { get; init; }
    public string? RecordedStore { get; init; }
    /// <summary>A corpus whose held-out split (cut at the store's sequence length) measures the student.</summary>
    public string? HeldOutCorpus { get; init; }

    /// <summary>Sets measured at every evaluation, after the held-out split of <see cref="HeldOutCorpus"/>.</summary>
    public IReadOnlyList<EvaluationSet> Evaluations { get; init; } = [];

    /// <summary>Teacher checkpoint against which the top-1 agreement is measured (online mode uses its own teacher).</summary>
    public string? EvalTeacher { get; init; }

    /// <summary>A checkpoint whose output vocabulary the student takes (null: the store's whole vocabulary).</summary>
    public string? VocabularyFrom { get; init; }
    public string? Output { get; init; }

    /// <summary>
    /// Continue the run whose checkpoint <see cref="Output"/> holds, from the step its training state records; a store whose
    /// fingerprint differs from the recorded one is refused (the optimiser's moments start afresh).
    /// </summary>
    public bool Resume { get; init; }
    public string Preset { get; init; } = "tiny";
    public int MaxSteps { get; init; } = 100;
    public int BatchSize { get; init; } = 8;
    public int SequenceLength { get; init; }            // 0: the store's
    /// <summary>K of the [B, T, K] batches; 0: the store's most entries per position.</summary>
    public int Width { get; init; }
    public double LearningRate { get; init; } = 3e-3;
    public int WarmupSteps { get; init; } = 10;
    public LearningRateShape Schedule { get; init; } = LearningRateShape.Cosine;
    public double Alpha { get; init; } = 0.9;
    public AlphaShape AlphaShape { get; init; } = AlphaShape.Constant;
    public KdLossKind Loss { get; init; } = KdLossKind.ForwardKl;
    public double Temperature { get; init; } = 1.0;
    public int EvalEvery { get; init; } = 50;
    public int EvalSequences { get; init; } = 16;
    public ulong Seed { get; init; } = 1;
    public string Device { get; init; } = "auto";
    public int LoaderWorkers { get; init; } = Math.Max(1, Environment.ProcessorCount - 1);
}

public sealed record StudentStepLog(
    int Step, double Loss, double LmLoss, double KdLoss, double Alpha, double TokensPerSecond, IReadOnlyList<EvaluationResult>? Evaluations)
{
    public double? HeldOutLoss => Evaluations is { Count: > 0 } e ? e[0].Loss : null;
}

/// <summary>
/// Final figures of a student run; <see cref="SecondsPerStep"/> and <see cref="TokensPerSecond"/> leave the evaluations out.
/// </summary>
public sealed record StudentTrainingResult(
    StudentMode Mode, int Steps, long Tokens, double FinalLoss, double FinalLmLoss, IReadOnlyList<EvaluationResult> Evaluations,
    double TokensPerSecond, double SecondsPerStep)
{
    public double HeldOutLoss => Evaluations.Count > 0 ? Evaluations[0].Loss : double.NaN;
}

/// <summary>
/// Trains a student (the same model code as the teacher) with the LM loss mixed with a KD loss by α:
/// <c>lm</c> (α = 0), <c>offline</c> (targets from a store through the batch loader), <c>online</c> (teacher
/// forward inside each step, same truncation) and <c>recorded-online</c> (the store written by
/// <c>teacher train --record-online</c>). Data order, seed, budget and optimiser are the same across modes.
/// </summary>
public static class StudentTrainer
{
    public static StudentTrainingResult Train(StudentTrainingOptions o, Action<StudentStepLog>? log = null, CancellationToken ct = default)
    {
        var device = TorchRuntime.Device(o.Device);
        random.manual_seed((long)o.Seed);
        string dataStore = o.Mode == StudentMode.RecordedOnline
            ? o.RecordedStore
                ?? throw new SettingException("recorded", "names the store recorded-online mode trains from, and none was given")
            : o.Store;
        using var store = StoreReader.Open(dataStore);
        LoaderResumeState? resumeFrom = o.Resume ? ReadTrainingState(o.Output) : null;
        var processing = store.Processing;
        int k = o.Width > 0 ? o.Width : store.MaxEntriesPerPosition
            ?? throw new SettingException("width",
                $"must be given: {dataStore}, a {ProcessingOptions.MethodName(processing.Method)} store, sets no bound on entries " +
                "per position");
        using var feed = new TorchBatchFeed(store, new BatchLoaderOptions
        {
            BatchSize = o.BatchSize, SequenceLength = o.SequenceLength > 0 ? o.SequenceLength : store.SequenceLength, Width = k,
            Seed = o.Seed,
            Workers = o.LoaderWorkers, RingSize = 4, ResumeFrom = resumeFrom,
        }, device);

        DecoderLM? teacher = null;
        if (o.Mode == StudentMode.Online)
        {
            teacher = Checkpoint.Load(
                o.Teacher ?? throw new SettingException("teacher", "names the checkpoint online mode runs, and none was given"),
                device);
            teacher.eval();
        }
        var vocabulary = o.VocabularyFrom is null
            ? OutputVocabulary.Full((int)store.VocabSize)
            : Checkpoint.ReadOutputVocabulary(o.VocabularyFrom);
        if (vocabulary.FullSize != store.VocabSize)
            throw new ArgumentException($"{o.VocabularyFrom}: its vocabulary has {vocabulary.FullSize} ids, the store's {store.VocabSize}");
        using var student = resumeFrom is null
            ? new DecoderLM(TransformerConfig.Preset(o.Preset, vocabulary), vocabulary)
            : Checkpoint.Load(o.Output!, device);
        student.to(device);
        var optimizer = optim.AdamW(student.parameters(), o.LearningRate, 0.9, 0.95, 1e-8, 0.1);
        var lrSchedule = new LearningRateSchedule(o.LearningRate, o.WarmupSteps, o.MaxSteps, o.Schedule);
        var alphaSchedule = new AlphaSchedule(o.AlphaShape, o.Mode == StudentMode.Lm ? 0 : o.Alpha, o.MaxSteps);
        var sets = new List<EvaluationSet>();
        if (o.HeldOutCorpus is not null)
            sets.Add(EvaluationSet.HeldOut(
                "held-out",
                TokenizedCorpus.Build(TextDocuments.Read(o.HeldOutCorpus), TextTokenizer.Create(), store.SequenceLength),
                o.EvalSequences));
        sets.AddRange(o.Evaluations);
        if (sets.Any(e => e.TeacherArgmax is null) && (teacher is not null || o.EvalTeacher is not null))
        {
            var evalTeacher = teacher ?? Checkpoint.Load(o.EvalTeacher!, device);
            for (int i = 0; i < sets.Count; i++)
                sets[i] = sets[i].TeacherArgmax is null ? sets[i].WithTeacher(evalTeacher, device) : sets[i];
            if (!ReferenceEquals(evalTeacher, teacher)) evalTeacher.Dispose();
        }

        var clock = Stopwatch.StartNew();
        var evalTime = TimeSpan.Zero;
        long tokens = 0;
        double loss = double.NaN, lm = double.NaN;
        IReadOnlyList<EvaluationResult> evaluations = [];
        int step = checked((int)(resumeFrom?.Step ?? 0));
        for (; step < o.MaxSteps; step++)
        {
            ct.ThrowIfCancellationRequested();
            TorchRuntime.PrepareThread();
            using var batch = feed.Next();
            double alpha = alphaSchedule.At(step);
            foreach (var g in optimizer.ParamGroups) g.LearningRate = lrSchedule.At(step);
            double kdValue = double.NaN;
            using (var scope = NewDisposeScope())
            {
                student.train();
                optimizer.zero_grad();
                var logits = student.forward(batch.Tokens);
                var logQ = vocabulary.LogSoftmax(logits);
                // Position t predicts token t+1; the last position has no target (its own token stands in, masked).
                var next = cat([batch.Tokens[.., 1..], batch.Tokens[.., ..1]], 1);
                var hasNext = ones_like(next, dtype: ScalarType.Float32);
                hasNext[.., -1] = 0;
                Tensor? nextLogProbs = null, kd = null;
                if (alpha > 0)
                {
                    TeacherTargets targets = batch.Targets;
                    if (teacher is not null)
                        using (no_grad())
                            targets = OnlineTargets.FromLogits(teacher.forward(batch.Tokens), processing, k, teacher.Vocabulary);
                    if (o.Temperature == 1.0)
                        (kd, nextLogProbs) = KdLoss.WithNextTokens(logits, logQ, next, targets, o.Loss, vocabulary);
                    else kd = KdLoss.Compute(logits, targets, o.Loss, o.Temperature, logQ, vocabulary);
                    kdValue = kd.item<float>();
                }
                nextLogProbs ??= vocabulary.LogProbAt(logQ, next.unsqueeze(-1)).squeeze(-1);
                var lmLoss = -(nextLogProbs * hasNext).sum() / hasNext.sum();
                var total = lmLoss * (1 - alpha);
                if (kd is not null) total = total + kd * alpha;
                total.backward();
                nn.utils.clip_grad_norm_(student.parameters(), 1.0);
                optimizer.step();
                loss = total.item<float>();
                lm = lmLoss.item<float>();
            }
            tokens += batch.Tokens.numel();
            bool eval = sets.Count > 0 && ((step + 1) % o.EvalEvery == 0 || step + 1 == o.MaxSteps);
            if (eval)
            {
                var t0 = Stopwatch.GetTimestamp();
                evaluations = sets.Select(e => HeldOutEvaluation.Measure(student, e, device)).ToArray();
                evalTime += Stopwatch.GetElapsedTime(t0);
            }
            log?.Invoke(new StudentStepLog(
                step + 1, loss, lm, kdValue, alpha, tokens / (clock.Elapsed - evalTime).TotalSeconds, eval ? evaluations : null));
        }
        teacher?.Dispose();
        if (o.Output is not null)
        {
            Checkpoint.Save(o.Output, student);
            var state = new System.Text.Json.Nodes.JsonObject
            {
                ["step"] = step, ["loader"] = new LoaderResumeState(step, CorpusFingerprint.Fingerprint(store)).ToJson(),
            };
            File.WriteAllText(Path.Combine(o.Output, TrainingStateFile), state.ToJsonString(LogitStore.Format.Manifest.JsonOptions));
        }
        double trainSeconds = (clock.Elapsed - evalTime).TotalSeconds;
        return new StudentTrainingResult(
            o.Mode, step, tokens, loss, lm, evaluations, tokens / trainSeconds, trainSeconds / Math.Max(1, step));
    }

    /// <summary>Beside the student's weights: the step reached and the loader's state (with the store's fingerprint).</summary>
    public const string TrainingStateFile = "training-state.json";

    private static LoaderResumeState ReadTrainingState(string? checkpoint)
    {
        string path = Path.Combine(
            checkpoint ?? throw new SettingException("out", "names the checkpoint a resumed student continues, and none was given"),
            TrainingStateFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no training state to resume from");
        return LoaderResumeState.FromJson(System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))?["loader"], path);
    }

    public static StudentMode ParseMode(string name) => name switch
    {
        "lm" => StudentMode.Lm,
        "offline" => StudentMode.Offline,
        "online" => StudentMode.Online,
        "recorded-online" => StudentMode.RecordedOnline,
        _ => throw new ArgumentException($"unknown mode '{name}' (lm, offline, online, recorded-online)"),
    };
}
