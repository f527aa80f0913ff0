#!/usr/bin/env bash
# Writes one small store per codec combination with fixed seeds and prints the SHA-256 of every file in each, so that
# two builds of the writer can be compared byte for byte: run it before and after a change and diff the outputs.
# Usage: tools/golden/store-digests.sh [CLI] > digests.txt   (CLI defaults to this checkout's ./logitstore)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cli="${1:-$root/logitstore}"
scratch_root="$(mktemp -d)"
trap 'rm -rf "$scratch_root"' EXIT

common=(--synthetic --tokens 8192 --seq-len 128 --seed 7 --id-seed 3 --seqs-per-block 8 --dictionary-sample 2048)
pack() {
  local name="$1"; shift
  "$cli" pack "${common[@]}" "$@" --out "$scratch_root/$name" >/dev/null
  rm -f "$scratch_root/$name/writer.lock"
  (cd "$scratch_root/$name" && find . -type f | sort | xargs sha256sum | sed "s|^|$name |")
}

for ids in u32 packed delta ranked context; do
  pack "ids-$ids" --vocab 2000 --ids "$ids" --values q8
done
for values in f32 f16 q8 q4 mvq:4 mvq:2; do
  pack "values-$values" --vocab 2000 --ids context --values "$values"
done
pack values-counts --vocab 2000 --method sampled --draws 24 --ids context --values counts
pack tokens-u32 --vocab 2000 --tokens-codec u32 --ids packed --values f16
pack method-top-k --vocab 2000 --method top-k --top-k 20 --ids ranked --values q8
pack method-top-p --vocab 2000 --method top-p --top-p 0.9 --ids ranked --values f16
pack method-full --vocab 64 --method full --ids packed --values f16
pack uncompressed --vocab 2000 --zstd-level 0 --ids ranked --values mvq:4
pack single-worker --vocab 2000 --workers 1 --ids context --values mvq:4
