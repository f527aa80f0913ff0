using System.Text.Json;
using System.Text.Json.Serialization;

namespace LogitStore.Torch.Model;

/// <summary>
/// Sizes of a decoder-only transformer, serialised as a Llama-style <c>config.json</c> (the same member names
/// Hugging Face uses), so that a real Llama-family checkpoint of this layout loads.
/// </summary>
public sealed record TransformerConfig
{
    [JsonPropertyName("architectures")] public string[] Architectures { get; init; } = ["LlamaForCausalLM"];
    [JsonPropertyName("model_type")] public string ModelType { get; init; } = "llama";
    [JsonPropertyName("vocab_size")] public int VocabSize { get; init; } = 100_277;
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; init; } = 256;
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; init; } = 688;
    [JsonPropertyName("num_hidden_layers")] public int Layers { get; init; } = 4;
    [JsonPropertyName("num_attention_heads")] public int Heads { get; init; } = 4;
    [JsonPropertyName("num_key_value_heads")] public int KeyValueHeads { get; init; } = 4;
    [JsonPropertyName("max_position_embeddings")] public int MaxPositions { get; init; } = 1024;
    [JsonPropertyName("rms_norm_eps")] public double RmsNormEps { get; init; } = 1e-5;
    [JsonPropertyName("rope_theta")] public double RopeTheta { get; init; } = 10_000;
    [JsonPropertyName("tie_word_embeddings")] public bool TieEmbeddings { get; init; } = true;

    /// <summary>
    /// Set when the output layer covers a compact subset of the tokenizer's ids (<see cref="OutputVocabulary"/>):
    /// the tokenizer's size; <see cref="VocabSize"/> is then the compact size, the "other" output included.
    /// </summary>
    [JsonPropertyName("logitstore_full_vocab_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? FullVocabSize { get; init; }

    /// <summary>The width of one attention head when the config gives it (Qwen3); else hidden_size / num_attention_heads.</summary>
    [JsonPropertyName("head_dim")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? HeadDimension { get; init; }

    /// <summary>The family's forward, named by <c>architectures</c> (<see cref="CheckpointConfig"/> refuses others).</summary>
    [JsonIgnore] public ModelFamily Family => CheckpointConfig.FamilyOf(Architectures[0]);

    /// <summary>How rotary frequencies are rescaled for long contexts; null: not at all.</summary>
    [JsonIgnore] public RopeScaling? RopeScaling { get; init; }

    /// <summary>
    /// The attention window when the config turns sliding-window attention on; the forward implements full causal
    /// attention only, so it refuses sequences longer than this.
    /// </summary>
    [JsonIgnore] public int? SlidingWindow { get; init; }

    [JsonIgnore] public int HeadDim => HeadDimension ?? HiddenSize / Heads;

    /// <summary>Qwen2 adds a bias to the q, k and v projections (not to o).</summary>
    [JsonIgnore] public bool QkvBias => Family == ModelFamily.Qwen2;

    /// <summary>Qwen3 normalises each head of q and k (RMSNorm over the head's width) before the rotation.</summary>
    [JsonIgnore] public bool QkNorm => Family == ModelFamily.Qwen3;

    /// <summary>A preset whose output layer covers <paramref name="vocabulary"/>.</summary>
    public static TransformerConfig Preset(string name, OutputVocabulary vocabulary) =>
        Preset(name, vocabulary.Size) with { FullVocabSize = vocabulary.IsCompact ? vocabulary.FullSize : null };

    /// <summary>
    /// tiny: seconds on a CPU; cpu-small: small with 4 layers instead of 6, the CPU teacher of a compact vocabulary;
    /// small: ~30M parameters at a 100k vocabulary (the GPU teacher); base: larger.
    /// </summary>
    public static TransformerConfig Preset(string name, int vocabSize) => name switch
    {
        "tiny" => new TransformerConfig
        {
            VocabSize = vocabSize, HiddenSize = 64, IntermediateSize = 172, Layers = 2, Heads = 2, KeyValueHeads = 2, MaxPositions = 256,
        },
        "cpu-small" => new TransformerConfig
        {
            VocabSize = vocabSize, HiddenSize = 256, IntermediateSize = 688, Layers = 4, Heads = 4, KeyValueHeads = 4, MaxPositions = 1024,
        },
        "small" => new TransformerConfig
        {
            VocabSize = vocabSize, HiddenSize = 256, IntermediateSize = 688, Layers = 6, Heads = 4, KeyValueHeads = 4, MaxPositions = 1024,
        },
        "base" => new TransformerConfig
        {
            VocabSize = vocabSize, HiddenSize = 512, IntermediateSize = 1376, Layers = 8, Heads = 8, KeyValueHeads = 8, MaxPositions = 1024,
        },
        _ => throw new ArgumentException($"unknown preset '{name}' (tiny, cpu-small, small, base)"),
    };

    public void Validate()
    {
        if (VocabSize < 2 || HiddenSize < 2 || Layers < 1 || Heads < 1 || IntermediateSize < 1)
            throw new ArgumentException("model sizes must be positive");
        if (HeadDimension is null && HiddenSize % Heads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {Heads}");
        if (HeadDim < 2) throw new ArgumentException($"head_dim {HeadDim} must be at least 2");
        if (KeyValueHeads < 1) throw new ArgumentException($"num_key_value_heads {KeyValueHeads} must be positive");
        if (HeadDim % 2 != 0) throw new ArgumentException($"head dimension {HeadDim} must be even for rotary positions");
        if (Heads % KeyValueHeads != 0)
            throw new ArgumentException($"num_attention_heads {Heads} is not a multiple of num_key_value_heads {KeyValueHeads}");
    }

    /// <summary>Parameters (weights) the model holds.</summary>
    public long ParameterCount()
    {
        long d = HiddenSize, q = (long)Heads * HeadDim, kv = (long)KeyValueHeads * HeadDim;
        long perLayer = d * q * 2 + d * kv * 2 + 3 * d * IntermediateSize + 2 * d
            + (QkvBias ? q + 2 * kv : 0) + (QkNorm ? 2L * HeadDim : 0);
        return VocabSize * d * (TieEmbeddings ? 1 : 2) + Layers * perLayer + d;
    }

    public static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static TransformerConfig FromJson(string json) =>
        JsonSerializer.Deserialize<TransformerConfig>(json, Json) ?? throw new ArgumentException("config.json is empty");
}
