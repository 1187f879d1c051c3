#!/usr/bin/env bash
# Runs on a machine with an NVIDIA GPU, from the repository root, with gpu-artifacts/ from
# scripts/build-gpu.sh (no Rust, no network needed). Through the `device` tool:
#   run(command="bash scripts/gpu-check.sh", carry=["gpu-artifacts"])
# Writes to $OUT (else gpu-results/):
#   device.txt        the GPU, driver and glibc
#   engines.log       GPU-vs-CPU MSM/NTT tests with ZKONNX_REQUIRE_GPU=1 (they fail without a GPU)
#   msm_ntt.md        MSM and NTT times, CPU vs GPU, log n 16..24 (MSM_NTT_LOGS to change)
#   runs/<model>.jsonl  `zkonnx run --json` with --gpu off, then --gpu on (keys reused), per model
#   evm.log           the GPU proofs of EVM_MODELS checked by `zkonnx verify` and `verify-evm`
#   summary.md        the end-to-end table: prove seconds CPU vs GPU, and what failed
# GPU_CHECK_MODELS="mlp cnn_large_k20" limits the models (names in scripts/gpu-models.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
A=$PWD/gpu-artifacts
R=${OUT:-$PWD/gpu-results}
mkdir -p "$R/runs"
xz -dkf "$A/zkonnx.xz"
chmod +x "$A"/zkonnx "$A"/zkonnx-gpu "$A"/gpu-engines "$A"/gpu-msm-ntt
export LD_LIBRARY_PATH="$A/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export ZKONNX_GPU_PROVER="$A/zkonnx-gpu" ZKONNX_CACHE_DIR="$PWD/.gpu-cache"
Z="$A/zkonnx"

{ nvidia-smi -L; nvidia-smi --query-gpu=driver_version,memory.total --format=csv; ldd --version | head -1
  nproc; "$A/zkonnx-gpu" info; } >"$R/device.txt" 2>&1
cat "$R/device.txt"

ZKONNX_REQUIRE_GPU=1 "$A/gpu-engines" --test-threads=1 >"$R/engines.log" 2>&1
echo "engines: exit $?" | tee "$R/status.txt"
# shellcheck disable=SC2086
"$A/gpu-msm-ntt" ${MSM_NTT_LOGS:-16 17 18 19 20 21 22 23 24} >"$R/msm_ntt.md" 2>&1
echo "msm_ntt: exit $?" | tee -a "$R/status.txt"

source scripts/gpu-models.sh
names=${GPU_CHECK_MODELS:-$(printf '%s\n' "${!GPU_MODELS[@]}" | sort | tr '\n' ' ')}
for name in $names; do
  read -r model input flags <<<"${GPU_MODELS[$name]}"
  for gpu in off on; do
    # shellcheck disable=SC2086
    "$Z" run --json -M "$model" -D "$input" --out "$R/work/$name" --gpu "$gpu" $flags >>"$R/runs/$name.jsonl" \
      2>"$R/runs/$name.$gpu.log" || echo "{\"ok\":false,\"gpu\":\"$gpu\"}" >>"$R/runs/$name.jsonl"
  done
  echo "$name: $(tail -n 2 "$R/runs/$name.jsonl" | tr '\n' ' ' | cut -c1-160)"
done

: >"$R/evm.log"
for name in "${EVM_MODELS[@]}"; do
  w="$R/work/$name"
  tail -n 1 "$R/runs/$name.jsonl" 2>/dev/null | grep -q '"prover":"gpu"' \
    || { echo "evm $name: no GPU proof" | tee -a "$R/status.txt"; continue; }
  cp "$A/evm/$name/verifier.json" "$w/"
  (cd "$w" && echo "== $name" && "$Z" verify && "$Z" verify-evm) >>"$R/evm.log" 2>&1
  echo "evm $name: exit $?" | tee -a "$R/status.txt"
done

python3 - "$R" <<'PY'
import json, pathlib, sys
r = pathlib.Path(sys.argv[1])
rows = ["| model | logrows | prove CPU s | prove GPU s | CPU/GPU | GPU proof verified |", "|---|---|---|---|---|---|"]
for f in sorted((r / "runs").glob("*.jsonl")):
    runs = [json.loads(l) for l in f.read_text().splitlines() if l.strip()]
    cpu = next((x for x in runs if x.get("prover") == "cpu"), None)
    gpu = next((x for x in runs if x.get("prover") == "gpu"), None)
    c = cpu["phases"]["prove"] if cpu else None
    g = gpu["phases"]["prove"] if gpu else None
    k = (cpu or gpu or {}).get("logrows", "-")
    ratio = f"{c / g:.1f}x" if c and g else "-"
    fmt = lambda x: f"{x:.2f}" if x is not None else "failed"
    rows.append(f"| {f.stem} | {k} | {fmt(c)} | {fmt(g)} | {ratio} | {'yes' if gpu and gpu.get('ok') else 'NO'} |")
(r / "summary.md").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
PY
