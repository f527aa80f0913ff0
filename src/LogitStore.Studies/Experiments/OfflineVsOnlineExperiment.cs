using System.Globalization;
using System.Text.Json;
using LogitStore.Format.Storage;
using LogitStore.Codecs;
using LogitStore.Format;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Torch;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Distillation;
using LogitStore.Torch.Teacher;
using LogitStore.Writing;
using Model = LogitStore.Torch.Model;

namespace LogitStore.Studies.Experiments;

/// <summary>
/// An offline store packed from the same trained teacher over the same training split, with its own truncation or
/// codecs (null: the study's); it lives in work/offline-NAME.
/// </summary>
public sealed record StoreVariant(string Name, ProcessingOptions? Processing = null, CodecOptions? Codecs = null);

/// <summary>Which epoch's recorded online logits a recorded-online arm reads: the teacher's first or its last.</summary>
public enum RecordingPhase
{
    Early,
    Late,
}

/// <summary>One arm of the study: where the student's teacher signal comes from and how it is weighed.</summary>
public sealed record ExperimentArm(
    string Name, StudentMode Mode, string Description, double Alpha = 0.9, AlphaShape AlphaShape = AlphaShape.Constant,
    KdLossKind Loss = KdLossKind.ForwardKl, double Temperature = 1.0, LearningRateShape LearningRateShape = LearningRateShape.Cosine,
    RecordingPhase? Phase = null,
    StoreVariant? Store = null)
{
    /// <summary>
    /// The arms of the study: the four modes, and recorded-online from the early and late teacher at α 0.9 and 0.1; then
    /// the sweeps of α, τ, loss and schedules over the study's store, and the store variants (truncation, value codec).
    /// </summary>
    public static IReadOnlyList<ExperimentArm> Catalogue { get; } =
    [
        new("lm", StudentMode.Lm, "LM loss only (α = 0), the baseline"),
        new("offline", StudentMode.Offline, "KD from the store packed by the trained teacher, α = 0.9"),
        new("online", StudentMode.Online, "the trained teacher's forward inside every student step (same truncation), α = 0.9"),
        new(
            "recorded-early-a0.9", StudentMode.RecordedOnline,
            "logits the teacher recorded during its first epoch of training, α = 0.9", Phase: RecordingPhase.Early),
        new(
            "recorded-early-a0.1", StudentMode.RecordedOnline, "the same early recording, α = 0.1", Alpha: 0.1,
            Phase: RecordingPhase.Early),
        new(
            "recorded-late-a0.9", StudentMode.RecordedOnline,
            "logits the teacher recorded during its last epoch of training, α = 0.9", Phase: RecordingPhase.Late),
        new("recorded-late-a0.1", StudentMode.RecordedOnline, "the same late recording, α = 0.1", Alpha: 0.1, Phase: RecordingPhase.Late),
        new("offline-a0.1", StudentMode.Offline, "offline, α = 0.1", Alpha: 0.1),
        new("offline-tau0.5", StudentMode.Offline, "offline, τ = 0.5", Temperature: 0.5),
        new("offline-tau2", StudentMode.Offline, "offline, τ = 2", Temperature: 2),
        new("offline-tau5", StudentMode.Offline, "offline, τ = 5", Temperature: 5),
        new("offline-nll", StudentMode.Offline, "offline, NLL against the teacher's probabilities", Loss: KdLossKind.Nll),
        new("offline-rkl", StudentMode.Offline, "offline, reverse KL", Loss: KdLossKind.ReverseKl),
        new("offline-mse", StudentMode.Offline, "offline, MSE on centred log-probabilities (logits up to a shift)", Loss: KdLossKind.Mse),
        new("offline-wsd-alpha", StudentMode.Offline, "offline, α following WSD (max 0.9)", AlphaShape: AlphaShape.Wsd),
        new(
            "pd-star", StudentMode.Offline, "the paper's PD*: τ = 2, KL, WSD α (max 0.9), WSD learning rate",
            AlphaShape: AlphaShape.Wsd, Temperature: 2, LearningRateShape: LearningRateShape.Wsd),
        .. StoreArms(),
    ];

    /// <summary>
    /// Offline arms whose stores differ from the study's in one setting each: the value codec (f32, q4, MVQ with 2, 4,
    /// 8 codebooks; q8 is the study's store), the id codec (ranked: the same values as packed, so the same student), the
    /// truncation (top-k 5 … 50) and sampling (10, 25, 50 draws, counts codec). Together they trace the student's
    /// loss against the store's bytes/token.
    /// </summary>
    private static IEnumerable<ExperimentArm> StoreArms()
    {
        ExperimentArm Arm(string name, string description, ProcessingOptions? processing = null, CodecOptions? codecs = null) =>
            new("store-" + name, StudentMode.Offline, description, Store: new StoreVariant(name, processing, codecs));
        yield return Arm(
            "f32", "offline from the study's truncation with f32 values",
            codecs: new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.F32 });
        yield return Arm(
            "q4", "offline from the study's truncation with q4 values",
            codecs: new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q4 });
        foreach (int m in new[] { 2, 4, 8 })
            yield return Arm($"mvq{m}", $"offline from the study's truncation with MVQ values (ranked ids, mvq:{m})",
                codecs: new CodecOptions { Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Mvq(m) });
        yield return Arm("ranked-ids", "offline from the study's store with ranked instead of packed ids (lossless: must equal offline)",
            codecs: new CodecOptions { Ids = IdCodecSpec.Ranked, Values = ValueCodecSpec.Q8 });
        foreach (int k in new[] { 5, 10, 20, 50 })
            yield return Arm($"top-k{k}", $"offline from a top-k {k} store (every position keeps {k} entries)",
                processing: new ProcessingOptions { Method = TruncationMethod.TopK, TopK = k });
        foreach (int n in new[] { 10, 25, 50 })
            yield return Arm($"sampled{n}", $"offline from a store of {n} draws from the teacher per position (counts codec)",
                processing: new ProcessingOptions { Method = TruncationMethod.Sampled, Draws = n },
                codecs: new CodecOptions { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Counts });
    }

    /// <summary>The arms of one sweep: core, sweeps (α, τ, loss, schedules), stores, all, or a comma list of names.</summary>
    public static IReadOnlyList<ExperimentArm> Parse(string spec)
    {
        var names = spec switch
        {
            "core" => Catalogue.Take(7).Select(a => a.Name),
            "sweeps" => Catalogue.Skip(7).Where(a => a.Store is null).Select(a => a.Name),
            "stores" => Catalogue.Where(a => a.Store is not null).Select(a => a.Name),
            "all" => Catalogue.Select(a => a.Name),
            _ => spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
        return names.Select(n => Catalogue.FirstOrDefault(a => a.Name == n)
            ?? throw new ArgumentException(
                $"unknown arm '{n}' (core, sweeps, stores, all, or a list of: " +
                $"{string.Join(", ", Catalogue.Select(a => a.Name))})")).ToList();
    }
}

