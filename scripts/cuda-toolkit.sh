#!/usr/bin/env bash
# Installs the pinned CUDA 13.0 compiler from PyPI into .cuda/ (ignored) and prints the environment the
# CUDA builds need. No GPU and no system CUDA are needed: this only compiles.
#   eval "$(bash scripts/cuda-toolkit.sh)"
# 13.0.x matches the H100 box's driver 580 (PTX from 13.1+ would not JIT there).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD/.cuda
if [ ! -x "$root/venv/bin/python" ]; then
  python3 -m venv "$root/venv" >&2
fi
"$root/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  "nvidia-cuda-nvcc==13.0.88" "nvidia-cuda-crt==13.0.88" "nvidia-nvvm==13.0.88" \
  "nvidia-cuda-runtime==13.0.88" "nvidia-cuda-cccl==13.0.85" >&2
cu=$("$root/venv/bin/python" -c 'import nvidia, os; print(os.path.join(list(nvidia.__path__)[0], "cu13"))')
# the wheels ship versioned libraries in lib/ only; linkers want unversioned names
mkdir -p "$root/lib" "$root/driver/lib64/stubs"
ln -sf "$cu/lib/libcudart.so.13" "$root/lib/libcudart.so"
ln -sf "$cu/lib/libcudart_static.a" "$root/lib/libcudart_static.a"
# a link-time stand-in for the driver (libcuda.so ships with the NVIDIA driver, not the toolkit); every
# function returns CUDA_ERROR_STUB_LIBRARY (34). Only the halo2-axiom-gpu prover links it.
stub=$root/driver/lib64/stubs/libcuda.so
if [ ! -f "$stub" ]; then
  gcc -E -P -I"$cu/include" "$cu/include/cuda.h" | grep -oE '\bcu[A-Z][A-Za-z0-9_]*[[:space:]]*\(' \
    | sed 's/[[:space:](]//g' | sort -u | sed 's/.*/int &(void){return 34;}/' > "$root/cuda_stub.c"
  gcc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$stub" "$root/cuda_stub.c"
fi
cat <<ENV
export PATH="$cu/bin:\$PATH"
export LIBRARY_PATH="$root/lib:$cu/lib\${LIBRARY_PATH:+:\$LIBRARY_PATH}"
export CUDA_LIB_DIR="$root/lib"
export CUDA_LIBRARY_PATH="$root/driver"
export CUDA_ARCH=90
export ZKONNX_CUDA_RUNTIME="$cu/lib/libcudart.so.13"
ENV
