using System.Text.Json.Nodes;
using LogitStore.Torch.Model;

namespace LogitStore.Tests.Torch;

/// <summary>config.json as Hugging Face writes it: what each family's keys mean, and every key the forward refuses.</summary>
public sealed class CheckpointConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("logitstore-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static JsonObject Llama() => new()
    {
        ["architectures"] = new JsonArray("LlamaForCausalLM"), ["model_type"] = "llama", ["hidden_size"] = 2048,
        ["intermediate_size"] = 8192, ["num_hidden_layers"] = 16, ["num_attention_heads"] = 32, ["num_key_value_heads"] = 8,
        ["vocab_size"] = 128256, ["rms_norm_eps"] = 1e-5, ["rope_theta"] = 500000.0, ["tie_word_embeddings"] = true,
        ["hidden_act"] = "silu", ["attention_bias"] = false, ["mlp_bias"] = false, ["max_position_embeddings"] = 131072,
        ["rope_scaling"] = new JsonObject
        {
            ["rope_type"] = "llama3", ["factor"] = 32.0, ["low_freq_factor"] = 1.0, ["high_freq_factor"] = 4.0,
            ["original_max_position_embeddings"] = 8192,
        },
    };

    private TransformerConfig Read(JsonObject config, int? sequenceLength = null)
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), config.ToJsonString());
        return CheckpointConfig.Read(_dir, sequenceLength);
    }

    private string Refusal(JsonObject config, int? sequenceLength = null) =>
        Assert.Throws<InvalidDataException>(() => Read(config, sequenceLength)).Message;

    [Fact]
    public void Llama32_ReadsEveryKey()
    {
        var c = Read(Llama());
        Assert.Equal(ModelFamily.Llama, c.Family);
        Assert.Equal((2048, 16, 32, 8, 64, 128256), (c.HiddenSize, c.Layers, c.Heads, c.KeyValueHeads, c.HeadDim, c.VocabSize));
        Assert.True(c.TieEmbeddings);
        Assert.Equal(new RopeScaling(RopeScalingKind.Llama3, 32, 1, 4, 8192), c.RopeScaling);
        Assert.False(c.QkvBias || c.QkNorm);
    }

    [Fact]
    public void Qwen3_HeadDimIsExplicit_AndQwen2HasBiases_AndUntiedIsTheDefault()
    {
        var q3 = Llama();
        q3["architectures"] = new JsonArray("Qwen3ForCausalLM");
        q3["head_dim"] = 128;
        q3["hidden_size"] = 1024;
        q3["num_attention_heads"] = 16;
        q3.Remove("tie_word_embeddings");
        q3.Remove("rope_scaling");
        var c = Read(q3);
        Assert.Equal((128, true, false, false), (c.HeadDim, c.QkNorm, c.QkvBias, c.TieEmbeddings));
        q3["architectures"] = new JsonArray("Qwen2ForCausalLM");
        q3.Remove("head_dim");
        q3["use_sliding_window"] = false;
        q3["sliding_window"] = 4096;
        c = Read(q3, sequenceLength: 8192);
        Assert.Equal((64, false, true), (c.HeadDim, c.QkNorm, c.QkvBias));
    }

    [Fact]
    public void RopeParameters_OfNewerConfigs_AreRead()
    {
        var config = Llama();
        config.Remove("rope_scaling");
        config.Remove("rope_theta");
        config["rope_parameters"] = new JsonObject { ["rope_type"] = "linear", ["factor"] = 2.0, ["rope_theta"] = 1e6 };
        var c = Read(config);
        Assert.Equal((1e6, new RopeScaling(RopeScalingKind.Linear, 2)), (c.RopeTheta, c.RopeScaling));
    }

    [Theory]
    [InlineData("architectures", "[\"GemmaForCausalLM\"]", "architectures 'GemmaForCausalLM' is not supported")]
    [InlineData("rope_scaling", "{\"rope_type\":\"yarn\",\"factor\":4.0}", "rope_scaling.rope_type 'yarn' is not supported")]
    [InlineData("rope_scaling", "{\"type\":\"dynamic\",\"factor\":4.0}", "rope_scaling.rope_type 'dynamic' is not supported")]
    [InlineData("attention_bias", "true", "attention_bias true is not supported")]
    [InlineData("mlp_bias", "true", "mlp_bias true is not supported")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported")]
    [InlineData("partial_rotary_factor", "0.5", "partial_rotary_factor 0.5 is not supported")]
    [InlineData("quantization_config", "{\"quant_method\":\"awq\"}", "quantization_config")]
    [InlineData("hidden_size", "\"big\"", "hidden_size must be a number")]
    [InlineData("num_hidden_layers", "2.5", "num_hidden_layers 2.5 is not a count")]
    public void UnsupportedKeys_AreRefusedByName(string key, string json, string expected)
    {
        var config = Llama();
        config[key] = JsonNode.Parse(json);
        var message = Refusal(config);
        Assert.Contains(expected, message);
        Assert.StartsWith(Path.Combine(_dir, "config.json"), message);
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void SlidingWindows_AreRefusedOnlyWhenShorterThanTheSequence()
    {
        var mistral = Llama();
        mistral.Remove("rope_scaling");
        mistral["architectures"] = new JsonArray("MistralForCausalLM");
        mistral["sliding_window"] = 4096;
        Read(mistral, sequenceLength: 4096);
        Assert.Contains("sliding_window 4096 is shorter than the sequence length 4097", Refusal(mistral, 4097));
        mistral["sliding_window"] = null;
        Read(mistral, sequenceLength: 100_000);

        var qwen = mistral.DeepClone().AsObject();
        qwen["architectures"] = new JsonArray("Qwen2ForCausalLM");
        qwen["sliding_window"] = 512;
        qwen["use_sliding_window"] = false;
        Read(qwen, sequenceLength: 1024);
        qwen["use_sliding_window"] = true;
        Assert.Contains("sliding_window 512 is shorter", Refusal(qwen, 1024));
    }

    [Fact]
    public void Llama3Scaling_KeepsHighFrequencies_DividesLowOnes_AndBlendsBetween()
    {
        var scaling = new RopeScaling(RopeScalingKind.Llama3, 8, 1, 4, 8192);
        var plain = RopeScaling.InverseFrequencies(128, 500_000, null);
        var scaled = RopeScaling.InverseFrequencies(128, 500_000, scaling);
        for (int i = 0; i < plain.Length; i++)
        {
            double wavelength = 2 * Math.PI / plain[i];
            if (wavelength < 8192 / 4.0) Assert.Equal(plain[i], scaled[i]);
            else if (wavelength > 8192 / 1.0) Assert.Equal(plain[i] / 8, scaled[i], 1e-15);
            else Assert.InRange(scaled[i], plain[i] / 8, plain[i]);
        }
        Assert.Contains(plain.Zip(scaled), p => p.First != p.Second && p.First / 8 != p.Second);
        var linear = RopeScaling.InverseFrequencies(64, 10_000, new RopeScaling(RopeScalingKind.Linear, 2));
        Assert.Equal(RopeScaling.InverseFrequencies(64, 10_000, null).Select(f => f / 2), linear);
    }
}
