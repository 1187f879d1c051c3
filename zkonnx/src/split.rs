//! Models bigger than one circuit: a compiled model split into segments, each proved by its own
//! circuit, and one aggregated proof of them all.
//!
//! A split folder holds `split.json` ([`SplitManifest`]), the whole `model.compiled`, and one
//! folder per segment (`segment-<j>/`: its `model.compiled`, `settings.json`, `vk.key`,
//! `pk.key`); the aggregation's keys go to `aggregate/node-<i>.pk|vk` the first time they are
//! needed. A run's files (witnesses, segment proofs, inner node proofs, `aggregated.json`) go
//! to any folder, the split folder by default.
//!
//! - [`Split::create`] cuts the model ([`SplitPolicy`]) and writes the segments;
//! - [`Split::setup`] makes the segments' keys (reused when they belong);
//! - [`Split::witnesses`] runs the segments in order on the model's inputs, with fresh random
//!   salts for every boundary (the boundary tensors stay private; only salted digests are
//!   public);
//! - [`Split::prove_segment`] proves one segment from its witness: a stateless, resumable job
//!   (an existing proof that belongs and verifies is kept), the unit a distributed engine
//!   schedules;
//! - [`Split::aggregate`] checks the segment proofs (each verifies, consecutive boundary digests
//!   agree) and proves the aggregation tree bottom-up (an existing inner proof is kept);
//! - [`Split::prove_node`] proves one aggregation node from its children's proofs: the job a
//!   distributed engine schedules per node, so that one level's nodes run in parallel;
//! - [`Split::verify`] checks an aggregated proof natively (the accumulator's pairing included).

mod files;
mod plan;
mod tree;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::rngs::OsRng;
use zkonnx_aggregation::{verify_poseidon_proof, Interface, Item, NodeProof, Plan, PoseidonProof};
use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::{public_instances_salted, CircuitParams};
use zkonnx_ir::{dequantize_outputs, quantize_inputs, Visibility};
use zkonnx_verifier::transcript::fr_to_be;
use zkonnx_verifier::{parse_json, read_json, write_json, CompiledModel, Witness};

use crate::progress::{timed, Progress};
use crate::{Artifacts, Error, Result};

pub use files::{AggregatedProof, NodeProofFile, SegmentEntry, SegmentProofFile, SplitManifest, AGGREGATED_PROTOCOL};
pub use plan::SplitPolicy;
pub use tree::SplitEstimate;

/// Rows of every aggregation circuit by default (`2^21`): a node of two children then needs
/// about 8 advice columns and 12 GiB to prove on the reference machine.
pub const DEFAULT_AGGREGATION_K: u32 = 21;
/// Children per aggregation node by default.
pub const DEFAULT_FAN_IN: usize = 2;

/// How to split and aggregate.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SplitOptions {
    pub policy: SplitPolicy,
    /// Children per aggregation node (at least 2).
    pub fan_in: usize,
    /// log2 of the rows of every aggregation circuit.
    pub aggregation_k: u32,
    /// At least this many advice columns in the root (0: as many as its cells need). A pinned
    /// root has one shape whether it aggregates segments or nodes, so its EVM verifier costs
    /// the same gas for any number of segments; the default (as needed) is the cheapest.
    pub root_advice: usize,
}

impl Default for SplitOptions {
    fn default() -> Self {
        Self {
            policy: SplitPolicy::Auto { max_memory_mb: None },
            fan_in: DEFAULT_FAN_IN,
            aggregation_k: DEFAULT_AGGREGATION_K,
            root_advice: 0,
        }
    }
}

impl SplitOptions {
    /// Options with `policy` and the defaults.
    pub fn new(policy: SplitPolicy) -> Self {
        Self { policy, ..Self::default() }
    }
}

/// A split model's folder.
#[derive(Debug)]
pub struct Split {
    dir: PathBuf,
    manifest: SplitManifest,
    /// The root's verifying key as last read, with its file's modification time (reading one
    /// sets up its evaluation domain: about a second at logrows 21).
    root_vk: std::sync::Mutex<Option<(std::time::SystemTime, VerifyingKey<G1Affine>)>>,
}

