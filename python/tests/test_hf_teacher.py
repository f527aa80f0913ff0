"""
`logitstore pack --teacher DIR` over Hugging Face checkpoints, end to end through the CLI: tiny random checkpoints of
each family, a small text corpus, and a float32 reference forward (hf_reference.py) that the store's top-k must match
at every position. Also the checkpoints it must refuse, and a pack killed with SIGKILL that --resume finishes.

Tokenizers: data/tokenizers/{llama3,llama2,qwen3}/tokenizer.json when tools/fetch-tokenizers.sh has fetched them,
else a tiny byte-level BPE tokenizer written by tools/hf_checkpoint.py.
"""

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import CLI, REPO

sys.path.insert(0, str(REPO / "tools"))
import hf_checkpoint as hfc  # noqa: E402
from hf_reference import HfReference, top_k_reference  # noqa: E402
from logitstore import Store  # noqa: E402

SEQ_LEN, BATCH, TOP_K, TOKENS = 32, 2, 20, 256
PROB_ATOL = 2e-5     # a float32 forward is ~5e-6 off the float64 reference (tiny presets); 2e-5 leaves room, flags a bug
RESIDUAL_ATOL = 0.5 / 65535 + PROB_ATOL   # the residual column is unorm16 (format-spec 5.7)
TIE_RTOL = 1e-4      # ids whose reference probabilities are this close may trade places at the top-k boundary

TOKENIZER_OF_FAMILY = {"llama": "llama3", "mistral": "llama2", "qwen2": "qwen3", "qwen3": "qwen3"}


@dataclass(frozen=True)
class Case:
    preset: str
    shards: int = 2
    dtype: str = "bf16"
    rope_scaling: object = "preset"
    pad_vocab: int = 0       # model rows past the tokenizer's ids (as Qwen's 151936 > 151669)


CASES = {
    "llama3-rope": Case("tiny-llama", shards=2),
    "llama-linear-rope-f16-one-file": Case("tiny-llama", shards=1, dtype="f16",
                                           rope_scaling={"type": "linear", "factor": 2.0}),
    "mistral-untied": Case("tiny-mistral", shards=3),
    "qwen2-biases": Case("tiny-qwen2", shards=2, pad_vocab=35),
    "qwen3-qk-norm": Case("tiny-qwen3", shards=3),
    "qwen3-f32": Case("tiny-qwen3", shards=2, dtype="f32"),
}


def corpus_text(words=12000, seed=7):
    """Deterministic English-like text: paragraphs of sentences over a small word list."""
    vocabulary = ("the of and to in is was he for it with as his on be at by had that this from they are but not "
                  "one all were we when there can an which she their said if will do each about how up out them "
                  "then many some so these would other into has more her two like him see time could no make than "
                  "first been its who now people my made over did down only way find use may water long little very "
                  "after words called just where most know get through back much before go good new write our used "
                  "me man too any day same right look think also around another came come work three word must "
                  "because does part even place well such here take why things help put years different away again "
                  "off went old number great tell men say small every found still between name should home big give "
                  "air line set own under read last never us left end along while might next sound below saw "
                  "something thought both few those always looked show large often together asked house don't world "
                  "going want school important until 1961 form food keep children feet land side without boy once "
                  "animals life enough took sometimes four head above kind began almost live page got earth need far "
                  "hand high year mother light parts country father let night following picture being study second "
                  "eyes soon times story boys since white days ever paper hard near sentence better best across "
                  "during today others however sure means knew it's try told young miles sun ways thing whole hear "
                  "example heard several change answer room sea against top turned learn point city play toward five "
                  "using himself usually money seen didn't car morning I'm body upon family later turn move face door "
                  "cut done group true half red fish plants living black eat short United States run book gave order "
                  "open ground cold really table remember tree course front American space inside ago sad early "
                  "I'll learned brought close nothing though idea before lived became add become grow draw yet less "
                  "wind behind cannot letter among able dog shown mean English rest perhaps certain six feel fire "
                  "ready green yes built special ran full town complete oh person hot anything hold state list stood").split()
    rng = np.random.default_rng(seed)
    out, n = [], 0
    while n < words:
        sentences = []
        for _ in range(int(rng.integers(2, 6))):
            length = int(rng.integers(4, 16))
            w = [vocabulary[i] for i in rng.integers(0, len(vocabulary), length)]
            sentences.append(" ".join(w).capitalize() + rng.choice([".", ".", ".", "?", "!", ";"]))
            n += length
        out.append(" ".join(sentences))
    return "\n\n".join(out) + "\n"


