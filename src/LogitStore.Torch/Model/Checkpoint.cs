using TorchSharp;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>A model directory as Hugging Face lays it out: <c>config.json</c> + <c>model.safetensors</c> (+ training state).</summary>
public static class Checkpoint
{
    public const string ConfigFile = "config.json";
    public const string WeightsFile = "model.safetensors";

    public static void Save(string directory, DecoderLM model, IReadOnlyDictionary<string, string>? metadata = null)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, ConfigFile), model.Config.ToJson());
        Safetensors.Save(Path.Combine(directory, WeightsFile), model.named_parameters().Select(p => (p.name, (Tensor)p.parameter)), metadata);
    }

    /// <summary>Builds the model from config.json and copies every weight in, by Llama name; missing or extra names are errors.</summary>
    public static DecoderLM Load(string directory, Device? device = null)
    {
        string configPath = Path.Combine(directory, ConfigFile);
        if (!File.Exists(configPath)) throw new FileNotFoundException($"{configPath}: no config.json in the checkpoint directory");
        var model = new DecoderLM(TransformerConfig.FromJson(File.ReadAllText(configPath)));
        var weights = Safetensors.Load(Path.Combine(directory, WeightsFile));
        try
        {
            using var _ = no_grad();
            var expected = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var name in weights.Keys)
                if (!expected.ContainsKey(name) && !(name == "lm_head.weight" && model.Config.TieEmbeddings))
                    throw new InvalidDataException($"{directory}: checkpoint tensor '{name}' has no place in this model");
            foreach (var (name, p) in expected)
            {
                if (!weights.TryGetValue(name, out var w)) throw new InvalidDataException($"{directory}: checkpoint lacks '{name}'");
                if (!w.shape.SequenceEqual(p.shape)) throw new InvalidDataException($"{directory}: '{name}' is [{string.Join(", ", w.shape)}], the model wants [{string.Join(", ", p.shape)}]");
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
}
