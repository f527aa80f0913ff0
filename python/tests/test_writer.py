"""
logitstore.Writer writes in-process the store `pack --from-stream` writes of the same records (byte for byte with a
fixed --id-seed, but for the manifest's source), refuses bad arguments before it creates anything, refuses bad
sequences and goes on, and finishes the store of a writer process killed with SIGKILL.
"""

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import logitstore
from logitstore.stream import Writer as StreamWriter
from conftest import CLI, REPO, dump, run_cli

VOCAB = 300
TESTS = Path(__file__).resolve().parent


def logit_records(count, length, seed, vocab=VOCAB):
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, vocab, length), (rng.standard_normal((length, vocab)) * 3).astype(np.float32))
            for _ in range(count)]


def top_k_records(count, length, k, seed, vocab=VOCAB):
    """Top-k lists of random distributions (a tenth of the mass left out), with varying counts per position."""
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(count):
        ids = np.stack([rng.permutation(vocab)[:k] for _ in range(length)])
        logits = -np.sort(-rng.uniform(0, 8, (length, k)), axis=1)
        logprobs = (logits - np.log(np.exp(logits).sum(1, keepdims=True) / 0.9)).astype(np.float32)
        records.append((rng.integers(0, vocab, length), ids, logprobs, rng.integers(1, k + 1, length)))
    return records


def sequence_record(i, length=64, vocab=200):
    """Sequence i of the killed writer's corpus: the same in every process."""
    rng = np.random.default_rng(1000 + i)
    return rng.integers(0, vocab, length), (rng.standard_normal((length, vocab)) * 3).astype(np.float32)


def write_records(writer, records):
    for record in records:
        if len(record) == 2:
            writer.write(record[0], logits=record[1])
        else:
            writer.write(record[0], ids=record[1], logprobs=record[2], counts=record[3])


def stream_bytes(records, vocab=VOCAB):
    out = io.BytesIO()
    top_k = len(records[0]) == 4
    options = dict(kind="top-k", max_entries=records[0][1].shape[1]) if top_k else dict(kind="logits")
    with StreamWriter(out, vocab, teacher_id="same-teacher", **options) as stream:
        for record in records:
            if top_k:
                stream.write_top_k(record[0], record[1], record[2], counts=record[3])
            else:
                stream.write_logits(*record)
    return out.getvalue()


def store_files(directory):
    return sorted(str(p.relative_to(directory)) for p in Path(directory).rglob("*")
                  if p.is_file() and p.name != "writer.lock")


def assert_same_store(streamed, written):
    """Shards and dictionaries byte for byte; the manifests equal but for source (and so manifest_xxh3)."""
    assert store_files(streamed) == store_files(written)
    for name in store_files(streamed):
        if name != "manifest.json":
            assert (Path(streamed) / name).read_bytes() == (Path(written) / name).read_bytes(), name
    manifests = [json.loads((Path(d) / "manifest.json").read_text()) for d in (streamed, written)]
    assert manifests[0]["source"]["kind"] == "stream" and manifests[1]["source"] == {"kind": "writer"}
    for m in manifests:
        del m["source"], m["manifest_xxh3"]
    assert manifests[0] == manifests[1]


@pytest.mark.parametrize("payload", ["logits", "top-k"])
@pytest.mark.parametrize("ids,values", [("packed", "f32"), ("context", "q8"), ("context", "mvq:4")])
def test_written_store_equals_the_stream_pack_of_the_same_records(tmp_path, payload, ids, values):
    records = logit_records(9, 24, seed=1) if payload == "logits" else top_k_records(9, 24, 10, seed=2)
    streamed, written = tmp_path / "stream", tmp_path / "writer"
    run_cli("pack", "--from-stream", "-", "--out", streamed, "--id-seed", 5, "--workers", 1, "--method", "top-p-k",
            "--top-k", 6, "--top-p", 0.9, "--ids", ids, "--values", values, "--seqs-per-block", 2,
            "--dictionary-sample", 40, stdin=stream_bytes(records))
    with logitstore.Writer(written, vocab_size=VOCAB, teacher_id="same-teacher", method="top-p-k", top_k=6, top_p=0.9,
                           ids=ids, values=values, sequences_per_block=2, dictionary_sample=40, id_seed=5,
                           workers=1) as writer:
        write_records(writer, records)
    assert_same_store(streamed, written)
    run_cli("verify", written)
    assert dump(written) == dump(streamed)