/// <summary>What <c>logitstore experiment offline-vs-online</c> does; the defaults are the CPU-sized study.</summary>
public sealed record OfflineVsOnlineOptions
{
    public string Corpus { get; init; } = "data/brown";
    public string Output { get; init; } = "reports/offline-vs-online";

    /// <summary>Teacher, recorded and offline stores; reused when present (a finished teacher, complete stores).</summary>
    public string Work { get; init; } = "stores/offline-vs-online";
    public string Arms { get; init; } = "core";
    public int Seeds { get; init; } = 3;
    public string TeacherPreset { get; init; } = "cpu-small";
    public string StudentPreset { get; init; } = "tiny";

    /// <summary>Tokens of the training corpus (Brown without the unseen genre) the teacher and students use; all by default.</summary>
    public long CorpusTokens { get; init; } = long.MaxValue;
    public int SequenceLength { get; init; } = 128;
    public int BatchSize { get; init; } = 16;
    public int TeacherEpochs { get; init; } = 3;
    public int TeacherEvalEvery { get; init; } = 150;
    public int StudentSteps { get; init; } = 800;
    public double StudentLearningRate { get; init; } = 3e-3;
    public int EvalEvery { get; init; } = 100;

    /// <summary>Held-out sequences measured (the whole held-out split when it has fewer), and as many of the unseen genre.</summary>
    public int EvalSequences { get; init; } = 400;

