using FsCheck.Xunit;
using LogitStore.Codecs;
using LogitStore.Processing;
using LogitStore.Reading;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Distillation;
using LogitStore.Torch.Model;
using LogitStore.Torch.Teacher;
using LogitStore.Writing;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Tests.Torch;

public class OutputVocabularyTests
{
    private static readonly string Sample = Path.Combine(AppContext.BaseDirectory, "Data", "brown-sample");
    private const int V = 40, B = 2, T = 3, K = 6;

    /// <summary>
    /// The full-vocabulary logits a compact model stands for: a mapped id keeps its output's logit, every unmapped id
    /// gets z_other − log U.
    /// </summary>
    private static Tensor Expand(Tensor compact, OutputVocabulary v)
    {
        var other = compact.narrow(-1, v.Other, 1) - Math.Log(v.Unmapped);
        var full = other.expand(compact.shape[0], compact.shape[1], v.FullSize).clone();
        var ids = tensor(v.FullIds.ToArray().Select(i => (long)i).ToArray());
        full.index_copy_(-1, ids, compact.narrow(-1, 0, v.Size - 1));
        return full;
    }

    private static (OutputVocabulary Vocabulary, Tensor Logits, TeacherTargets Targets) Make(int seed)
    {
        var rng = new Random(seed);
        var vocabulary = OutputVocabulary.Compact(V, Enumerable.Range(0, V).Where(_ => rng.NextDouble() < 0.6).Append(7));
        var logits = randn([B, T, vocabulary.Size], generator: new torch.Generator((ulong)seed)) * 2;
        var ids = new long[B * T * K];
        var probs = new float[B * T * K];
        var counts = new long[B * T];
        var residual = new float[B * T];
        for (int p = 0; p < B * T; p++)
        {
            int n = rng.Next(1, K + 1);
            var chosen = Enumerable.Range(0, V).OrderBy(_ => rng.Next()).Take(n).ToArray();   // mapped and unmapped ids alike
            var w = chosen.Select(_ => rng.NextDouble() + 0.05).ToArray();
            counts[p] = n;
            residual[p] = (float)(rng.NextDouble() * 0.4);
            for (int j = 0; j < n; j++)
            {
                ids[p * K + j] = chosen[j];
                probs[p * K + j] = (float)(w[j] / w.Sum());
            }
        }
        var targets = new TeacherTargets(
            tensor(ids, [B, T, K]), tensor(probs, [B, T, K]), tensor(counts, [B, T]), tensor(residual, [B, T]));
        return (vocabulary, logits, targets);
    }

    [Property(MaxTest = 40)]
    public void CompactKdLosses_EqualTheLossesOfTheExpandedFullVocabularyModel(int seed, byte tauPick)
    {
        double tau = new[] { 0.5, 1.0, 2.0, 5.0 }[tauPick % 4];
        var (vocabulary, logits, targets) = Make(seed);
        var full = Expand(logits, vocabulary);
        foreach (var kind in Enum.GetValues<KdLossKind>())
        {
            double compact = KdLoss.Compute(logits, targets, kind, tau, vocabulary: vocabulary).item<float>();
            double dense = KdLoss.Compute(full, targets, kind, tau).item<float>();
            Assert.True(Math.Abs(compact - dense) < 1e-3 * Math.Max(1, Math.Abs(dense)),
                $"{kind} τ={tau}: compact {compact}, expanded {dense}");
        }
    }

    [Fact]
    public void CompactCrossEntropyAndArgmax_EqualTheExpandedModels()
    {
        var (vocabulary, logits, _) = Make(3);
        var full = Expand(logits, vocabulary);
        var targets = randint(0, V, [B * T], generator: new torch.Generator(5));
        double compact = vocabulary.CrossEntropy(logits.reshape(B * T, -1), targets).item<float>();
        double dense = nn.functional.cross_entropy(full.reshape(B * T, -1), targets).item<float>();
        Assert.Equal(dense, compact, 4);
        var mappedArgmax = vocabulary.Argmax(logits).data<long>().ToArray();
        var fullProbs = full.softmax(-1);
        var fullArgmax = full.argmax(-1).data<long>().ToArray();
        for (int i = 0; i < mappedArgmax.Length; i++)
        {
            // The two agree unless one unmapped id's share of "other" outweighs every mapped id.
            var row = fullProbs.reshape(B * T, V)[i];
            if (!vocabulary.FullIds.Contains((int)fullArgmax[i])) continue;
            Assert.Equal(fullArgmax[i], mappedArgmax[i]);
            Assert.True(row[fullArgmax[i]].item<float>() > 0);
        }
    }

