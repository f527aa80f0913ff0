#!/usr/bin/env bash
# Builds what the GPU machine needs into .device/ (ignored by git, carried by the device tool):
#   .device/app/         the CLI, framework-dependent, managed TorchSharp only (the machine's own libtorch is used)
#   .device/netrt.tar.xz this machine's .NET runtime (no SDK), unpacked there by env.sh
#   .device/env.sh       DOTNET_ROOT, PATH, LD_LIBRARY_PATH (libtorch from the machine's PyTorch, libcudart)
#   .device/llama3-tokenizer.tar.xz  Llama 3's tokenizer files (the suite's real-teacher step; 9 MB unpacked)
# Also fetches Brown into data/brown. Then run, on the GPU machine (carry: .device, data/brown):
#   source .device/env.sh && dotnet .device/app/LogitStore.Cli.dll teacher train --device cuda --preset small ...
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
rm -rf .device/app
dotnet publish src/LogitStore.Cli -c Release -r linux-x64 --self-contained false -p:TorchBackend=gpu -o .device/app
# Keep only the native bits TorchSharp itself needs; libtorch comes from the machine.
find .device/app -name '*.so*' ! -name 'libLibTorchSharp.so' ! -name 'libSkiaSharp.so' ! -name 'libHarfBuzzSharp.so' -delete
rm -rf .device/app/runtimes/{win,osx,linux-arm,linux-arm64,linux-musl}* 2>/dev/null || true
root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
tar -cJf .device/netrt.tar.xz -C "$root" dotnet host/fxr shared/Microsoft.NETCore.App
cp tools/device/env.sh .device/env.sh
./tools/fetch-corpus.sh
./tools/fetch-tokenizers.sh
tar -cJf .device/llama3-tokenizer.tar.xz -C data/tokenizers llama3
grep -qx '/.device/' .gitignore || echo '/.device/' >> .gitignore
du -sh .device data/brown
