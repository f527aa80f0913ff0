using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>
/// A model directory as Hugging Face lays it out: <c>config.json</c> + <c>model.safetensors</c> or its shards (+ the
/// tokenizer's files, + training state for the project's own models).
/// </summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    /// <summary>
    /// A compact-vocabulary model's output ids (I32 [Size − 1], ascending tokenizer ids): output i predicts tokenizer
    /// id vocabulary[i], and output Size − 1 is the "other" bucket. Loaders that do not know it see an extra tensor.
    /// </summary>
    public const string VocabularyTensor = "logitstore.output_vocabulary";

    /// <summary>XXH3-64 of the checkpoint's weight files, as hex: the teacher's identity in manifests and reports.</summary>
    public static string WeightsHash(string directory) => CheckpointWeights.Hash(directory);

    /// <summary>XXH3-64 of config.json's bytes, as hex: a resume refuses a config that changed since the pack began.</summary>
    public static string ConfigHash(string directory) =>
        LogitStore.Format.Checksum.ToHex(LogitStore.Format.Checksum.Of(File.ReadAllBytes(Path.Combine(directory, ConfigFile))));

    public static void Save(string directory, DecoderLM model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, ConfigFile), model.Config.ToJson());
        var tensors = model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList();
        using var vocabulary = model.Vocabulary.IsCompact ? tensor(model.Vocabulary.FullIds.ToArray()) : null;
        if (vocabulary is not null) tensors.Add((VocabularyTensor, vocabulary));
        Safetensors.Save(Path.Combine(directory, WeightsFile), tensors, metadata);
    }

    /// <summary>
    /// Builds the model from config.json (<see cref="CheckpointConfig"/>) and streams every weight in, by its Hugging
    /// Face name, from model.safetensors or the shards of its index; a missing, misshapen or unplaced tensor is an
    /// error naming it, raised before any weight is copied.
    /// </summary>
    /// <param name="sequenceLength">The positions a forward will see, when known (checked against sliding windows).</param>
    /// <param name="dtype">
    /// The dtype to compute in, when not float32: the model is cast on the host before it moves, so a device never
    /// holds the float32 copy.
    /// </param>
    public static DecoderLM Load(string directory, Device? device = null, int? sequenceLength = null, ScalarType? dtype = null)
    {
        var config = CheckpointConfig.Read(directory, sequenceLength);
        using var weights = CheckpointWeights.Open(directory);
        var model = new DecoderLM(config, ReadVocabulary(config, weights), initialise: false);
        try
        {
            using var _ = no_grad();
            var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, t) in weights.Tensors)
                if (!expected.ContainsKey(name) && !Ignored(name, config))
                    throw new InvalidDataException($"{t.File}: checkpoint tensor '{name}' has no place in this model");
            foreach (var (name, p) in expected)
            {
                if (!weights.Tensors.TryGetValue(name, out var w))
                    throw new InvalidDataException($"{directory}: checkpoint lacks '{name}'");
                if (!w.Shape.SequenceEqual(p.shape))
                    throw new InvalidDataException(
                        $"{w.File}: '{name}' is [{string.Join(", ", w.Shape)}], the model wants [{string.Join(", ", p.shape)}]");
            }
            foreach (var (name, p) in expected) weights.CopyInto(name, p);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        if (dtype is { } type && type != ScalarType.Float32) model.to(type);
        if (device is not null) model.to(device);
        return model;
    }

    /// <summary>
    /// Tensors a checkpoint may hold that the forward does not read: the compact vocabulary (read apart), a tied
    /// model's copy of the embedding as lm_head, and the rotary frequencies older Llama checkpoints saved as buffers.
    /// </summary>
    private static bool Ignored(string name, TransformerConfig config) =>
        name == VocabularyTensor || (name == "lm_head.weight" && config.TieEmbeddings) || name.EndsWith(".rotary_emb.inv_freq");

    /// <summary>The output vocabulary of the checkpoint in <paramref name="directory"/>, without building the model.</summary>
    public static OutputVocabulary ReadOutputVocabulary(string directory)
    {
        var config = CheckpointConfig.Read(directory);
        if (config.FullVocabSize is null) return OutputVocabulary.Full(config.VocabSize);
        using var weights = CheckpointWeights.Open(directory);
        return ReadVocabulary(config, weights)!;
    }

    private static OutputVocabulary? ReadVocabulary(TransformerConfig config, CheckpointWeights weights)
    {
        if (config.FullVocabSize is not { } full) return null;
        if (!weights.Tensors.TryGetValue(VocabularyTensor, out var t) || t.DType != "I32" || t.Shape.Length != 1)
            throw new InvalidDataException(
                $"{weights.Directory}: a compact-vocabulary checkpoint needs the I32 vector '{VocabularyTensor}'");
        var vocabulary = OutputVocabulary.Compact(full, weights.ReadInt32(VocabularyTensor));
        if (vocabulary.Size != config.VocabSize)
            throw new InvalidDataException(
                $"{weights.Directory}: '{VocabularyTensor}' has {t.Shape[0]} distinct ids, vocab_size {config.VocabSize} " +
                $"wants {config.VocabSize - 1}");
        return vocabulary;
    }
}
