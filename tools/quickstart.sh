#!/usr/bin/env bash
# The main job on a small default: pack 1M tokens from the synthetic teacher, verify, inspect and measure its fidelity.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-stores/quickstart}"
./logitstore pack --synthetic --tokens 1000000 --out "$out" --force
./logitstore verify "$out"
./logitstore inspect "$out"
./logitstore fidelity "$out" --against truncated   # what the value codec costs
./logitstore fidelity "$out"                       # what truncation + coding cost against the untruncated teacher
