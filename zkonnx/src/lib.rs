//! `zkonnx`: zero-knowledge proofs of ONNX model inference, as a library.
//!
//! Give it an ONNX model and an input: it quantizes the model to fixed point, compiles it into a
//! halo2 circuit (PLONK over BN254 with KZG commitments, SHPLONK openings and a Keccak transcript
//! the EVM can replay), proves that the model produced the output, and verifies such proofs
//! natively or with a Solidity verifier.
//!
//! Place in the crate map: the front door over every other crate (`ir`, `compiler`, `circuits`,
//! `verifier`, `prover`, `verifier-contracts`, `gpu`); the CLI, the proving service, the
//! benchmarks and the fuzz targets go through it, and nothing below depends on it.
//!
//! ```
//! # fn main() -> zkonnx::Result<()> {
//! # let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/tiny");
//! # let tmp = tempfile::tempdir().expect("a temporary folder");
//! # let (model_path, input_path) = (format!("{fixtures}/gemm.onnx"), format!("{fixtures}/gemm.input.json"));
//! use zkonnx::{Artifacts, Model, Options, Prover, Silent, SrsSource, Verifier};
//!
//! let inputs = zkonnx::read_inputs(input_path.as_ref())?;               // EZKL's input format
//! let model = Model::load(&model_path, &Default::default())?;
//! let settings = model.settings(&[inputs.clone()], &Options::default())?;  // calibrate + lay out
//! let compiled = model.compile(settings)?;
//!
//! // INSECURE development SRS (SrsSource::dev() caches it for the user); a ceremony SRS in
//! // production: SrsSource::file("ppot-k20.srs")
//! let srs = SrsSource::dev_in(tmp.path().join("srs"));
//! let artifacts = Artifacts::create(tmp.path().join("out"))?;           // what `zkonnx run` writes
//! artifacts.write_compiled(&compiled)?;
//! let params = srs.load(compiled.settings.run_args.logrows, &Silent)?;
//! artifacts.setup(&compiled, &params, &Silent)?;                        // keys, reused when they belong
//!
//! let prover = Prover::from_artifacts(&artifacts, &srs, &Silent)?;      // once: Send + Sync
//! let proof = prover.prove(&inputs)?;                                   // per request
//! assert_eq!(proof.outputs().len(), 1);
//! let calldata = proof.calldata()?;                                     // for the EVM verifier
//! Verifier::from_artifacts(&artifacts, &srs, &Silent)?.verify(&proof)?;
//! # assert!(calldata.len() > 32);
//! # Ok(()) }
//! ```
//!
//! [`run::run`] does all of it in one call (what `zkonnx run` is). [`evm`] makes and checks
//! Solidity verifiers and talks to chains; the proving service (`zkonnx serve`) is the
//! `zkonnx-service` crate over this one.
//!
//! With `default-features = false` (no `onnx` feature) the crate builds without the ONNX stack
//! (tract): everything but [`Model`] and [`run`] works from compiled artifacts.

mod artifacts;
mod error;
pub mod evm;
pub mod gpu;
pub mod hash;
mod layout;
pub mod memory;
#[cfg(feature = "onnx")]
mod model;
mod options;
pub mod ppot;
mod progress;
mod proof;
mod prover;
#[cfg(feature = "onnx")]
pub mod run;
pub mod split;
mod srs;
mod verifier;

use std::path::Path;

pub use artifacts::{keygen, read_keys, write_keys, Artifacts};
pub use error::{Error, ErrorKind, Result};
pub use layout::{finish_compiled, layout_candidates};
#[cfg(feature = "onnx")]
pub use model::{Calibrated, Model};
pub use options::{parse_dims, parse_table_margin, parse_visibility, Optimize, Options, Target, DEFAULT_TABLE_MARGIN};
pub use progress::{Level, Progress, Silent};
pub use proof::Proof;
pub use prover::{witness, witness_from_file, Prover};
pub use srs::{dev_cache, SrsSource, INSECURE_SRS_WARNING};
pub use verifier::Verifier;
pub use zkonnx_circuits::cost::Objective;
/// The ONNX op types this release lowers, each with its supported forms and known limits.
#[cfg(feature = "onnx")]
pub use zkonnx_compiler::{supported_ops, OpSupport};

pub use zkonnx_ir::{dequantize_outputs, parse_inputs, quantize_inputs, RunArgs, Settings, Visibility};
pub use zkonnx_prover::Keys;
pub use zkonnx_verifier::{CompiledModel, ProofArtifact, Witness};

/// The crates below the front door, for what it does not wrap (the IR, chips, key files, the
/// EVM harness). Their APIs are less stable than this crate's.
pub mod lower {
    #[cfg(feature = "onnx")]
    pub use zkonnx_compiler as compiler;
    pub use zkonnx_verifier_contracts as contracts;
    pub use {
        zkonnx_circuits as circuits, zkonnx_gpu as gpu, zkonnx_ir as ir, zkonnx_prover as prover,
        zkonnx_verifier as verifier,
    };
}

/// The salts of hashed inputs and of hashed outputs in an input file (`"input_salts"`,
/// `"output_salts"`: one field element per tensor, decimal or `0x` hex strings; empty if none).
pub type InputSalts = (Vec<String>, Vec<String>);

/// Reads an input file once: its inputs (as [`read_inputs`]) and its optional salts.
pub fn read_input_file(path: &Path) -> Result<(Vec<Vec<f32>>, InputSalts)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let json =
        |e: zkonnx_ir::IrError| Error::Json { what: format!("input file {}", path.display()), reason: e.to_string() };
    Ok((parse_inputs(&bytes).map_err(json)?, zkonnx_ir::parse_salts(&bytes).map_err(json)?))
}

/// Reads an input file in EZKL's format (`{"input_data": [[flat floats of input 0], ...]}`).
pub fn read_inputs(path: &Path) -> Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_inputs(&bytes)
        .map_err(|e| Error::Json { what: format!("input file {}", path.display()), reason: e.to_string() })
}
