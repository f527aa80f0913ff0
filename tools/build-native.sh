#!/usr/bin/env bash
# Builds liblogitstore.so (NativeAOT) into python/logitstore/runtimes/linux-x64/. Installs what the native build and
# the Python package need from Debian when missing: clang and zlib headers (NativeAOT's linker), and python3-numpy,
# python3-torch, python3-pytest for /usr/bin/python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v clang >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
for module in numpy torch pytest; do
    /usr/bin/python3 -c "import $module" 2>/dev/null || missing+=("python3-$module")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing from Debian: ${missing[*]}" >&2
    as_root=()
    [ "$(id -u)" = 0 ] || as_root=(sudo)
    "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

out=python/logitstore/runtimes/linux-x64
dotnet publish src/LogitStore.Native -c Release -o out/native --nologo -v quiet
mkdir -p "$out"
cp out/native/liblogitstore.so "$out/liblogitstore.so"
echo "built $out/liblogitstore.so" >&2
