#!/usr/bin/env bash
# The whole zkonnx test suite, from a fresh clone: the dependency-direction check, formatting, every test
# (optimized: proving at -O0 is unusable), and clippy with warnings as errors.
# Needs a Rust toolchain, Node (>= 18) with npm, Python 3 with venv, and gcc: fixtures are committed, the dev SRS
# is generated and cached, the pinned JavaScript tools come from package-lock.json, and the pinned Python
# packages (onnx, whose backend test models the conformance test runs) from fixtures/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/check-deps.sh
# the EVM tests compile Solidity offline with the pinned solc-js; cli/tests/evm_node.rs runs the pinned
# hardhat as a local chain (offline, on a free loopback port)
npm ci --no-audit --no-fund --loglevel=error
# compiler/tests/conformance.rs exports the onnx package's PyTorch-converted test models with this venv
[ -x fixtures/.venv/bin/python ] || python3 -m venv fixtures/.venv
fixtures/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r fixtures/requirements.txt
cargo fmt --all --check
cargo test --release --workspace --locked --no-run
# The split-and-aggregate test (about 8 minutes, 12 GB at its peak) runs beside the others: much of
# an aggregation proof is halo2-base's single-threaded synthesis, and the rest of the suite fills
# the idle core meanwhile (their peaks are small). Its output follows theirs.
split_log=target/split-test.log
cargo test --release --workspace --locked --test split >"$split_log" 2>&1 &
split_test=$!
cargo test --release --workspace --locked -- \
  --skip a_split_model_proves_as_one_aggregated_proof --skip bad_split_requests_are_refused_by_name
split_status=0
wait "$split_test" || split_status=$?
cat "$split_log"
[ "$split_status" -eq 0 ] || { echo "error: cli/tests/split.rs failed" >&2; exit "$split_status"; }
# the Python package, the way a user installs it (`pip install ./python`: maturin from PyPI, reusing the
# workspace's build in target/), then its pytest suite, which also runs the CLI binary the cargo tests built
fixtures/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
fixtures/.venv/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
fixtures/.venv/bin/python -m pytest -q -p no:cacheprovider python/tests
cargo clippy --release --workspace --all-targets --locked -- -D warnings
# the CUDA path, which the lines above never build: with the pinned nvcc from PyPI (no GPU needed), the
# GPU engine (sppark MSM/NTT) is compiled and linked, and its GPU tests run (they skip loudly here);
# the GPU prover (halo2-axiom-gpu, its own workspace) has its CUDA sources compiled and its Rust checked
(
  eval "$(bash scripts/cuda-toolkit.sh)"
  cargo test --release --locked -p zkonnx-gpu --features cuda -- --nocapture
  cargo clippy --release --locked -p zkonnx-gpu --features cuda --all-targets -- -D warnings
  cd gpu-prover && cargo fmt --check && cargo clippy --release --locked -- -D warnings
)
