using LogitStore.Codecs;
using LogitStore.Loading;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Studies.Experiments;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Distillation;
using LogitStore.Torch.Model;
using LogitStore.Torch.Teacher;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

/// <summary>One tiny teacher and its offline store over the Brown sample, shared by the student tests.</summary>
public sealed class TinyTeacherFixture : IDisposable
{
    public static readonly string Sample = Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample");
    public string Checkpoint { get; } = TestData.TempDir();
    public string Store { get; } = TestData.TempDir();
    public ProcessingOptions Processing { get; } = new() { Method = TruncationMethod.TopK, TopK = 16 };

    /// <summary>A JSON-lines corpus of 60 short documents (the sample's lines), so that its held-out split is not empty.</summary>
    public string HeldOutCorpus { get; } = Path.Combine(TestData.TempDir(), "lines.jsonl");

    public TinyTeacherFixture()
    {
        var lines = TextDocuments.Read(Sample).SelectMany(d => d.Text.Split('\n')).Where(l => l.Length > 80).Take(60);
        File.WriteAllLines(HeldOutCorpus, lines.Select(l => System.Text.Json.JsonSerializer.Serialize(new { text = l })));
        random.manual_seed(11);
        using (var model = new DecoderLM(TransformerConfig.Preset("tiny", TextTokenizer.Create().VocabSize)))
            LogitStore.Torch.Model.Checkpoint.Save(Checkpoint, model);
        TeacherPack.RunAsync(new TeacherPackOptions
        {
            Checkpoint = Checkpoint, Corpus = Sample, Output = Store, SequenceLength = 16, BatchSize = 4, Device = "cpu", Overwrite = true,
            Processing = Processing, Codecs = new CodecOptions { Values = ValueCodecSpec.F32, SequencesPerBlock = 4 },
        }).GetAwaiter().GetResult();
    }

    public void Dispose()
    {
        Directory.Delete(Checkpoint, true);
        Directory.Delete(Store, true);
    }
}

public class StudentTests(TinyTeacherFixture f) : IClassFixture<TinyTeacherFixture>
{
    [Theory]
    [InlineData(StudentMode.Lm)]
    [InlineData(StudentMode.Offline)]
    [InlineData(StudentMode.Online)]
    public void EveryMode_RunsAndLowersItsLoss(StudentMode mode)
    {
        var lm = new List<double>();
        var r = StudentTrainer.Train(new StudentTrainingOptions
        {
            Store = f.Store, Mode = mode, Teacher = f.Checkpoint, MaxSteps = 24, BatchSize = 4, LearningRate = 1e-2, WarmupSteps = 2,
            Device = "cpu", LoaderWorkers = 1, HeldOutCorpus = f.HeldOutCorpus, EvalEvery = 24, EvalSequences = 2,
        }, s => lm.Add(s.Loss));
        Assert.Equal(24, r.Steps);
        Assert.True(lm.Skip(20).Average() < lm.Take(4).Average(), $"{mode}: loss {lm.Take(4).Average():F3} -> {lm.Skip(20).Average():F3}");
        Assert.True(double.IsFinite(r.HeldOutLoss), $"held-out loss {r.HeldOutLoss}");
    }

    [Fact]
    public void OfflineAndOnlineTargets_GiveTheSameKdLoss_OnTheSameBatch()
    {
        using var store = StoreReader.Open(f.Store);
        using var feed = new TorchBatchFeed(
            store, new BatchLoaderOptions { BatchSize = 3, SequenceLength = 16, Width = 16, Workers = 1 }, CPU);
        using var batch = feed.Next();
        using var teacher = Checkpoint.Load(f.Checkpoint);
        teacher.eval();
        random.manual_seed(5);
        using var student = new DecoderLM(TransformerConfig.Preset("tiny", (int)store.VocabSize));
        using var _ = no_grad();
        var logits = student.forward(batch.Tokens);
        var online = OnlineTargets.FromLogits(teacher.forward(batch.Tokens), f.Processing, 16);
        foreach (var kind in new[] { KdLossKind.ForwardKl, KdLossKind.ReverseKl, KdLossKind.Nll })
        {
            double a = KdLoss.Compute(logits, batch.Targets, kind, 2.0).item<float>();
            double b = KdLoss.Compute(logits, online, kind, 2.0).item<float>();
            Assert.True(Math.Abs(a - b) <= 1e-4 * Math.Max(1, Math.Abs(a)), $"{kind}: offline {a} vs online {b}");
        }
    }
}

public class StudentStudyReportTests
{
    private static StudentRunRecord Run(string arm, ulong seed, double loss) =>
        new(arm, seed, 10, 100, loss, 0.5, loss + 1, null, 0.1, 1000, [new CurvePoint(5, loss + 0.5), new CurvePoint(10, loss)]);

    [Fact]
    public void Summary_IsMeanAndSampleStd_AndADifferenceCountsOnlyBeyondBothSpreads()
    {
        var study = new StudentStudy(
            "t",
            [],
            [new ArmDescription("lm", "", ""), new ArmDescription("offline", "", ""), new ArmDescription("close", "", "")],
            [
                Run("lm", 1, 5.0), Run("lm", 2, 5.2), Run("offline", 1, 4.0), Run("offline", 2, 4.2), Run("close", 1, 5.1),
                Run("close", 2, 5.3)
            ],
            "lm",
            "cmd",
            "held-out",
            "ood");
        var arms = StudentStudyReport.Summarise(study);
        var lm = arms.Single(a => a.Arm == "lm");
        Assert.Equal(5.1, lm.Loss, 9);
        Assert.Equal(Math.Sqrt(0.02), lm.LossStd, 9);
        Assert.True(StudentStudyReport.BeyondSpread(arms.Single(a => a.Arm == "offline"), lm));
        Assert.False(StudentStudyReport.BeyondSpread(arms.Single(a => a.Arm == "close"), lm));
        string dir = TestData.TempDir();
        StudentStudyReport.Write(dir, study);
        Assert.Contains("| offline | 2 | 4.1000 ± 0.1414 | -1.000 * |", File.ReadAllText(Path.Combine(dir, "report.md")));
        Assert.True(new FileInfo(Path.Combine(dir, "curves.png")).Length > 1000);
    }

    [Fact]
    public void Write_DrawsTheTeacherCurve_AndStudentLossAgainstStoreSize()
    {
        var study = new StudentStudy(
            "t",
            [],
            [new ArmDescription("lm", "", ""), new ArmDescription("store-q4", "", "") { StoreBytesPerToken = 20, StoreKeptEntries = 8 }],
            [Run("lm", 1, 5.0), Run("lm", 2, 5.2), Run("store-q4", 1, 4.4), Run("store-q4", 2, 4.5)],
            "lm",
            "cmd",
            "held-out",
            "ood")
        {
            Teacher = new TeacherCurve([new CurvePoint(10, 6.0), new CurvePoint(20, 5.0)], 7.0),
        };
        string dir = TestData.TempDir();
        StudentStudyReport.Write(dir, study);
        foreach (var plot in new[] { "curves.png", "teacher-curve.png", "store-size.png" })
            Assert.True(new FileInfo(Path.Combine(dir, plot)).Length > 1000, plot);
        Assert.Contains("| store-q4 | 20.0 | 8.0 | 2 |", File.ReadAllText(Path.Combine(dir, "report.md")));
        Directory.Delete(dir, true);
    }
}
