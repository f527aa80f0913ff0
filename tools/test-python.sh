#!/usr/bin/env bash
# The Python package's tests: builds liblogitstore.so (installing its Debian dependencies when missing), then pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./tools/build-native.sh
exec /usr/bin/python3 -m pytest python/tests -q "$@"