    [Fact]
    public void Checkpoint_KeepsTheCompactVocabulary()
    {
        random.manual_seed(2);
        var tok = TextTokenizer.Create();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(Sample), tok, 32, maxTokens: 3000);
        var vocabulary = OutputVocabulary.FromCorpus(corpus.Train, tok.VocabSize);
        Assert.True(vocabulary.IsCompact && vocabulary.Size < 2000);
        string ckpt = TestData.TempDir();
        using var model = new DecoderLM(TransformerConfig.Preset("tiny", vocabulary), vocabulary);
        Checkpoint.Save(ckpt, model);
        using var loaded = Checkpoint.Load(ckpt);
        Assert.Equal(vocabulary.FullIds.ToArray(), loaded.Vocabulary.FullIds.ToArray());
        Assert.Equal(vocabulary.FullIds.ToArray(), Checkpoint.ReadOutputVocabulary(ckpt).FullIds.ToArray());
        using var _ = no_grad();
        var x = tensor(corpus.TrainSequence(0).ToArray().Select(t => (long)t).ToArray(), [1, 32]);
        Assert.True(model.forward(x).allclose(loaded.forward(x)));
    }

    [Fact]
    public async Task CompactTeacherPack_StoresTokenizerIds_TheArgmaxMappedBack()
    {
        random.manual_seed(4);
        var tok = TextTokenizer.Create();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(Sample), tok, 32, maxTokens: 2000);
        var vocabulary = OutputVocabulary.FromCorpus(corpus.Train, tok.VocabSize);
        string ckpt = TestData.TempDir(), store = TestData.TempDir();
        using (var model = new DecoderLM(TransformerConfig.Preset("tiny", vocabulary), vocabulary)) Checkpoint.Save(ckpt, model);
        await TeacherPack.RunAsync(new TeacherPackOptions
        {
            Checkpoint = ckpt, Corpus = Sample, Output = store, SequenceLength = 32, BatchSize = 3, Device = "cpu", Overwrite = true,
            Processing = new ProcessingOptions { Method = TruncationMethod.TopK, TopK = 8 },
            Codecs = new CodecOptions { Values = ValueCodecSpec.F32 },
            MaxTokens = 2000,
        });
        Assert.True(StoreVerifier.Verify(store).Ok);
        using var reader = StoreReader.Open(store);
        Assert.Equal((uint)tok.VocabSize, reader.VocabSize);
        using var teacher = Checkpoint.Load(ckpt);
        teacher.eval();
        var mapped = vocabulary.FullIds.ToArray().ToHashSet();
        for (int s = 0; s < 2; s++)
        {
            var seq = reader.ReadSequence((ulong)s);
            using var _ = no_grad();
            using var logits = teacher.forward(tensor(seq.Tokens.Select(x => (long)x).ToArray(), [1, 32]));
            var compactArgmax = logits[0].narrow(-1, 0, vocabulary.Size - 1).argmax(-1).data<long>().ToArray();
            var pOther = logits[0].softmax(-1)[.., vocabulary.Other].data<float>().ToArray();
            int e = 0;
            for (int t = 0; t < 32; t++)
            {
                Assert.Equal(8, seq.KeptCounts[t]);
                Assert.Equal(vocabulary.FullIds[(int)compactArgmax[t]], seq.Ids[e]);
                for (int j = 0; j < 8; j++) Assert.Contains(seq.Ids[e + j], mapped);
                Assert.True(seq.Residual[t] >= pOther[t] - 1e-5, $"position {t}: residual {seq.Residual[t]} < p(other) {pOther[t]}");
                e += seq.KeptCounts[t];
            }
        }
    }
}
