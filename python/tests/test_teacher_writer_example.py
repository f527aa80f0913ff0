"""
python/examples/teacher_writer.py runs a tiny Hugging Face teacher over a JSONL corpus and writes a store in-process:
the store verifies, holds the corpus's sequences, keeps the reference forward's top-k at every position, and the
device cut writes the entries the host cut writes; a resumed run finishes a store without running the model again.
"""

import json
import subprocess
import sys

import numpy as np
import torch

import logitstore
from conftest import REPO

sys.path.insert(0, str(REPO / "tools"))
import hf_checkpoint as hfc  # noqa: E402
from hf_reference import HfReference  # noqa: E402

EXAMPLE = REPO / "python/examples/teacher_writer.py"
SEQ_LEN, TOP_K = 16, 8


def run_example(*args):
    result = subprocess.run([sys.executable, str(EXAMPLE), *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_example_writes_the_reference_teachers_top_k(tmp_path):
    checkpoint = tmp_path / "tiny"
    config = hfc.write_checkpoint(checkpoint, hfc.PRESETS["tiny-llama"], dtype="f32")
    rng = np.random.default_rng(1)
    documents = [rng.integers(0, config["vocab_size"] - 1, rng.integers(30, 80)).tolist() for _ in range(6)]
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"input_ids": d}) + "\n" for d in documents))
    common = ["--seq-len", SEQ_LEN, "--method", "top-k", "--top-k", TOP_K, "--ids", "packed", "--values", "f32",
              "--id-seed", 1, "--seqs-per-block", 2, "--shard-bytes", 4096]
    run_example(checkpoint, corpus, tmp_path / "host", *common)
    run_example(checkpoint, corpus, tmp_path / "device", *common, "--cut", "device")
    stream = sum((d + [config["eos_token_id"]] for d in documents), [])
    expected = [stream[i:i + SEQ_LEN] for i in range(0, len(stream) - SEQ_LEN + 1, SEQ_LEN)]
    model = HfReference.load(checkpoint)
    with logitstore.Store(tmp_path / "host") as host, logitstore.Store(tmp_path / "device") as device:
        assert len(host) == len(device) == len(expected)
        logits = model.logits(torch.tensor(expected))
        reference = torch.topk(logits, TOP_K, dim=-1).indices
        for s in range(len(expected)):
            a, b = host[s], device[s]
            assert a.tokens.tolist() == expected[s] == b.tokens.tolist()
            assert np.array_equal(a.ids, reference[s].numpy())
            assert np.array_equal(a.ids, b.ids)
            np.testing.assert_allclose(a.probs, b.probs, atol=2e-6)
    assert logitstore.verify(tmp_path / "host")["ok"]

    # A writer stopped after some shards: the resumed example writes the held sequences by their tokens alone.
    partial = tmp_path / "partial"
    with logitstore.Writer(partial, vocab_size=config["vocab_size"], teacher_id=str(checkpoint.resolve()),
                           method="top-k", top_k=TOP_K, ids="packed", values="f32", id_seed=1,
                           sequences_per_block=2, shard_target_bytes=4096) as writer:
        for s in range(len(expected) - 1):
            writer.write(expected[s], logits=logits[s])
        writer.abort()
    held = json.loads((partial / "manifest.json").read_text())["totals"]["sequences"]
    assert run_example(checkpoint, corpus, partial, *common, "--resume").startswith("wrote")
    with logitstore.Store(partial) as resumed, logitstore.Store(tmp_path / "host") as host:
        assert len(resumed) == len(host) and 0 < held < len(host)
        for s in range(len(host)):
            assert np.array_equal(resumed[s].ids, host[s].ids)
