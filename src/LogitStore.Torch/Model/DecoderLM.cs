using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LogitStore.Torch.Model;

/// <summary>Root-mean-square layer norm with a learned gain (Llama's RMSNorm).</summary>
public sealed class RmsNorm : nn.Module<Tensor, Tensor>
{
    // The field's name is the parameter's: Module.to(device or dtype) replaces a Parameter field and registers the
    // new tensor under the field's name, so any other name leaves a stale copy behind (two parameters, one trained).
    private Parameter weight;
    private readonly double _eps;

    public RmsNorm(int size, double eps) : base(nameof(RmsNorm))
    {
        _eps = eps;
        weight = nn.Parameter(ones(size));
        register_parameter(nameof(weight), weight);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var xf = x.to_type(ScalarType.Float32);
        var normed = xf * rsqrt(xf.pow(2).mean([-1L], keepdim: true) + _eps);
        return (normed.to_type(x.dtype) * weight).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Causal self-attention with rotary positions and grouped key/value heads, through scaled_dot_product_attention;
/// with the family's q/k/v biases (Qwen2) or per-head q/k norms (Qwen3).
/// </summary>
public sealed class CausalSelfAttention : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly Linear _q, _k, _v, _o;
    private readonly RmsNorm? _qNorm, _kNorm;
    private readonly int _heads, _kvHeads, _headDim;

    public CausalSelfAttention(TransformerConfig c) : base(nameof(CausalSelfAttention))
    {
        _heads = c.Heads;
        _kvHeads = c.KeyValueHeads;
        _headDim = c.HeadDim;
        _q = nn.Linear(c.HiddenSize, c.Heads * c.HeadDim, hasBias: c.QkvBias);
        _k = nn.Linear(c.HiddenSize, c.KeyValueHeads * c.HeadDim, hasBias: c.QkvBias);
        _v = nn.Linear(c.HiddenSize, c.KeyValueHeads * c.HeadDim, hasBias: c.QkvBias);
        _o = nn.Linear(c.Heads * c.HeadDim, c.HiddenSize, hasBias: false);
        register_module("q_proj", _q);
        register_module("k_proj", _k);
        register_module("v_proj", _v);
        register_module("o_proj", _o);
        if (c.QkNorm)
        {
            _qNorm = new RmsNorm(c.HeadDim, c.RmsNormEps);
            _kNorm = new RmsNorm(c.HeadDim, c.RmsNormEps);
            register_module("q_norm", _qNorm);
            register_module("k_norm", _kNorm);
        }
    }

    /// <param name="x">[B, T, d]</param><param name="cos">[T, headDim/2]</param><param name="sin">[T, headDim/2]</param>
    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1];
        var q = _q.forward(x).view(b, t, _heads, _headDim);
        var k = _k.forward(x).view(b, t, _kvHeads, _headDim);
        if (_qNorm is not null) q = _qNorm.forward(q);
        if (_kNorm is not null) k = _kNorm.forward(k);
        q = Rotary(q.transpose(1, 2), cos, sin);
        k = Rotary(k.transpose(1, 2), cos, sin);
        var v = _v.forward(x).view(b, t, _kvHeads, _headDim).transpose(1, 2);
        if (_kvHeads != _heads)
        {
            k = k.repeat_interleave(_heads / _kvHeads, dim: 1);
            v = v.repeat_interleave(_heads / _kvHeads, dim: 1);
        }
        var y = nn.functional.scaled_dot_product_attention(q, k, v, is_casual: true);
        return _o.forward(y.transpose(1, 2).reshape(b, t, _heads * _headDim)).MoveToOuterDisposeScope();
    }

    /// <summary>Llama's rotate-half convention: the first and second halves of each head are the pair's two coordinates.</summary>
    private static Tensor Rotary(Tensor x, Tensor cos, Tensor sin)
    {
        var halves = x.chunk(2, -1);
        var (x1, x2) = (halves[0], halves[1]);
        var c = cos.to_type(x.dtype);
        var s = sin.to_type(x.dtype);
        return cat([x1 * c - x2 * s, x2 * c + x1 * s], -1);
    }
}

/// <summary>SwiGLU feed-forward: down(silu(gate(x)) · up(x)).</summary>
public sealed class SwiGluMlp : nn.Module<Tensor, Tensor>
{
    private readonly Linear _gate, _up, _down;

    public SwiGluMlp(TransformerConfig c) : base(nameof(SwiGluMlp))
    {
        _gate = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        _up = nn.Linear(c.HiddenSize, c.IntermediateSize, hasBias: false);
        _down = nn.Linear(c.IntermediateSize, c.HiddenSize, hasBias: false);
        register_module("gate_proj", _gate);
        register_module("up_proj", _up);
        register_module("down_proj", _down);
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return _down.forward(nn.functional.silu(_gate.forward(x)) * _up.forward(x)).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-norm block: x + attn(norm(x)), then + mlp(norm(·)).</summary>
public sealed class DecoderLayer : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly RmsNorm _inputNorm, _postNorm;
    private readonly CausalSelfAttention _attn;
    private readonly SwiGluMlp _mlp;

    public DecoderLayer(TransformerConfig c) : base(nameof(DecoderLayer))
    {
        _inputNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        _attn = new CausalSelfAttention(c);
        _postNorm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        _mlp = new SwiGluMlp(c);
        register_module("input_layernorm", _inputNorm);
        register_module("self_attn", _attn);
        register_module("post_attention_layernorm", _postNorm);
        register_module("mlp", _mlp);
    }

    public override Tensor forward(Tensor x, Tensor cos, Tensor sin)
    {
        using var scope = NewDisposeScope();
        var h = x + _attn.forward(_inputNorm.forward(x), cos, sin);
        return (h + _mlp.forward(_postNorm.forward(h))).MoveToOuterDisposeScope();
    }
}

/// <summary>The transformer body, named as Llama's <c>model.*</c>.</summary>
public sealed class DecoderBody : nn.Module<Tensor, Tensor>
{
    private readonly Embedding _embed;
    private readonly ModuleList<DecoderLayer> _layers;
    private readonly RmsNorm _norm;
    private readonly TransformerConfig _c;

