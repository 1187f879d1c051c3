#!/usr/bin/env bash
# zkonnx vs EZKL, side by side: installs EZKL (PyPI, pinned in benches/requirements.txt) into
# benches/.venv, builds the release binary, runs every model of the set through both tools and
# writes docs/benchmarks.md and docs/benchmarks.json. Takes about an hour on 2 cores (each run is stopped after ZKONNX_BENCH_TIMEOUT seconds, default 900); set
# ZKONNX_BENCH_ONLY=tiny/relu,mlp784 for a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x benches/.venv/bin/python ]; then
  python3 -m venv benches/.venv
fi
benches/.venv/bin/pip install --quiet --disable-pip-version-check -r benches/requirements.txt
cargo build --release -p zkonnx-cli
cargo bench -p zkonnx-benches --bench vs_ezkl
