"""
A reference forward of Hugging Face decoder checkpoints (Llama, Mistral, Qwen2, Qwen3) in float32 or float64, written from the
published model equations, independent of LogitStore's own model code.

    model = HfReference.load("path/to/checkpoint")
    logits = model.logits(torch.tensor([[1, 2, 3]]))   # [B, T, V] float32

Weights are read by the small safetensors reader below (BF16/F16/F32, one file or an index of shards); BF16 becomes
float32 by a 16-bit shift, exactly.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch

ARCHITECTURES = {"LlamaForCausalLM": "llama", "MistralForCausalLM": "mistral", "Qwen2ForCausalLM": "qwen2",
                 "Qwen3ForCausalLM": "qwen3"}


def read_safetensors(path):
    """{name: float32 numpy array} of one .safetensors file."""
    raw = Path(path).read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    base = 8 + length
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        data = raw[base + begin:base + end]
        dtype, shape = entry["dtype"], tuple(entry["shape"])
        if dtype == "BF16":
            values = (np.frombuffer(data, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype == "F16":
            values = np.frombuffer(data, "<f2").astype(np.float32)
        elif dtype == "F32":
            values = np.frombuffer(data, "<f4").astype(np.float32)
        else:
            raise ValueError(f"{path}: {name} has dtype {dtype}")
        if values.size != math.prod(shape):
            raise ValueError(f"{path}: {name} holds {values.size} values for shape {shape}")
        out[name] = values.reshape(shape)
    return out


def read_weights(directory):
    """Every tensor of a checkpoint directory: model.safetensors, or the shards model.safetensors.index.json lists."""
    directory = Path(directory)
    index = directory / "model.safetensors.index.json"
    if index.exists():
        files = sorted(set(json.loads(index.read_text())["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    weights = {}
    for f in files:
        weights.update(read_safetensors(directory / f))
    return weights


def rope_inv_freq(config, head_dim):
    """Inverse frequencies as Hugging Face computes them: default, "linear" or "llama3" (`_compute_llama3_parameters`)."""
    base = float(config.get("rope_theta", 10000.0))
    inv_freq = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = config.get("rope_scaling")
    if not scaling:
        return inv_freq
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "default":
        return inv_freq
    if kind == "linear":
        return inv_freq / float(scaling["factor"])
    if kind == "llama3":
        factor = float(scaling["factor"])
        low, high = float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        old_context = float(scaling["original_max_position_embeddings"])
        low_freq_wavelen, high_freq_wavelen = old_context / low, old_context / high
        wavelen = 2 * math.pi / inv_freq
        scaled = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth = (old_context / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        return torch.where(medium, smoothed, scaled)
    raise ValueError(f"rope_scaling type {kind!r} is not in the reference")


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class HfReference:
    """The float32 forward of one checkpoint."""

    def __init__(self, config, weights, dtype=torch.float32):
        self.config = config
        self.dtype = dtype
        arch = config["architectures"][0]
        if arch not in ARCHITECTURES:
            raise ValueError(f"architecture {arch} is not in the reference")
        self.family = ARCHITECTURES[arch]
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads") or self.heads
        self.head_dim = config.get("head_dim") or self.hidden // self.heads
        self.layers = config["num_hidden_layers"]
        self.eps = float(config["rms_norm_eps"])
        self.tied = config.get("tie_word_embeddings", False)
        window = config.get("sliding_window")
        uses_window = config.get("use_sliding_window", True) if self.family in ("qwen2", "qwen3") else True
        self.sliding_window = window if (uses_window and window) else None
        self.w = {k: torch.from_numpy(np.array(v)).to(dtype) for k, v in weights.items()}
        self.inv_freq = rope_inv_freq(config, self.head_dim).to(dtype)   # computed in float32, as Hugging Face does

    @classmethod
    def load(cls, directory, dtype=torch.float32):
        """The checkpoint in `directory`, computing in `dtype` (float64: a reference for float32 forwards)."""
        directory = Path(directory)
        return cls(json.loads((directory / "config.json").read_text()), read_weights(directory), dtype)

    @property
    def vocab_size(self):
        return self.config["vocab_size"]

    def _linear(self, x, name):
        y = x @ self.w[name + ".weight"].T
        bias = self.w.get(name + ".bias")
        return y if bias is None else y + bias

    def _attention(self, x, n, cos, sin, mask):
        b, t, _ = x.shape
        p = f"model.layers.{n}.self_attn."
        q = self._linear(x, p + "q_proj").view(b, t, self.heads, self.head_dim)
        k = self._linear(x, p + "k_proj").view(b, t, self.kv_heads, self.head_dim)
        v = self._linear(x, p + "v_proj").view(b, t, self.kv_heads, self.head_dim)
        if self.family == "qwen3":
            q = rms_norm(q, self.w[p + "q_norm.weight"], self.eps)
            k = rms_norm(k, self.w[p + "k_norm.weight"], self.eps)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)   # [B, heads, T, head_dim]
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = self.heads // self.kv_heads
        k = k.repeat_interleave(groups, dim=1)   # HF's repeat_kv: query head h reads kv head h // groups
        v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores.masked_fill(~mask, float("-inf"))
        out = torch.softmax(scores, dim=-1) @ v
        out = out.transpose(1, 2).reshape(b, t, self.heads * self.head_dim)
        return self._linear(out, p + "o_proj")

    def _mlp(self, x, n):
        p = f"model.layers.{n}.mlp."
        return self._linear(torch.nn.functional.silu(self._linear(x, p + "gate_proj")) * self._linear(x, p + "up_proj"),
                            p + "down_proj")

    @torch.no_grad()
    def logits(self, tokens):
        """Logits [B, T, V] (in the model's dtype) after each prefix of `tokens` [B, T] (positions 0 … T-1, no padding)."""
        tokens = torch.as_tensor(tokens, dtype=torch.long)
        b, t = tokens.shape
        h = self.w["model.embed_tokens.weight"][tokens]
        positions = torch.arange(t, dtype=self.dtype)
        freqs = positions[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        i, j = torch.arange(t)[:, None], torch.arange(t)[None, :]
        mask = j <= i
        if self.sliding_window is not None:
            mask &= j > i - self.sliding_window
        for n in range(self.layers):
            p = f"model.layers.{n}."
            h = h + self._attention(rms_norm(h, self.w[p + "input_layernorm.weight"], self.eps), n, cos, sin, mask)
            h = h + self._mlp(rms_norm(h, self.w[p + "post_attention_layernorm.weight"], self.eps), n)
        h = rms_norm(h, self.w["model.norm.weight"], self.eps)
        head = self.w["model.embed_tokens.weight"] if self.tied else self.w["lm_head.weight"]
        return h @ head.T


def top_k_reference(logits, k, temperature=1.0):
    """
    What a top-k store keeps per position (format-spec 2.1 and 6): ids sorted by probability descending (ties by
    ascending id), their probabilities renormalised over the kept set, and the residual 1 - sum of kept q (clamped).
    Returns (ids [.., k] int64, probs [.., k] float64, residual [..] float64, q [.., V] float64).
    """
    z = logits.double() / temperature
    q = torch.softmax(z, dim=-1)
    v = q.shape[-1]
    # stable sort by -q keeps ascending id among equal probabilities
    order = torch.sort(-q, dim=-1, stable=True).indices[..., :k]
    kept = torch.gather(q, -1, order)
    total = kept.sum(-1, keepdim=True)
    return order, kept / total, (1 - total.squeeze(-1)).clamp(0, 1), q
