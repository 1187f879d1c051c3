//! The aggregation tree of a split: its keys, its proofs and its cost estimate.

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use zkonnx_aggregation::cost::{estimate_node, node_proof_shape, NodeEstimate, ProofShape};
use zkonnx_aggregation::{
    keygen_node, prove_node, vk_hash, Child, Interface, Item, NodeKeys, NodeProof, NodeSpec, PoseidonProof,
};
use zkonnx_verifier::{read_json, write_json, CompiledModel};

use super::files::{NodeProofFile, SegmentProofFile, SplitManifest};
use super::{node_proof_path, segment_shape, Split};
use crate::progress::{timed, Level, Progress};
use crate::{Error, Result};

/// `aggregate/node-<i>.pk` under the split folder.
pub(super) fn node_pk_path(split: &Split, i: usize) -> PathBuf {
    split.dir.join("aggregate").join(format!("node-{i}.pk"))
}

/// `aggregate/node-<i>.vk`.
pub(super) fn node_vk_path(split: &Split, i: usize) -> PathBuf {
    split.dir.join("aggregate").join(format!("node-{i}.vk"))
}

/// The interface of an item of the plan.
fn item_interface(manifest: &SplitManifest, interfaces: &[Interface], item: Item) -> Result<Interface> {
    match item {
        Item::Segment(j) => manifest.segments.get(j).map(|s| s.interface),
        Item::Node(i) => interfaces.get(i).copied(),
    }
    .ok_or_else(|| Error::Layout {
        reason: format!("the aggregation plan names {item:?}, which comes later or does not exist"),
    })
}

/// Every node's interface, in plan order.
fn interfaces(split: &Split) -> Result<Vec<Interface>> {
    let m = &split.manifest;
    let mut out: Vec<Interface> = Vec::with_capacity(m.plan.nodes.len());
    for items in &m.plan.nodes {
        let kids = items.iter().map(|&it| item_interface(m, &out, it)).collect::<Result<Vec<_>>>()?;
        out.push(Interface::of_node(&kids)?);
    }
    Ok(out)
}

/// What the root's proofs expose.
pub(super) fn root_interface(split: &Split) -> Result<Interface> {
    interfaces(split)?.pop().ok_or_else(|| Error::Layout { reason: "the aggregation plan has no node".into() })
}

/// The verifying key of every item a node aggregates.
fn child_vk(split: &Split, item: Item) -> Result<VerifyingKey<G1Affine>> {
    match item {
        Item::Segment(j) => split.segment_vk(j),
        Item::Node(i) => Ok(zkonnx_aggregation::read_node_vk(&node_vk_path(split, i))?.0),
    }
}

/// Node `i`'s children: protocols, interfaces and verifying keys.
fn children(
    split: &Split,
    srs: &ParamsKZG<Bn256>,
    i: usize,
    interfaces: &[Interface],
) -> Result<Vec<(Child, VerifyingKey<G1Affine>)>> {
    let items = split.manifest.plan.nodes.get(i).cloned().unwrap_or_default();
    items
        .into_iter()
        .map(|item| {
            let vk = child_vk(split, item)?;
            let child = Child::new(srs, &vk, item_interface(&split.manifest, interfaces, item)?)?;
            Ok((child, vk))
        })
        .collect()
}

