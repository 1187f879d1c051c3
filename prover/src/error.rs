//! Errors of proving.

use zkonnx_verifier::{ArtifactError, VerifyError};

/// What can go wrong while generating keys, witnesses or proofs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProverError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    // the lower error is in the message and not also a `source`: a chain printed whole (`{:#}`)
    // would otherwise say it twice
    #[error("witness: {0}")]
    Ir(zkonnx_ir::IrError),
    #[error("circuit: {0}")]
    Circuit(zkonnx_circuits::CircuitError),
    #[error("{phase} failed for a circuit with k = {k}: {reason}")]
    Halo2 { phase: &'static str, k: u32, reason: String },
    #[error("the SRS has k = {have}; this circuit needs k = {need}: run `zkonnx srs gen --logrows {need}` or pass a larger SRS")]
    SrsTooSmall { have: u32, need: u32 },
    #[error("k = {k} is outside 1..={max}")]
    BadK { k: u32, max: u32 },
    #[error("the witness outputs differ from what the model computes on its inputs (output {output}): the witness file was edited or belongs to another model")]
    WitnessMismatch { output: usize },
    #[error("no cache directory: set ZKONNX_CACHE_DIR or pass an SRS file")]
    NoCacheDir,
}

impl From<zkonnx_ir::IrError> for ProverError {
    fn from(e: zkonnx_ir::IrError) -> Self {
        Self::Ir(e)
    }
}

impl From<zkonnx_circuits::CircuitError> for ProverError {
    fn from(e: zkonnx_circuits::CircuitError) -> Self {
        Self::Circuit(e)
    }
}
