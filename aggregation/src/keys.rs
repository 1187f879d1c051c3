//! Aggregation node keys: key generation and the key files.
//!
//! An aggregation circuit's verifying key embeds its children's verifying keys (they are
//! constants of the in-circuit verifier), so a node's keys belong to exactly the children they
//! were made for; the file records the children's interfaces and key hashes to tell a stale key
//! from a good one. File: a [`zkonnx_verifier::container`] (`ZKONNXAK` for the proving key,
//! `ZKONNXAV` for the verifying key) with [`NodeMeta`] as JSON and halo2's key bytes.

use std::io::Cursor;
use std::path::Path;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use zkonnx_verifier::artifact::{read_bytes, write_atomic};
use zkonnx_verifier::container::{decode, encode};
use zkonnx_verifier::keys::guarded;
use zkonnx_verifier::{ArtifactError, SrsRecord};

use crate::circuit::{spread_rows, NodeCircuit};
use crate::node::{build, Child, Interface, NodeShape};
use crate::srs::fit;
use crate::AggregationError;

const PK_MAGIC: &[u8; 8] = b"ZKONNXAK";
const VK_MAGIC: &[u8; 8] = b"ZKONNXAV";
/// Version of the aggregation key file format.
pub const AGGREGATION_KEY_VERSION: u32 = 1;
/// Rows halo2-base keeps free at the end of each column (its blinding rows and more).
const MINIMUM_ROWS: usize = 20;
/// Smallest and largest `k` of an aggregation circuit (its range table has `2^(k-1)` rows).
pub const MIN_AGGREGATION_K: u32 = 18;
pub const MAX_AGGREGATION_K: u32 = zkonnx_ir::limits::MAX_LOGROWS;

/// What an aggregation key file says besides the key: enough to rebuild the circuit.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeMeta {
    /// Size, columns and break points of the circuit.
    pub shape: NodeShape,
    /// The node's own interface (what its proofs expose).
    pub interface: Interface,
    /// Each child's interface.
    pub children: Vec<Interface>,
    /// Hex SHA-256 of each child's verifying key, in order.
    pub children_vks: Vec<String>,
    /// What was asked of its shape; `spec.root`: its proofs use the EVM's Keccak transcript (the
    /// others the Poseidon transcript their parent replays).
    pub spec: NodeSpec,
    /// The SRS the key was made with.
    pub srs: SrsRecord,
}

/// A node's proving key (which holds its verifying key) and what it was made for.
#[derive(Debug)]
pub struct NodeKeys {
    pub pk: ProvingKey<G1Affine>,
    pub meta: NodeMeta,
}

/// Hex SHA-256 of a verifying key's bytes (how a node names its children's keys).
pub fn vk_hash(vk: &VerifyingKey<G1Affine>) -> String {
    let mut bytes = Vec::new();
    // writing into a Vec cannot fail
    let _ = vk.write(&mut bytes, SerdeFormat::RawBytes);
    Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// What shape a node's circuit takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeSpec {
    /// The circuit has `2^k` rows (its range table `2^(k-1)`).
    pub k: u32,
    /// Whether the node is the root (Keccak transcript: the EVM verifies it).
    pub root: bool,
    /// At least this many advice columns, and lookup-advice columns: a root pinned to one shape
    /// has the same verifier, and the same verify gas, whatever it aggregates (more columns than
    /// its cells need only cost memory; the cells are spread over all of them, see
    /// the `circuit` module). 0: as many as the cells need.
    pub min_advice: usize,
    pub min_lookup_advice: usize,
}

impl NodeSpec {
    /// A node at `2^k` rows with the columns its cells need.
    pub fn new(k: u32, root: bool) -> Self {
        Self { k, root, min_advice: 0, min_lookup_advice: 0 }
    }

    /// The same spec with at least `advice` advice and `lookup` lookup-advice columns.
    pub fn with_min_columns(self, advice: usize, lookup: usize) -> Self {
        Self { min_advice: advice, min_lookup_advice: lookup, ..self }
    }
}

