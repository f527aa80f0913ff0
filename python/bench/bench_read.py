#!/usr/bin/env python3
"""
Positions/s delivered into the dense [B, T, K] layout, side by side in one process tree:
  - logitstore.Store.batches (liblogitstore's fill on 1..N Python threads straight into reused numpy buffers, no
    process hand-off): the reference the other paths are compared with;
  - logitstore.torch.LogitStoreDataset under DataLoader(num_workers=N, batch_size=None), and with N decode threads
    under DataLoader(num_workers=0);
  - plain int32 ids + fp32 probs (+ int32 tokens) read through np.memmap into the same layout, in-process and under
    DataLoader(num_workers=N) with the same ring and hand-off.
Rounds interleave the paths so that a busy machine slows them alike; the report gives each path's median rate and
its ratio to Store.batches as the median over rounds of the two measured in the same round.

    PYTHONPATH=python python3 python/bench/bench_read.py STORE --out reports/read
"""
import argparse
import json
import os
import statistics
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from logitstore import Store, _native
from logitstore.torch import BatchRing, LogitStoreDataset


REFERENCE = "Python Store.batches (threads)"


def timed(iterable, positions_per_batch, seconds):
    it = iter(iterable)
    try:
        next(it)  # startup (workers forked, first decode) is not steady state
        batches, start = 0, time.perf_counter()
        for _ in it:
            batches += 1
            if time.perf_counter() - start >= seconds:
                break
        return batches * positions_per_batch / (time.perf_counter() - start)
    finally:
        if hasattr(it, "close"):
            it.close()  # a generator: its loader closes now
        elif hasattr(it, "_shutdown_workers"):
            it._shutdown_workers()


def python_threads(store, b, t, k, threads, seconds, seed):
    return timed(store.batches(b, t, k, seed=seed, threads=threads), b * t, seconds)


def python_dataset(path, b, t, k, workers, seconds, seed, threads=1):
    dataset = LogitStoreDataset(path, b, t, k, seed=seed, epochs=1000, rank=0, world_size=1, threads=threads)
    return timed(DataLoader(dataset, batch_size=None, num_workers=workers), b * t, seconds)


class MemmapBatches(IterableDataset):
    """Random windows of plain arrays (tokens [N], ids [N, K] int32, probs [N, K] fp32) copied into a reused ring."""

    def __init__(self, directory, b, t, k, ring_size=6):
        self.directory, self.b, self.t, self.k, self.ring_size = directory, b, t, k, ring_size

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info is not None else 0
        tokens = np.load(self.directory / "tokens.npy", mmap_mode="r")
        ids = np.load(self.directory / "ids.npy", mmap_mode="r")
        probs = np.load(self.directory / "probs.npy", mmap_mode="r")
        windows = len(tokens) // self.t
        rng = np.random.default_rng(worker)
        ring = BatchRing(id(self), self.ring_size, self.b, self.t, self.k)
        for i in range(1 << 40):
            batch = ring.batches[i % len(ring.batches)]
            for r, w in enumerate(rng.integers(0, windows, self.b)):
                at = slice(w * self.t, (w + 1) * self.t)
                np.copyto(batch.tokens[r], tokens[at])
                np.copyto(batch.ids[r], ids[at])
                np.copyto(batch.probs[r], probs[at])
            yield ring.hand_off(i, i)


def write_plain(store, directory, k):
    """The store's positions in the dense layout (K entries each, zero-padded) as .npy files, for np.memmap."""
    directory.mkdir(parents=True, exist_ok=True)
    n = len(store) * store.sequence_length
    tokens = np.lib.format.open_memmap(directory / "tokens.npy", "w+", np.int32, (n,))
    ids = np.lib.format.open_memmap(directory / "ids.npy", "w+", np.int32, (n, k))
    probs = np.lib.format.open_memmap(directory / "probs.npy", "w+", np.float32, (n, k))
    at = 0
    for batch in store.batches(1, store.sequence_length, k, shuffle=False):
        m = batch.tokens.size
        tokens[at:at + m], ids[at:at + m], probs[at:at + m] = batch.tokens[0], batch.ids[0], batch.probs[0]
        at += m
    for array in (tokens, ids, probs):
        array.flush()
    return (tokens.nbytes + ids.nbytes + probs.nbytes) / n


