namespace LogitStore.Torch.Model;

/// <summary>The decoder families whose forward <see cref="DecoderLM"/> implements, one per Hugging Face architecture.</summary>
public enum ModelFamily
{
    /// <summary><c>LlamaForCausalLM</c>: Llama 2/3.x, SmolLM2, TinyLlama, and the project's own checkpoints.</summary>
    Llama,

    /// <summary><c>MistralForCausalLM</c>: Llama's forward; its sliding window is refused when shorter than a sequence.</summary>
    Mistral,

    /// <summary><c>Qwen2ForCausalLM</c>: biases on the q, k and v projections.</summary>
    Qwen2,

    /// <summary><c>Qwen3ForCausalLM</c>: RMSNorm over each head of q and k, and an explicit head width.</summary>
    Qwen3,
}
