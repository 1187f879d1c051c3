//! `zkonnx-benches`: end-to-end benchmarks (see `benches/e2e.rs`).
//!
//! They run the released `zkonnx` binary, one process per model and run, so each run's peak
//! memory is its own; the crate itself has no code.