def test_tensors_on_any_device_and_in_any_float_dtype_write_as_float32_arrays(tmp_path):
    records = logit_records(3, 16, seed=3)
    settings = dict(vocab_size=VOCAB, method="top-k", top_k=5, ids="packed", values="f32", id_seed=1, workers=1)
    with logitstore.Writer(tmp_path / "numpy", **settings) as writer:
        for tokens, logits in records:
            writer.write(tokens, logits=torch.from_numpy(logits).bfloat16().float().numpy())
    with logitstore.Writer(tmp_path / "torch", **settings) as writer:
        for tokens, logits in records:
            writer.write(torch.from_numpy(tokens), logits=torch.from_numpy(logits).bfloat16())
    assert dump(tmp_path / "numpy") == dump(tmp_path / "torch")


BAD_ARGUMENTS = [
    (dict(vocab_size=1), ValueError, "vocab_size"),
    (dict(vocab_size="300"), TypeError, "vocab_size"),
    (dict(vocab_size=VOCAB, method="top-z"), ValueError, "method"),
    (dict(vocab_size=VOCAB, top_k=0), ValueError, "top_k"),
    (dict(vocab_size=VOCAB, top_k=2.5), TypeError, "top_k"),
    (dict(vocab_size=VOCAB, top_p=1.5), ValueError, "top_p"),
    (dict(vocab_size=VOCAB, temperature=0), ValueError, "temperature"),
    (dict(vocab_size=VOCAB, draws=0), ValueError, "draws"),
    (dict(vocab_size=VOCAB, ids="nope"), ValueError, "ids"),
    (dict(vocab_size=VOCAB, values="mvq:99"), ValueError, "values"),
    (dict(vocab_size=VOCAB, values="counts"), ValueError, "values"),
    (dict(vocab_size=VOCAB, tokens_codec="delta"), ValueError, "tokens"),
    (dict(vocab_size=VOCAB, ids="delta", values="mvq:4"), ValueError, "delta"),
    (dict(vocab_size=VOCAB, zstd_level=40), ValueError, "zstd_level"),
    (dict(vocab_size=VOCAB, shard_target_bytes=100), ValueError, "shard_target_bytes"),
    (dict(vocab_size=VOCAB, part=(2, 2)), ValueError, "part"),
    (dict(vocab_size=VOCAB, part=3), TypeError, "part"),
    (dict(vocab_size=VOCAB, part=(1, 2)), ValueError, "first_sequence"),
    (dict(vocab_size=VOCAB, first_sequence=16), ValueError, "part"),
    (dict(vocab_size=VOCAB, part=(1, 2), first_sequence=3), ValueError, "first_sequence"),
    (dict(vocab_size=VOCAB, resume=True, overwrite=True), ValueError, "resume"),
    (dict(vocab_size=VOCAB, id_seed=-1), ValueError, "id_seed"),
    (dict(vocab_size=VOCAB, workers=-1), ValueError, "workers"),
    (dict(vocab_size=VOCAB, teacher_id=5), TypeError, "teacher_id"),
]


@pytest.mark.parametrize("arguments,error,named", BAD_ARGUMENTS, ids=[str(a[0]) for a in BAD_ARGUMENTS])
def test_bad_arguments_are_refused_by_name_and_leave_no_file(tmp_path, arguments, error, named):
    out = tmp_path / "store"
    with pytest.raises(error, match=named):
        logitstore.Writer(out, **arguments)
    assert not out.exists()