/// Generates the keys of the node aggregating `children` (with dummy proofs of their shape), at
/// `2^spec.k` rows with as many advice columns as the in-circuit verifiers need (at least the
/// spec's), its cells spread evenly over them.
pub fn keygen_node(
    srs: &ParamsKZG<Bn256>,
    children: &[(Child, &VerifyingKey<G1Affine>)],
    spec: NodeSpec,
    srs_record: SrsRecord,
) -> Result<NodeKeys, AggregationError> {
    let k = spec.k;
    if !(MIN_AGGREGATION_K..=MAX_AGGREGATION_K).contains(&k) {
        return Err(AggregationError::BadNode {
            reason: format!("k = {k} is outside {MIN_AGGREGATION_K}..={MAX_AGGREGATION_K}"),
        });
    }
    if spec.min_advice > 256 || spec.min_lookup_advice > 256 {
        return Err(AggregationError::BadNode { reason: format!("{spec:?}: at most 256 columns of each kind") });
    }
    let srs_k = fit(srs, k)?;
    let kids: Vec<Child> = children.iter().map(|(c, _)| c.clone()).collect();
    let config = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
    let mut circuit = build(CircuitBuilderStage::Keygen, config, &srs_k, &kids, None)?;
    let mut config = circuit.calculate_params(Some(MINIMUM_ROWS));
    if config.num_advice < spec.min_advice || config.num_lookup_advice < spec.min_lookup_advice {
        config.num_advice = config.num_advice.max(spec.min_advice);
        config.num_lookup_advice = config.num_lookup_advice.max(spec.min_lookup_advice);
        circuit.set_params(config);
    }
    let usable_rows = spread_rows(&circuit, &config, (1 << k) - MINIMUM_ROWS);
    let circuit = NodeCircuit::new(circuit, usable_rows);
    let halo2 = |phase| move |e| AggregationError::Halo2 { phase, k, reason: format!("{e:?}") };
    let vk = keygen_vk(srs_k.as_ref(), &circuit).map_err(halo2("aggregation verifying-key generation"))?;
    let pk = keygen_pk(srs_k.as_ref(), vk, &circuit).map_err(halo2("aggregation proving-key generation"))?;
    let shape = NodeShape { config, break_points: circuit.inner.break_points(), usable_rows };
    let interfaces: Vec<Interface> = kids.iter().map(|c| c.interface).collect();
    let meta = NodeMeta {
        shape,
        interface: Interface::of_node(&interfaces)?,
        children: interfaces,
        children_vks: children.iter().map(|(_, vk)| vk_hash(vk)).collect(),
        spec,
        srs: srs_record,
    };
    Ok(NodeKeys { pk, meta })
}

impl NodeKeys {
    /// Checks that these keys were made to `spec` for exactly `children` (their interfaces and
    /// verifying keys).
    pub fn check_for(
        &self,
        path: &Path,
        spec: &NodeSpec,
        children: &[(Child, &VerifyingKey<G1Affine>)],
    ) -> Result<(), ArtifactError> {
        if &self.meta.spec != spec {
            return Err(ArtifactError::Mismatch {
                path: path.to_path_buf(),
                kind: "aggregation key",
                reason: format!("it was made for {:?}, {spec:?} is asked for", self.meta.spec),
            });
        }
        self.check_children(path, children)
    }

    /// Checks that these keys aggregate exactly `children` (their interfaces and verifying keys).
    pub fn check_children(
        &self,
        path: &Path,
        children: &[(Child, &VerifyingKey<G1Affine>)],
    ) -> Result<(), ArtifactError> {
        let interfaces: Vec<Interface> = children.iter().map(|(c, _)| c.interface).collect();
        let vks: Vec<String> = children.iter().map(|(_, vk)| vk_hash(vk)).collect();
        if interfaces != self.meta.children || vks != self.meta.children_vks {
            return Err(ArtifactError::Mismatch {
                path: path.to_path_buf(),
                kind: "aggregation key",
                reason: "it was made for other children (another split, or segment keys made again)".into(),
            });
        }
        Ok(())
    }

