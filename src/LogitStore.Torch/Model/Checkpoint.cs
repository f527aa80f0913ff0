using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>A model directory as Hugging Face lays it out: <c>config.json</c> + <c>model.safetensors</c> (+ training state).</summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    /// <summary>
    /// A compact-vocabulary model's output ids (I32 [Size − 1], ascending tokenizer ids): output i predicts tokenizer
    /// id vocabulary[i], and output Size − 1 is the "other" bucket. Loaders that do not know it see an extra tensor.
    /// </summary>
    public const string VocabularyTensor = "logitstore.output_vocabulary";

    /// <summary>XXH3-64 of the checkpoint's weights file, as hex: the teacher's identity in manifests and reports.</summary>
    public static string WeightsHash(string directory) =>
        LogitStore.Format.Checksum.ToHex(LogitStore.Format.Checksum.Of(File.ReadAllBytes(Path.Combine(directory, WeightsFile))));

    public static void Save(string directory, DecoderLM model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, ConfigFile), model.Config.ToJson());
        var tensors = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        using var vocabulary = model.Vocabulary.IsCompact ? tensor(model.Vocabulary.FullIds.ToArray()) : null;
        if (vocabulary is not null) tensors.Add((VocabularyTensor, vocabulary));
        Safetensors.Save(Path.Combine(directory, WeightsFile), tensors, metadata);
    }

    /// <summary>Builds the model from config.json and copies every weight in, by Llama name; missing or extra names are errors.</summary>
    public static DecoderLM Load(string directory, Device? device = null)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{configPath}: no config.json in the checkpoint directory");
        var config = TransformerConfig.FromJson(File.ReadAllText(configPath));
        var weights = Safetensors.Load(Path.Combine(directory, WeightsFile));
        DecoderLM model;
        try
        {
            model = new DecoderLM(config, ReadVocabulary(directory, config, weights));
            using var _ = no_grad();
            var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var name in weights.Keys)
                if (!expected.ContainsKey(name) && name != VocabularyTensor && !(name == "lm_head.weight" && model.Config.TieEmbeddings))
                    throw new InvalidDataException($"{directory}: checkpoint tensor '{name}' has no place in this model");
            foreach (var (name, p) in expected)
            {
                if (!weights.TryGetValue(name, out var w)) throw new InvalidDataException($"{directory}: checkpoint lacks '{name}'");
                if (!w.shape.SequenceEqual(p.shape))
                    throw new InvalidDataException(
                        $"{directory}: '{name}' is [{string.Join(", ", w.shape)}], the model wants [{string.Join(", ", p.shape)}]");
                p.copy_(w.to_type(p.dtype));
            }
        }
        finally
        {
            foreach (var w in weights.Values) w.Dispose();
        }
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>The output vocabulary of the checkpoint in <paramref name="directory"/>, without building the model.</summary>
    public static OutputVocabulary ReadOutputVocabulary(string directory)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{configPath}: no config.json in the checkpoint directory");
        var config = TransformerConfig.FromJson(File.ReadAllText(configPath));
        if (config.FullVocabSize is null) return OutputVocabulary.Full(config.VocabSize);
        var weights = Safetensors.Load(Path.Combine(directory, WeightsFile));
        try
        {
            return ReadVocabulary(directory, config, weights)!;
        }
        finally
        {
            foreach (var w in weights.Values) w.Dispose();
        }
    }

    private static OutputVocabulary? ReadVocabulary(string directory, TransformerConfig config, Dictionary<string, Tensor> weights)
    {
        if (config.FullVocabSize is not { } full) return null;
        if (!weights.TryGetValue(VocabularyTensor, out var ids) || ids.dtype != ScalarType.Int32 || ids.dim() != 1)
            throw new InvalidDataException($"{directory}: a compact-vocabulary checkpoint needs the I32 vector '{VocabularyTensor}'");
        var vocabulary = OutputVocabulary.Compact(full, ids.data<int>().ToArray());
        if (vocabulary.Size != config.VocabSize)
            throw new InvalidDataException(
                $"{directory}: '{VocabularyTensor}' has {ids.shape[0]} distinct ids, vocab_size {config.VocabSize} " +
                $"wants {config.VocabSize - 1}");
        return vocabulary;
    }
}
