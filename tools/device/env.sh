# Source at the start of every GPU-machine command, from the repository root:
#   source .device/env.sh
# Unpacks the carried .NET runtime and points the loader at the machine's libtorch and libcudart (docs/teachers.md, "On a GPU").
_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mkdir -p /tmp/dotnet && tar -xJf "$_here/netrt.tar.xz" -C /tmp/dotnet
export DOTNET_ROOT=/tmp/dotnet PATH=/tmp/dotnet:$PATH DOTNET_CLI_TELEMETRY_OPTOUT=1
_torchlib="$(python3 -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')"
_cudart="$(ls /usr/local/cuda*/targets/x86_64-linux/lib/libcudart.so.* 2>/dev/null | head -1)"
mkdir -p /tmp/cudalinks && ln -sf "$_cudart" /tmp/cudalinks/libcudart.so
export LD_LIBRARY_PATH="$_torchlib:/tmp/cudalinks:$(dirname "$_cudart")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# glibc malloc for libtorch's host tensors, as the logitstore script sets it (see HostAllocator in TorchRuntime.cs).
export MALLOC_ARENA_MAX=1 MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647
