"""The stream writer's output packs into a store that verifies and reads back what was sent."""

import io
import subprocess
import sys

import numpy as np
import pytest
import torch

import logitstore
from logitstore.stream import Writer, top_k_logprobs
from conftest import CLI, REPO, run_cli


def pack_stream(data, directory, *options):
    run_cli("pack", "--from-stream", "-", "--out", directory, "--force", "--workers", 1, *options, stdin=data)
    report = logitstore.verify(directory)
    assert report["ok"] and report["complete"], report
    return directory


def test_top_k_stream_packs_and_reads_back(tmp_path):
    rng = np.random.default_rng(1)
    out = io.BytesIO()
    sent = []
    with Writer(out, 700, kind="top-k", max_entries=12, teacher_id="test") as writer:
        for _ in range(3):
            tokens = rng.integers(0, 700, 40)
            ids, logprobs = top_k_logprobs(torch.from_numpy(rng.standard_normal((40, 700)).astype(np.float32) * 3), 12)
            writer.write_top_k(torch.from_numpy(tokens), ids, logprobs)
            sent.append((tokens, ids))
        counts = np.full(40, 12)
        counts[::3] = 5
        writer.write_top_k(tokens, ids, logprobs, counts=counts)
    directory = pack_stream(out.getvalue(), tmp_path / "topk", "--method", "top-k", "--top-k", 12, "--ids", "u32",
                            "--values", "f32")
    with logitstore.Store(directory) as store:
        assert len(store) == 4 and store.manifest["teacher"]["id"] == "test"
        for i, (tokens, ids) in enumerate(sent):
            assert np.array_equal(store[i].tokens, tokens)
            assert np.array_equal(store[i].ids, ids)
        assert np.array_equal(store[3].kept_counts, counts)


def test_logits_stream_packs(tmp_path):
    rng = np.random.default_rng(2)
    out = io.BytesIO()
    with Writer(out, 300, kind="logits") as writer:
        for _ in range(2):
            writer.write_logits(rng.integers(0, 300, 24), rng.standard_normal((24, 300)).astype(np.float32))
    directory = pack_stream(out.getvalue(), tmp_path / "logits", "--method", "top-p-k", "--top-k", 20)
    with logitstore.Store(directory) as store:
        assert len(store) == 2 and store.vocab_size == 300


def test_parts_from_two_writers_merge_into_the_whole(tmp_path):
    rng = np.random.default_rng(3)
    sequences = [(rng.integers(0, 200, 16), rng.standard_normal((16, 200)).astype(np.float32)) for _ in range(8)]
    parts = []
    for index, (first, count) in enumerate([(0, 4), (4, 4)]):
        out = io.BytesIO()
        with Writer(out, 200, kind="top-k", max_entries=6, first_sequence=first) as writer:
            for tokens, logits in sequences[first:first + count]:
                writer.write_top_k(tokens, *top_k_logprobs(logits, 6))
        parts.append(pack_stream(out.getvalue(), tmp_path / f"part{index}", "--part", f"{index}/2", "--seqs-per-block", 4,
                                 "--method", "top-k", "--top-k", 6, "--ids", "u32", "--values", "f32"))
    run_cli("merge", *parts, "--out", tmp_path / "merged")
    with logitstore.Store(tmp_path / "merged") as store:
        assert len(store) == 8
        for i, (tokens, logits) in enumerate(sequences):
            assert np.array_equal(store[i].tokens, tokens)
            assert np.array_equal(store[i].ids, top_k_logprobs(logits, 6)[0])


def test_writer_refuses_bad_input():
    writer = Writer(io.BytesIO(), 100, kind="top-k", max_entries=4)
    with pytest.raises(ValueError):
        writer.write_top_k([1, 2], np.zeros((2, 5), np.int64), np.zeros((2, 5)))  # more entries than max_entries
    with pytest.raises(ValueError):
        writer.write_top_k([1, 200], np.zeros((2, 4), np.int64), np.zeros((2, 4)))  # token out of range
    with pytest.raises(ValueError):
        writer.write_logits([1], np.zeros((1, 100)))


def test_truncated_stream_fails_the_pack(tmp_path):
    out = io.BytesIO()
    writer = Writer(out, 50, kind="top-k", max_entries=2)
    writer.write_top_k([1, 2], [[3, 4], [5, 6]], [[-1.0, -2.0], [-1.0, -2.0]])
    result = subprocess.run(CLI + ["pack", "--from-stream", "-", "--out", str(tmp_path / "cut")], input=out.getvalue(),
                            capture_output=True)
    assert result.returncode == 2 and b"offset" in result.stderr


def test_torch_teacher_example_streams_into_a_store_that_verifies(tmp_path):
    text = REPO / "README.md"
    producer = subprocess.run(
        [sys.executable, str(REPO / "tools/teacher_stream_torch_example.py"), str(text), "--length", "64",
         "--train-steps", "3", "--max-sequences", "4", "--top-k", "8"], capture_output=True, check=True)
    directory = pack_stream(producer.stdout, tmp_path / "bytes", "--method", "top-k", "--top-k", 8)
    with logitstore.Store(directory) as store:
        assert len(store) == 4
        assert bytes(store[0].tokens.astype(np.uint8)) == text.read_bytes()[:64]
