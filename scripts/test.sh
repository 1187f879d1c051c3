#!/usr/bin/env bash
# The whole zkonnx test suite, from a fresh clone: the dependency-direction check, formatting, every test
# (optimized: proving at -O0 is unusable), and clippy with warnings as errors.
# Needs only a Rust toolchain: fixtures are committed, the dev SRS is generated and cached.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/check-deps.sh
cargo fmt --all --check
cargo test --release --workspace --locked
cargo clippy --release --workspace --all-targets --locked -- -D warnings