def allocation_per_batch(store, b, t, k, seed, batches=40):
    """Python bytes (tracemalloc) and library managed bytes per batch over a steady-state stretch of Store.batches."""
    library = _native.lib()
    it = store.batches(b, t, k, seed=seed)
    for _ in range(5):
        next(it)
    tracemalloc.start()
    before_py = tracemalloc.get_traced_memory()[0]
    before_native = library.logitstore_allocated_bytes()
    for _ in range(batches):
        next(it)
    after_native = library.logitstore_allocated_bytes()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return (current - before_py) / batches, (peak - before_py), (after_native - before_native) / batches


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--out", default="reports/read")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=0, help="positions per row (0: the store's sequence length)")
    ap.add_argument("--k", type=int, default=0, help="entries per position (0: the store's bound)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--plain", default="out/bench-plain", help="where the plain arrays are written")
    args = ap.parse_args()

    store = Store(args.store)
    b, t = args.batch, args.seq or store.sequence_length
    k = args.k or store.max_entries_per_position
    plain = Path(args.plain)
    plain_bytes = write_plain(store, plain, k)
    seed = 1
    paths = {}
    for workers in args.workers:
        paths[(REFERENCE, workers)] = lambda w=workers: python_threads(store, b, t, k, w, args.seconds, seed)
        paths[("Python LogitStoreDataset + DataLoader (workers)", workers)] = (
            lambda w=workers: python_dataset(args.store, b, t, k, w, args.seconds, seed))
        paths[("Python LogitStoreDataset(threads) + DataLoader(num_workers=0)", workers)] = (
            lambda w=workers: python_dataset(args.store, b, t, k, 0, args.seconds, seed, threads=w))
        paths[("np.memmap int32 + fp32 + DataLoader (workers)", workers)] = (
            lambda w=workers: timed(DataLoader(MemmapBatches(plain, b, t, k), batch_size=None, num_workers=w), b * t,
                                    args.seconds))
    paths[("np.memmap int32 + fp32, in-process", 1)] = lambda: timed(MemmapBatches(plain, b, t, k), b * t, args.seconds)

    readings = {key: [] for key in paths}
    for round_ in range(args.rounds):
        for key, measure in paths.items():
            readings[key].append(measure())
            print(f"round {round_}: {key[0]:<50} {key[1]}  {readings[key][-1] / 1e6:7.2f} M positions/s", file=sys.stderr)
    py_bytes, py_peak, native_bytes = allocation_per_batch(store, b, t, k, seed)

    def ratio_to_reference(key):
        """Median over rounds of this path's rate over the reference's in the same round (side by side)."""
        reference = readings.get((REFERENCE, key[1]))
        return statistics.median(x / c for x, c in zip(readings[key], reference)) if reference else None

    rows = [{"path": key[0], "workers": key[1], "median_positions_per_s": statistics.median(v), "readings": v,
             "ratio_to_reference": ratio_to_reference(key)} for key, v in readings.items()]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "PYTHONPATH=python python3 python/bench/bench_read.py " + " ".join(sys.argv[1:])
    facts = {"store": args.store, "batch": b, "seq": t, "k": k, "rounds": args.rounds, "seconds": args.seconds,
             "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(), "plain_bytes_per_position": plain_bytes,
             "store_bytes_per_position": store.manifest["totals"]["bytes"] / store.manifest["totals"]["positions"],
             "python_bytes_per_batch_steady": py_bytes, "python_peak_bytes_over_40_batches": py_peak,
             "library_managed_bytes_per_batch_steady": native_bytes, "command": command}
    (out / "python.json").write_text(json.dumps({"facts": facts, "rows": rows}, indent=2) + "\n")
    lines = [
        "# Reading from Python: positions/s into [B, T, K]",
        "",
        textwrap.fill(
            f"Single-machine readings ({os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end), medians "
            f"of {args.rounds} interleaved rounds of {args.seconds:g} s each. Store `{args.store}`: B = {b}, T = {t}, "
            f"K = {k}; {facts['store_bytes_per_position']:.1f} bytes/position on disk against {plain_bytes:.0f} for the "
            "plain arrays.", 118, break_long_words=False, break_on_hyphens=False),
        "",
        f"Command: `{command}`",
        "",
        "| path | workers | M positions/s (median) | readings | vs Store.batches at the same workers (median of per-round "
        "ratios) |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = f"{r['ratio_to_reference']:.2f}×" if r["ratio_to_reference"] is not None else ""
        readings_text = ", ".join(f"{x / 1e6:.2f}" for x in r["readings"])
        lines.append(f"| {r['path']} | {r['workers']} | {r['median_positions_per_s'] / 1e6:.2f} | {readings_text} | {ratio} |")
    lines += [
        "",
        textwrap.fill(
            f"Steady-state allocation of `Store.batches` (40 batches after 5 of warm-up): {py_bytes:.0f} Python bytes per "
            f"batch (tracemalloc; peak {py_peak} bytes over the stretch) and {native_bytes:.0f} managed bytes per batch "
            f"inside liblogitstore (`logitstore_allocated_bytes`); a batch is {b * t * (8 * k + 12)} bytes.", 118,
            break_long_words=False, break_on_hyphens=False),
        "",
    ]
    (out / "python.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
