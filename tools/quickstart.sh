#!/usr/bin/env bash
# The main job on a small default: pack 1M tokens from the synthetic teacher, verify and inspect the store.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${1:-stores/quickstart}"
./logitstore pack --synthetic --tokens 1000000 --out "$out" --force
./logitstore verify "$out"
./logitstore inspect "$out"
