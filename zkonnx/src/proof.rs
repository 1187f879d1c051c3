//! A proof with the public values it proves and its dequantized public outputs: the `proof.json`
//! artifact, its EVM calldata, and JSON for the wire.

use std::path::Path;

use halo2_proofs::halo2curves::bn256::Fr;
use zkonnx_verifier::{parse_json, read_json, to_json_value, write_json, ProofArtifact};

use crate::{Error, Result};

/// One proof. Made by [`crate::Prover::prove`], checked by [`crate::Verifier::verify`].
#[derive(Clone, Debug, PartialEq)]
pub struct Proof {
    artifact: ProofArtifact,
}

impl Proof {
    /// Wraps a proof artifact.
    pub fn from_artifact(artifact: ProofArtifact) -> Self {
        Self { artifact }
    }

    /// The proof artifact (`proof.json`'s content).
    pub fn artifact(&self) -> &ProofArtifact {
        &self.artifact
    }

    /// The public outputs, dequantized, in the model's output order (flat, row-major); empty
    /// when the outputs are private.
    pub fn outputs(&self) -> &[Vec<f64>] {
        &self.artifact.outputs
    }

    /// The public values (instance column) as `0x` + 32-byte big-endian hex: public inputs
    /// (in input order), then public outputs.
    pub fn public_values(&self) -> &[String] {
        &self.artifact.instances
    }

    /// The public values as field elements.
    pub fn instances(&self) -> Result<Vec<Fr>> {
        Ok(self.artifact.instances()?)
    }

    /// The proof bytes alone.
    pub fn proof_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.artifact.proof_bytes()?)
    }

    /// What an EVM verifier takes: the public values as 32-byte words, then the proof.
    pub fn calldata(&self) -> Result<Vec<u8>> {
        Ok(zkonnx_verifier_contracts::encode_calldata(&self.instances()?, &self.proof_bytes()?))
    }

    /// SHA-256 of the compiled model the proof was made for.
    pub fn model_hash(&self) -> &str {
        &self.artifact.model_hash
    }

    /// log2 of the circuit's rows.
    pub fn logrows(&self) -> u32 {
        self.artifact.logrows
    }

    /// The `proof.json` content as a JSON value, with the framing `write` uses (format and
    /// version fields).
    pub fn to_json_value(&self) -> Result<serde_json::Value> {
        to_json_value(&self.artifact).map_err(|e| json_err("a proof", e))
    }

    /// The `proof.json` text.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(&self.to_json_value()?).map_err(|e| json_err("a proof", e))
    }

    /// Parses `proof.json` text (as written by [`Self::to_json`] or `zkonnx prove`).
    pub fn from_json(text: &str) -> Result<Self> {
        Ok(Self { artifact: parse_json(Path::new("<proof JSON>"), text.as_bytes())? })
    }

    /// Writes `proof.json` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(write_json(path, &self.artifact)?)
    }

    /// Reads `proof.json`.
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self { artifact: read_json(path)? })
    }
}

fn json_err(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Json { what: what.into(), reason: e.to_string() }
}
