//! `zkonnx-verifier`: the artifact formats (settings, compiled model, keys, SRS, witness,
//! proof), native verification of zkonnx proofs, and the import of a ceremony SRS from a
//! snarkjs `.ptau` file ([`ptau`]).
//!
//! Place in the crate map: `ir <- circuits <- verifier <- prover`. A party that only checks
//! proofs needs this crate and nothing of the ONNX stack.
//!
//! Proofs are halo2 PLONK over BN254 with KZG commitments, SHPLONK multi-opening and a Keccak
//! transcript the EVM can replay ([`transcript`]). Every artifact carries a format version and
//! is written atomically (temp file + rename); reading a corrupt or unknown-version file is an
//! [`ArtifactError`] that names the file.

pub mod artifact;
pub mod container;
mod error;
mod key_layout;
pub mod keys;
mod proof;
pub mod ptau;
pub mod srs;
pub mod transcript;
mod verify;

pub use artifact::{parse_json, read_json, to_json_value, write_json, CompiledModel, JsonArtifact, Witness};
pub use error::{ArtifactError, VerifyError};
pub use proof::{format_instances, parse_instances, parse_proof_hex, ProofArtifact, PROTOCOL};
pub use srs::{read_srs, SrsOrigin, SrsRecord};
pub use verify::{verify_artifact, verify_proof_bytes};
