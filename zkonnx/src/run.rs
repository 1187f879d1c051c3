//! `run`: every step in order, artifacts in one folder: settings, compile, setup (or reuse of
//! the keys already there), witness, prove (on a GPU when asked and available), verify from the
//! files on disk as a third party would.

use std::path::{Path, PathBuf};

use serde::Serialize;
use zkonnx_circuits::cost::Shape;

use crate::gpu::{self, GpuMode, ProveFiles};
use crate::memory::{self, Step};
use crate::progress::{timed, Progress};
use crate::{Artifacts, Model, Options, Proof, Prover, Result, SrsSource, Verifier};

/// How `run` proves.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct RunConfig {
    /// The SRS file; `None`: the insecure development SRS from the default cache.
    pub srs: Option<PathBuf>,
    /// Run even when the estimated peak memory exceeds the memory available.
    pub force: bool,
    /// Where to prove.
    pub gpu: GpuMode,
    /// The salts of hashed inputs and outputs (from the input file, [`crate::read_input_file`]).
    pub salts: crate::InputSalts,
}

/// Seconds spent in each phase.
#[derive(Serialize, Default, Debug, Clone)]
#[non_exhaustive]
pub struct Phases {
    pub settings: f64,
    pub compile: f64,
    pub setup: f64,
    pub witness: f64,
    pub prove: f64,
    pub verify: f64,
}

/// What `run` did: the JSON line `zkonnx run --json` prints.
#[derive(Serialize, Debug, Clone)]
#[non_exhaustive]
pub struct RunReport {
    /// Whether the proof verified.
    pub ok: bool,
    pub logrows: u32,
    pub phases: Phases,
    /// Every output, dequantized (public or not: the prover knows them).
    pub outputs: Vec<Vec<f64>>,
    /// The proof's public values (`0x` + 32 bytes each), in instance order.
    pub public_values: Vec<String>,
    /// Which of them are Poseidon commitments (`hashed` visibility).
    pub hashed_public_values: Vec<zkonnx_ir::HashedValue>,
    pub proof_bytes: usize,
    pub peak_rss_mb: f64,
    /// The cost model's prediction of the peak (proving's), MiB.
    pub estimated_peak_mb: f64,
    /// The circuit's shape (lanes, logrows, rows, columns, lookups, ...).
    pub shape: Shape,
    /// Who chose it: `optimizer` or `flags`.
    pub layout_chosen_by: String,
    /// `gpu` when the proof was made on a GPU, else `cpu`.
    pub prover: &'static str,
    /// Phases whose artifacts from an earlier run in the same folder were reused.
    pub reused: Vec<&'static str>,
    /// `dev` when the insecure development SRS was used (proofs can be forged against it),
    /// else the SRS file's origin (`perpetual-powers-of-tau`, `imported`).
    pub srs: &'static str,
    /// Why the proof did not verify, when it did not.
    #[serde(skip)]
    pub error: Option<String>,
}

