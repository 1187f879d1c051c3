//! `proof.json`: the proof bytes with the public values they prove.

use serde::{Deserialize, Serialize};

use halo2_proofs::halo2curves::bn256::Fr;

use crate::artifact::JsonArtifact;
use crate::transcript::{fr_from_be, fr_to_be};
use crate::VerifyError;

/// The proof system and transcript every zkonnx proof uses.
pub const PROTOCOL: &str = "halo2-kzg-bn254-shplonk-keccak";

/// A proof with its public values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProofArtifact {
    /// Always [`PROTOCOL`].
    pub protocol: String,
    pub logrows: u32,
    /// Public values (instance column), each `0x` + 32 bytes big-endian: public inputs
    /// (flattened, in input order) then public outputs.
    pub instances: Vec<String>,
    /// `0x` + the proof bytes.
    pub proof: String,
    /// The public outputs dequantized, for people (empty when outputs are private).
    pub outputs: Vec<Vec<f64>>,
    /// SHA-256 of the compiled model the proof was made for.
    pub model_hash: String,
    /// Which public values are Poseidon commitments (`hashed` visibility; empty when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashed_public_values: Vec<zkonnx_ir::HashedValue>,
}

impl JsonArtifact for ProofArtifact {
    const FORMAT: &'static str = "zkonnx-proof";
    const VERSION: u32 = 1;
}

impl ProofArtifact {
    /// Packs proof bytes and public values.
    pub fn new(logrows: u32, instances: &[Fr], proof: &[u8], outputs: Vec<Vec<f64>>, model_hash: String) -> Self {
        Self {
            protocol: PROTOCOL.into(),
            logrows,
            instances: format_instances(instances),
            proof: format!("0x{}", hex::encode(proof)),
            outputs,
            model_hash,
            hashed_public_values: vec![],
        }
    }

    /// The same artifact, naming its hashed public values.
    pub fn with_hashed(mut self, hashed: Vec<zkonnx_ir::HashedValue>) -> Self {
        self.hashed_public_values = hashed;
        self
    }

    /// The public values as field elements.
    pub fn instances(&self) -> Result<Vec<Fr>, VerifyError> {
        parse_instances(&self.instances)
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        parse_proof_hex(&self.proof)
    }
}

/// Public values as proof files write them: `0x` + 32 bytes big-endian each.
pub fn format_instances(instances: &[Fr]) -> Vec<String> {
    instances.iter().map(|f| format!("0x{}", hex::encode(fr_to_be(f)))).collect()
}

/// Public values from proof files' strings (canonical field elements, `0x` + 32 bytes).
pub fn parse_instances(instances: &[String]) -> Result<Vec<Fr>, VerifyError> {
    instances
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let bad = |reason: &str| VerifyError::BadInstance { index, reason: reason.into() };
            let bytes = hex::decode(s.trim_start_matches("0x")).map_err(|_| bad("not hex"))?;
            let arr: [u8; 32] = bytes.try_into().map_err(|_| bad("not 32 bytes"))?;
            fr_from_be(&arr).ok_or_else(|| bad("not below the field modulus"))
        })
        .collect()
}

/// Proof bytes from a proof file's `0x` hex.
pub fn parse_proof_hex(proof: &str) -> Result<Vec<u8>, VerifyError> {
    hex::decode(proof.trim_start_matches("0x"))
        .map_err(|e| VerifyError::Rejected { reason: format!("proof is not hex: {e}") })
}
