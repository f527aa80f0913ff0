#!/usr/bin/env python3
"""
Tokens/s written into a store from Python, side by side in one run on the same records:
  - `logitstore.Writer` in this process (records handed to liblogitstore by ctypes);
  - `logitstore.stream.Writer` piping the stream protocol into `logitstore pack --from-stream -` (a second process).
Both with the same settings and --id-seed, so they write the same shards; each path's time runs from opening its
writer (or starting the pack process) to its committed store. Rounds alternate the paths so that a busy machine
slows them alike; the report gives each path's median and the median over rounds of the per-round ratio.

    PYTHONPATH=python python3 python/bench/bench_write.py --rounds 3 --out reports/read
"""
import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

import logitstore
from logitstore.stream import Writer as StreamWriter

REPO = Path(__file__).resolve().parents[2]
CLI = [str(REPO / "logitstore")]


def records(payload, pool, length, vocab, k, seed=1):
    """A pool of distinct sequences (cycled through to make a corpus): top-k lists or full logits."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(pool):
        tokens = rng.integers(0, vocab, length).astype(np.int32)
        logits = (rng.standard_normal((length, vocab)) * 3).astype(np.float32)
        if payload == "logits":
            out.append((tokens, logits))
            continue
        ids = np.argpartition(-logits, k, axis=1)[:, :k]
        ids = np.take_along_axis(ids, np.argsort(-np.take_along_axis(logits, ids, 1), axis=1), 1)
        m = logits.max(1, keepdims=True)
        logz = m + np.log(np.exp(logits - m).sum(1, keepdims=True))
        out.append((tokens, ids.astype(np.int32), (np.take_along_axis(logits, ids, 1) - logz).astype(np.float32)))
    return out


def settings_args(settings):
    flags = {"method": "--method", "top_k": "--top-k", "id_seed": "--id-seed", "workers": "--workers"}
    return [str(a) for name, value in settings.items() for a in (flags[name], value)]


def run_stream(out, corpus, vocab, k, settings):
    started = time.perf_counter()
    pack = subprocess.Popen(CLI + ["pack", "--from-stream", "-", "--out", str(out), "--force"] + settings_args(settings),
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    top_k = len(corpus[0]) == 3
    options = dict(kind="top-k", max_entries=k) if top_k else dict(kind="logits")
    with StreamWriter(pack.stdin, vocab, teacher_id="bench", **options) as writer:
        for record in corpus:
            if top_k:
                writer.write_top_k(*record)
            else:
                writer.write_logits(*record)
    pack.stdin.close()
    if pack.wait() != 0:
        raise RuntimeError(pack.stderr.read().decode())
    return time.perf_counter() - started


def run_writer(out, corpus, vocab, settings):
    started = time.perf_counter()
    with logitstore.Writer(out, vocab_size=vocab, teacher_id="bench", overwrite=True, **settings) as writer:
        for record in corpus:
            if len(record) == 3:
                writer.write(record[0], ids=record[1], logprobs=record[2])
            else:
                writer.write(record[0], logits=record[1])
    return time.perf_counter() - started


def same_store(a, b):
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file() and p.name not in ("manifest.json", "writer.lock"))
    return all((a / f).read_bytes() == (b / f).read_bytes() for f in files) and files == sorted(
        p.relative_to(b) for p in b.rglob("*") if p.is_file() and p.name not in ("manifest.json", "writer.lock"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="directory for python-write.json")
    parser.add_argument("--scratch", type=Path, help="where the stores go (default: a temporary directory)")
    args = parser.parse_args()
    cases = [
        # payload, sequences, pool, length, vocab, k (top-k lists carried), settings
        ("top-k", 192, 16, 1024, 32000, 50, dict(method="top-k", top_k=50, id_seed=1, workers=0)),
        ("logits", 48, 4, 128, 32000, 0, dict(method="top-k", top_k=50, id_seed=1, workers=0)),
    ]
    scratch = Path(args.scratch or tempfile.mkdtemp(prefix="bench-write-"))
    subprocess.run(CLI + ["--help"], capture_output=True, check=True)   # builds the CLI before anything is timed
    results = []
    try:
        for payload, sequences, pool, length, vocab, k, settings in cases:
            base = records(payload, pool, length, vocab, k)
            corpus = [base[i % pool] for i in range(sequences)]
            tokens = sequences * length
            readings = {"stream": [], "writer": [], "ratio": []}
            for _ in range(args.rounds):
                s = run_stream(scratch / "stream", corpus, vocab, k, settings)
                w = run_writer(scratch / "writer", corpus, vocab, settings)
                readings["stream"].append(tokens / s)
                readings["writer"].append(tokens / w)
                readings["ratio"].append(s / w)
            assert same_store(scratch / "stream", scratch / "writer"), "the two paths wrote different shards"
            results.append(dict(payload=payload, sequences=sequences, length=length, vocab=vocab, k=k,
                                settings=settings, tokens=tokens, **readings))
    finally:
        if args.scratch is None:
            shutil.rmtree(scratch, ignore_errors=True)
    print("| payload | tokens | path | k tokens/s (median) | readings | writer vs stream (median per-round ratio) |")
    print("|---|---|---|---|---|---|")
    for r in results:
        for path in ("stream", "writer"):
            ratio = f"{statistics.median(r['ratio']):.2f}×" if path == "writer" else "1.00×"
            print(f"| {r['payload']} | {r['tokens']:,} | {path} | {statistics.median(r[path]) / 1e3:.1f} | "
                  f"{', '.join(f'{x / 1e3:.1f}' for x in r[path])} | {ratio} |")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "python-write.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
