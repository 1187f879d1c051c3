//! Errors of reading, writing and checking artifacts.

use std::path::PathBuf;

/// What can go wrong with an artifact file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    // the I/O error is shown, not chained as a `source`: chained, it would print twice
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: not a valid {kind} file: {reason}")]
    Parse { path: PathBuf, kind: &'static str, reason: String },
    #[error("{path}: expected a {expected} file, found `{got}`")]
    WrongKind { path: PathBuf, expected: &'static str, got: String },
    #[error(
        "{path}: {kind} format version {got} is not supported (this zkonnx reads version {expected}); regenerate it"
    )]
    Version { path: PathBuf, kind: &'static str, expected: u32, got: u32 },
    #[error("{path}: corrupt {kind} file: {reason}")]
    Corrupt { path: PathBuf, kind: &'static str, reason: String },
    #[error("{path}: this {kind} was not made for these settings: {reason}; run `zkonnx setup` again")]
    Mismatch { path: PathBuf, kind: &'static str, reason: String },
    #[error(
        "{path}: the key was made with the SRS {key}, but the SRS given is {given}: pass the SRS the key was \
         made with (`--srs`), or run `zkonnx setup` again with this one"
    )]
    OtherSrs { path: PathBuf, key: String, given: String },
    #[error("{path}: {kind} k = {k} is outside the supported range 1..={max}")]
    TooLarge { path: PathBuf, kind: &'static str, k: u32, max: u32 },
    #[error(
        "{field}[{index}] = `{value}` is not a salt: expected a field element below BN254's scalar modulus, in \
         decimal or 0x hex"
    )]
    BadSalt { field: &'static str, index: usize, value: String },
}

/// Why a proof was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("the SRS has k = {srs_k}, the verifying key needs k = {vk_k}: use an SRS at least that large")]
    SrsTooSmall { srs_k: u32, vk_k: u32 },
    #[error("the settings expect {expected} public values, the proof carries {got}")]
    InstanceCount { expected: usize, got: usize },
    #[error("the verifying key belongs to a circuit with k = {vk_k}, the settings say logrows = {settings_k}")]
    KeyMismatch { vk_k: u32, settings_k: u32 },
    #[error("public value {index} is not a field element: {reason}")]
    BadInstance { index: usize, reason: String },
    #[error("the proof does not verify: {reason}")]
    Rejected { reason: String },
}
