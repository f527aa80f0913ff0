#!/usr/bin/env bash
# Builds liblogitstore.so (NativeAOT) into python/logitstore/runtimes/linux-x64/. Needs clang and zlib headers for
# NativeAOT's link; when they are missing it names them and stops (tools/install-system-packages.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

missing=()
command -v clang >/dev/null || command -v clang-14 >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
    echo "build-native: missing Debian packages ${missing[*]} (tools/install-system-packages.sh installs them)" >&2
    exit 1
fi

out=python/logitstore/runtimes/linux-x64
dotnet publish src/LogitStore.Native -c Release -o out/native --nologo -v quiet
mkdir -p "$out"
cp out/native/liblogitstore.so "$out/liblogitstore.so"
echo "built $out/liblogitstore.so" >&2