impl Clone for Split {
    fn clone(&self) -> Self {
        Self { dir: self.dir.clone(), manifest: self.manifest.clone(), root_vk: Default::default() }
    }
}

fn hex_fr(f: &Fr) -> String {
    format!("0x{}", hex::encode(fr_to_be(f)))
}

impl Split {
    /// Splits `whole` as `options` say and writes the folder `dir` (created if missing): the
    /// manifest, the whole compiled model and every segment's compiled model.
    pub fn create(dir: impl Into<PathBuf>, whole: &CompiledModel, options: &SplitOptions) -> Result<Self> {
        let dir = dir.into();
        if options.fan_in < 2 {
            return Err(Error::Option { option: "fan_in".into(), reason: "at least 2 children per node".into() });
        }
        let k = options.aggregation_k;
        if !(zkonnx_aggregation::MIN_AGGREGATION_K..=zkonnx_aggregation::MAX_AGGREGATION_K).contains(&k) {
            return Err(Error::Option {
                option: "aggregation_k".into(),
                reason: format!(
                    "{k}: must be in {}..={}",
                    zkonnx_aggregation::MIN_AGGREGATION_K,
                    zkonnx_aggregation::MAX_AGGREGATION_K
                ),
            });
        }
        let cuts = plan::choose_cuts(&whole.graph, &whole.settings.run_args, &options.policy, k)?;
        let segments = plan::compile_segments(whole, &cuts, &options.policy, k)?;
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let mut entries = Vec::with_capacity(segments.len());
        for (j, (segment, compiled)) in segments.iter().enumerate() {
            let name = format!("segment-{j}");
            Artifacts::create(dir.join(&name))?.write_compiled(compiled)?;
            entries.push(SegmentEntry {
                dir: name,
                model_hash: compiled.settings.model.model_hash.clone(),
                carries_in: segment.carries_in.clone(),
                carries_out: segment.carries_out.clone(),
                interface: segment_interface(compiled),
                logrows: compiled.settings.run_args.logrows,
            });
        }
        write_json(&dir.join("model.compiled"), whole)?;
        let manifest = SplitManifest {
            model_hash: whole.settings.model.model_hash.clone(),
            plan: Plan::new(entries.len(), options.fan_in),
            segments: entries,
            fan_in: options.fan_in,
            aggregation_k: k,
            root_advice: options.root_advice,
        };
        write_json(&dir.join("split.json"), &manifest)?;
        Ok(Self { dir, manifest, root_vk: Default::default() })
    }

    /// Opens a split folder.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        let manifest: SplitManifest = read_json(&dir.join("split.json"))?;
        Ok(Self { dir, manifest, root_vk: Default::default() })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &SplitManifest {
        &self.manifest
    }

    /// Number of segments.
    pub fn len(&self) -> usize {
        self.manifest.segments.len()
    }

    /// Whether there are no segments (never, for a folder [`Split::create`] made).
    pub fn is_empty(&self) -> bool {
        self.manifest.segments.is_empty()
    }

    /// Segment `j`'s artifacts folder.
    pub fn segment(&self, j: usize) -> Result<Artifacts> {
        let entry = self.entry(j)?;
        Ok(Artifacts::new(self.dir.join(&entry.dir)))
    }

    fn entry(&self, j: usize) -> Result<&SegmentEntry> {
        self.manifest.segments.get(j).ok_or_else(|| Error::Option {
            option: "segment".into(),
            reason: format!("{j}: the split has {} segments (0..{})", self.len(), self.len()),
        })
    }

    /// The whole compiled model.
    pub fn whole(&self) -> Result<CompiledModel> {
        Ok(CompiledModel::read(&self.dir.join("model.compiled"))?)
    }

