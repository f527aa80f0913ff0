using System.Text.Json;
using System.Text.Json.Nodes;

namespace LogitStore.Torch.Model;

/// <summary>
/// Reads a checkpoint's <c>config.json</c> as Hugging Face writes it for the Llama, Mistral, Qwen2 and Qwen3 families
/// (and as this project writes it for its own models) into a <see cref="TransformerConfig"/>. Every key that would
/// change the forward in a way <see cref="DecoderLM"/> does not implement is refused here, naming the key, before a
/// weight is read or a file written: a forward that silently differs from the model's is the one outcome worse than
/// an error.
/// </summary>
public static class CheckpointConfig
{
    private static readonly Dictionary<string, ModelFamily> Architectures = new()
    {
        ["LlamaForCausalLM"] = ModelFamily.Llama,
        ["MistralForCausalLM"] = ModelFamily.Mistral,
        ["Qwen2ForCausalLM"] = ModelFamily.Qwen2,
        ["Qwen3ForCausalLM"] = ModelFamily.Qwen3,
    };

    /// <summary>The family whose forward runs <paramref name="architecture"/>; an unknown one is an error naming it.</summary>
    public static ModelFamily FamilyOf(string architecture) => Architectures.TryGetValue(architecture, out var family)
        ? family
        : throw new ArgumentException($"architecture '{architecture}' is not supported ({string.Join(", ", Architectures.Keys)})");

    /// <summary>The config of the checkpoint in <paramref name="directory"/>.</summary>
    /// <param name="sequenceLength">The positions a forward will see, when known: checked against sliding windows.</param>
    public static TransformerConfig Read(string directory, int? sequenceLength = null)
    {
        string path = Path.Combine(directory, Checkpoint.ConfigFile);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no config.json in the checkpoint directory");
        JsonObject json;
        try
        {
            json = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new InvalidDataException($"{path}: config.json is not a JSON object");
        }
        catch (JsonException ex) { throw new InvalidDataException($"{path}: config.json is not JSON: {ex.Message}"); }
        return Parse(new ConfigReader(path, json), sequenceLength);
    }

    private static TransformerConfig Parse(ConfigReader c, int? sequenceLength)
    {
        var architectures = c.Node("architectures") as JsonArray;
        string architecture = architectures is [JsonValue v] && v.TryGetValue(out string? a) ? a
            : throw c.Refuse("architectures", "must name one architecture");
        if (!Architectures.TryGetValue(architecture, out var family))
            throw c.Refuse("architectures",
                $"'{architecture}' is not supported ({string.Join(", ", Architectures.Keys)})");
        string act = c.String("hidden_act") ?? "silu";
        if (act != "silu") throw c.Refuse("hidden_act", $"'{act}' is not supported (silu)");
        if (c.Node("quantization_config") is not null)
            throw c.Refuse("quantization_config", "quantised checkpoints are not supported (BF16, F16 or F32 weights)");
        if (c.Double("partial_rotary_factor") is { } partial && partial != 1)
            throw c.Refuse("partial_rotary_factor", $"{partial} is not supported (1: every dimension rotates)");
        if (c.Bool("mlp_bias") == true) throw c.Refuse("mlp_bias", "true is not supported (the MLP's forward here has no biases)");
        if (c.Bool("attention_bias") == true)
            throw c.Refuse("attention_bias", family == ModelFamily.Qwen2
                ? "true is not supported (Qwen2's q/k/v biases are implied, and o_proj has none)"
                : $"true is not supported for {architecture} (its forward here has no attention biases)");

        int hidden = c.Int("hidden_size") ?? throw c.Refuse("hidden_size", "is required");
        int heads = c.Int("num_attention_heads") ?? throw c.Refuse("num_attention_heads", "is required");
        var (theta, scaling) = Rope(c);
        var config = new TransformerConfig
        {
            Architectures = [architecture],
            ModelType = c.String("model_type") ?? "",
            VocabSize = c.Int("vocab_size") ?? throw c.Refuse("vocab_size", "is required"),
            HiddenSize = hidden,
            IntermediateSize = c.Int("intermediate_size") ?? throw c.Refuse("intermediate_size", "is required"),
            Layers = c.Int("num_hidden_layers") ?? throw c.Refuse("num_hidden_layers", "is required"),
            Heads = heads,
            KeyValueHeads = c.Int("num_key_value_heads") ?? heads,
            HeadDimension = c.Int("head_dim"),
            MaxPositions = c.Int("max_position_embeddings") ?? 2048,
            RmsNormEps = c.Double("rms_norm_eps") ?? 1e-6,
            RopeTheta = theta,
            RopeScaling = scaling,
            TieEmbeddings = c.Bool("tie_word_embeddings") ?? false,
            FullVocabSize = c.Int("logitstore_full_vocab_size"),
        };
        try { config.Validate(); }
        catch (ArgumentException ex) { throw new InvalidDataException($"{c.Path}: {ex.Message}"); }
        int? window = SlidingWindow(c, family);
        if (sequenceLength > window)
            throw c.Refuse("sliding_window",
                $"{window} is shorter than the sequence length {sequenceLength}; sliding-window attention is not supported");
        return config with { SlidingWindow = window };
    }

