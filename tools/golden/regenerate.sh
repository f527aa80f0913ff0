#!/usr/bin/env bash
# Regenerates the golden stores of the current format version, tests/LogitStore.Tests/Golden/MAJOR.MINOR/ (each store
# beside the JSON a reader must decode from it), and the annotated hex walk-through of format-spec/README.md section 9.
#
# A change to the golden bytes is a format change: it needs a format version bump (format-spec section 8) and a note
# there of what changed. After a bump this script writes a new version directory; the older ones stay as they are,
# for the reader tests (a reader must go on decoding every older minor version of its major). Regenerate an existing
# version's stores only when the writer emits different but equally valid bytes for the same data (say, a zstd update
# compressing a column differently): then first check that the reader still decodes the old files (GoldenStoreTests),
# and say so in the commit.
#
# The stores and their options are listed in tests/LogitStore.Tests/Golden/stores.txt, which the writer test reads too.
# Needs: dotnet, python3, zstd and xxhsum (the walk-through checks the zstd frames and every checksum with them).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
golden="$root/tests/LogitStore.Tests/Golden"
cli="$root/logitstore"
python="${PYTHON:-/usr/bin/python3}"
for tool in zstd xxhsum; do
  command -v "$tool" >/dev/null || { echo "regenerate: $tool is missing (apt install zstd xxhash)" >&2; exit 1; }
done

scratch_root="$(mktemp -d)"
trap 'rm -rf "$scratch_root"' EXIT

pack() {
  local name="$1"; shift
  local scratch="$scratch_root/$name"
  "$cli" pack "$@" --out "$scratch" >/dev/null
  "$cli" verify "$scratch" >/dev/null
  rm -f "$scratch/writer.lock" # the writer's lock is not part of the store's data (format-spec 2.5.1)
  local version
  version=$("$python" -c 'import json, sys; v = json.load(open(sys.argv[1]))["format_version"]; print("%d.%d" % (v["major"], v["minor"]))' \
    "$scratch/manifest.json")
  mkdir -p "$golden/$version"
  rm -rf "${golden:?}/$version/$name"
  mv "$scratch" "$golden/$version/$name"
  "$cli" dump "$golden/$version/$name" >"$golden/$version/$name.json"
  echo "$version/$name: $(find "$golden/$version/$name" -type f | wc -l) files," \
    "$(find "$golden/$version/$name" -type f -printf '%s\n' | paste -sd+ | bc) bytes"
}

# stores.txt: a line naming a store, then its options on indented lines; blank lines and '#' comments between them.
names=()
declare -A options
while IFS= read -r line; do
  case "$line" in
    '' | '#'*) ;;
    ' '* | $'\t'*) options[$name]+=" $line" ;;
    *) name="$line"; names+=("$name"); options[$name]="" ;;
  esac
done <"$golden/stores.txt"
for name in "${names[@]}"; do
  read -ra args <<<"${options[$name]}"
  pack "$name" "${args[@]}"
done

# Section 9 of the spec lies between these two markers. The walk-through follows the newest version's stores, and
# checks every version's against the spec.
"$python" "$root/tools/golden/hexwalk.py" "$golden" >"$scratch_root/walkthrough.md"
"$python" - "$root/format-spec/README.md" "$scratch_root/walkthrough.md" <<'PY'
import sys
spec_path, walk_path = sys.argv[1], sys.argv[2]
begin, end = "<!-- walk-through: begin (tools/golden/regenerate.sh) -->", "<!-- walk-through: end -->"
spec = open(spec_path, encoding="utf-8").read()
head, rest = spec.split(begin)
_, tail = rest.split(end)
open(spec_path, "w", encoding="utf-8").write(head + begin + "\n" + open(walk_path, encoding="utf-8").read() + end + tail)
PY
echo "format-spec/README.md section 9 rewritten"
