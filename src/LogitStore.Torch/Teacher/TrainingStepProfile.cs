using System.Diagnostics;
using LogitStore.Torch.Corpus;
using LogitStore.Torch.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Teacher;

/// <summary>Where one teacher training step's time goes, for one preset and output vocabulary (milliseconds per step).</summary>
public sealed record TrainingStepProfile(
    string Preset, int Outputs, long Parameters, double OutputLayerShare,
    double Forward, double Loss, double Backward, double Optimiser, int TokensPerStep)
{
    public double Step => Forward + Loss + Backward + Optimiser;
    public double TokensPerSecond => TokensPerStep / Step * 1000;

    /// <summary>
    /// Times <paramref name="steps"/> training steps (the first two are warm-up and not counted) of each preset, at the
    /// full vocabulary and at the compact one of the corpus's training split, on batches of real corpus text.
    /// </summary>
    public static IReadOnlyList<TrainingStepProfile> Measure(
        string corpusPath, IReadOnlyList<string> presets, int batch, int sequenceLength, int steps = 8, string device = "auto")
    {
        if (steps < 3) throw new ArgumentException("profile at least 3 steps (the first two warm up)");
        var dev = TorchRuntime.Device(device);
        var tokenizer = TextTokenizer.Create();
        var corpus = TokenizedCorpus.Build(TextDocuments.Read(corpusPath), tokenizer, sequenceLength);
        if (corpus.TrainSequences < steps * batch)
            throw new ArgumentException($"{corpusPath}: fewer than {steps * batch} training sequences");
        var vocabularies = new[]
        {
            OutputVocabulary.Full(tokenizer.VocabSize), OutputVocabulary.FromCorpus(corpus.Train, tokenizer.VocabSize),
        };
        var rows = new List<TrainingStepProfile>();
        foreach (var preset in presets)
            foreach (var vocabulary in vocabularies)
                rows.Add(MeasureOne(preset, vocabulary, corpus, batch, steps, dev));
        return rows;
    }

    private static TrainingStepProfile MeasureOne(
        string preset, OutputVocabulary vocabulary, TokenizedCorpus corpus, int batch, int steps, Device device)
    {
        TorchRuntime.PrepareThread();
        var config = TransformerConfig.Preset(preset, vocabulary) with { MaxPositions = Math.Max(corpus.SequenceLength, 256) };
        using var model = new DecoderLM(config, vocabulary);
        model.to(device);
        var optimizer = optim.AdamW(model.parameters(), 1e-3, 0.9, 0.95, 1e-8, 0.1);
        int length = corpus.SequenceLength;
        var sums = new double[4];
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            var flat = corpus.Train.AsSpan(s * batch * length, batch * length).ToArray().Select(t => (long)t).ToArray();
            var x = tensor(flat, [batch, length]).to(device);
            var marks = new long[5];
            marks[0] = Stopwatch.GetTimestamp();
            var logits = model.forward(x);
            Sync(device);
            marks[1] = Stopwatch.GetTimestamp();
            var loss = vocabulary.CrossEntropy(logits[.., ..^1].reshape(-1, logits.shape[2]), x[.., 1..].reshape(-1));
            loss.item<float>();
            marks[2] = Stopwatch.GetTimestamp();
            optimizer.zero_grad();
            loss.backward();
            Sync(device);
            marks[3] = Stopwatch.GetTimestamp();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            optimizer.step();
            Sync(device);
            marks[4] = Stopwatch.GetTimestamp();
            if (s < 2) continue;
            for (int i = 0; i < 4; i++) sums[i] += Stopwatch.GetElapsedTime(marks[i], marks[i + 1]).TotalMilliseconds;
        }
        int n = steps - 2;
        long parameters = config.ParameterCount();
        return new TrainingStepProfile(preset, vocabulary.Size, parameters, (double)vocabulary.Size * config.HiddenSize / parameters,
            sums[0] / n, sums[1] / n, sums[2] / n, sums[3] / n, batch * length);
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize();
    }
}
