#!/usr/bin/env bash
# The Python package's tests: builds liblogitstore.so (installing its Debian dependencies when missing), fetches the
# tokenizer files the teacher tests use, then pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./tools/build-native.sh
./tools/fetch-tokenizers.sh >/dev/null   # real tokenizer files for the Hugging Face teacher tests
exec /usr/bin/python3 -m pytest python/tests -q "$@"
