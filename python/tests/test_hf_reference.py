"""The Hugging Face reference forward and the checkpoint writer, checked on their own (no CLI involved)."""

import json
import math
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch

from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import hf_checkpoint as hfc  # noqa: E402
from hf_reference import HfReference, read_safetensors, read_weights, rope_inv_freq, top_k_reference  # noqa: E402

TINY = ["tiny-llama", "tiny-mistral", "tiny-qwen2", "tiny-qwen3"]


def tokens(batch, length, vocab, seed=0):
    return torch.from_numpy(np.random.default_rng(seed).integers(0, vocab, (batch, length)))


def checkpoint(tmp_path, spec, **options):
    hfc.write_checkpoint(tmp_path, spec, **options)
    return HfReference.load(tmp_path)


def loop_forward(model, ids):
    """
    A second forward, one position at a time in float64 numpy, RoPE as a complex rotation of the pairs (i, i + d/2):
    written apart from HfReference so that a slip in its vectorised code shows as a difference.
    """
    w = {k: v.double().numpy() for k, v in model.w.items()}
    c, eps, hd = model.config, model.eps, model.head_dim
    groups = model.heads // model.kv_heads
    inv_freq = rope_inv_freq(c, hd).double().numpy()

    def norm(x, weight):
        return weight * x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)

    def lin(x, name):
        return x @ w[name + ".weight"].T + w.get(name + ".bias", 0.0)

    def rope(x, pos):   # x [heads, hd]
        half = hd // 2
        z = (x[:, :half] + 1j * x[:, half:]) * np.exp(1j * pos * inv_freq)
        return np.concatenate([z.real, z.imag], axis=-1)

    out = []
    for row in ids.numpy():
        h = w["model.embed_tokens.weight"][row]
        for n in range(model.layers):
            p = f"model.layers.{n}."
            x = norm(h, w[p + "input_layernorm.weight"])
            keys, values, attn = [], [], []
            for t in range(len(row)):
                q = lin(x[t], p + "self_attn.q_proj").reshape(model.heads, hd)
                k = lin(x[t], p + "self_attn.k_proj").reshape(model.kv_heads, hd)
                v = lin(x[t], p + "self_attn.v_proj").reshape(model.kv_heads, hd)
                if model.family == "qwen3":
                    q, k = norm(q, w[p + "self_attn.q_norm.weight"]), norm(k, w[p + "self_attn.k_norm.weight"])
                keys.append(rope(k, t))
                values.append(v)
                q = rope(q, t)
                heads = []
                for head in range(model.heads):
                    kv = head // groups
                    s = np.array([q[head] @ keys[j][kv] for j in range(t + 1)]) / math.sqrt(hd)
                    a = np.exp(s - s.max())
                    a /= a.sum()
                    heads.append(sum(a[j] * values[j][kv] for j in range(t + 1)))
                attn.append(np.concatenate(heads))
            h = h + lin(np.stack(attn), p + "self_attn.o_proj")
            x = norm(h, w[p + "post_attention_layernorm.weight"])
            gate = lin(x, p + "mlp.gate_proj")
            h = h + lin(gate / (1 + np.exp(-gate)) * lin(x, p + "mlp.up_proj"), p + "mlp.down_proj")
        h = norm(h, w["model.norm.weight"])
        out.append(h @ (w["model.embed_tokens.weight"] if model.tied else w["lm_head.weight"]).T)
    return np.stack(out)


@pytest.mark.parametrize("preset", TINY)
def test_vectorised_forward_equals_a_position_by_position_forward(tmp_path, preset):
    model = checkpoint(tmp_path, hfc.PRESETS[preset], shards=2)
    ids = tokens(2, 12, model.vocab_size)
    np.testing.assert_allclose(model.logits(ids).numpy(), loop_forward(model, ids), rtol=0, atol=2e-4)


@pytest.mark.parametrize("preset", TINY)
def test_a_prefix_sees_only_itself(tmp_path, preset):
    model = checkpoint(tmp_path, hfc.PRESETS[preset])
    ids = tokens(2, 24, model.vocab_size, seed=1)
    full = model.logits(ids)
    for t in (1, 7, 23):
        torch.testing.assert_close(model.logits(ids[:, :t]), full[:, :t], rtol=0, atol=1e-4)
    changed = ids.clone()
    changed[:, 10] = (changed[:, 10] + 1) % model.vocab_size
    after = model.logits(changed)
    torch.testing.assert_close(after[:, :10], full[:, :10], rtol=0, atol=1e-4)
    assert (after[:, 10:] - full[:, 10:]).abs().max() > 1e-2