def special_ids(tokenizer_dir):
    """(bos, eos) ids of a tokenizer.json's added tokens, as the family's config names them."""
    added = {a["content"]: a["id"] for a in json.loads((tokenizer_dir / "tokenizer.json").read_text())["added_tokens"]}
    bos = next((added[t] for t in ("<|begin_of_text|>", "<s>", "<|endoftext|>") if t in added), None)
    eos = next((added[t] for t in ("<|end_of_text|>", "</s>", "<|endoftext|>") if t in added), None)
    return bos, eos


@pytest.fixture(scope="module")
def tokenizers(tmp_path_factory):
    """family -> tokenizer directory: the real one tools/fetch-tokenizers.sh fetched (tools/test-python.sh runs it),
    else the tiny byte-level one."""
    tiny = tmp_path_factory.mktemp("tiny-tokenizer")
    hfc.write_tiny_tokenizer(tiny)
    out = {}
    for family, name in TOKENIZER_OF_FAMILY.items():
        real = REPO / "data" / "tokenizers" / name
        out[family] = real if (real / "tokenizer.json").is_file() else tiny
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(corpus_text())
    return path


def make_checkpoint(directory, case_or_spec, tokenizer_dir, **options):
    """A checkpoint of the case (or spec) sized to the tokenizer, with the tokenizer's files copied in."""
    case = case_or_spec if isinstance(case_or_spec, Case) else None
    spec = hfc.PRESETS[case.preset] if case else case_or_spec
    vocab = hfc.tokenizer_vocab_size(tokenizer_dir) + (case.pad_vocab if case else 0)
    bos, eos = special_ids(tokenizer_dir)
    spec = replace(spec, vocab=vocab, bos_token_id=bos, eos_token_id=eos)
    if case and case.rope_scaling != "preset":
        spec = replace(spec, rope_scaling=case.rope_scaling)
    if case:
        options = {"shards": case.shards, "dtype": case.dtype, **options}
    hfc.write_checkpoint(directory, spec, tokenizer_from=tokenizer_dir, **options)
    return directory