    /// <summary>
    /// Brown genre letter left out of the training corpus (the teacher, the stores and the students never see it) and
    /// measured as unseen text.
    /// </summary>
    public char OodGenre { get; init; } = 'j';
    public ProcessingOptions Processing { get; init; } = new();

    /// <summary>
    /// The whole corpus, unseen genre included (set by the experiment; <see cref="Corpus"/> then names the training
    /// corpus).
    /// </summary>
    public string? Unseen { get; init; }

    /// <summary>
    /// Codecs of the recorded and offline stores: packed ids + q8 values by default, which need no dictionary
    /// training; the committed CPU report was made with them (MVQ training inside the teacher's step loop was
    /// slow before the allocator fix in <see cref="TorchRuntime"/>, and is not any more).
    /// </summary>
    public CodecOptions Codecs { get; init; } = new() { Ids = IdCodecSpec.Packed, Values = ValueCodecSpec.Q8 };
    public string Device { get; init; } = "auto";
    public string CommandLine { get; init; } = "logitstore experiment offline-vs-online";
}

/// <summary>
/// The offline-versus-online study (after Peng et al. 2024): trains (or reuses) a teacher for whole
/// epochs while recording its online logits per epoch (early = first, late = last), packs the trained teacher's
/// distributions over the same training split (offline), then trains students in every arm with the same seeds,
/// batch, token budget and optimiser, and writes the report after every run, so an interrupted study resumes
/// where it stopped (finished runs are kept in <c>runs/*.json</c>).
/// </summary>
public static class OfflineVsOnlineExperiment
{
    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static async Task<StudentStudy> RunAsync(OfflineVsOnlineOptions o, Action<string>? say = null, CancellationToken ct = default)
    {
        say ??= _ => { };
        var arms = ExperimentArm.Parse(o.Arms);
        o = o with { Corpus = TrainingCorpus(o), Unseen = o.Corpus };
        string teacherDir = Path.Combine(o.Work, "teacher"), recordedDir = Path.Combine(o.Work, "recorded"),
            offlineDir = OfflineStore(o, null);
        var tokenizer = TextTokenizer.Create();

        TeacherFigures teacher = await EnsureTeacherAsync(o, teacherDir, recordedDir, say, ct);
        CheckSameTeacher(o, teacher);
        await EnsurePackedAsync(o, teacherDir, offlineDir, o.Processing, o.Codecs, say, ct);
        foreach (var variant in arms.Select(a => a.Store).OfType<StoreVariant>().Distinct())
            await EnsurePackedAsync(
                o, teacherDir, OfflineStore(o, variant), variant.Processing ?? o.Processing, variant.Codecs ?? o.Codecs, say, ct);

        var heldOut = EvaluationSet.HeldOut("held-out", TokenizedCorpus.Build(TextDocuments.Read(o.Corpus), tokenizer, o.SequenceLength,
            maxTokens: Math.Max(o.CorpusTokens, 60L * o.EvalSequences * o.SequenceLength)), o.EvalSequences);
        if (heldOut.Sequences.Length == 0)
            throw new SettingException(
                "corpus_tokens", $"must be larger: the held-out split of {o.Corpus}'s first {o.CorpusTokens:N0} tokens is empty");
        var ood = OodSet(o, tokenizer);
        var device = TorchRuntime.Device(o.Device);
        using (var t = Model.Checkpoint.Load(teacherDir, device))
        {
            heldOut = heldOut.WithTeacher(t, device);
            ood = ood.WithTeacher(t, device);
        }

        string runsDir = Path.Combine(o.Output, "runs");
        Directory.CreateDirectory(runsDir);
        var runs = Directory.GetFiles(runsDir, "*.json").Order(StringComparer.Ordinal)
            .Select(f => JsonSerializer.Deserialize<StudentRunRecord>(File.ReadAllText(f), Json)!)
            .Where(r => ExperimentArm.Catalogue.Any(a => a.Name == r.Arm)).ToList();
        // The report covers every arm with a finished run, whichever invocation ran it.
        var reported = ExperimentArm.Catalogue.Where(a => arms.Contains(a) || runs.Any(r => r.Arm == a.Name)).ToList();
        var descriptions = reported.Select(a => Describe(o, a, teacherDir, recordedDir)).ToList();
        StudentStudy Study()
        {
            var summaries = StudentStudyReport.Summarise(descriptions, runs);
            return new StudentStudy(
                "Offline versus online teacher logits for a student LM",
                Preamble(o, teacher, offlineDir, recordedDir, heldOut, ood), descriptions,
                runs.ToList(), "lm", o.CommandLine, "held-out", $"Brown genre {o.OodGenre} (unseen)")
            {
                Teacher = new TeacherCurve(teacher.Curve ?? [], teacher.UnigramLoss),
                Findings = PaperFindings.Evaluate(summaries),
            };
        }

        foreach (ulong seed in Enumerable.Range(1, o.Seeds).Select(s => (ulong)s))
            foreach (var arm in arms)
            {
                string file = Path.Combine(runsDir, $"{arm.Name}-seed{seed}.json");
                if (File.Exists(file)) continue;
                say($"{arm.Name}, seed {seed}");
                var curve = new List<CurvePoint>();
                var result = StudentTrainer.Train(new StudentTrainingOptions
                {
                    Store = OfflineStore(o, arm.Store), Mode = arm.Mode, Teacher = teacherDir,
                    RecordedStore = RecordedStore(o, arm, recordedDir),
                    Preset = o.StudentPreset, MaxSteps = o.StudentSteps, BatchSize = o.BatchSize, LearningRate = o.StudentLearningRate,
                    Schedule = arm.LearningRateShape, Alpha = arm.Alpha, AlphaShape = arm.AlphaShape, Loss = arm.Loss,
                    Temperature = arm.Temperature, EvalEvery = o.EvalEvery, Evaluations = [heldOut, ood], Seed = seed, Device = o.Device,
                    LoaderWorkers = 1, VocabularyFrom = teacherDir,
                }, s =>
                {
                    if (s.HeldOutLoss is { } h) curve.Add(new CurvePoint(s.Step, h));
                }, ct);
                var run = new StudentRunRecord(arm.Name, seed, result.Steps, result.Tokens, result.Evaluations[0].Loss,
                    result.Evaluations[0].Top1Agreement, result.Evaluations[1].Loss, result.Evaluations[1].Top1Agreement,
                    result.SecondsPerStep, result.TokensPerSecond, curve);
                say(string.Format(CultureInfo.InvariantCulture, "  held-out {0:F4}, unseen genre {1:F4}, {2:F0} ms/step",
                    run.HeldOutLoss, run.OodLoss, 1000 * run.SecondsPerStep));
                DurableFile.WriteAtomic(file, JsonSerializer.SerializeToUtf8Bytes(run, Json));
                runs.Add(run);
                StudentStudyReport.Write(o.Output, Study());
            }
        var study = Study();
        StudentStudyReport.Write(o.Output, study);
        return study;
    }