    /// Segment `j`'s compiled model, checked against the manifest.
    pub fn segment_model(&self, j: usize) -> Result<CompiledModel> {
        let entry = self.entry(j)?;
        let compiled = self.segment(j)?.read_compiled()?;
        if compiled.settings.model.model_hash != entry.model_hash {
            return Err(Error::Option {
                option: "split folder".into(),
                reason: format!("segment {j}'s compiled model is not the one split.json names (it was changed)"),
            });
        }
        Ok(compiled)
    }

    /// The largest logrows of the segments and the aggregation: the SRS size a run needs.
    pub fn max_logrows(&self) -> u32 {
        self.manifest.segments.iter().map(|s| s.logrows).fold(self.manifest.aggregation_k, u32::max)
    }

    /// The cost model's estimates for every segment and aggregation node, before any work.
    pub fn estimate(&self) -> Result<SplitEstimate> {
        let models = (0..self.len()).map(|j| self.segment_model(j)).collect::<Result<Vec<_>>>()?;
        Ok(tree::estimate(&self.manifest, &models))
    }

    /// Makes every segment's keys (reused when they belong) with `srs`.
    pub fn setup(&self, srs: &ParamsKZG<Bn256>, progress: &dyn Progress) -> Result<()> {
        for j in 0..self.len() {
            let compiled = self.segment_model(j)?;
            self.segment(j)?.setup(&compiled, srs, progress)?;
        }
        Ok(())
    }

    /// The segments' witnesses for the model's float `inputs`: each segment run on what the one
    /// before it handed on, every boundary with a fresh random salt (the same on both sides).
    pub fn witnesses(&self, inputs: &[Vec<f32>]) -> Result<Vec<Witness>> {
        let whole = self.whole()?;
        let mut values = quantize_inputs(&whole.graph, inputs)?;
        let mut salts: Vec<String> = vec![];
        let mut out = Vec::with_capacity(self.len());
        for j in 0..self.len() {
            let compiled = self.segment_model(j)?;
            let graph = &compiled.graph;
            let trace = zkonnx_prover::witness(graph, &values, compiled.settings.run_args.range_bits())?;
            let outputs = trace.outputs(graph);
            let floats = dequantize_outputs(graph, &outputs);
            let last = j + 1 == self.len();
            let next_salts: Vec<String> =
                if last { vec![] } else { outputs.iter().map(|_| hex_fr(&Fr::random(OsRng))).collect() };
            out.push(Witness::new(values, outputs.clone(), floats).with_salts(salts, next_salts.clone()));
            values = outputs;
            salts = next_salts;
        }
        Ok(out)
    }

    /// Proves segment `j` from its witness with `srs` and writes the proof to `out`; an `out`
    /// that already holds a proof of this segment for this witness which verifies is kept (the
    /// job resumes). Returns the proof.
    pub fn prove_segment(
        &self,
        j: usize,
        witness: &Witness,
        srs: &ParamsKZG<Bn256>,
        out: &Path,
        progress: &dyn Progress,
    ) -> Result<SegmentProofFile> {
        let entry = self.entry(j)?;
        let compiled = self.segment_model(j)?;
        let artifacts = self.segment(j)?;
        let keys = artifacts.read_keys(&compiled)?;
        let graph = Arc::new(compiled.graph.clone());
        let params = CircuitParams::from_settings(&compiled.settings);
        let trace = zkonnx_prover::witness(&graph, &witness.inputs, params.range_bits())?;
        let outputs = trace.outputs(&graph);
        if let Some(output) = (0..outputs.len()).find(|&i| witness.outputs.get(i) != Some(&outputs[i])) {
            return Err(zkonnx_prover::ProverError::WitnessMismatch { output }.into());
        }
        let salts = witness.salts()?;
        let expected = public_instances_salted(&graph, &params, &trace, &salts);
        if let Ok(existing) = read_json::<SegmentProofFile>(out) {
            let same = existing.segment == j
                && existing.segment_hash == entry.model_hash
                && existing.proof.instances == expected;
            if same && verify_poseidon_proof(srs, keys.pk.get_vk(), &existing.proof).is_ok() {
                progress.note(crate::Level::Info, &format!("segment {j}: kept the proof already in {}", out.display()));
                return Ok(existing);
            }
        }
        let (proof, _) = timed(progress, "prove", || {
            zkonnx_aggregation::prove_segment(srs, &keys, graph, Arc::new(trace), &salts).map_err(Error::from)
        });
        let file = SegmentProofFile {
            segment: j,
            segment_hash: entry.model_hash.clone(),
            model_hash: self.manifest.model_hash.clone(),
            proof: proof?,
        };
        write_json(out, &file)?;
        Ok(file)
    }

