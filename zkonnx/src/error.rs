//! The one error type of the library, with a coarse [`ErrorKind`] for callers that map errors
//! to HTTP statuses or exception classes.

use std::path::PathBuf;

use zkonnx_aggregation::AggregationError;
use zkonnx_circuits::CircuitError;
#[cfg(feature = "onnx")]
use zkonnx_compiler::CompileError;
use zkonnx_gpu::GpuError;
use zkonnx_ir::IrError;
use zkonnx_prover::ProverError;
use zkonnx_verifier::{ArtifactError, VerifyError};
use zkonnx_verifier_contracts::ContractError;

/// Everything that can go wrong in the pipeline. Each variant keeps the lower crate's error,
/// which names the node, tensor, file or field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Loading or lowering an ONNX model, or calibrating it.
    #[cfg(feature = "onnx")]
    #[error(transparent)]
    Compile(Box<CompileError>),
    /// Input data, settings or the integer interpreter (a value out of range names its node).
    #[error(transparent)]
    Ir(Box<IrError>),
    /// Building or laying out the circuit.
    #[error(transparent)]
    Circuit(Box<CircuitError>),
    /// Reading or writing an artifact file (settings, compiled model, key, proof, SRS).
    #[error(transparent)]
    Artifact(Box<ArtifactError>),
    /// A proof that does not verify, or does not belong to the key and settings.
    #[error(transparent)]
    Verify(Box<VerifyError>),
    /// SRS handling, key generation or proving.
    #[error(transparent)]
    Prover(Box<ProverError>),
    /// Solidity verifiers, the EVM and JSON-RPC chains.
    #[error(transparent)]
    Contract(Box<ContractError>),
    /// GPU detection.
    #[error(transparent)]
    Gpu(Box<GpuError>),
    /// Segment proofs of a split model and their aggregation.
    #[error(transparent)]
    Aggregation(Box<AggregationError>),
    /// An option the caller passed that cannot be used (`option` names it).
    #[error("{option}: {reason}")]
    Option { option: String, reason: String },
    /// The circuit the settings describe cannot be built as asked.
    #[error("{reason}")]
    Layout { reason: String },
    /// A step's estimated peak memory exceeds what is available.
    #[error(
        "{step} needs an estimated {need_mb:.0} MiB of memory but only {have_mb:.0} MiB is available \
         (logrows {logrows}, {lanes} lanes): free memory, use a smaller model or coarser settings, or force it \
         (the limit is the least of MemAvailable, the cgroup's memory.max and $ZKONNX_MAX_MEMORY_MB)"
    )]
    Memory { step: &'static str, need_mb: f64, have_mb: f64, logrows: u32, lanes: usize },
    /// The GPU prover (the separate `zkonnx-gpu` binary) could not be used or failed.
    #[error("GPU prover: {reason}")]
    GpuProver { reason: String },
    /// An on-chain step with the insecure development SRS, not allowed.
    #[error(
        "{action}: the SRS is the INSECURE development SRS (a known secret): anyone could forge proofs the \
         verifier accepts. Use a ceremony SRS (`zkonnx srs fetch -k K` downloads the Perpetual Powers of Tau) for \
         the keys and the verifier, or allow the development SRS explicitly for tests"
    )]
    InsecureSrs { action: String },
    /// A download (`srs fetch`) failed or delivered the wrong bytes; nothing was kept.
    #[error("downloading {url}: {reason}")]
    Fetch { url: String, reason: String },
    /// A file or folder outside the artifact formats (an input file, the artifacts folder).
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    /// JSON that is not what the caller said it is (`what` names it).
    #[error("{what}: {reason}")]
    Json { what: String, reason: String },
}

/// `From` for each boxed lower error (boxed: the lower errors are large, and an `Err` is moved
/// through every call).
macro_rules! boxed_from {
    ($($(#[$m:meta])* $variant:ident($ty:ty)),* $(,)?) => {$(
        $(#[$m])*
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    #[cfg(feature = "onnx")]
    Compile(CompileError),
    Ir(IrError),
    Circuit(CircuitError),
    Artifact(ArtifactError),
    Verify(VerifyError),
    Prover(ProverError),
    Contract(ContractError),
    Gpu(GpuError),
    Aggregation(AggregationError),
);

/// What kind of failure an [`Error`] is, for callers that sort errors (an HTTP status, a Python
/// exception class).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller's input is wrong: input data of the wrong shape, a bad option, a value out of
    /// the calibrated range, malformed JSON.
    BadInput,
    /// The model uses an op or form this release does not support.
    Unsupported,
    /// A proof was checked and rejected, or belongs to another key.
    Verification,
    /// A file could not be read or written, or is corrupt.
    Io,
    /// Not enough memory, or a circuit above the supported size.
    Resources,
    /// Anything else (a failure inside proving, the EVM, a chain, a GPU).
    Internal,
}

impl Error {
    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            #[cfg(feature = "onnx")]
            Error::Compile(e) => match **e {
                CompileError::UnsupportedOp { .. } | CompileError::UnsupportedAttribute { .. } => {
                    ErrorKind::Unsupported
                }
                CompileError::NonConstant { .. } => ErrorKind::Unsupported,
                CompileError::Load { .. } => ErrorKind::Io,
                CompileError::TooLarge { .. } => ErrorKind::Resources,
                _ => ErrorKind::BadInput,
            },
            Error::Ir(_) | Error::Option { .. } | Error::Json { .. } | Error::InsecureSrs { .. } => ErrorKind::BadInput,
            Error::Prover(e) if matches!(**e, ProverError::WitnessMismatch { .. } | ProverError::Ir(_)) => {
                ErrorKind::BadInput
            }
            Error::Prover(e) if matches!(**e, ProverError::Artifact(_)) => ErrorKind::Io,
            Error::Verify(e) if matches!(**e, VerifyError::Artifact(_)) => ErrorKind::Io,
            Error::Verify(_) => ErrorKind::Verification,
            Error::Artifact(_) | Error::Io { .. } | Error::Fetch { .. } => ErrorKind::Io,
            Error::Memory { .. } | Error::Layout { .. } => ErrorKind::Resources,
            Error::Aggregation(e) => match **e {
                AggregationError::Mismatch { .. } => ErrorKind::BadInput,
                AggregationError::Rejected { .. } | AggregationError::Verify(_) => ErrorKind::Verification,
                AggregationError::Artifact(_) => ErrorKind::Io,
                _ => ErrorKind::Internal,
            },
            Error::Circuit(_) | Error::Prover(_) | Error::Contract(_) | Error::Gpu(_) | Error::GpuProver { .. } => {
                ErrorKind::Internal
            }
        }
    }

    pub(crate) fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Error::Io { path: path.to_path_buf(), error }
    }
}

/// `Result` with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