    /// <summary>The offline store an arm reads: work/offline, or work/offline-NAME for a store variant.</summary>
    private static string OfflineStore(OfflineVsOnlineOptions o, StoreVariant? v) =>
        Path.Combine(o.Work, v is null ? "offline" : "offline-" + v.Name);

    /// <summary>
    /// Packs the trained teacher over the training split into <paramref name="dir"/> unless a complete store is there.
    /// </summary>
    private static async Task EnsurePackedAsync(
        OfflineVsOnlineOptions o, string teacherDir, string dir, ProcessingOptions processing, CodecOptions codecs,
        Action<string> say, CancellationToken ct)
    {
        if (new Format.StoreDirectory(dir).HoldsCompleteStore) return;   // an interrupted pack is packed again
        say($"packing the trained teacher over the training split ({ProcessingOptions.Describe(processing)}, " +
            $"{codecs.Ids} + {codecs.Values}) -> {dir}");
        var (_, timing) = await TeacherPack.RunAsync(new TeacherPackOptions
        {
            Checkpoint = teacherDir, Corpus = o.Corpus, Output = dir, SequenceLength = o.SequenceLength, BatchSize = o.BatchSize,
            Device = o.Device,
            MaxTokens = o.CorpusTokens, Processing = processing, Codecs = codecs, Split = CorpusSplit.Train, Overwrite = true,
        }, ct: ct);
        say($"packed {timing.Tokens:N0} tokens at {timing.TokensPerSecond:N0} tokens/s");
    }

