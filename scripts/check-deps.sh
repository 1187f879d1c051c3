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
# `zkonnx` (the front door) and `zkonnx-service` sit above every crate below
lower="zkonnx zkonnx-service"
forbid ir $lower zkonnx-aggregation zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-cli halo2_proofs tract-onnx tract-onnx-opl
forbid compiler $lower zkonnx-aggregation zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-cli halo2_proofs
forbid circuits $lower zkonnx-aggregation zkonnx-compiler zkonnx-verifier zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid verifier $lower zkonnx-aggregation zkonnx-compiler zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid prover $lower zkonnx-aggregation zkonnx-compiler zkonnx-cli tract-onnx tract-onnx-opl
# aggregation: segment proofs and the aggregation circuits, below the front door, beside the contracts
forbid aggregation $lower zkonnx-compiler zkonnx-verifier-contracts zkonnx-cli tract-onnx tract-onnx-opl
forbid verifier-contracts $lower zkonnx-aggregation zkonnx-compiler zkonnx-circuits zkonnx-prover zkonnx-cli tract-onnx tract-onnx-opl
forbid gpu $lower zkonnx-aggregation zkonnx-ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-verifier-contracts zkonnx-cli halo2_proofs tract-onnx tract-onnx-opl
forbid zkonnx zkonnx-service zkonnx-cli
# the service proves from artifacts: no ONNX stack, and the front door without its `onnx` feature
forbid service zkonnx-cli zkonnx-compiler tract-onnx tract-onnx-opl
if grep -qE '^\s*zkonnx\s*=.*onnx' service/Cargo.toml; then
  echo "error: service enables the zkonnx crate's onnx feature (the service must build without tract)" >&2
  status=1
fi
forbid benches zkonnx-cli
# the Python bindings wrap the front door alone
forbid python zkonnx-ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-verifier-contracts zkonnx-aggregation zkonnx-gpu zkonnx-cli zkonnx-service
# the example shows the library as a backend uses it: through the front door alone
forbid examples/dapp-backend zkonnx-ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-verifier-contracts zkonnx-aggregation zkonnx-gpu zkonnx-cli
# the CLI is clap and printing over the front door: its [dependencies] name no lower crate
# (its tests may, to tamper keys and proofs)
cli_deps=$(awk '/^\[/{sec=$0} sec=="[dependencies]"' cli/Cargo.toml)
for dep in zkonnx-ir zkonnx-compiler zkonnx-circuits zkonnx-verifier zkonnx-prover zkonnx-verifier-contracts zkonnx-aggregation zkonnx-gpu; do
  if grep -qE "^\s*$dep\s*=" <<<"$cli_deps"; then
    echo "error: cli depends on $dep directly; go through the zkonnx crate" >&2
    status=1
  fi
done
# the wheel's build (python/ alone) reuses the workspace's artifacts only when every third-party
# crate of its tree has the features the workspace's build gives it: python/Cargo.toml names them
feats() { cargo tree --locked "$@" -e features --prefix none | grep ' feature "' | sed 's/ (\*)//; s/ (command-line)//' | sort -u; }
py=$(feats -p zkonnx-python)
drift=$(comm -13 <(echo "$py") <(feats --workspace) | grep -v '^zkonnx' \
  | awk 'NR==FNR{c[$1]=1;next} ($1 in c)' <(echo "$py" | awk '{print $1}') - || true)
if [ -n "$drift" ]; then
  echo "error: the workspace's build turns on features the Python wheel's build lacks (add them to python/Cargo.toml's unification list, or the wheel rebuilds the whole tree):" >&2
  echo "$drift" >&2
  status=1
fi
[ $status -eq 0 ] && echo "crate map: no upward dependencies; the wheel's build reuses the workspace's"
exit $status
