#!/usr/bin/env python3
"""Random-weight Hugging Face checkpoints of the decoder families `logitstore pack --teacher` loads.

Writes `config.json` with the keys Hugging Face writes for the family, and the weights under Hugging Face's tensor
names, as `model.safetensors` (one shard) or `model-0000i-of-0000N.safetensors` plus `model.safetensors.index.json`.

    python3 tools/hf_checkpoint.py OUT --preset tiny-qwen3 --shards 2
    python3 tools/hf_checkpoint.py OUT --preset llama-3.2-1b --tokenizer-from data/tokenizers/llama3
    python3 tools/hf_checkpoint.py OUT --family llama --hidden 128 --layers 4 --heads 8 --kv-heads 2 --vocab 1000 \\
        --rope-scaling '{"rope_type": "linear", "factor": 2.0}' --set max_position_embeddings=4096

Weight scale (so that next-token distributions are peaked as a trained model's are, without being one-hot):
  * embed_tokens and lm_head ~ N(0, s^2) with s = logit_std / sqrt(hidden), logit_std = 1.25 * sqrt(2 ln V) by default:
    the final RMSNorm leaves a unit-RMS state, so logits are roughly N(0, logit_std^2), and a Gaussian logit vector
    whose std exceeds sqrt(2 ln V) has its softmax mass carried by its few largest entries.
  * q/k/v/gate/up projections ~ N(0, 1/fan_in), q and k times 1.5 (attention that prefers some positions, so that
    RoPE and the causal mask matter); o/down projections ~ N(0, g^2/(fan_in * 2 * layers)), residual_gain g = 8: the
    layers' writes outweigh the token's own embedding in the residual stream, else a tied head mostly predicts the
    input token again (with g = 8 and the default logit_std the tiny presets' mean top-1 probability is ~0.4-0.55 and
    the argmax is the input token at < 5% of positions); biases ~ N(0, 0.1^2).
  * RMSNorm weights ~ 1 + N(0, 0.1^2) (q_norm/k_norm: 1.5 + N(0, 0.1^2)), so a forward that ignores them is caught.
Each tensor draws from its own generator, seeded by (seed, tensor name): the values do not depend on shards or dtype.
"""
import argparse
import json
import math
import os
import shutil
import sys
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

FAMILIES = {
    "llama": ("LlamaForCausalLM", "llama"),
    "mistral": ("MistralForCausalLM", "mistral"),
    "qwen2": ("Qwen2ForCausalLM", "qwen2"),
    "qwen3": ("Qwen3ForCausalLM", "qwen3"),
}

DTYPES = {"bf16": ("BF16", 2), "f16": ("F16", 2), "f32": ("F32", 4)}

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
                   "tokenizer.model", "vocab.json", "merges.txt")

CHUNK_ELEMENTS = 1 << 24   # generated and converted this many values at a time: memory stays ~100 MiB per tensor


@dataclass(frozen=True)
class CheckpointSpec:
    """Everything that decides a checkpoint's bytes."""
    family: str = "llama"
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    head_dim: int | None = None           # None: hidden // heads, and no head_dim key unless the family writes one
    intermediate: int = 128
    vocab: int = 320
    tied: bool = True
    rope_theta: float = 10000.0
    rope_scaling: dict | None = None
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 2048
    bos_token_id: int | None = None       # None: vocab - 1 (the tiny byte-level tokenizer's <|endoftext|>)
    eos_token_id: int | None = None
    attention_bias: bool = False          # llama/qwen3 only: biases on q, k, v and o
    logit_std: float | None = None        # None: 1.25 * sqrt(2 ln vocab)
    residual_gain: float = 8.0
    seed: int = 1
    extra_config: dict = field(default_factory=dict)   # config keys set last (refusal tests, odd checkpoints)

    @property
    def resolved_head_dim(self):
        return self.head_dim if self.head_dim is not None else self.hidden // self.heads