    /// Segment `j`'s verifying key.
    pub(crate) fn segment_vk(&self, j: usize) -> Result<VerifyingKey<G1Affine>> {
        let compiled = self.segment_model(j)?;
        self.segment(j)?.read_vk(&compiled.settings)
    }

    /// Checks the segment proofs in `proofs` (in segment order) before aggregating them: each
    /// belongs to its segment, has its public values and verifies, and consecutive proofs agree
    /// on the digests of the boundary between them. An error names the segment or boundary.
    pub fn check_segment_proofs(&self, proofs: &[SegmentProofFile], srs: &ParamsKZG<Bn256>) -> Result<()> {
        if proofs.len() != self.len() {
            return Err(mismatch("segment proofs", format!("{} proofs for {} segments", proofs.len(), self.len())));
        }
        for (j, (p, entry)) in proofs.iter().zip(&self.manifest.segments).enumerate() {
            if p.segment != j || p.segment_hash != entry.model_hash {
                return Err(mismatch(
                    &format!("proof {j}"),
                    format!(
                        "it is a proof of segment {} (or of another split), not of segment {j}: proofs out of order",
                        p.segment
                    ),
                ));
            }
            if p.proof.instances.len() != entry.interface.len() {
                return Err(mismatch(
                    &format!("segment {j}'s proof"),
                    format!("{} public values, the segment has {}", p.proof.instances.len(), entry.interface.len()),
                ));
            }
            verify_poseidon_proof(srs, &self.segment_vk(j)?, &p.proof)
                .map_err(|e| mismatch(&format!("segment {j}'s proof"), e.to_string()))?;
        }
        for (j, pair) in proofs.windows(2).enumerate() {
            let (a, b) = (&self.manifest.segments[j].interface, &self.manifest.segments[j + 1].interface);
            let out = &pair[0].proof.instances[a.outputs_at()];
            let inp = &pair[1].proof.instances[b.inputs_at()];
            if out != inp {
                return Err(mismatch(
                    &format!("boundary {j} (between segments {j} and {})", j + 1),
                    "the digests differ: the two proofs were made from different runs (another input or other salts)"
                        .into(),
                ));
            }
        }
        Ok(())
    }

    /// Reads `proof-<j>.json` of every segment from `run`.
    pub fn read_segment_proofs(&self, run: &Path) -> Result<Vec<SegmentProofFile>> {
        (0..self.len()).map(|j| Ok(read_json(&segment_proof_path(run, j))?)).collect()
    }

    /// Aggregates the segment proofs in `run` into one proof, written to `run/aggregated.json`
    /// (keys made when missing, inner proofs already in `run` kept when they verify).
    pub fn aggregate(&self, run: &Path, srs: &ParamsKZG<Bn256>, progress: &dyn Progress) -> Result<AggregatedProof> {
        let proofs = self.read_segment_proofs(run)?;
        self.check_segment_proofs(&proofs, srs)?;
        let (root, interface) = tree::prove(self, srs, proofs, run, progress)?;
        let proof = self.aggregated(&root, interface)?;
        write_json(&run.join("aggregated.json"), &proof)?;
        Ok(proof)
    }