/// The keys of node `i`: read when they belong to its children (from the split folder, else from
/// the user's key cache, [`key_cache`]), else made and written to both.
fn node_keys(
    split: &Split,
    srs: &ParamsKZG<Bn256>,
    i: usize,
    kids: &[(Child, VerifyingKey<G1Affine>)],
    progress: &dyn Progress,
) -> Result<NodeKeys> {
    let refs: Vec<(Child, &VerifyingKey<G1Affine>)> = kids.iter().map(|(c, vk)| (c.clone(), vk)).collect();
    let spec = node_spec(&split.manifest, i);
    let record = zkonnx_prover::srs_record(srs);
    let (pk, vk) = (node_pk_path(split, i), node_vk_path(split, i));
    let usable = |path: &Path| -> Option<NodeKeys> {
        let keys = NodeKeys::read(path).ok()?;
        (keys.meta.srs == record && keys.check_for(path, &spec, &refs).is_ok()).then_some(keys)
    };
    if vk.exists() {
        if let Some(keys) = usable(&pk) {
            return Ok(keys);
        }
    }
    if let Some(parent) = pk.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    let cached = key_cache().map(|dir| dir.join(format!("{}.pk", key_id(&spec, &refs, &record))));
    if let Some(keys) = cached.as_deref().and_then(usable) {
        progress.note(Level::Info, &format!("aggregation node {i}: keys from the key cache"));
        keys.write(&pk, &vk)?;
        return Ok(keys);
    }
    let (keys, _) = timed(progress, &format!("setup aggregation node {i}"), || {
        keygen_node(srs, &refs, spec, record.clone()).map_err(Error::from)
    });
    let keys = keys?;
    keys.write(&pk, &vk)?;
    if let Some(cached) = cached {
        // a link when the cache is on the same file system (an aggregation key is gigabytes)
        let _ = cached.parent().map(std::fs::create_dir_all);
        let tmp = cached.with_extension("pk.tmp");
        let _ = std::fs::remove_file(&tmp);
        if std::fs::hard_link(&pk, &tmp).is_ok() || std::fs::copy(&pk, &tmp).is_ok() {
            let _ = std::fs::rename(&tmp, &cached);
        }
    }
    Ok(keys)
}

/// The user's cache of aggregation keys: `$ZKONNX_CACHE_DIR/aggregation`, else
/// `~/.cache/zkonnx/aggregation` (`None` without either). A node's keys depend only on its shape,
/// its children's keys and the SRS, so another split of the same model (another folder, or a
/// distributed run's driver) finds them there instead of spending minutes on key generation.
fn key_cache() -> Option<PathBuf> {
    // beside the development SRS cache: `$ZKONNX_CACHE_DIR/srs` or `~/.cache/zkonnx/srs`
    crate::srs::dev_cache().ok().and_then(|c| c.dir().parent().map(|p| p.join("aggregation")))
}

