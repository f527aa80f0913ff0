#!/usr/bin/env bash
# Builds the logitstore wheel into out/wheel/: liblogitstore.so first (tools/build-native.sh), then the package,
# offline, with Debian's setuptools and wheel (no build isolation, no index), from a copy of python/ so that no build
# folders land in the checkout. Needs python3-setuptools, -wheel and -pip; when they are missing it names them and
# stops (tools/install-system-packages.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
for module in setuptools wheel pip; do
    /usr/bin/python3 -c "import $module" 2>/dev/null || missing+=("python3-$module")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-wheel: missing Debian packages ${missing[*]} (tools/install-system-packages.sh installs them)" >&2
    exit 1
fi

./tools/build-native.sh

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
package=$stage/logitstore
mkdir -p "$package/runtimes/linux-x64"
cp python/pyproject.toml NOTICE "$stage/"
cp python/logitstore/*.py python/logitstore/py.typed "$package/"
cp python/logitstore/runtimes/linux-x64/liblogitstore.so "$package/runtimes/linux-x64/"

mkdir -p out/wheel
rm -f out/wheel/logitstore-*.whl
/usr/bin/python3 -m pip wheel --no-build-isolation --no-deps --no-index --quiet --wheel-dir out/wheel "$stage"
echo "built $(ls out/wheel/logitstore-*.whl)" >&2