    /// The aggregated proof the root's proof makes.
    fn aggregated(&self, root: &NodeProof, interface: Interface) -> Result<AggregatedProof> {
        let mut proof = AggregatedProof::new(
            self.manifest.model_hash.clone(),
            self.len(),
            self.manifest.aggregation_k,
            interface,
            &root.instances,
            &root.proof,
        );
        proof.outputs = self.public_outputs(&root.instances, &interface)?;
        Ok(proof)
    }

    /// Proves aggregation node `i` alone over its children's proofs (in the plan's order, each
    /// checked natively first): a stateless job like [`Split::prove_segment`], what a
    /// distributed engine schedules per node once its children are proved, so the nodes of one
    /// level of the tree run in parallel. It reads [`Split::node_files`] only; the keys are
    /// [`Split::setup_aggregation`]'s. The root's proof comes back as the aggregated proof
    /// (not verified here: [`Split::verify`] it).
    pub fn prove_node(
        &self,
        i: usize,
        children: &[PoseidonProof],
        srs: &ParamsKZG<Bn256>,
        progress: &dyn Progress,
    ) -> Result<NodeOutput> {
        let (proof, vk_hash, interface) = tree::prove_one(self, srs, i, children, progress)?;
        if i == self.manifest.plan.root() {
            return Ok(NodeOutput::Root(self.aggregated(&proof, interface)?));
        }
        Ok(NodeOutput::Inner(NodeProofFile { node: i, vk_hash, proof: proof.into() }))
    }

    /// The files of the split folder, relative to it, that [`Split::prove_node`] of node `i`
    /// reads (what a distributed engine ships to the task).
    pub fn node_files(&self, i: usize) -> Result<Vec<PathBuf>> {
        tree::node_files(self, i)
    }

    /// Node `i`'s children's proofs from their files' JSON (in the plan's order: a segment's
    /// `proof-<j>.json`, a node's `node-<n>.json`), each checked to be the child it stands for.
    pub fn child_proofs(&self, i: usize, texts: &[String]) -> Result<Vec<PoseidonProof>> {
        let items = self.manifest.plan.nodes.get(i).cloned().unwrap_or_default();
        if items.len() != texts.len() {
            return Err(mismatch(
                &format!("aggregation node {i}"),
                format!("{} child proofs given, the node aggregates {}", texts.len(), items.len()),
            ));
        }
        items
            .iter()
            .zip(texts)
            .map(|(item, text)| {
                let what = format!("node {i}'s child {item:?}");
                match *item {
                    Item::Segment(j) => {
                        let p: SegmentProofFile = parse_json(Path::new(&what), text.as_bytes())?;
                        let entry = self.entry(j)?;
                        if p.segment != j || p.segment_hash != entry.model_hash {
                            return Err(mismatch(
                                &what,
                                format!("a proof of segment {}, not of segment {j}", p.segment),
                            ));
                        }
                        Ok(p.proof)
                    }
                    Item::Node(n) => {
                        let p: NodeProofFile = parse_json(Path::new(&what), text.as_bytes())?;
                        if p.node != n {
                            return Err(mismatch(&what, format!("a proof of node {}, not of node {n}", p.node)));
                        }
                        Ok(p.proof)
                    }
                }
            })
            .collect()
    }

    /// The dequantized public outputs among an aggregated proof's public values.
    fn public_outputs(&self, instances: &[Fr], interface: &Interface) -> Result<Vec<Vec<f64>>> {
        let last = self.segment_model(self.len() - 1)?;
        if last.settings.run_args.output_visibility != Visibility::Public {
            return Ok(vec![]);
        }
        let mut values = instances.get(interface.outputs_at()).unwrap_or_default().iter();
        let ints: Vec<Vec<i64>> = last
            .graph
            .outputs
            .iter()
            .map(|&t| {
                let n = last.graph.nodes.get(t).map_or(0, |n| n.len());
                values.by_ref().take(n).map(|f| zkonnx_circuits::i64_from_field(f).unwrap_or(0)).collect()
            })
            .collect();
        Ok(dequantize_outputs(&last.graph, &ints))
    }