/// What names a node's keys in the cache: a hash of its spec, its children (interfaces and key
/// hashes) and the SRS.
fn key_id(spec: &NodeSpec, kids: &[(Child, &VerifyingKey<G1Affine>)], srs: &zkonnx_verifier::SrsRecord) -> String {
    use sha2::{Digest, Sha256};
    let children: Vec<(Interface, String)> = kids.iter().map(|(c, vk)| (c.interface, vk_hash(vk))).collect();
    let text = serde_json::json!({"spec": spec, "children": children, "srs": srs.g2_hash}).to_string();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Node `i`'s shape: the split's aggregation logrows; the root with its pinned columns.
fn node_spec(manifest: &SplitManifest, i: usize) -> NodeSpec {
    let root = i == manifest.plan.root();
    let spec = NodeSpec::new(manifest.aggregation_k, root);
    if root && manifest.root_advice > 0 {
        spec.with_min_columns(manifest.root_advice, manifest.root_advice.div_ceil(8))
    } else {
        spec
    }
}

/// Makes (or reuses) every node's keys, bottom-up; returns the interfaces.
pub(super) fn setup(split: &Split, srs: &ParamsKZG<Bn256>, progress: &dyn Progress) -> Result<Vec<Interface>> {
    let interfaces = interfaces(split)?;
    for i in 0..split.manifest.plan.nodes.len() {
        let kids = children(split, srs, i, &interfaces)?;
        node_keys(split, srs, i, &kids, progress)?;
    }
    Ok(interfaces)
}

/// Proves the tree over the segment proofs (checked by the caller); returns the root's proof
/// and interface. Inner proofs are written to `run` and kept there for a later call.
pub(super) fn prove(
    split: &Split,
    srs: &ParamsKZG<Bn256>,
    segments: Vec<SegmentProofFile>,
    run: &Path,
    progress: &dyn Progress,
) -> Result<(NodeProof, Interface)> {
    let interfaces = interfaces(split)?;
    let segment_proofs: Vec<PoseidonProof> = segments.into_iter().map(|s| s.proof).collect();
    let mut node_proofs: Vec<PoseidonProof> = Vec::new();
    let root = split.manifest.plan.root();
    for (i, items) in split.manifest.plan.nodes.iter().enumerate() {
        let kids = children(split, srs, i, &interfaces)?;
        let keys = node_keys(split, srs, i, &kids, progress)?;
        let refs: Vec<(Child, &VerifyingKey<G1Affine>)> = kids.iter().map(|(c, vk)| (c.clone(), vk)).collect();
        let proofs: Vec<PoseidonProof> = items
            .iter()
            .map(|item| match item {
                Item::Segment(j) => segment_proofs.get(*j).cloned(),
                Item::Node(n) => node_proofs.get(*n).cloned(),
            })
            .collect::<Option<_>>()
            .ok_or_else(|| Error::Layout { reason: format!("node {i} aggregates a proof not made yet") })?;
        let vk_hex = vk_hash(keys.pk.get_vk());
        if i != root {
            let path = node_proof_path(run, i);
            if let Ok(kept) = read_json::<NodeProofFile>(&path) {
                let fits = kept.vk_hash == vk_hex
                    && zkonnx_aggregation::verify_poseidon_proof(srs, keys.pk.get_vk(), &kept.proof).is_ok();
                if fits && expected_links_hold(&kept.proof, &proofs, &refs) {
                    progress.note(Level::Info, &format!("aggregation node {i}: kept the proof in {}", path.display()));
                    node_proofs.push(kept.proof);
                    continue;
                }
            }
        }
        let proof = prove_with(srs, i, &keys, &refs, &proofs, progress)?;
        if i == root {
            return Ok((proof, interfaces[i]));
        }
        let file = NodeProofFile { node: i, vk_hash: vk_hex, proof: proof.clone().into() };
        write_json(&node_proof_path(run, i), &file)?;
        node_proofs.push(proof.into());
    }
    Err(Error::Layout { reason: "the aggregation plan has no root".into() })
}

/// Node `i`'s proof over its children's `proofs`.
fn prove_with(
    srs: &ParamsKZG<Bn256>,
    i: usize,
    keys: &NodeKeys,
    refs: &[(Child, &VerifyingKey<G1Affine>)],
    proofs: &[PoseidonProof],
    progress: &dyn Progress,
) -> Result<NodeProof> {
    let (proof, _) =
        timed(progress, &format!("aggregate node {i}"), || prove_node(srs, keys, refs, proofs).map_err(Error::from));
    proof
}

/// Node `i` alone over its children's `proofs` (plan order), its keys read from the split folder
/// (made when missing): the proof, its verifying key's hash and what it exposes.
pub(super) fn prove_one(
    split: &Split,
    srs: &ParamsKZG<Bn256>,
    i: usize,
    proofs: &[PoseidonProof],
    progress: &dyn Progress,
) -> Result<(NodeProof, String, Interface)> {
    let interfaces = interfaces(split)?;
    let kids = children(split, srs, i, &interfaces)?;
    if kids.len() != proofs.len() {
        return Err(super::mismatch(
            &format!("aggregation node {i}"),
            format!("{} child proofs given, the node aggregates {}", proofs.len(), kids.len()),
        ));
    }
    let keys = node_keys(split, srs, i, &kids, progress)?;
    let refs: Vec<(Child, &VerifyingKey<G1Affine>)> = kids.iter().map(|(c, vk)| (c.clone(), vk)).collect();
    let proof = prove_with(srs, i, &keys, &refs, proofs, progress)?;
    Ok((proof, vk_hash(keys.pk.get_vk()), interfaces[i]))
}

/// The files of the split folder (relative paths) that proving node `i` alone reads: the
/// manifest, the node's keys, each child's verifying key (a segment's with its compiled
/// model), and for the root the last segment's compiled model (its outputs' scales).
pub(super) fn node_files(split: &Split, i: usize) -> Result<Vec<PathBuf>> {
    let items = split.manifest.plan.nodes.get(i).ok_or_else(|| {
        super::mismatch("aggregation node", format!("{i}: the plan has {} nodes", split.manifest.plan.nodes.len()))
    })?;
    let agg = |n: usize, ext: &str| PathBuf::from("aggregate").join(format!("node-{n}.{ext}"));
    let segment = |j: usize| -> Result<[PathBuf; 2]> {
        let dir = PathBuf::from(&split.entry(j)?.dir);
        Ok([dir.join("model.compiled"), dir.join("vk.key")])
    };
    let mut files = vec![PathBuf::from("split.json"), agg(i, "pk"), agg(i, "vk")];
    for item in items {
        match *item {
            Item::Segment(j) => files.extend(segment(j)?),
            Item::Node(n) => files.push(agg(n, "vk")),
        }
    }
    if i == split.manifest.plan.root() {
        let [compiled, _] = segment(split.len().saturating_sub(1))?;
        if !files.contains(&compiled) {
            files.push(compiled);
        }
    }
    Ok(files)
}

/// Whether a kept inner proof exposes what its children's proofs give now (the first child's
/// inputs, the last's outputs, every params hash): otherwise it belongs to another run.
fn expected_links_hold(
    kept: &PoseidonProof,
    proofs: &[PoseidonProof],
    kids: &[(Child, &VerifyingKey<G1Affine>)],
) -> bool {
    let interfaces: Vec<Interface> = kids.iter().map(|(c, _)| c.interface).collect();
    let Ok(node) = Interface::of_node(&interfaces) else { return false };
    let (Some(first), Some(last)) = (proofs.first(), proofs.last()) else { return false };
    let mut want = first.instances.get(interfaces[0].inputs_at()).unwrap_or_default().to_vec();
    let l = interfaces.len() - 1;
    want.extend_from_slice(last.instances.get(interfaces[l].outputs_at()).unwrap_or_default());
    for (p, c) in proofs.iter().zip(&interfaces) {
        want.extend_from_slice(p.instances.get(c.params_at()).unwrap_or_default());
    }
    let exposed = kept.instances.get(node.inputs_at().start..).unwrap_or_default();
    exposed == want.as_slice()
}

/// The cost model's estimates for a split, before any work: every segment's proving and setup
/// memory and every aggregation node's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SplitEstimate {
    /// Per segment: logrows and the predicted peak MiB of setup and of proving.
    pub segments: Vec<(u32, f64, f64)>,
    /// Per aggregation node, in proving order.
    pub nodes: Vec<NodeEstimate>,
}

