//! The files of a split model: the manifest (`split.json`), each segment's proof and the
//! aggregated proof.

use halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};
use zkonnx_aggregation::{Interface, Plan, PoseidonProof};
use zkonnx_verifier::{format_instances, parse_instances, parse_proof_hex, JsonArtifact, VerifyError};

/// `split.json`: how a compiled model was split and how its proofs are aggregated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SplitManifest {
    /// Hash of the whole compiled model (`model.compiled` in the folder).
    pub model_hash: String,
    /// The segments, in order.
    pub segments: Vec<SegmentEntry>,
    /// Children per aggregation node.
    pub fan_in: usize,
    /// log2 of the rows of every aggregation circuit.
    pub aggregation_k: u32,
    /// Which proofs each aggregation node verifies (the last node is the root).
    pub plan: Plan,
    /// The least advice columns of the root (0: as its cells need; see
    /// [`super::SplitOptions::root_advice`]).
    #[serde(default)]
    pub root_advice: usize,
}

impl JsonArtifact for SplitManifest {
    const FORMAT: &'static str = "zkonnx-split";
    const VERSION: u32 = 1;
}

/// One segment: where the cuts around it are and what its proofs expose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SegmentEntry {
    /// Its folder under the split folder (`segment-<j>`), holding `model.compiled`,
    /// `settings.json` and the keys.
    pub dir: String,
    /// Hash of the segment's compiled model.
    pub model_hash: String,
    /// The whole model's tensors it takes and hands on (node ids of `model.compiled`).
    pub carries_in: Vec<usize>,
    pub carries_out: Vec<usize>,
    /// Its public values.
    pub interface: Interface,
    pub logrows: u32,
}

/// A segment's proof (`proof-<j>.json`): the Poseidon-transcript proof with what it proves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SegmentProofFile {
    pub segment: usize,
    /// Hash of the segment's compiled model.
    pub segment_hash: String,
    /// Hash of the whole compiled model.
    pub model_hash: String,
    #[serde(flatten)]
    pub proof: PoseidonProof,
}

impl JsonArtifact for SegmentProofFile {
    const FORMAT: &'static str = "zkonnx-segment-proof";
    const VERSION: u32 = 1;
}

/// An inner aggregation node's proof (`node-<i>.json`), kept so an interrupted aggregation
/// resumes where it stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeProofFile {
    pub node: usize,
    /// Hex SHA-256 of the node's verifying key.
    pub vk_hash: String,
    #[serde(flatten)]
    pub proof: PoseidonProof,
}

impl JsonArtifact for NodeProofFile {
    const FORMAT: &'static str = "zkonnx-node-proof";
    const VERSION: u32 = 1;
}

/// The proof system of aggregated proofs: zkonnx's (Keccak transcript) with a KZG accumulator.
pub const AGGREGATED_PROTOCOL: &str = "halo2-kzg-bn254-shplonk-keccak+kzg-accumulator";

/// `aggregated.json`: one proof for the whole split model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AggregatedProof {
    /// Always [`AGGREGATED_PROTOCOL`].
    pub protocol: String,
    /// Hash of the whole compiled model.
    pub model_hash: String,
    pub segments: usize,
    pub logrows: u32,
    /// Public values, each `0x` + 32 bytes big-endian: the accumulator's limbs, then the
    /// model's public inputs (or their hashes), public outputs (or theirs) and each segment's
    /// params hash.
    pub instances: Vec<String>,
    /// What the public values hold.
    pub interface: Interface,
    /// `0x` + the proof bytes.
    pub proof: String,
    /// The public outputs dequantized, for people (empty when they are private or hashed).
    pub outputs: Vec<Vec<f64>>,
}

impl JsonArtifact for AggregatedProof {
    const FORMAT: &'static str = "zkonnx-aggregated-proof";
    const VERSION: u32 = 1;
}

impl AggregatedProof {
    pub(crate) fn new(
        model_hash: String,
        segments: usize,
        logrows: u32,
        interface: Interface,
        instances: &[Fr],
        proof: &[u8],
    ) -> Self {
        Self {
            protocol: AGGREGATED_PROTOCOL.into(),
            model_hash,
            segments,
            logrows,
            instances: format_instances(instances),
            interface,
            proof: format!("0x{}", hex::encode(proof)),
            outputs: vec![],
        }
    }

    /// The public values as field elements.
    pub fn instances(&self) -> Result<Vec<Fr>, VerifyError> {
        parse_instances(&self.instances)
    }

    /// The proof bytes.
    pub fn proof_bytes(&self) -> Result<Vec<u8>, VerifyError> {
        parse_proof_hex(&self.proof)
    }

    /// What an EVM verifier of the aggregation takes: the public values as 32-byte words, then
    /// the proof.
    pub fn calldata(&self) -> Result<Vec<u8>, VerifyError> {
        Ok(zkonnx_verifier_contracts::encode_calldata(&self.instances()?, &self.proof_bytes()?))
    }
}
