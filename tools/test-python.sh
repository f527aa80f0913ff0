#!/usr/bin/env bash
# The Python package's tests: installs their Debian packages when missing (tools/install-system-packages.sh), builds
# liblogitstore.so and the wheel (tools/build-wheel.sh), fetches the tokenizer files the teacher tests use, then pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./tools/install-system-packages.sh
./tools/build-wheel.sh                   # liblogitstore.so, then out/wheel/, which test_wheel.py installs into a venv
./tools/fetch-tokenizers.sh >/dev/null   # real tokenizer files for the Hugging Face teacher tests
exec /usr/bin/python3 -m pytest python/tests -q "$@"