    /// <summary>
    /// The arm as the report lists it; an offline arm with the default loss carries its store's bytes/token (the
    /// store-size plot), and a store variant's description adds what its store holds.
    /// </summary>
    private static ArmDescription Describe(OfflineVsOnlineOptions o, ExperimentArm a, string teacherDir, string recordedDir)
    {
        string command = TrainCommandLine(o, a, teacherDir, recordedDir, OfflineStore(o, a.Store));
        bool sized = a.Mode == StudentMode.Offline && (a.Store is not null || a.Name == "offline");
        if (!sized) return new ArmDescription(a.Name, a.Description, command);
        var store = StoreInspector.Inspect(OfflineStore(o, a.Store));
        string description = a.Store is null ? a.Description : string.Format(CultureInfo.InvariantCulture,
            "{0}: {1:F1} bytes/token, {2:F1} kept entries per position", a.Description, store.BytesPerToken, store.MeanKept);
        return new ArmDescription(a.Name, description, command)
        {
            StoreBytesPerToken = store.BytesPerToken,
            StoreKeptEntries = store.MeanKept,
        };
    }

    /// <summary>The study teacher's training, as the report shows it (curve: held-out loss by step).</summary>
    private sealed record TeacherFigures(
        long Parameters, int Steps, double HeldOutLoss, double UnigramLoss, double TokensPerSecond,
        long TokensSeen = 0, double Seconds = 0, int OutputIds = 0, IReadOnlyList<CurvePoint>? Curve = null, string? WeightsXxh3 = null);