    /// <summary>rope_theta and rope_scaling, or (newer configs) both inside rope_parameters.</summary>
    private static (double Theta, RopeScaling? Scaling) Rope(ConfigReader c)
    {
        var parameters = c.Node("rope_parameters") as JsonObject;
        var scalingNode = c.Node("rope_scaling") ?? parameters;
        double theta = c.Double("rope_theta")
            ?? (parameters is null ? null : c.Nested("rope_parameters").Double("rope_theta")) ?? 10_000;
        if (scalingNode is null) return (theta, null);
        string key = c.Node("rope_scaling") is null ? "rope_parameters" : "rope_scaling";
        if (scalingNode is not JsonObject) throw c.Refuse(key, "must be an object or null");
        var s = c.Nested(key);
        string type = s.String("rope_type") ?? s.String("type") ?? throw c.Refuse(key, "names no rope_type");
        double Factor() => s.Double("factor") is { } f && f > 0 ? f : throw c.Refuse($"{key}.factor", "must be a positive number");
        return type switch
        {
            "default" => (theta, null),
            "linear" => (theta, new RopeScaling(RopeScalingKind.Linear, Factor())),
            "llama3" => (theta, new RopeScaling(
                RopeScalingKind.Llama3, Factor(),
                s.Double("low_freq_factor") ?? throw c.Refuse($"{key}.low_freq_factor", "is required for llama3"),
                s.Double("high_freq_factor") ?? throw c.Refuse($"{key}.high_freq_factor", "is required for llama3"),
                s.Int("original_max_position_embeddings")
                    ?? throw c.Refuse($"{key}.original_max_position_embeddings", "is required for llama3"))),
            _ => throw c.Refuse($"{key}.rope_type", $"'{type}' is not supported (default, linear, llama3)"),
        };
    }

    /// <summary>
    /// The window of sliding-window attention when the config turns it on, else null. A window shorter than the
    /// sequence changes attention; one at least as long changes nothing.
    /// </summary>
    private static int? SlidingWindow(ConfigReader c, ModelFamily family)
    {
        int? window = c.Int("sliding_window");
        bool used = family switch
        {
            ModelFamily.Mistral => window is not null,
            ModelFamily.Qwen2 or ModelFamily.Qwen3 => c.Bool("use_sliding_window") == true
                || (c.Node("layer_types") is JsonArray types && types.Any(t => t?.ToString() == "sliding_attention")),
            _ => c.Node("layer_types") is JsonArray types2 && types2.Any(t => t?.ToString() == "sliding_attention"),
        };
        if (!used) return null;
        return window ?? throw c.Refuse("sliding_window", "sliding attention is on but names no window");
    }

    /// <summary>Typed reads of one JSON object, each error naming the file and the key.</summary>
    private sealed class ConfigReader(string path, JsonObject json, string prefix = "")
    {
        public string Path => path;

        public JsonNode? Node(string key) => json[key];

        public ConfigReader Nested(string key) => new(path, (JsonObject)json[key]!, prefix + key + ".");

        public InvalidDataException Refuse(string key, string why) =>
            new($"{path}: {(key.Contains('.') ? key : prefix + key)} {why}");

        public string? String(string key) => Value(key, JsonValueKind.String)?.GetValue<string>();

        public bool? Bool(string key) => json[key] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() is JsonValueKind.True or JsonValueKind.False => v.GetValue<bool>(),
            _ => throw Refuse(key, "must be true or false"),
        };

        public double? Double(string key) => Value(key, JsonValueKind.Number)?.GetValue<double>();

        public int? Int(string key)
        {
            if (Double(key) is not { } d) return null;
            return d == Math.Floor(d) && d is >= 0 and <= int.MaxValue ? (int)d : throw Refuse(key, $"{d} is not a count");
        }

        private JsonValue? Value(string key, JsonValueKind kind) => json[key] switch
        {
            null => null,
            JsonValue v when v.GetValueKind() == kind => v,
            _ => throw Refuse(key, $"must be a {kind.ToString().ToLowerInvariant()}"),
        };
    }
}