def test_bad_sequences_are_refused_by_name_and_the_writer_goes_on(tmp_path):
    (tokens, logits), = logit_records(1, 6, seed=4)
    (_, ids, logprobs, counts), = top_k_records(1, 6, 4, seed=5)
    with logitstore.Writer(tmp_path / "store", vocab_size=VOCAB, method="top-k", top_k=4, ids="packed",
                           values="f32") as writer:
        refusals = [
            (ValueError, "tokens", dict(tokens=[1, VOCAB], logits=logits[:2])),
            (ValueError, "tokens", dict(tokens=[], logits=logits[:0])),
            (ValueError, "logits", dict(tokens=tokens, logits=logits[:, :-1])),
            (TypeError, "logits", dict(tokens=tokens, logits=logits.astype(np.int32))),
            (TypeError, "tokens", dict(tokens=tokens.astype(np.float32), logits=logits)),
            (TypeError, "not both", dict(tokens=tokens, logits=logits, ids=ids, logprobs=logprobs)),
            (TypeError, "needs logits", dict(tokens=tokens)),
            (TypeError, "logprobs", dict(tokens=tokens, ids=ids)),
            (ValueError, "ids", dict(tokens=tokens, ids=ids + VOCAB, logprobs=logprobs)),
            (ValueError, "counts", dict(tokens=tokens, ids=ids, logprobs=logprobs, counts=counts + 4)),
            (ValueError, "ids and logprobs", dict(tokens=tokens, ids=ids[:, :2], logprobs=logprobs)),
        ]
        nan = logits.copy()
        nan[3, 17] = np.nan
        refusals.append((ValueError, "logits: position 3: logit NaN of id 17", dict(tokens=tokens, logits=nan)))
        twice = ids.copy()
        twice[2, 1] = twice[2, 0]
        refusals.append((ValueError, "ids: position 2: id .* appears twice", dict(tokens=tokens, ids=twice,
                                                                                  logprobs=logprobs)))
        positive = logprobs.copy()
        positive[1, 0] = 0.5
        refusals.append((ValueError, "logprobs: position 1: log-probability 0.5", dict(tokens=tokens, ids=ids,
                                                                                        logprobs=positive)))
        for error, named, arguments in refusals:
            with pytest.raises(error, match=named):
                writer.write(**arguments)
        assert writer.written == 0
        writer.write(tokens, logits=logits)
        writer.write(tokens, ids=ids, logprobs=logprobs, counts=counts)
    with logitstore.Store(tmp_path / "store") as store:
        assert len(store) == 2 and np.array_equal(store[1].kept_counts, counts)
    with logitstore.Writer(tmp_path / "hot", vocab_size=VOCAB, temperature=2.0, ids="packed", values="f32") as hot:
        with pytest.raises(ValueError, match="temperature 1"):
            hot.write(tokens, ids=ids, logprobs=logprobs)
        hot.write(tokens, logits=logits)


KILLED_WRITER = """
import sys, time
sys.path[:0] = [{python!r}, {tests!r}]
from test_writer import sequence_record
import logitstore
writer = logitstore.Writer(sys.argv[1], **{settings!r})
for i in range({count}):
    tokens, logits = sequence_record(i)
    writer.write(tokens, logits=logits)
    print(i, flush=True)
    time.sleep(0.05)
writer.commit()
print("committed", flush=True)
"""

KILLED_SETTINGS = dict(vocab_size=200, teacher_id="killed", method="top-k", top_k=8, ids="packed", values="q8",
                       sequences_per_block=2, shard_target_bytes=4096, id_seed=3, workers=1)


def committed_shards(directory):
    try:
        return json.loads((Path(directory) / "manifest.json").read_text())["shards"]
    except (OSError, ValueError, KeyError):
        return []


