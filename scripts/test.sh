#!/usr/bin/env bash
# The whole zkonnx test suite, from a fresh clone: the dependency-direction check, formatting, every test
# (optimized: proving at -O0 is unusable), and clippy with warnings as errors.
# Needs a Rust toolchain and Node (>= 18) with npm: fixtures are committed, the dev SRS is generated and
# cached, and the pinned JavaScript tools (solc-js for the Solidity verifiers) come from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/check-deps.sh
# the EVM tests compile Solidity offline with the pinned solc-js; cli/tests/evm_node.rs runs the pinned
# hardhat as a local chain (offline, on a free loopback port)
npm ci --no-audit --no-fund --loglevel=error
cargo fmt --all --check
cargo test --release --workspace --locked
cargo clippy --release --workspace --all-targets --locked -- -D warnings