PRESETS = {
    "tiny-llama": CheckpointSpec(
        family="llama", head_dim=16, tied=True, rms_norm_eps=1e-5,
        rope_scaling={"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 64, "rope_type": "llama3"},
        max_position_embeddings=512),
    "tiny-mistral": CheckpointSpec(family="mistral", tied=False, rms_norm_eps=1e-5, max_position_embeddings=1024,
                                   extra_config={"sliding_window": 4096}),
    "tiny-qwen2": CheckpointSpec(family="qwen2", kv_heads=1, tied=True, rope_theta=1000000.0, max_position_embeddings=1024),
    "tiny-qwen3": CheckpointSpec(family="qwen3", head_dim=32, tied=False, rope_theta=1000000.0, layers=3,
                                 max_position_embeddings=1024),
    "smollm2-135m": CheckpointSpec(
        family="llama", hidden=576, layers=30, heads=9, kv_heads=3, head_dim=64, intermediate=1536, vocab=49152,
        tied=True, rope_theta=100000.0, rms_norm_eps=1e-5, max_position_embeddings=8192, bos_token_id=1,
        eos_token_id=2),
    "qwen2.5-0.5b": CheckpointSpec(
        family="qwen2", hidden=896, layers=24, heads=14, kv_heads=2, intermediate=4864, vocab=151936, tied=True,
        rope_theta=1000000.0, rms_norm_eps=1e-6, max_position_embeddings=32768, bos_token_id=151643,
        eos_token_id=151643),
    "llama-3.2-1b": CheckpointSpec(
        family="llama", hidden=2048, layers=16, heads=32, kv_heads=8, head_dim=64, intermediate=8192, vocab=128256,
        tied=True, rope_theta=500000.0, rms_norm_eps=1e-5, max_position_embeddings=131072, bos_token_id=128000,
        eos_token_id=128001,
        rope_scaling={"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                      "original_max_position_embeddings": 8192, "rope_type": "llama3"}),
}


def config_of(spec):
    """config.json as Hugging Face writes it for the family (keys in its order, values of this spec)."""
    if spec.family not in FAMILIES:
        raise ValueError(f"unknown family {spec.family!r}; one of {', '.join(FAMILIES)}")
    architecture, model_type = FAMILIES[spec.family]
    bos = spec.vocab - 1 if spec.bos_token_id is None else spec.bos_token_id
    eos = spec.vocab - 1 if spec.eos_token_id is None else spec.eos_token_id
    c = {"architectures": [architecture]}
    if spec.family in ("llama", "qwen3"):
        c["attention_bias"] = spec.attention_bias
    c["attention_dropout"] = 0.0
    c["bos_token_id"] = bos
    c["eos_token_id"] = eos
    if spec.family in ("llama", "qwen3") or spec.head_dim is not None:
        c["head_dim"] = spec.resolved_head_dim
    c["hidden_act"] = "silu"
    c["hidden_size"] = spec.hidden
    c["initializer_range"] = 0.02
    c["intermediate_size"] = spec.intermediate
    c["max_position_embeddings"] = spec.max_position_embeddings
    if spec.family in ("qwen2", "qwen3"):
        c["max_window_layers"] = spec.layers
    if spec.family == "llama":
        c["mlp_bias"] = False
    c["model_type"] = model_type
    c["num_attention_heads"] = spec.heads
    c["num_hidden_layers"] = spec.layers
    c["num_key_value_heads"] = spec.kv_heads
    if spec.family == "llama":
        c["pretraining_tp"] = 1
    c["rms_norm_eps"] = spec.rms_norm_eps
    if spec.family != "mistral" or spec.rope_scaling is not None:
        c["rope_scaling"] = spec.rope_scaling
    c["rope_theta"] = spec.rope_theta
    if spec.family == "mistral":
        c["sliding_window"] = None
    elif spec.family in ("qwen2", "qwen3"):
        c["sliding_window"] = spec.max_position_embeddings if spec.family == "qwen2" else None
    c["tie_word_embeddings"] = spec.tied
    c["torch_dtype"] = "bfloat16"
    c["transformers_version"] = "4.51.0"
    c["use_cache"] = True
    if spec.family in ("qwen2", "qwen3"):
        c["use_sliding_window"] = False
    c["vocab_size"] = spec.vocab
    c.update(spec.extra_config)
    return c


def tensor_layout(spec):
    """[(name, shape, kind)] in Hugging Face's module order; kind picks the initialisation (see the module doc)."""
    h, hd, i, v = spec.hidden, spec.resolved_head_dim, spec.intermediate, spec.vocab
    q, kv = spec.heads * hd, spec.kv_heads * hd
    out = [("model.embed_tokens.weight", (v, h), "embedding")]
    qkv_bias = spec.family == "qwen2" or (spec.family in ("llama", "qwen3") and spec.attention_bias)
    o_bias = spec.family in ("llama", "qwen3") and spec.attention_bias
    for n in range(spec.layers):
        p = f"model.layers.{n}."
        out.append((p + "input_layernorm.weight", (h,), "norm"))
        for name, rows, kind in (("q", q, "qk"), ("k", kv, "qk"), ("v", kv, "in")):
            out.append((p + f"self_attn.{name}_proj.weight", (rows, h), kind))
            if qkv_bias:
                out.append((p + f"self_attn.{name}_proj.bias", (rows,), "bias"))
        out.append((p + "self_attn.o_proj.weight", (h, q), "residual"))
        if o_bias:
            out.append((p + "self_attn.o_proj.bias", (h,), "bias"))
        if spec.family == "qwen3":
            out.append((p + "self_attn.q_norm.weight", (hd,), "head_norm"))
            out.append((p + "self_attn.k_norm.weight", (hd,), "head_norm"))
        out.append((p + "post_attention_layernorm.weight", (h,), "norm"))
        out.append((p + "mlp.gate_proj.weight", (i, h), "in"))
        out.append((p + "mlp.up_proj.weight", (i, h), "in"))
        out.append((p + "mlp.down_proj.weight", (h, i), "residual"))
    out.append(("model.norm.weight", (h,), "norm"))
    if not spec.tied:
        out.append(("lm_head.weight", (v, h), "embedding"))
    return out


def logit_std(spec):
    return spec.logit_std if spec.logit_std is not None else 1.25 * math.sqrt(2 * math.log(spec.vocab))


def _scale_and_offset(spec, shape, kind):
    fan_in = shape[-1]
    if kind == "embedding":
        return logit_std(spec) / math.sqrt(spec.hidden), 0.0
    if kind == "qk":
        return 1.5 / math.sqrt(fan_in), 0.0
    if kind == "in":
        return 1.0 / math.sqrt(fan_in), 0.0
    if kind == "residual":
        return spec.residual_gain / math.sqrt(fan_in * 2 * spec.layers), 0.0
    if kind == "bias":
        return 0.1, 0.0
    if kind == "norm":
        return 0.1, 1.0
    if kind == "head_norm":
        return 0.1, 1.5
    raise ValueError(kind)


def f32_to_bf16_bits(x):
    """bfloat16 bit patterns (uint16) of float32 values: the upper 16 bits, rounded to nearest, ties to even."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u += 0x7FFF + ((u >> 16) & 1)
    return (u >> 16).astype(np.uint16)


def encode(values, dtype):
    if dtype == "bf16":
        return f32_to_bf16_bits(values).astype("<u2").tobytes()
    if dtype == "f16":
        return values.astype("<f2").tobytes()
    return values.astype("<f4").tobytes()


def tensor_chunks(spec, name, shape, kind, shape_override=None):
    """The tensor's float32 values, in row-major chunks of at most CHUNK_ELEMENTS."""
    rng = np.random.default_rng([spec.seed, zlib.crc32(name.encode())])
    scale, offset = _scale_and_offset(spec, shape, kind)
    total = math.prod(shape_override or shape)
    done = 0
    while done < total:
        n = min(CHUNK_ELEMENTS, total - done)
        chunk = rng.standard_normal(n, dtype=np.float32)
        chunk *= np.float32(scale)
        if offset:
            chunk += np.float32(offset)
        yield chunk
        done += n


def tensor(spec, name, dtype="f32"):
    """One tensor of the checkpoint as float32 (rounded through `dtype`), for tests that need a weight's values."""
    for n, shape, kind in tensor_layout(spec):
        if n == name:
            values = np.concatenate(list(tensor_chunks(spec, n, shape, kind)))
            if dtype == "bf16":
                values = (f32_to_bf16_bits(values).astype(np.uint32) << 16).view(np.float32)
            elif dtype == "f16":
                values = values.astype(np.float16).astype(np.float32)
            return values.reshape(shape)
    raise KeyError(name)


def _split(entries, shards):
    """Contiguous groups of entries, cut where the running byte count passes k/shards of the total."""
    if not 1 <= shards <= len(entries):
        raise ValueError(f"shards must be in [1, {len(entries)}] for this model, got {shards}")
    total = sum(e[3] for e in entries)
    groups, current, running = [], [], 0
    for k, e in enumerate(entries):
        if current and (running >= total * (len(groups) + 1) / shards or len(entries) - k < shards - len(groups)):
            groups.append(current)
            current = []
        current.append(e)
        running += e[3]
    groups.append(current)
    assert len(groups) == shards, (len(groups), shards)
    return groups


def _header(group, dtype):
    tag, _ = DTYPES[dtype]
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape, _, nbytes in group:
        header[name] = {"dtype": tag, "shape": list(shape), "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)   # the data starts 8-byte aligned, as the safetensors library writes it
    return raw


def write_checkpoint(out, spec, *, shards=1, dtype="bf16", tokenizer_from=None, omit=(), shapes=None,
                     write_index=None):
    """
    Writes the checkpoint of `spec` into directory `out` (created; existing files of the same names replaced).
    `omit` drops tensors and `shapes` ({name: shape}) writes a tensor with another shape: checkpoints a loader must
    refuse. `write_index` (default: shards > 1) writes model.safetensors.index.json even for one shard.
    Returns the config dict.
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {dtype!r}")
    shapes = shapes or {}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    config = config_of(spec)
    width = DTYPES[dtype][1]
    entries = []
    for name, shape, kind in tensor_layout(spec):
        if name in omit:
            continue
        written = tuple(shapes.get(name, shape))
        entries.append((name, written, kind, math.prod(written) * width))
    groups = _split(entries, shards)
    index = write_index if write_index is not None else shards > 1
    weight_map, layout = {}, {n: s for n, s, _ in tensor_layout(spec)}
    for k, group in enumerate(groups):
        file = f"model-{k + 1:05d}-of-{shards:05d}.safetensors" if index else "model.safetensors"
        header = _header(group, dtype)
        tmp = out / (file + ".tmp")
        with open(tmp, "wb") as f:
            f.write(len(header).to_bytes(8, "little"))
            f.write(header)
            for name, written, kind, _ in group:
                for chunk in tensor_chunks(spec, name, layout[name], kind, shape_override=written):
                    f.write(encode(chunk, dtype))
                weight_map[name] = file
        os.replace(tmp, out / file)
    if index:
        total = sum(e[3] for e in entries)
        (out / "model.safetensors.index.json").write_text(
            json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}, indent=2, sort_keys=True) + "\n")
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    (out / "generation_config.json").write_text(json.dumps(
        {"_from_model_config": True, "bos_token_id": config["bos_token_id"], "eos_token_id": config["eos_token_id"],
         "transformers_version": config["transformers_version"]}, indent=2) + "\n")
    if tokenizer_from is not None:
        copy_tokenizer(tokenizer_from, out)
    return config


def copy_tokenizer(source, out):
    """Copies the tokenizer files of a Hugging Face model directory (tokenizer.json is required)."""
    source = Path(source)
    if not (source / "tokenizer.json").is_file():
        raise FileNotFoundError(f"{source}: no tokenizer.json")
    for name in TOKENIZER_FILES:
        if name != "generation_config.json" and (source / name).is_file():
            shutil.copyfile(source / name, Path(out) / name)


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: byte b is the character bytes_to_unicode()[b]."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


TINY_MERGES = ["Ġ t", "h e", "i n", "Ġt he", "e r", "a n", "Ġ a", "o n", "r e", "Ġ s", "e d", "Ġ o", "Ġ w", "n d",
               "a t", "Ġ c", "o r", "e n", "i s", "Ġ f", "Ġ b", "i t", "e s", "Ġ p", "a r", "Ġo f", "Ġa nd", "in g"]


def write_tiny_tokenizer(out):
    """
    A byte-level BPE tokenizer.json (GPT-2 pre-tokenisation): the 256 byte symbols, a few English merges and
    <|endoftext|> as the last id. Returns its vocabulary size.
    """
    symbols = bytes_to_unicode()
    vocab = {symbols[b]: b for b in range(256)}
    for merge in TINY_MERGES:
        vocab["".join(merge.split(" "))] = len(vocab)
    eot = len(vocab)
    tokenizer = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [{"id": eot, "content": "<|endoftext|>", "single_word": False, "lstrip": False,
                          "rstrip": False, "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": TINY_MERGES},
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (out / "tokenizer_config.json").write_text(json.dumps(
        {"add_prefix_space": False, "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
         "unk_token": "<|endoftext|>", "model_max_length": 1024, "tokenizer_class": "GPT2Tokenizer"}, indent=2) + "\n")
    return eot + 1


def tokenizer_vocab_size(directory):
    """Ids a tokenizer.json assigns: one past the largest id of its model vocabulary and added tokens."""
    t = json.loads((Path(directory) / "tokenizer.json").read_text(encoding="utf-8"))
    ids = list(t["model"]["vocab"].values()) + [a["id"] for a in t.get("added_tokens", [])]
    return max(ids) + 1


def _parse_set(text):
    key, _, value = text.partition("=")
    if not key or not _:
        raise argparse.ArgumentTypeError(f"expected KEY=JSON, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _parse_shape(text):
    name, _, dims = text.partition("=")
    return name, tuple(int(d) for d in dims.split(","))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path, help="checkpoint directory to write")
    ap.add_argument("--preset", choices=sorted(PRESETS), help="start from this model's sizes (options below override)")
    ap.add_argument("--family", choices=sorted(FAMILIES))
    for flag in ("hidden", "layers", "heads", "kv-heads", "head-dim", "intermediate", "vocab", "max-position-embeddings",
                 "bos-token-id", "eos-token-id", "seed"):
        ap.add_argument(f"--{flag}", type=int)
    ap.add_argument("--rope-theta", type=float)
    ap.add_argument("--rms-norm-eps", type=float)
    ap.add_argument("--logit-std", type=float, help="std of the logits (default 1.25 * sqrt(2 ln vocab))")
    ap.add_argument("--residual-gain", type=float, help="scale of the o/down projections (default 8)")
    ap.add_argument("--rope-scaling", type=json.loads, help='JSON, e.g. \'{"rope_type": "linear", "factor": 2.0}\'; null')
    ap.add_argument("--tied", action=argparse.BooleanOptionalAction, default=None, help="tie_word_embeddings")
    ap.add_argument("--attention-bias", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="bf16")
    ap.add_argument("--index", action=argparse.BooleanOptionalAction, default=None,
                    help="write model.safetensors.index.json (default: when --shards > 1)")
    ap.add_argument("--tokenizer-from", type=Path, help="copy tokenizer.json and friends from this directory")
    ap.add_argument("--tiny-tokenizer", action="store_true",
                    help="write a tiny byte-level BPE tokenizer; --vocab defaults to its size")
    ap.add_argument("--set", type=_parse_set, action="append", default=[], metavar="KEY=JSON",
                    help="set a config.json key last (repeatable)")
    ap.add_argument("--omit", action="append", default=[], metavar="TENSOR", help="leave a tensor out (repeatable)")
    ap.add_argument("--misshape", type=_parse_shape, action="append", default=[], metavar="TENSOR=D0,D1",
                    help="write a tensor with this shape (repeatable)")
    a = ap.parse_args(argv)

    spec = PRESETS[a.preset] if a.preset else CheckpointSpec()
    changes = {}
    for attr, value in (("family", a.family), ("hidden", a.hidden), ("layers", a.layers), ("heads", a.heads),
                        ("kv_heads", a.kv_heads), ("head_dim", a.head_dim), ("intermediate", a.intermediate),
                        ("vocab", a.vocab), ("max_position_embeddings", a.max_position_embeddings),
                        ("bos_token_id", a.bos_token_id), ("eos_token_id", a.eos_token_id), ("seed", a.seed),
                        ("rope_theta", a.rope_theta), ("rms_norm_eps", a.rms_norm_eps), ("logit_std", a.logit_std),
                        ("residual_gain", a.residual_gain),
                        ("tied", a.tied), ("attention_bias", a.attention_bias)):
        if value is not None:
            changes[attr] = value
    if "--rope-scaling" in (argv if argv is not None else sys.argv):
        changes["rope_scaling"] = a.rope_scaling
    if a.set:
        changes["extra_config"] = {**spec.extra_config, **dict(a.set)}
    tokenizer_from = a.tokenizer_from
    if a.tiny_tokenizer:
        size = write_tiny_tokenizer(a.out)
        changes.setdefault("vocab", size)
        changes.setdefault("bos_token_id", size - 1)
        changes.setdefault("eos_token_id", size - 1)
    elif tokenizer_from is not None and a.vocab is None and not a.preset:
        changes["vocab"] = tokenizer_vocab_size(tokenizer_from)
    spec = replace(spec, **changes)
    config = write_checkpoint(a.out, spec, shards=a.shards, dtype=a.dtype, tokenizer_from=tokenizer_from,
                              omit=set(a.omit), shapes=dict(a.misshape), write_index=a.index)
    params = sum(math.prod(s) for _, s, _ in tensor_layout(spec))
    print(f"{a.out}: {config['architectures'][0]}, {params:,} parameters, {a.shards} shard(s), {a.dtype}", file=sys.stderr)


if __name__ == "__main__":
    main()