    /// <summary>
    /// The report directory keeps the teacher its runs were made with (<c>teacher.json</c>, weights hash included), so that
    /// a study resumed elsewhere, whose work directory is gone, retrains the teacher (training is deterministic on a given
    /// thread count) and goes on only if the weights are the same bytes.
    /// </summary>
    private static void CheckSameTeacher(OfflineVsOnlineOptions o, TeacherFigures teacher)
    {
        string path = Path.Combine(o.Output, "teacher.json");
        if (File.Exists(path))
        {
            var recorded = JsonSerializer.Deserialize<TeacherFigures>(File.ReadAllText(path), Json)!;
            if (recorded.WeightsXxh3 != teacher.WeightsXxh3)
                throw new InvalidOperationException(
                    $"{path}: the runs there were made with teacher weights {recorded.WeightsXxh3}, the teacher in {o.Work} has " +
                    $"{teacher.WeightsXxh3}; move {o.Output}/runs aside or use the work directory of that teacher");
            return;
        }
        Directory.CreateDirectory(o.Output);
        DurableFile.WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(teacher, Json));
    }

    private static async Task<TeacherFigures> EnsureTeacherAsync(
        OfflineVsOnlineOptions o, string teacherDir, string recordedDir, Action<string> say, CancellationToken ct)
    {
        string figures = Path.Combine(teacherDir, "experiment-teacher.json");
        string weightsHash() => Model.Checkpoint.WeightsHash(teacherDir);
        if (File.Exists(figures))
        {
            var known = JsonSerializer.Deserialize<TeacherFigures>(File.ReadAllText(figures), Json)!;
            return known.WeightsXxh3 is null ? known with { WeightsXxh3 = weightsHash() } : known;
        }
        say($"training the {o.TeacherPreset} teacher for {o.TeacherEpochs} epochs, recording its online logits per epoch -> {recordedDir}");
        var curve = new List<CurvePoint>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = await TeacherTrainer.TrainAsync(new TeacherTrainingOptions
        {
            Corpus = o.Corpus, Output = teacherDir, Preset = o.TeacherPreset, Epochs = o.TeacherEpochs, BatchSize = o.BatchSize,
            SequenceLength = o.SequenceLength,
            MaxCorpusTokens = o.CorpusTokens, Device = o.Device, RecordOnline = recordedDir, RecordPhases = o.TeacherEpochs,
            RecordProcessing = o.Processing, RecordCodecs = o.Codecs,
            EvalSequences = o.EvalSequences, EvalEvery = o.TeacherEvalEvery,
        }, s =>
        {
            if (s.HeldOutLoss is not { } h) return;
            curve.Add(new CurvePoint(s.Step, h));
            say(string.Format(
                CultureInfo.InvariantCulture, "  teacher step {0}: loss {1:F4}, held-out {2:F4}, {3:N0} tokens/s",
                s.Step, s.Loss, h, s.TokensPerSecond));
        }, ct);
        var t = new TeacherFigures(r.Parameters, r.Steps, r.HeldOutLoss, r.UnigramHeldOutLoss, r.TokensPerSecond,
            r.TokensSeen, clock.Elapsed.TotalSeconds, Model.Checkpoint.ReadOutputVocabulary(teacherDir).Candidates, curve, weightsHash());
        DurableFile.WriteAtomic(figures, JsonSerializer.SerializeToUtf8Bytes(t, Json));
        return t;
    }

    /// <summary>
    /// The Brown files of every genre but the unseen one, copied to work/corpus (written once, compared by name): the
    /// corpus the teacher trains on, the stores cover and the held-out split comes from.
    /// </summary>
    private static string TrainingCorpus(OfflineVsOnlineOptions o)
    {
        string dir = Path.Combine(o.Work, "corpus");
        string prefix = "c" + o.OodGenre;
        var all = TextDocuments.ReadBrown(o.Corpus).Select(d => d.Name).ToList();
        if (!all.Any(n => n.StartsWith(prefix, StringComparison.Ordinal)))
            throw new ArgumentException($"{o.Corpus}: no documents of Brown genre '{o.OodGenre}' ({prefix}NN) to measure unseen text on");
        var keep = all.Where(n => !n.StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (Directory.Exists(dir)
            && Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).SequenceEqual(keep)) return dir;
        string staging = dir + ".tmp";
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        Directory.CreateDirectory(staging);
        foreach (var name in keep) File.Copy(Path.Combine(o.Corpus, name), Path.Combine(staging, name));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.Move(staging, dir);
        return dir;
    }

    /// <summary>The first <see cref="OfflineVsOnlineOptions.EvalSequences"/> sequences of the unseen genre's documents.</summary>
    private static EvaluationSet OodSet(OfflineVsOnlineOptions o, TextTokenizer tokenizer)
    {
        string prefix = "c" + o.OodGenre;
        var docs = TextDocuments.ReadBrown(o.Unseen ?? o.Corpus).Where(d => d.Name.StartsWith(prefix, StringComparison.Ordinal));
        var corpus = TokenizedCorpus.Build(docs, tokenizer, o.SequenceLength,
            heldOutEvery: int.MaxValue, maxTokens: (long)(o.EvalSequences + 1) * o.SequenceLength);
        return EvaluationSet.All($"brown-{o.OodGenre}", corpus, o.EvalSequences);
    }

    /// <summary>The recording a recorded-online arm reads: the first teacher epoch (early) or the last (late).</summary>
    private static string? RecordedStore(OfflineVsOnlineOptions o, ExperimentArm a, string recordedDir) => a.Phase switch
    {
        null => null,
        RecordingPhase.Early => TeacherTrainer.PhaseStore(recordedDir, 0, o.TeacherEpochs),
        _ => TeacherTrainer.PhaseStore(recordedDir, o.TeacherEpochs - 1, o.TeacherEpochs),
    };

    private static string TrainCommandLine(
        OfflineVsOnlineOptions o, ExperimentArm a, string teacherDir, string recordedDir, string storeDir)
    {
        var c = CultureInfo.InvariantCulture;
        string mode = a.Mode switch
        {
            StudentMode.Lm => "lm", StudentMode.Offline => "offline", StudentMode.Online => "online", _ => "recorded-online",
        };
        string line = $"logitstore train --store {storeDir} --mode {mode} --preset {o.StudentPreset} " +
            $"--max-steps {o.StudentSteps} --batch {o.BatchSize} --lr {o.StudentLearningRate.ToString(c)} --seed S";
        if (a.Mode != StudentMode.Lm)
            line += string.Format(
                c, " --alpha {0} --alpha-schedule {1} --kd-loss {2} --temperature {3}",
                a.Alpha, Choice.Name(a.AlphaShape), KdLoss.Name(a.Loss), a.Temperature);
        if (a.LearningRateShape != LearningRateShape.Cosine) line += $" --schedule {Choice.Name(a.LearningRateShape)}";
        if (a.Mode == StudentMode.Online) line += $" --teacher {teacherDir}";
        if (RecordedStore(o, a, recordedDir) is { } recorded) line += $" --recorded {recorded}";
        return line + $" --held-out {o.Corpus}";
    }

    private static List<string> Preamble(
        OfflineVsOnlineOptions o, TeacherFigures t, string offlineDir, string recordedDir, EvaluationSet heldOut, EvaluationSet ood)
    {
        var c = CultureInfo.InvariantCulture;
        var offline = StoreInspector.Inspect(offlineDir);
        var late = StoreInspector.Inspect(TeacherTrainer.PhaseStore(recordedDir, o.TeacherEpochs - 1, o.TeacherEpochs));
        long storeTokens = offline.Manifest.Shards.Sum(sh => (long)sh.Positions);
        long studentTokens = (long)o.StudentSteps * o.BatchSize * o.SequenceLength;
        var student = TransformerConfigFor(o.StudentPreset, t.OutputIds);
        return
        [
            string.Format(c, "Corpus: Brown without genre {0} (`{1}`), cl100k tokens, sequences of {2}, batches of {3}; " +
                "the training split holds {4:N0} tokens (one document in 20 is held out).",
                o.OodGenre, o.Corpus, o.SequenceLength, o.BatchSize, storeTokens),
            string.Format(c, "Teacher: preset `{0}` with a compact output layer over the {1:N0} cl100k ids of the training split " +
                "plus one 'other' output, {2:N0} parameters; {3} steps ({4} epochs, {5:N0} tokens) in {6:F1} minutes, " +
                "{7:N0} tokens/s. Held-out " +
                "loss {8:F4} nats/token against {9:F4} for an add-one unigram model on the same positions: {10:F2} nats below it.",
                o.TeacherPreset, t.OutputIds, t.Parameters, t.Steps, o.TeacherEpochs, t.TokensSeen, t.Seconds / 60, t.TokensPerSecond,
                t.HeldOutLoss, t.UnigramLoss, t.UnigramLoss - t.HeldOutLoss),
            string.Format(c, "Stores: offline `{0}` ({1:N0} tokens, {2:F1} bytes/token, {3}); recorded online, one store per " +
                "teacher epoch under `{4}` (last: {5:F1} bytes/token). Truncation {6}; the online arm applies the same " +
                "truncation to the teacher's logits inside each step.",
                offlineDir, storeTokens, offline.BytesPerToken, string.Join(" + ", offline.Columns.Select(col => col.Codecs)), recordedDir,
                late.BytesPerToken, ProcessingOptions.Describe(o.Processing)),
            string.Format(c, "Students: preset `{0}` over the teacher's output ids, {1:N0} parameters; {2} steps of {3} × {4} tokens " +
                "({5:N0} tokens, {6:F2} of an epoch of the training split), AdamW at {7} with 10 warm-up steps and a cosine " +
                "decay unless an arm says otherwise; the seed sets the initialisation and the loader's shuffle. " +
                "Loss = (1 − α)·LM + α·KD. Measured on {8} held-out Brown sequences ({9:N0} predicted tokens) and on {10} " +
                "sequences of Brown genre {11}, which no model trained on; " +
                "top-1 agreement is the share of those positions where the student's argmax equals the trained teacher's.",
                o.StudentPreset, student.ParameterCount(), o.StudentSteps, o.BatchSize, o.SequenceLength, studentTokens,
                (double)studentTokens / Math.Max(1, storeTokens), o.StudentLearningRate, heldOut.Sequences.Length,
                heldOut.Sequences.Length * (o.SequenceLength - 1), ood.Sequences.Length, o.OodGenre),
            "Recorded-online arms read the recording store of one teacher epoch: the same training sequences as the offline store (the " +
                "partial last batch of an epoch excepted), with the distributions the teacher gave while it was learning on them. Step " +
                "times are the training loop's own (evaluation excluded) on the machine that ran the study; arms of one invocation ran " +
                "one after another in one process.",
        ];
    }

    private static Model.TransformerConfig TransformerConfigFor(string preset, int outputIds) =>
        Model.TransformerConfig.Preset(preset, outputIds + 1);
}