def test_a_writer_killed_mid_store_is_finished_by_a_resumed_writer(tmp_path):
    count = 40
    killed = tmp_path / "killed"
    script = KILLED_WRITER.format(python=str(REPO / "python"), tests=str(TESTS), settings=KILLED_SETTINGS, count=count)
    child = subprocess.Popen([sys.executable, "-c", script, str(killed)], stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(committed_shards(killed)) < 2:
        assert child.poll() is None, "the writer ended before it was killed"
        assert time.monotonic() < deadline, "no shard committed in time"
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    manifest = json.loads((killed / "manifest.json").read_text())
    assert manifest["status"] == "partial"
    held = manifest["totals"]["sequences"]
    assert 0 < held < count
    before = {s["file"]: (killed / s["file"]).read_bytes() for s in manifest["shards"]}

    with pytest.raises(ValueError, match="top_k: 8 recorded, 5 given"):
        logitstore.Writer(killed, resume=True, **{**KILLED_SETTINGS, "top_k": 5})
    with logitstore.Writer(killed, resume=True, **KILLED_SETTINGS) as writer:
        assert writer.committed == held and writer.resending
        for i in range(count):
            tokens, logits = sequence_record(i)
            if writer.resending and i % 2 == 0:
                writer.write(tokens)                   # a committed sequence needs its tokens only
            else:
                writer.write(tokens, logits=logits)
    whole = tmp_path / "whole"
    with logitstore.Writer(whole, **KILLED_SETTINGS) as writer:
        for i in range(count):
            tokens, logits = sequence_record(i)
            writer.write(tokens, logits=logits)
    for name, data in before.items():
        assert (whole / name).read_bytes() == data, name
    run_cli("verify", killed)
    assert dump(killed) == dump(whole)
    with logitstore.Writer(killed, resume=True, **KILLED_SETTINGS) as again:
        assert again.already_complete and again.committed == count


def test_pack_resume_of_a_writers_store_says_to_resume_the_writer(tmp_path):
    out = tmp_path / "store"
    writer = logitstore.Writer(out, vocab_size=VOCAB, method="top-k", top_k=4, ids="packed", values="f32")
    write_records(writer, logit_records(3, 8, seed=6))
    writer.abort()
    result = subprocess.run(CLI + ["pack", "--resume", "--out", str(out)], capture_output=True, text=True)
    assert result.returncode != 0 and "resume=True" in result.stderr + result.stdout


C_WRITER = r"""
#include <stdio.h>
#include "logitstore.h"

int main(int argc, char **argv) {
    logitstore_writer_options o;
    if (logitstore_writer_options_default(&o) != LOGITSTORE_OK || o.struct_size != sizeof o) return 10;
    o.vocab_size = 50; o.method = "top-k"; o.top_k = 4; o.ids = "packed"; o.values = "f32";
    o.flags = LOGITSTORE_WRITER_ID_SEED; o.id_seed = 1;
    logitstore_writer *w = NULL;
    if (logitstore_writer_create(argv[1], &o, &w) != LOGITSTORE_OK) return 11;
    int32_t tokens[3] = {1, 2, 3}, ids[6] = {4, 5, 6, 7, 8, 9}, counts[3] = {2, 1, 2};
    float logits[150], logprobs[6] = {-0.5f, -2.0f, -0.1f, -3.0f, -1.0f, -1.5f};
    for (int i = 0; i < 150; i++) logits[i] = (float)(i % 7);
    if (logitstore_writer_append_logits(w, tokens, 3, logits, 150) != LOGITSTORE_OK) return 12;
    if (logitstore_writer_append_top_k(w, tokens, 3, ids, logprobs, 2, counts) != LOGITSTORE_OK) return 13;
    if (logitstore_writer_append_logits(w, tokens, 3, logits, 149) != LOGITSTORE_INVALID_ARGUMENT) return 14;
    if (logitstore_writer_commit(w) != LOGITSTORE_OK) return 15;
    logitstore_writer_close(w);
    if (logitstore_writer_resume(argv[1], &o, &w) != LOGITSTORE_OK) return 16;
    uint64_t committed, received; int32_t complete;
    if (logitstore_writer_state(w, &committed, &received, &complete) != LOGITSTORE_OK) return 17;
    if (committed != 2 || received != 0 || complete != 1) return 18;
    logitstore_writer_close(w);
    printf("ok\n");
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("clang") is None and shutil.which("cc") is None, reason="no C compiler")
def test_c_program_writes_a_store_through_the_header(tmp_path):
    source = tmp_path / "writer.c"
    source.write_text(C_WRITER)
    runtimes = REPO / "python/logitstore/runtimes/linux-x64"
    compiler = shutil.which("clang") or shutil.which("cc")
    subprocess.run([compiler, "-std=c11", "-Wall", "-Werror", "-I", str(REPO / "include"), str(source), "-L",
                    str(runtimes), "-llogitstore", f"-Wl,-rpath,{runtimes}", "-o", str(tmp_path / "writer")],
                   check=True)
    result = subprocess.run([str(tmp_path / "writer"), str(tmp_path / "store")], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("ok"), (result.returncode, result.stderr)
    assert logitstore.verify(tmp_path / "store")["ok"]