    /// The root's verifying key (made by the first [`Split::aggregate`] or [`Split::setup_aggregation`]).
    pub fn root_vk(&self) -> Result<VerifyingKey<G1Affine>> {
        let path = tree::node_vk_path(self, self.manifest.plan.root());
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if let (Some(when), Ok(cached)) = (modified, self.root_vk.lock()) {
            if let Some((_, vk)) = cached.as_ref().filter(|(at, _)| *at == when) {
                return Ok(vk.clone());
            }
        }
        let (vk, meta) = zkonnx_aggregation::read_node_vk(&path)?;
        if !meta.spec.root {
            return Err(mismatch("aggregation keys", "the last node's key is not a root's".into()));
        }
        if let (Some(when), Ok(mut cached)) = (modified, self.root_vk.lock()) {
            *cached = Some((when, vk.clone()));
        }
        Ok(vk)
    }

    /// What the root's proofs expose (the aggregated proof's public values).
    pub fn root_interface(&self) -> Result<Interface> {
        tree::root_interface(self)
    }

    /// Makes the aggregation tree's keys (reused when they belong) with `srs`.
    pub fn setup_aggregation(&self, srs: &ParamsKZG<Bn256>, progress: &dyn Progress) -> Result<()> {
        tree::setup(self, srs, progress).map(|_| ())
    }

    /// Verifies an aggregated proof of this split natively with `srs`.
    pub fn verify(&self, proof: &AggregatedProof, srs: &ParamsKZG<Bn256>) -> Result<()> {
        if proof.protocol != AGGREGATED_PROTOCOL {
            return Err(mismatch(
                "aggregated proof",
                format!("protocol `{}`, expected `{AGGREGATED_PROTOCOL}`", proof.protocol),
            ));
        }
        if proof.model_hash != self.manifest.model_hash || proof.segments != self.len() {
            return Err(mismatch("aggregated proof", "it is a proof of another model or split".into()));
        }
        let instances = proof.instances()?;
        let expected = tree::root_interface(self)?;
        if instances.len() != expected.len() {
            return Err(
                zkonnx_verifier::VerifyError::InstanceCount { expected: expected.len(), got: instances.len() }.into()
            );
        }
        let vk = self.root_vk()?;
        Ok(zkonnx_aggregation::verify_aggregated(srs, &vk, &instances, &proof.proof_bytes()?)?)
    }
}

/// What proving one aggregation node gives: an inner node's proof (`node-<i>.json`), or the
/// root's, as the aggregated proof.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeOutput {
    Inner(NodeProofFile),
    Root(AggregatedProof),
}

/// `node-<i>.json` in a run folder: an inner node's proof.
pub fn node_proof_path(run: &Path, i: usize) -> PathBuf {
    run.join(format!("node-{i}.json"))
}

/// `proof-<j>.json` in a run folder.
pub fn segment_proof_path(run: &Path, j: usize) -> PathBuf {
    run.join(format!("proof-{j}.json"))
}

/// `witness-<j>.json` in a run folder.
pub fn segment_witness_path(run: &Path, j: usize) -> PathBuf {
    run.join(format!("witness-{j}.json"))
}

fn mismatch(what: &str, reason: String) -> Error {
    zkonnx_aggregation::AggregationError::Mismatch { what: what.to_string(), reason }.into()
}

/// The public values a segment's proofs expose.
fn segment_interface(compiled: &CompiledModel) -> Interface {
    let (g, a) = (&compiled.graph, &compiled.settings.run_args);
    let count = |ids: &[usize], v: Visibility| {
        ids.iter().map(|&t| v.public_values(g.nodes.get(t).map_or(0, |n| n.len()))).sum()
    };
    Interface::segment(
        count(&g.inputs, a.input_visibility),
        count(&g.outputs, a.output_visibility),
        usize::from(a.param_visibility == Visibility::Hashed),
    )
}

/// The shape of a segment's circuit (for the aggregation's cost model).
pub(crate) fn segment_shape(compiled: &CompiledModel) -> Shape {
    crate::memory::settings_shape(&compiled.settings)
}