impl SplitEstimate {
    /// The largest predicted peak of any step, MiB.
    pub fn peak_mb(&self) -> f64 {
        let seg = self.segments.iter().map(|s| s.1.max(s.2)).fold(0.0, f64::max);
        self.nodes.iter().map(|n| n.prove_mb).fold(seg, f64::max)
    }
}

pub(super) fn estimate(manifest: &SplitManifest, models: &[CompiledModel]) -> SplitEstimate {
    let segments = models
        .iter()
        .map(|m| {
            let s = segment_shape(m);
            (m.settings.run_args.logrows, s.predicted_setup_mb(), s.predicted_prove_mb())
        })
        .collect();
    let shapes: Vec<ProofShape> = models
        .iter()
        .zip(&manifest.segments)
        .map(|(m, e)| {
            let s = segment_shape(m);
            ProofShape::new(s.commitments(), s.fixed_columns + s.permutation_columns, e.interface)
        })
        .collect();
    let mut nodes: Vec<NodeEstimate> = Vec::new();
    let mut node_shapes: Vec<ProofShape> = Vec::new();
    for (i, items) in manifest.plan.nodes.iter().enumerate() {
        let kids: Vec<ProofShape> = items
            .iter()
            .filter_map(|it| match it {
                Item::Segment(j) => shapes.get(*j).copied(),
                Item::Node(n) => node_shapes.get(*n).copied(),
            })
            .collect();
        let est = estimate_node(&kids, manifest.aggregation_k, node_spec(manifest, i).min_advice);
        let interfaces: Vec<Interface> = kids.iter().map(|k| k.interface).collect();
        let interface = Interface::of_node(&interfaces).unwrap_or(Interface::segment(0, 0, 0));
        node_shapes.push(node_proof_shape(est.columns, interface));
        nodes.push(est);
    }
    SplitEstimate { segments, nodes }
}