/// settings -> compile -> setup -> witness -> prove -> verify, writing every artifact to `out`.
/// Keys already in `out` from an earlier run are reused when they were made for the same
/// compiled model (hash) and circuit parameters; anything else is regenerated. `inputs` is also
/// the calibration sample.
pub fn run(
    model_path: &Path,
    inputs: &[Vec<f32>],
    out: &Path,
    options: &Options,
    config: &RunConfig,
    progress: &dyn Progress,
) -> Result<RunReport> {
    // before any work: `--gpu on` without a usable GPU fails at once
    let gpu_prover = gpu::choose(config.gpu, progress)?;
    let artifacts = Artifacts::create(out)?;
    let mut phases = Phases::default();

    let (compiled, [settings_secs, compile_secs]) = settings_and_compile(model_path, inputs, options, progress)?;
    (phases.settings, phases.compile) = (settings_secs, compile_secs);
    artifacts.write_compiled(&compiled)?;
    let settings = compiled.settings.clone();

    let estimated_peak_mb = memory::check(&settings, Step::Prove, config.force, progress)?;
    let k = settings.run_args.logrows;
    let srs_source = SrsSource::file_or_dev(config.srs.as_deref())?;
    let (srs, srs_origin) = srs_source.load_with_origin(k, progress)?;
    let start = std::time::Instant::now();
    let (keys, reused_keys) = artifacts.setup(&compiled, &srs, progress)?;
    phases.setup = start.elapsed().as_secs_f64();
    let reused = if reused_keys { vec!["setup"] } else { vec![] };
    let prover = Prover::new(compiled, keys, srs)?;

    let (witness, secs) = timed(progress, "witness", || {
        let (inputs_salts, output_salts) = config.salts.clone();
        let w = prover.witness(inputs)?.with_salts(inputs_salts, output_salts);
        artifacts.write_witness(&w)?;
        Ok::<_, crate::Error>(w)
    });
    let witness = witness?;
    phases.witness = secs;

    let (proved, secs) = timed(progress, "prove", || {
        if let Some(gpu) = &gpu_prover {
            let srs_file = srs_source.path_for(k, progress)?;
            let (compiled, pk, wit, proof) =
                (artifacts.compiled_path(), artifacts.pk_path(), artifacts.witness_path(), artifacts.proof_path());
            let files = ProveFiles { compiled: &compiled, pk: &pk, witness: &wit, srs: &srs_file, proof: &proof };
            if gpu.prove(&files, progress)? {
                return Ok::<_, crate::Error>((artifacts.read_proof()?, true));
            }
        }
        let proof = prover.prove_witness(&witness)?;
        artifacts.write_proof(&proof)?;
        Ok((proof, false))
    });
    let (proof, on_gpu): (Proof, bool) = proved?;
    phases.prove = secs;

    // verify from the files on disk, as a third party would
    let (verdict, secs) = timed(progress, "verify", || {
        let vk = artifacts.read_vk(&settings)?;
        Verifier::new(settings.clone(), vk, prover.srs())?.verify(&proof)
    });
    phases.verify = secs;

    Ok(RunReport {
        ok: verdict.is_ok(),
        logrows: k,
        phases,
        outputs: witness.output_floats,
        public_values: proof.public_values().to_vec(),
        hashed_public_values: settings.hashed_values(),
        proof_bytes: proof.proof_bytes()?.len(),
        peak_rss_mb: memory::peak_rss_mb(),
        estimated_peak_mb,
        shape: memory::settings_shape(&settings),
        prover: if on_gpu { "gpu" } else { "cpu" },
        layout_chosen_by: settings.model.layout.as_ref().map_or_else(String::new, |l| l.chosen_by.clone()),
        reused,
        srs: crate::srs::label(prover.insecure_dev_srs(), srs_origin),
        error: verdict.err().map(|e| e.to_string()),
    })
}

/// Seconds spent in each phase of a split run.
#[derive(Serialize, Default, Debug, Clone)]
#[non_exhaustive]
pub struct SplitPhases {
    pub settings: f64,
    pub compile: f64,
    pub split: f64,
    pub setup: f64,
    pub witness: f64,
    /// All segment proofs together.
    pub prove_segments: f64,
    /// The aggregation tree (its keys the first time, then its proofs).
    pub aggregate: f64,
    pub verify: f64,
}

/// What `run --split` did: the JSON line `zkonnx run --split ... --json` prints.
#[derive(Serialize, Debug, Clone)]
#[non_exhaustive]
pub struct SplitRunReport {
    /// Whether the aggregated proof verified.
    pub ok: bool,
    pub segments: usize,
    /// Each segment's logrows.
    pub segment_logrows: Vec<u32>,
    pub aggregation_logrows: u32,
    /// Aggregation nodes (the tree's size) and levels.
    pub aggregation_nodes: usize,
    pub aggregation_depth: usize,
    pub phases: SplitPhases,
    /// Every output, dequantized (the last segment's witness).
    pub outputs: Vec<Vec<f64>>,
    /// The aggregated proof's public values (`0x` + 32 bytes each): the accumulator's limbs,
    /// then the model's public inputs, outputs and params hashes.
    pub public_values: Vec<String>,
    pub proof_bytes: usize,
    pub peak_rss_mb: f64,
    /// The cost model's largest predicted peak over the segments and the aggregation, MiB.
    pub estimated_peak_mb: f64,
    /// The SRS's label (see [`RunReport::srs`]).
    pub srs: &'static str,
    /// Why the proof did not verify, when it did not.
    #[serde(skip)]
    pub error: Option<String>,
}