    /// The proving key file's bytes.
    pub fn pk_bytes(&self) -> Vec<u8> {
        let mut body = Vec::new();
        let _ = self.pk.write(&mut body, SerdeFormat::RawBytesUnchecked);
        encode(PK_MAGIC, AGGREGATION_KEY_VERSION, &meta_json(&self.meta), &body)
    }

    /// The verifying key file's bytes.
    pub fn vk_bytes(&self) -> Vec<u8> {
        vk_file_bytes(self.pk.get_vk(), &self.meta)
    }

    /// Writes both key files (each through a temporary file and a rename).
    pub fn write(&self, pk: &Path, vk: &Path) -> Result<(), ArtifactError> {
        write_atomic(pk, &self.pk_bytes())?;
        write_atomic(vk, &self.vk_bytes())
    }

    /// Reads a proving key file.
    pub fn read(path: &Path) -> Result<Self, ArtifactError> {
        let bytes = read_bytes(path)?;
        let (meta, body) = decode(path, "aggregation proving key", PK_MAGIC, AGGREGATION_KEY_VERSION, &bytes)?;
        let meta = parse_meta(path, "aggregation proving key", meta)?;
        let params = (meta.shape.config, meta.shape.usable_rows);
        let pk = guarded(path, "aggregation proving key", || {
            ProvingKey::<G1Affine>::read::<_, NodeCircuit>(
                &mut Cursor::new(body),
                SerdeFormat::RawBytesUnchecked,
                params,
            )
        })?;
        Ok(Self { pk, meta })
    }
}

fn vk_file_bytes(vk: &VerifyingKey<G1Affine>, meta: &NodeMeta) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = vk.write(&mut body, SerdeFormat::RawBytes);
    encode(VK_MAGIC, AGGREGATION_KEY_VERSION, &meta_json(meta), &body)
}

/// Reads an aggregation verifying key file (the root's is what a verifier needs).
pub fn read_node_vk(path: &Path) -> Result<(VerifyingKey<G1Affine>, NodeMeta), ArtifactError> {
    let bytes = read_bytes(path)?;
    let kind = "aggregation verifying key";
    let (meta, body) = decode(path, kind, VK_MAGIC, AGGREGATION_KEY_VERSION, &bytes)?;
    let meta = parse_meta(path, kind, meta)?;
    let params = (meta.shape.config, meta.shape.usable_rows);
    let vk = guarded(path, kind, || {
        VerifyingKey::<G1Affine>::read::<_, NodeCircuit>(&mut Cursor::new(body), SerdeFormat::RawBytes, params)
    })?;
    Ok((vk, meta))
}

fn meta_json(meta: &NodeMeta) -> Vec<u8> {
    serde_json::to_vec(meta).unwrap_or_default()
}

fn parse_meta(path: &Path, kind: &'static str, bytes: &[u8]) -> Result<NodeMeta, ArtifactError> {
    let corrupt = |reason: String| ArtifactError::Corrupt { path: path.to_path_buf(), kind, reason };
    let meta: NodeMeta = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("metadata: {e}")))?;
    let c = &meta.shape.config;
    // bound what `configure` allocates before halo2 reads the key
    if !(MIN_AGGREGATION_K..=MAX_AGGREGATION_K).contains(&c.degree)
        || c.lookup_bits as u32 >= c.degree
        || c.num_advice == 0
        || c.num_advice > 256
        || c.num_lookup_advice > 256
        || c.num_fixed > 256
        || meta.shape.usable_rows.is_some_and(|r| r == 0 || r >= 1 << c.degree)
    {
        return Err(corrupt(format!("circuit shape out of bounds: {c:?}")));
    }
    Ok(meta)
}