def cli(*args, timeout=600):
    return subprocess.run(CLI + [str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def pack_args(teacher, corpus, out, *, seq_len=SEQ_LEN, batch=BATCH, top_k=TOP_K, tokens=TOKENS, extra=()):
    return ["pack", "--teacher", teacher, "--corpus", corpus, "--out", out, "--device", "cpu", "--seq-len", seq_len,
            "--batch", batch, "--method", "top-k", "--top-k", top_k, "--values", "f32", "--tokens", tokens,
            "--workers", 1, *extra]


def compare_with_reference(store_dir, teacher_dir, k, dtype=torch.float64):
    """
    Every position of the store against the reference: the kept ids are the reference's top k (ids whose reference
    probabilities tie within TIE_RTOL may trade places at the boundary), each kept probability is the reference's
    softmax renormalised over the kept ids, and the residual is the reference mass outside them.
    Returns (max |stored p - reference p|, max |stored residual - reference residual|, positions).
    """
    model = HfReference.load(teacher_dir, dtype)   # float64: the differences are the pack's float32 error alone
    store = Store(store_dir)
    v = store.vocab_size
    assert v <= model.vocab_size, (v, model.vocab_size)
    sequences = [store[i] for i in range(len(store))]
    assert sequences, "the store holds no sequence"
    tokens = np.stack([s.tokens for s in sequences]).astype(np.int64)
    assert tokens.max() < v
    logits = model.logits(torch.from_numpy(tokens))[..., :v]   # a store over fewer ids than the head: its first v
    ref_ids, _, _, q = top_k_reference(logits, k)
    q = q.numpy()
    max_p, max_r, failures = 0.0, 0.0, []
    for b, s in enumerate(sequences):
        assert (s.kept_counts == k).all(), f"sequence {b}: kept counts {np.unique(s.kept_counts)} (expected {k})"
        for t in range(len(s.tokens)):
            ids, probs = s.ids[t, :k].astype(np.int64), s.probs[t, :k].astype(np.float64)
            qt = q[b, t]
            expected = set(ref_ids[b, t].tolist())
            if set(ids.tolist()) != expected:
                kth = qt[ref_ids[b, t, -1]]
                for i in set(ids.tolist()) ^ expected:
                    if abs(qt[i] - kth) > TIE_RTOL * kth:
                        failures.append(f"sequence {b} position {t}: id {i} (q {qt[i]:.6g}) is "
                                        f"{'kept' if i in ids else 'missing'}; k-th q {kth:.6g}")
            kept = qt[ids]
            dp = np.abs(probs - kept / kept.sum()).max()
            dr = abs(float(s.residual[t]) - max(0.0, 1.0 - kept.sum()))
            if dp > PROB_ATOL or dr > RESIDUAL_ATOL:
                failures.append(f"sequence {b} position {t}: max |dp| {dp:.3g}, |d residual| {dr:.3g}")
            if (np.diff(probs) > 1e-7).any():
                failures.append(f"sequence {b} position {t}: kept entries not in descending probability")
            max_p, max_r = max(max_p, dp), max(max_r, dr)
    store.close()
    assert not failures, f"{len(failures)} mismatches, first: " + "; ".join(failures[:5])
    return max_p, max_r, tokens.size


@pytest.fixture(scope="module", autouse=True)
def built_cli():
    """Builds the CLI once, outside any timing (the launcher builds on first use)."""
    result = cli("pack", "--help")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", list(CASES))
def test_store_equals_the_reference_forward(tmp_path, tokenizers, corpus, name):
    case = CASES[name]
    family = hfc.PRESETS[case.preset].family
    teacher = make_checkpoint(tmp_path / "teacher", case, tokenizers[family])
    store = tmp_path / "store"
    result = cli(*pack_args(teacher, corpus, store))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((store / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["processing"]["method"] == "top-k" and manifest["processing"]["top_k"] == TOP_K
    max_p, max_r, positions = compare_with_reference(store, teacher, TOP_K)
    print(f"\n{name}: {positions} positions, vocab {manifest['vocab_size']}, max |dp| {max_p:.3g}, "
          f"max |d residual| {max_r:.3g}")


# (what to break, how, a word stderr must name)
REFUSALS = {
    "unknown-architecture": (dict(set={"architectures": ["GPTNeoXForCausalLM"], "model_type": "gpt_neox"}),
                             "GPTNeoXForCausalLM"),
    "yarn-rope-scaling": (dict(set={"rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                                                     "original_max_position_embeddings": 32}}), "yarn"),
    "mistral-sliding-window": (dict(preset="tiny-mistral", set={"sliding_window": SEQ_LEN // 2}), "sliding_window"),
    "mistral-attention-bias": (dict(preset="tiny-mistral", set={"attention_bias": True}), "attention_bias"),
    "missing-tensor": (dict(omit={"model.layers.1.mlp.up_proj.weight"}), "model.layers.1.mlp.up_proj.weight"),
    "misshapen-tensor": (dict(shapes={"model.layers.0.self_attn.k_proj.weight": (48, 64)}),
                         "model.layers.0.self_attn.k_proj.weight"),
}


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_checkpoint_it_cannot_run_is_refused_in_one_line(tmp_path, tokenizers, corpus, name):
    how, word = REFUSALS[name]
    spec = hfc.PRESETS[how.get("preset", "tiny-llama")]
    spec = replace(spec, extra_config={**spec.extra_config, **how.get("set", {})})
    teacher = make_checkpoint(tmp_path / "teacher", spec, tokenizers[spec.family], shards=2,
                              omit=how.get("omit", ()), shapes=how.get("shapes"))
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    store = tmp_path / "store"
    result = cli(*pack_args(teacher, corpus, store))
    assert result.returncode != 0, f"{name}: packed a checkpoint it should refuse"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"{name}: stderr is not one line:\n{result.stderr}"
    assert word in lines[0], f"{name}: stderr does not name {word!r}: {lines[0]}"
    assert not store.exists(), f"{name}: left {store} behind"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before, f"{name}: left files behind"


def manifest_of(store):
    try:
        return json.loads((store / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def test_a_killed_pack_resumes_to_the_uninterrupted_store(tmp_path, tokenizers, corpus):
    """SIGKILL once a shard is committed, then --resume: the same store as a pack that was never interrupted."""
    spec = replace(hfc.PRESETS["tiny-qwen3"], hidden=128, intermediate=256, layers=4)
    teacher = make_checkpoint(tmp_path / "teacher", spec, tokenizers["qwen3"], shards=2)
    vocab = hfc.tokenizer_vocab_size(tokenizers["qwen3"])
    sequences, length = 600, 16
    extra = ["--seqs-per-block", 1, "--shard-mib", 1, "--ids", "u32", "--zstd-level", 0]
    killed, clean = tmp_path / "killed", tmp_path / "clean"

    def args(out):
        return pack_args(teacher, corpus, out, seq_len=length, batch=2, top_k=min(256, vocab),
                         tokens=sequences * length, extra=extra)

    process = subprocess.Popen(CLI + [str(a) for a in args(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while process.poll() is None and time.monotonic() < deadline:
        m = manifest_of(killed)
        if m and m["status"] == "partial" and len(m["shards"]) >= 1:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the pack ended before a shard was committed: make the job larger\n" + \
        process.stderr.read().decode()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    partial = manifest_of(killed)
    assert partial["status"] == "partial" and len(partial["shards"]) >= 1

    # A resume refuses a teacher whose forward or tokenizer changed since, and leaves the partial store as it was.
    for changed, edit, named in (("config.json", lambda c: {**c, "rms_norm_eps": 1e-5}, "config.json hash"),
                                 ("tokenizer_config.json", lambda c: {**c, "model_max_length": 12345}, "tokenizer")):
        path = teacher / changed
        original = path.read_bytes()
        path.write_text(json.dumps(edit(json.loads(original))))
        refused = cli("pack", "--resume", "--out", killed, "--device", "cpu")
        path.write_bytes(original)
        assert refused.returncode == 1 and named in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
        assert manifest_of(killed) == partial

    resumed = cli("pack", "--resume", "--out", killed, "--device", "cpu")
    assert resumed.returncode == 0, resumed.stderr
    uninterrupted = cli(*args(clean))
    assert uninterrupted.returncode == 0, uninterrupted.stderr
    for store in (killed, clean):
        verified = cli("verify", store)
        assert verified.returncode == 0, verified.stdout + verified.stderr
    a, b = manifest_of(killed), manifest_of(clean)
    assert a["status"] == b["status"] == "complete"
    assert a["fingerprint"]["content"] == b["fingerprint"]["content"]
    assert a["totals"] == b["totals"]
    with Store(killed) as x, Store(clean) as y:
        assert len(x) == len(y) > 0
        for i in range(len(x)):
            s, t = x[i], y[i]
            for field in ("tokens", "ids", "probs", "kept_counts", "residual"):
                np.testing.assert_array_equal(getattr(s, field), getattr(t, field), err_msg=f"sequence {i} {field}")


def test_the_comparison_holds_for_the_references_own_logits_and_fails_for_another_model(tmp_path):
    """
    The check above, checked without the HF loader: a store packed from the reference's own logits (through the
    stream protocol, the pack doing the top-k) matches it, and the same store fails against a model whose RoPE differs.
    """
    from logitstore.stream import Writer

    spec = hfc.PRESETS["tiny-llama"]
    hfc.write_tiny_tokenizer(tmp_path / "tokenizer")
    teacher = make_checkpoint(tmp_path / "teacher", Case("tiny-llama"), tmp_path / "tokenizer")
    model = HfReference.load(teacher)
    rng = np.random.default_rng(3)
    tokens = rng.integers(0, model.vocab_size, (4, SEQ_LEN))
    logits = model.logits(torch.from_numpy(tokens))
    store = tmp_path / "store"
    process = subprocess.Popen(CLI + ["pack", "--from-stream", "-", "--out", str(store), "--method", "top-k",
                                      "--top-k", str(TOP_K), "--values", "f32", "--workers", "1"],
                               stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    writer = Writer(process.stdin, model.vocab_size, kind="logits", teacher_id="hf-reference")
    for b in range(len(tokens)):
        writer.write_logits(tokens[b].astype(np.int32), logits[b])
    writer.close()
    process.stdin.close()
    assert process.wait(timeout=300) == 0, process.stderr.read().decode()
    max_p, max_r, positions = compare_with_reference(store, teacher, TOP_K, torch.float32)
    assert positions == tokens.size and max_p < 1e-6 and max_r < 0.5 / 65535 + 1e-6, (max_p, max_r)

    other = tmp_path / "other"
    hfc.write_checkpoint(other, replace(spec, vocab=model.vocab_size, rope_scaling=None), shards=2)
    with pytest.raises(AssertionError, match="mismatches"):
        compare_with_reference(store, other, TOP_K, torch.float32)


def test_a_token_limit_packs_that_many_tokens_rounded_up_to_whole_sequences(tmp_path, tokenizers, corpus):
    """--tokens N packs ceil(N / seq-len) sequences when the corpus holds more: no sequence is lost to the split."""
    teacher = make_checkpoint(tmp_path / "teacher", Case("tiny-llama"), tokenizers["llama"])
    length, sequences = 16, 600
    store = tmp_path / "store"
    result = cli(*pack_args(teacher, corpus, store, seq_len=length, tokens=sequences * length - 5))
    assert result.returncode == 0, result.stderr
    assert manifest_of(store)["totals"]["sequences"] == sequences
