//! `zkonnx-prover`: SRS generation and caching, key generation, witness generation and proving.
//!
//! Place in the crate map: `ir <- circuits <- verifier <- prover`. The prover reads the compiled
//! model (an IR graph), runs the reference interpreter to get the witness, and proves with
//! halo2 (KZG on BN254, SHPLONK, the Keccak transcript from `zkonnx-verifier`). The generic
//! halo2 calls live in this one crate behind concrete functions, so editing other crates does
//! not recompile them.

#[cfg(feature = "cuda")]
mod cuda;
mod error;
mod prove;
pub mod srs;

pub use error::ProverError;
pub use prove::{
    keygen, prove, prove_witness, prove_witness_of, read_keys_and_witness, srs_record, witness, Backend, Keys,
};
pub use srs::{generate_dev_srs, is_dev_srs, load_srs_for, reduce_srs, SrsCache};
