#!/usr/bin/env bash
# Builds what the GPU box runs into gpu-artifacts/ (ignored), ready to carry to a machine with an NVIDIA
# GPU (the `device` tool: carry ["gpu-artifacts"], then `bash scripts/gpu-check.sh`). Needs no GPU: the
# CUDA compiler comes pinned from PyPI (scripts/cuda-toolkit.sh).
#   zkonnx.xz      the CLI (stripped, compressed: the carry limit is 64 MiB)
#   zkonnx-gpu     the GPU prover (gpu-prover/, halo2-axiom-gpu), handed off to by `--gpu`
#   gpu-engines    the GPU-vs-CPU MSM/NTT tests (gpu/tests/engines.rs)
#   gpu-msm-ntt    the MSM/NTT micro-bench (gpu/benches/msm_ntt.rs)
#   lib/           libcudart.so.13, which zkonnx-gpu links dynamically
#   evm/<model>/   Solidity verifiers for the models the check proves on the GPU (solc-js needs Node,
#                  which the GPU box lacks; keys are deterministic, so they match the box's keys)
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(bash scripts/cuda-toolkit.sh)"
out=gpu-artifacts
rm -rf "$out" && mkdir -p "$out/lib" "$out/evm"

cargo build --release --locked -p zkonnx-cli
(cd gpu-prover && cargo build --release --locked)
# the one executable a `cargo test/bench --no-run` built
exe() {
  cargo "$@" --no-run --message-format=json | python3 -c '
import json, sys
exes = [m["executable"] for m in map(json.loads, sys.stdin)
        if m.get("reason") == "compiler-artifact" and m.get("executable") and "custom-build" not in m["target"]["kind"]]
print(exes[-1])'
}
cp "$(exe test --release --locked -p zkonnx-gpu --features cuda --test engines)" "$out/gpu-engines"
cp "$(exe bench --locked -p zkonnx-gpu --features cuda --bench msm_ntt)" "$out/gpu-msm-ntt"
strip -o "$out/zkonnx" target/release/zkonnx && xz -T0 -6 -f "$out/zkonnx"
strip -o "$out/zkonnx-gpu" gpu-prover/target/release/zkonnx-gpu
cp "$ZKONNX_CUDA_RUNTIME" "$out/lib/"

# the EVM verifier of each model scripts/gpu-check.sh proves (same command line, so the same keys)
source scripts/gpu-models.sh
for name in "${EVM_MODELS[@]}"; do
  read -r model input flags <<<"${GPU_MODELS[$name]}"
  dir="$out/evm/$name"
  mkdir -p "$dir"
  # shellcheck disable=SC2086
  target/release/zkonnx run -M "$model" -D "$input" --out "$dir/run" --gpu off $flags >/dev/null
  (cd "$dir/run" && ../../../../target/release/zkonnx create-evm-verifier --bytecode-path ../verifier.json \
     --sol-code-path ../verifier.sol >/dev/null)
  rm -rf "$dir/run"
done
du -sh "$out"/* | sed 's/^/  /'
du -sh "$out"