/// `run` for a model bigger than one circuit: settings and compile as [`run`], then split
/// (`split`), the segments' witnesses (fresh boundary salts: bad input fails before any key is
/// made), their keys, every segment's proof, the aggregation, and the aggregated proof's
/// verification from the files. Everything goes to `out` (the split folder, which is also the
/// run folder). The memory estimate of every segment and aggregation node is checked before any
/// key is made.
pub fn run_split(
    model_path: &Path,
    inputs: &[Vec<f32>],
    out: &Path,
    options: &Options,
    split: &crate::split::SplitOptions,
    config: &RunConfig,
    progress: &dyn Progress,
) -> Result<SplitRunReport> {
    let mut phases = SplitPhases::default();
    let (compiled, [settings_secs, compile_secs]) = settings_and_compile(model_path, inputs, options, progress)?;
    (phases.settings, phases.compile) = (settings_secs, compile_secs);
    let (folder, secs) = timed(progress, "split", || crate::split::Split::create(out, &compiled, split));
    let folder = folder?;
    phases.split = secs;

    // the witnesses first: an input the quantized model cannot take (a value out of range) fails
    // before the SRS is loaded and the segments' keys, minutes of work for a big model, are made
    let (witnesses, secs) = timed(progress, "witness", || {
        let ws = folder.witnesses(inputs)?;
        for (j, w) in ws.iter().enumerate() {
            zkonnx_verifier::write_json(&crate::split::segment_witness_path(out, j), w)?;
        }
        Ok::<_, crate::Error>(ws)
    });
    let witnesses = witnesses?;
    phases.witness = secs;

    let estimate = folder.estimate()?;
    let estimated_peak_mb = estimate.peak_mb();
    memory::check_mb("split proving", estimated_peak_mb, folder.max_logrows(), config.force, progress)?;
    let srs_source = SrsSource::file_or_dev(config.srs.as_deref())?;
    let (srs, srs_origin) = srs_source.load_with_origin(folder.max_logrows(), progress)?;
    let insecure = zkonnx_prover::is_dev_srs(&srs);

    let ((), secs) = {
        let (r, secs) = timed(progress, "setup", || folder.setup(&srs, progress));
        (r?, secs)
    };
    phases.setup = secs;
    let start = std::time::Instant::now();
    for (j, w) in witnesses.iter().enumerate() {
        folder.prove_segment(j, w, &srs, &crate::split::segment_proof_path(out, j), progress)?;
    }
    phases.prove_segments = start.elapsed().as_secs_f64();
    let (proof, secs) = timed(progress, "aggregate", || folder.aggregate(out, &srs, progress));
    let proof = proof?;
    phases.aggregate = secs;
    // verify from the files, as a third party would
    let (verdict, secs) = timed(progress, "verify", || {
        let split = crate::split::Split::open(out)?;
        let read: crate::split::AggregatedProof = zkonnx_verifier::read_json(&out.join("aggregated.json"))?;
        split.verify(&read, &srs)
    });
    phases.verify = secs;
    let plan = &folder.manifest().plan;
    Ok(SplitRunReport {
        ok: verdict.is_ok(),
        segments: folder.len(),
        segment_logrows: folder.manifest().segments.iter().map(|s| s.logrows).collect(),
        aggregation_logrows: folder.manifest().aggregation_k,
        aggregation_nodes: plan.nodes.len(),
        aggregation_depth: plan.depth(),
        phases,
        outputs: witnesses.last().map(|w| w.output_floats.clone()).unwrap_or_default(),
        public_values: proof.instances.clone(),
        proof_bytes: proof.proof_bytes()?.len(),
        peak_rss_mb: memory::peak_rss_mb(),
        estimated_peak_mb,
        srs: crate::srs::label(insecure, srs_origin),
        error: verdict.err().map(|e| e.to_string()),
    })
}

/// The settings (calibrated on `inputs` unless the options pin quantization) and the compiled
/// model, with the seconds of each phase.
fn settings_and_compile(
    model_path: &Path,
    inputs: &[Vec<f32>],
    options: &Options,
    progress: &dyn Progress,
) -> Result<(zkonnx_verifier::CompiledModel, [f64; 2])> {
    let (settings, settings_secs) = timed(progress, "settings", || {
        let model = Model::load(model_path, &options.dims)?;
        let settings = model.settings(std::slice::from_ref(&inputs.to_vec()), options)?;
        Ok::<_, crate::Error>((model, settings))
    });
    let (model, settings) = settings?;
    let (compiled, compile_secs) = timed(progress, "compile", || model.compile(settings));
    Ok((compiled?, [settings_secs, compile_secs]))
}
