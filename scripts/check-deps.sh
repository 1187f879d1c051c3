#!/usr/bin/env bash
# Fails when a crate depends "upward" in the crate map (see ARCHITECTURE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
forbid() { # crate, forbidden deps...
  local crate=$1; shift
  for dep in "$@"; do
    if grep -qE "^\s*\"?$dep\"?\s*=" "$crate/Cargo.toml"; then
      echo "error: $crate depends on $dep, which is above it in the crate map" >&2
      status=1
    fi
  done
}
forbid ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-cli halo2_proofs tract-onnx tract-onnx-opl
forbid compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-cli halo2_proofs
forbid circuits zkonnx-compiler zkonnx-verifier zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid verifier zkonnx-compiler zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid prover zkonnx-compiler zkonnx-cli tract-onnx tract-onnx-opl
forbid verifier-contracts zkonnx-compiler zkonnx-circuits zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid gpu zkonnx-ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-verifier-contracts zkonnx-cli halo2_proofs tract-onnx tract-onnx-opl
forbid benches zkonnx-cli
[ $status -eq 0 ] && echo "crate map: no upward dependencies"
exit $status