    public DecoderBody(TransformerConfig c) : base(nameof(DecoderBody))
    {
        _c = c;
        _embed = nn.Embedding(c.VocabSize, c.HiddenSize);
        _layers = nn.ModuleList(Enumerable.Range(0, c.Layers).Select(_ => new DecoderLayer(c)).ToArray());
        _norm = new RmsNorm(c.HiddenSize, c.RmsNormEps);
        register_module("embed_tokens", _embed);
        register_module("layers", _layers);
        register_module("norm", _norm);
    }

    public Embedding EmbedTokens => _embed;

    /// <summary>[B, T] token ids → [B, T, d] final hidden states.</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        long t = tokens.shape[1];
        if (t > _c.SlidingWindow)
            throw new InvalidOperationException(
                $"{t} positions exceed the model's sliding window of {_c.SlidingWindow}; sliding-window attention is not supported");
        var (cos, sin) = RotaryTables(t, tokens.device);
        var h = _embed.forward(tokens);
        foreach (var layer in _layers) h = layer.forward(h, cos, sin);
        return _norm.forward(h).MoveToOuterDisposeScope();
    }

    private (Tensor Cos, Tensor Sin) RotaryTables(long length, Device device)
    {
        var inv = tensor(RopeScaling.InverseFrequencies(_c.HeadDim, _c.RopeTheta, _c.RopeScaling), device: device)
            .to_type(ScalarType.Float32);
        var angles = outer(arange(length, dtype: ScalarType.Float32, device: device), inv);
        return (angles.cos(), angles.sin());
    }
}

/// <summary>
/// Decoder-only transformer LM (pre-norm, RMSNorm, rotary positions, causal SDPA, SwiGLU, optional tied
/// embeddings). Parameter names are Llama's (<c>model.layers.0.self_attn.q_proj.weight</c>, <c>lm_head.weight</c>),
/// so safetensors checkpoints map one to one.
/// </summary>
public sealed class DecoderLM : nn.Module<Tensor, Tensor>
{
    private readonly DecoderBody _model;
    private readonly Linear? _lmHead;

    /// <param name="vocabulary">The output ids; required when the config has a compact vocabulary, else the full one.</param>
    /// <param name="initialise">
    /// False when every weight is about to be loaded: skips this model's Normal(0, 0.02) draw (the layers' own default
    /// initialisation still runs).
    /// </param>
    public DecoderLM(TransformerConfig config, OutputVocabulary? vocabulary = null, bool initialise = true) : base(nameof(DecoderLM))
    {
        config.Validate();
        Config = config;
        Vocabulary = vocabulary ?? (config.FullVocabSize is null ? OutputVocabulary.Full(config.VocabSize)
            : throw new ArgumentException("a compact-vocabulary config needs its output vocabulary"));
        if (Vocabulary.Size != config.VocabSize || Vocabulary.FullSize != (config.FullVocabSize ?? config.VocabSize))
            throw new ArgumentException(
                $"the output vocabulary ({Vocabulary.Size} of {Vocabulary.FullSize} ids) does not match the config " +
                $"(vocab_size {config.VocabSize}, full {config.FullVocabSize ?? config.VocabSize})");
        _model = new DecoderBody(config);
        register_module("model", _model);
        if (!config.TieEmbeddings)
        {
            _lmHead = nn.Linear(config.HiddenSize, config.VocabSize, hasBias: false);
            register_module("lm_head", _lmHead);
        }
        if (initialise) InitialiseWeights();
    }

    public TransformerConfig Config { get; }

    /// <summary>The ids the output layer covers; inputs and everything leaving the model are tokenizer ids.</summary>
    public OutputVocabulary Vocabulary { get; }

    /// <summary>[B, T] tokenizer ids → [B, T, <see cref="OutputVocabulary.Size"/>] logits.</summary>
    public override Tensor forward(Tensor tokens)
    {
        using var scope = NewDisposeScope();
        var h = _model.forward(Vocabulary.ToOutputs(tokens));
        var logits = _lmHead is null ? matmul(h, _model.EmbedTokens.weight!.t()) : _lmHead.forward(h);
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Normal(0, 0.02) for every matrix (GPT-2/Llama practice), residual projections scaled by 1/√(2L); gains 1.</summary>
    private void InitialiseWeights()
    {
        using var _ = no_grad();
        double residualStd = 0.02 / Math.Sqrt(2.0 * Config.Layers);
        foreach (var (name, p) in named_parameters())
        {
            if (p.dim() < 2) continue;
            bool residual = name.EndsWith("o_proj.weight") || name.EndsWith("down_proj.weight");
            nn.init.normal_(p, 0, residual ? residualStd : 0.02);
        }
    }
}