def test_gqa_equals_attention_with_each_kv_head_repeated(tmp_path):
    spec = replace(hfc.PRESETS["tiny-llama"], heads=4, kv_heads=2, head_dim=16)
    gqa = checkpoint(tmp_path / "gqa", spec)
    weights = {k: v.numpy() for k, v in gqa.w.items()}
    for n in range(spec.layers):
        for name in ("k_proj", "v_proj"):
            key = f"model.layers.{n}.self_attn.{name}.weight"
            per_head = weights[key].reshape(spec.kv_heads, spec.head_dim, spec.hidden)
            weights[key] = np.repeat(per_head, spec.heads // spec.kv_heads, axis=0).reshape(-1, spec.hidden)
    mha = HfReference(dict(gqa.config, num_key_value_heads=spec.heads), weights)
    ids = tokens(2, 16, spec.vocab)
    torch.testing.assert_close(gqa.logits(ids), mha.logits(ids), rtol=0, atol=1e-5)


def test_rope_scores_depend_only_on_the_distance(tmp_path):
    model = checkpoint(tmp_path, hfc.PRESETS["tiny-llama"])
    q, k = torch.randn(model.head_dim), torch.randn(model.head_dim)
    inv = model.inv_freq

    def at(x, pos):
        emb = torch.cat((pos * inv, pos * inv))
        half = x.shape[-1] // 2
        return x * emb.cos() + torch.cat((-x[half:], x[:half])) * emb.sin()

    for m, n in ((5, 2), (40, 37), (300, 297)):
        assert abs(at(q, m) @ at(k, n) - at(q, 3) @ at(k, 0)) < 1e-3
    assert abs(at(q, 9) @ at(k, 0) - at(q, 3) @ at(k, 0)) > 1e-3


def test_llama3_frequencies_follow_the_published_rule():
    config = {"rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
                                                        "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}}
    scaled, plain = rope_inv_freq(config, 64).double(), rope_inv_freq({"rope_theta": 500000.0}, 64).double()
    for i in range(32):
        wavelen = 2 * math.pi / plain[i]
        if wavelen < 8192 / 4:
            assert scaled[i] == pytest.approx(plain[i])
        elif wavelen > 8192 / 1:
            assert scaled[i] == pytest.approx(plain[i] / 32)
        else:
            s = (8192 / wavelen - 1) / (4 - 1)
            assert scaled[i] == pytest.approx((1 - s) * plain[i] / 32 + s * plain[i])
    assert (scaled < plain).any() and (scaled == plain).any()
    linear = rope_inv_freq({"rope_theta": 10000.0, "rope_scaling": {"type": "linear", "factor": 4.0}}, 16)
    torch.testing.assert_close(linear, rope_inv_freq({"rope_theta": 10000.0}, 16) / 4)
    with pytest.raises(ValueError, match="yarn"):
        rope_inv_freq({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}, 16)


def test_tiny_llama_rope_scaling_changes_the_logits(tmp_path):
    spec = hfc.PRESETS["tiny-llama"]
    scaled = checkpoint(tmp_path / "a", spec)
    plain = checkpoint(tmp_path / "b", replace(spec, rope_scaling=None))
    ids = tokens(1, 32, spec.vocab)
    assert (scaled.logits(ids) - plain.logits(ids)).abs().max() > 1e-2


def test_an_untied_head_equal_to_the_embedding_is_the_tied_model(tmp_path):
    spec = hfc.PRESETS["tiny-qwen2"]
    tied = checkpoint(tmp_path, spec)
    weights = {k: v.numpy() for k, v in tied.w.items()}
    weights["lm_head.weight"] = weights["model.embed_tokens.weight"]
    untied = HfReference(dict(tied.config, tie_word_embeddings=False), weights)
    ids = tokens(2, 8, spec.vocab)
    torch.testing.assert_close(tied.logits(ids), untied.logits(ids), rtol=0, atol=0)


def test_bf16_rounds_to_nearest_even():
    x = np.array([1.0, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 3.0e38], np.float32)
    assert [hex(b) for b in hfc.f32_to_bf16_bits(x)] == ["0x3f80", "0xc020", "0x3f80", "0x3f82", "0x3f81", "0x7f62"]


@pytest.mark.parametrize("dtype", ["bf16", "f16", "f32"])
def test_shards_and_dtypes_hold_the_same_values(tmp_path, dtype):
    spec = hfc.PRESETS["tiny-qwen3"]
    hfc.write_checkpoint(tmp_path / "one", spec, dtype=dtype)
    hfc.write_checkpoint(tmp_path / "four", spec, dtype=dtype, shards=4)
    one, four = read_weights(tmp_path / "one"), read_weights(tmp_path / "four")
    assert sorted(one) == sorted(four) == sorted(n for n, _, _ in hfc.tensor_layout(spec))
    for name in one:
        np.testing.assert_array_equal(one[name], four[name])
    np.testing.assert_array_equal(one["model.layers.1.self_attn.k_norm.weight"],
                                  hfc.tensor(spec, "model.layers.1.self_attn.k_norm.weight", dtype))
    index = json.loads((tmp_path / "four/model.safetensors.index.json").read_text())
    files = sorted(set(index["weight_map"].values()))
    assert files == [f"model-0000{i}-of-00004.safetensors" for i in range(1, 5)]
    width = {"bf16": 2, "f16": 2, "f32": 4}[dtype]
    assert index["metadata"]["total_size"] == sum(v.size for v in one.values()) * width
    assert not (tmp_path / "one/model.safetensors.index.json").exists()


def test_family_layouts_are_hugging_faces(tmp_path):
    names = {p: {n: s for n, s, _ in hfc.tensor_layout(hfc.PRESETS[p])} for p in TINY}
    assert "model.layers.0.self_attn.q_proj.bias" in names["tiny-qwen2"]
    assert "model.layers.0.self_attn.o_proj.bias" not in names["tiny-qwen2"]
    assert names["tiny-qwen3"]["model.layers.0.self_attn.q_proj.weight"] == (4 * 32, 64)
    assert names["tiny-qwen3"]["model.layers.0.self_attn.o_proj.weight"] == (64, 4 * 32)
    assert names["tiny-qwen3"]["model.layers.2.self_attn.k_norm.weight"] == (32,)
    assert names["tiny-qwen2"]["model.layers.0.self_attn.k_proj.weight"] == (16, 64)
    assert "lm_head.weight" in names["tiny-mistral"] and "lm_head.weight" not in names["tiny-llama"]
    config = hfc.config_of(hfc.PRESETS["llama-3.2-1b"])
    assert config["architectures"] == ["LlamaForCausalLM"] and config["rope_scaling"]["rope_type"] == "llama3"
    assert hfc.config_of(hfc.PRESETS["qwen2.5-0.5b"])["use_sliding_window"] is False
    params = sum(math.prod(s) for _, s, _ in hfc.tensor_layout(hfc.PRESETS["smollm2-135m"]))
    assert params == 134_515_008


@pytest.mark.parametrize("preset", TINY)
def test_random_teachers_are_peaked_but_not_one_hot(tmp_path, preset):
    model = checkpoint(tmp_path, hfc.PRESETS[preset])
    q = torch.softmax(model.logits(tokens(4, 32, model.vocab_size)).double(), -1)
    top1 = q.max(-1).values
    assert 0.2 < top1.mean() < 0.9, top1.mean()
    assert (top1 < 0.99).float().mean() > 0.5
    ids, probs, residual, _ = top_k_reference(model.logits(tokens(1, 8, model.vocab_size)), 20)
    assert residual.min() > 0 and torch.allclose(probs.sum(-1), torch.ones(1, 8, dtype=torch.float64))


def test_safetensors_reader_refuses_a_short_tensor(tmp_path):
    spec = hfc.PRESETS["tiny-llama"]
    hfc.write_checkpoint(tmp_path, spec, dtype="f32")
    path = tmp_path / "model.safetensors"
    raw = bytearray(path.read_bytes())
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    header["model.norm.weight"]["shape"] = [65]
    text = json.dumps(header).encode()
    path.write_bytes(len(text).to_bytes(8, "little") + text + raw[8 + length:])
    with pytest.raises(ValueError, match="model.norm.weight"):
        read_safetensors(path)
