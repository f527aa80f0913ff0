#!/usr/bin/env bash
# Set-up: installs from Debian what building liblogitstore.so, building the Python wheel and the Python tests need,
# when missing: clang and zlib headers (NativeAOT's linker); python3-setuptools, -wheel and -pip (the wheel's offline
# build); python3-venv (the installed-package test); python3-numpy, -torch and -pytest for /usr/bin/python3.
# The only script that installs system packages for them: the build scripts check and name what is missing.
set -euo pipefail

missing=()
command -v clang >/dev/null || command -v clang-14 >/dev/null || missing+=(clang)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
for module in numpy torch pytest setuptools wheel pip; do
    /usr/bin/python3 -c "import $module" 2>/dev/null || missing+=("python3-$module")
done
/usr/bin/python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "installing from Debian: ${missing[*]}" >&2
as_root=()
[ "$(id -u)" = 0 ] || as_root=(sudo)
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
