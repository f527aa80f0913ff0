using LogitStore.Codecs;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using LogitStore.Torch.Teacher;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

public class TeacherTests
{
    private static readonly string Sample = Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample");

    [Fact]
    public async Task TeacherTraining_LowersLoss_CheckpointsAndRecordsOnlineLogits()
    {
        string ckpt = TestData.TempDir(), online = TestData.TempDir();
        var o = new TeacherTrainingOptions
        {
            Corpus = Sample, Output = ckpt, Preset = "tiny", MaxSteps = 30, BatchSize = 2, SequenceLength = 16, LearningRate = 1e-2,
            WarmupSteps = 3, EvalEvery = 30, EvalSequences = 4, Device = "cpu", RecordOnline = online,
            Vocabulary = VocabularyChoice.Full,   // from ln V = 11.5: the first steps learn which ids occur at all
            RecordCodecs = new CodecOptions { Values = ValueCodecSpec.Q8 },
        };
        var losses = new List<double>();
        var result = await TeacherTrainer.TrainAsync(o, s => losses.Add(s.Loss));
        Assert.Equal(30, losses.Count);
        Assert.True(
            losses.Skip(25).Average() < losses.Take(5).Average() - 1,
            $"loss went from {losses.Take(5).Average():F2} to {losses.Skip(25).Average():F2}");
        Assert.True(File.Exists(Path.Combine(ckpt, Checkpoint.WeightsFile)));
        Assert.True(StoreVerifier.Verify(online).Ok);
        using var r = StoreReader.Open(online);
        Assert.Equal(60ul, r.SequenceCount); // one sequence per batch row per step
        Assert.Equal("cl100k_base", r.Manifest.Tokenizer.Name);

        // Resume continues from the saved step.
        var more = await TeacherTrainer.TrainAsync(o with { MaxSteps = 33, Resume = true, RecordOnline = null });
        Assert.Equal(33, more.Steps);
    }

    [Fact]
    public async Task RecordingPhases_HoldOneWholeEpochEach_OverTheSameSequences()
    {
        string ckpt = TestData.TempDir(), online = TestData.TempDir();
        var o = new TeacherTrainingOptions
        {
            Corpus = Sample, Output = ckpt, Preset = "tiny", Epochs = 2, BatchSize = 4, SequenceLength = 32, EvalEvery = 1000,
            EvalSequences = 1,
            Device = "cpu", RecordOnline = online, RecordPhases = 2, RecordCodecs = new CodecOptions { Values = ValueCodecSpec.Q8 },
            MaxCorpusTokens = 1500,
        };
        var result = await TeacherTrainer.TrainAsync(o);
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(Sample), TextTokenizer.Create(), 32, maxTokens: 1500);
        int stepsPerEpoch = corpus.TrainSequences / 4;
        Assert.Equal(2 * stepsPerEpoch, result.Steps);
        var phases = new List<string[]>();
        for (int p = 0; p < 2; p++)
        {
            string dir = TeacherTrainer.PhaseStore(online, p, 2);
            Assert.True(StoreVerifier.Verify(dir).Ok);
            using var r = StoreReader.Open(dir);
            Assert.Equal((ulong)(stepsPerEpoch * 4), r.SequenceCount);
            phases.Add(Enumerable.Range(0, (int)r.SequenceCount)
                .Select(i => string.Join(',', r.ReadSequence((ulong)i).Tokens))
                .Order()
                .ToArray());
        }
        Assert.Equal(phases[0], phases[1]);   // the early and the late teacher saw the same sequences
    }

    [Fact]
    public async Task TeacherPack_StoresTheModelsArgmaxAsTopOne()
    {
        random.manual_seed(4);
        string ckpt = TestData.TempDir(), store = TestData.TempDir();
        var tok = TextTokenizer.Create();
        using (var model = new DecoderLM(TransformerConfig.Preset("tiny", tok.VocabSize))) Checkpoint.Save(ckpt, model);
        var processing = new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 8 };
        var (manifest, timing) = await TeacherPack.RunAsync(new TeacherPackOptions
        {
            Checkpoint = ckpt, Corpus = Sample, Output = store, SequenceLength = 32, BatchSize = 3, Device = "cpu", Overwrite = true,
            Processing = processing, Codecs = new CodecOptions { Values = ValueCodecSpec.F32 }, MaxTokens = 2000,
        });
        Assert.True(StoreVerifier.Verify(store).Ok);
        Assert.True(timing.Tokens > 0);
        using var reader = StoreReader.Open(store);
        using var teacher = Checkpoint.Load(ckpt);
        teacher.eval();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(Sample), tok, 32, maxTokens: 2000);
        for (int s = 0; s < 2; s++)
        {
            var seq = reader.ReadSequence((ulong)s);
            Assert.Equal(corpus.TrainSequence(s).ToArray(), seq.Tokens);
            using var _ = no_grad();
            using var logits = teacher.forward(tensor(seq.Tokens.Select(x => (long)x).ToArray(), [1, 32]));
            var argmax = logits[0].argmax(-1).data<long>().ToArray();
            int e = 0;
            for (int t = 0; t < 32; t++)
            {
                Assert.Equal(8, seq.KeptCounts[t]);
                Assert.Equal(argmax[t], seq.Ids[e]);
                e += seq.KeptCounts[t];
            }
        }
    }
}
