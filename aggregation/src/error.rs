//! Errors of segment proofs and aggregation.

use zkonnx_verifier::{ArtifactError, VerifyError};

/// What can go wrong while proving segments, aggregating them or verifying the result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregationError {
    #[error(transparent)]
    Artifact(Box<ArtifactError>),
    #[error(transparent)]
    Verify(Box<VerifyError>),
    #[error(transparent)]
    Prover(Box<zkonnx_prover::ProverError>),
    #[error("circuit: {0}")]
    Circuit(Box<zkonnx_circuits::CircuitError>),
    #[error("{phase} failed for a circuit with k = {k}: {reason}")]
    Halo2 { phase: &'static str, k: u32, reason: String },
    #[error("the SRS has k = {have}; this circuit needs k = {need}: run `zkonnx srs gen --logrows {need}` or pass a larger SRS")]
    SrsTooSmall { have: u32, need: u32 },
    /// A proof (segment, node or aggregated) that does not verify.
    #[error("the proof does not verify: {reason}")]
    Rejected { reason: String },
    /// Proofs that do not fit together: a boundary whose digests differ, proofs in another
    /// order, a wrong number of public values.
    #[error("{what}: {reason}")]
    Mismatch { what: String, reason: String },
    /// An aggregation node's parameters that cannot be built.
    #[error("aggregation node: {reason}")]
    BadNode { reason: String },
}

/// `From` for each boxed lower error (boxed: they are large, and an `Err` moves through every call).
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for AggregationError {
            fn from(e: $ty) -> Self {
                AggregationError::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Artifact(ArtifactError),
    Verify(VerifyError),
    Prover(zkonnx_prover::ProverError),
    Circuit(zkonnx_circuits::CircuitError),
);
