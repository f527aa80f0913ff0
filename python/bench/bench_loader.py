#!/usr/bin/env python3
"""
LogitStoreDataset through DataLoader worker processes against the C# BatchLoader, on the same store and batch shape,
side by side in one run: for each worker count W, `logitstore bench read STORE --workers W` (its "batch loader" row:
the C# loader with W worker threads, shuffled, dense fp32 into its pinned ring) and
DataLoader(LogitStoreDataset(STORE, B, T, K), batch_size=None, num_workers=W), one after the other in each round.
The ratio is the median over rounds of the two rates measured in the same round.

    PYTHONPATH=python python3 python/bench/bench_loader.py STORE --out reports/read
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench_read import python_dataset  # DataLoader(LogitStoreDataset) timed after its first batch, as bench_read does
from logitstore import Store

REPO = Path(__file__).resolve().parents[2]
# "batch loader [B=8, T=1024, K=50]  threads  2      2.71 M positions/s  (...)", as `bench read` logs its loader row.
LOADER_ROW = re.compile(r"^batch loader \[B=(\d+), T=(\d+), K=(\d+)\]\s+threads\s+(\d+)\s+([\d.]+) M positions/s", re.M)


def csharp_loader(store, b, t, k, workers):
    """Positions/s of the C# BatchLoader with `workers` worker threads, from `logitstore bench read`'s loader row."""
    with tempfile.TemporaryDirectory() as out:
        result = subprocess.run([str(REPO / "logitstore"), "bench", "read", store, "--out", out, "--batch", str(b),
                                 "--seq", str(t), "--k", str(k), "--workers", str(workers)],
                                capture_output=True, text=True, check=True)
    text = result.stdout + result.stderr
    match = LOADER_ROW.search(text)
    if match is None:
        raise RuntimeError(f"no batch loader row in the output of logitstore bench read:\n{text}")
    if tuple(map(int, match.group(1, 2, 3, 4))) != (b, t, k, workers):
        raise RuntimeError(f"the loader row measured {match.group(0)!r}, not B={b}, T={t}, K={k}, {workers} workers")
    return float(match.group(5)) * 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store")
    ap.add_argument("--out", default="reports/read")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=0, help="positions per row (0: the store's sequence length)")
    ap.add_argument("--k", type=int, default=0, help="entries per position (0: the store's bound)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--seconds", type=float, default=3.0, help="per Python reading (bench read measures 3 s)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    with Store(args.store) as store:
        b, t = args.batch, args.seq or store.sequence_length
        k = args.k or store.max_entries_per_position
    readings = {(path, w): [] for w in args.workers for path in ("csharp", "python")}
    for round_ in range(args.rounds):
        for w in args.workers:
            readings[("csharp", w)].append(csharp_loader(args.store, b, t, k, w))
            readings[("python", w)].append(python_dataset(args.store, b, t, k, w, args.seconds, seed=1))
            print(f"round {round_} workers {w}: C# {readings[('csharp', w)][-1] / 1e6:.2f}, Python "
                  f"{readings[('python', w)][-1] / 1e6:.2f} M positions/s", file=sys.stderr)

    names = {"csharp": "C# BatchLoader (worker threads), `bench read`'s loader row",
             "python": "LogitStoreDataset + DataLoader (worker processes)"}
    rows = []
    for (path, w), values in readings.items():
        ratio = statistics.median(p / c for p, c in zip(values, readings[("csharp", w)]))
        rows.append({"path": names[path], "workers": w, "median_positions_per_s": statistics.median(values),
                     "readings": values, "ratio_to_csharp": ratio})
    command = "PYTHONPATH=python python3 python/bench/bench_loader.py " + " ".join(sys.argv[1:])
    facts = {"store": args.store, "batch": b, "seq": t, "k": k, "rounds": args.rounds, "seconds": args.seconds,
             "cpus": os.cpu_count(), "load_average_at_end": os.getloadavg(), "command": command}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "python-loader.json").write_text(json.dumps({"facts": facts, "rows": rows}, indent=2) + "\n")
    print(f"Command: `{command}` (B = {b}, T = {t}, K = {k}; load average {os.getloadavg()[0]:.1f} at the end)\n")
    print("| path | workers | M positions/s (median) | readings | vs the C# loader at the same workers (median of "
          "per-round ratios) |")
    print("|---|---|---|---|---|")
    for r in rows:
        readings_text = ", ".join(f"{x / 1e6:.2f}" for x in r["readings"])
        print(f"| {r['path']} | {r['workers']} | {r['median_positions_per_s'] / 1e6:.2f} | {readings_text} | "
              f"{r['ratio_to_csharp']:.2f}× |")


if __name__ == "__main__":
    main()
