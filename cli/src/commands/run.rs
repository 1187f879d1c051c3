//! `run`: every step in order, artifacts in one folder.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use zkonnx_circuits::cost::Shape;
use zkonnx_compiler::{CalibrationTarget, OnnxModel};
use zkonnx_gpu::GpuMode;
use zkonnx_ir::{ModelInfo, RunArgs, Settings};
use zkonnx_verifier::keys::read_vk;
use zkonnx_verifier::{read_json, verify_artifact, write_json};

use crate::commands::compile::{compile_model, fit_layout, save_compiled, LayoutPolicy};
use crate::commands::prove::prove_witness;
use crate::commands::settings::calibrated_settings;
use crate::commands::setup::{reusable_keys, setup_keys, write_keys};
use crate::commands::witness::make_witness;
use crate::common::{
    check_memory, load_srs, peak_rss_mb, read_inputs, settings_shape, srs_path, MemoryStep, Phase, RunArgsFlags,
};
use crate::gpu::{self, ProveFiles};

#[derive(clap::Args, Debug)]
pub(crate) struct RunCmdArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    pub(crate) model: PathBuf,
    /// Input file (EZKL format); also the calibration sample.
    #[arg(short = 'D', long = "input")]
    pub(crate) input: PathBuf,
    /// Folder for the artifacts (created if missing).
    #[arg(long = "out", default_value = "zkonnx-out")]
    pub(crate) out: PathBuf,
    /// SRS file (default: the cached development SRS).
    #[arg(long)]
    pub(crate) srs: Option<PathBuf>,
    /// Print one line of JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    pub(crate) force: bool,
    /// Where to prove: `on` (an NVIDIA GPU, failing without one), `auto` (the GPU when there is one
    /// and the `zkonnx-gpu` prover is installed, else the CPU) or `off`.
    #[arg(long, default_value = "auto", value_parser = gpu::parse_mode)]
    pub(crate) gpu: GpuMode,
    #[command(flatten)]
    pub(crate) flags: RunArgsFlags,
}

/// Seconds spent in each phase.
#[derive(Serialize, Default, Debug)]
pub(crate) struct Phases {
    pub(crate) settings: f64,
    pub(crate) compile: f64,
    pub(crate) setup: f64,
    pub(crate) witness: f64,
    pub(crate) prove: f64,
    pub(crate) verify: f64,
}

/// The JSON line `run --json` prints.
#[derive(Serialize, Debug)]
pub(crate) struct RunReport {
    pub(crate) ok: bool,
    pub(crate) logrows: u32,
    pub(crate) phases: Phases,
    pub(crate) outputs: Vec<Vec<f64>>,
    pub(crate) proof_bytes: usize,
    pub(crate) peak_rss_mb: f64,
    /// The cost model's prediction of the peak (proving's), MiB.
    pub(crate) estimated_peak_mb: f64,
    /// The circuit's shape (lanes, logrows, rows, columns, lookups, ...).
    pub(crate) shape: Shape,
    /// Who chose it: `optimizer` or `flags`.
    pub(crate) layout_chosen_by: String,
    /// `gpu` when the proof was made on a GPU, else `cpu`.
    pub(crate) prover: &'static str,
    /// Phases whose artifacts from an earlier run in the same folder were reused.
    pub(crate) reused: Vec<&'static str>,
    #[serde(skip)]
    pub(crate) error: Option<String>,
}

pub(crate) fn run(a: RunCmdArgs) -> Result<()> {
    let options = Options { srs: a.srs.as_deref(), force: a.force, gpu: a.gpu };
    let report = pipeline(&a.model, &a.input, &a.out, &a.flags, &options)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!("phases (s): {:?}", report.phases);
        eprintln!("outputs: {:?}", report.outputs);
    }
    if !report.ok {
        anyhow::bail!("the proof did not verify: {}", report.error.unwrap_or_default());
    }
    eprintln!(
        "verified (logrows {}, {} proof bytes); artifacts in {}",
        report.logrows,
        report.proof_bytes,
        a.out.display()
    );
    Ok(())
}

/// Whether the user pinned quantization on the command line (then calibration is skipped).
fn pinned(flags: &RunArgsFlags) -> bool {
    flags.input_scale.is_some()
        || flags.param_scale.is_some()
        || flags.lookup_bits.is_some()
        || flags.range_limbs.is_some()
}

/// How `run` proves: the SRS file (else the development one), whether to ignore the memory estimate,
/// and where.
#[derive(Debug, Default)]
pub(crate) struct Options<'a> {
    pub(crate) srs: Option<&'a Path>,
    pub(crate) force: bool,
    pub(crate) gpu: GpuMode,
}

/// settings -> compile -> setup -> witness -> prove -> verify, writing every artifact to `out`.
/// Keys already in `out` from an earlier run are reused when they were made for the same
/// compiled model (hash) and circuit parameters; anything else is regenerated.
pub(crate) fn pipeline(
    model_path: &Path,
    input: &Path,
    out: &Path,
    flags: &RunArgsFlags,
    options: &Options<'_>,
) -> Result<RunReport> {
    let Options { srs, force, gpu } = *options;
    // before any work: `--gpu on` without a usable GPU fails at once
    let gpu_prover = gpu::choose(gpu)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut phases = Phases::default();
    let inputs = read_inputs(input)?;

    let p = Phase::start("settings");
    let base = flags.apply(RunArgs::default())?;
    let model = OnnxModel::load(model_path, &base.dims)?;
    let policy = LayoutPolicy::from_flags(flags);
    let settings = if pinned(flags) {
        let mut args = base;
        let mut info = ModelInfo::default();
        if flags.logrows.is_none() {
            info.layout = Some(fit_layout(&model, &mut args, policy)?);
        }
        Settings::new(args, info)
    } else {
        let samples = std::slice::from_ref(&inputs);
        calibrated_settings(&model, samples, base, CalibrationTarget::Resources, policy, false)?
    };
    phases.settings = p.finish();

    let p = Phase::start("compile");
    let (compiled, settings) = compile_model(&model, settings)?;
    save_compiled(&out.join("model.compiled"), &compiled)?;
    write_json(&out.join("settings.json"), &settings)?;
    phases.compile = p.finish();

    let estimated_peak_mb = check_memory(&settings, MemoryStep::Prove, force)?;
    let k = settings.run_args.logrows;
    let srs_params = load_srs(srs, k)?;
    let mut reused = Vec::new();
    let p = Phase::start("setup");
    let (vk_path, pk_path) = (out.join("vk.key"), out.join("pk.key"));
    let keys = match reusable_keys(&compiled, &vk_path, &pk_path) {
        Some(keys) => {
            reused.push("setup");
            keys
        }
        None => {
            let keys = setup_keys(&compiled, &srs_params)?;
            write_keys(&keys, &settings.model.model_hash, &vk_path, &pk_path)?;
            keys
        }
    };
    phases.setup = p.finish();

    let p = Phase::start("witness");
    let witness = make_witness(&compiled.graph, settings.run_args.range_bits(), &inputs)?;
    write_json(&out.join("witness.json"), &witness)?;
    phases.witness = p.finish();

    let p = Phase::start("prove");
    let proof_path = out.join("proof.json");
    let mut on_gpu = false;
    if let Some(gpu) = &gpu_prover {
        let srs = srs_path(srs, k)?;
        let (compiled_path, witness_path) = (out.join("model.compiled"), out.join("witness.json"));
        let files = ProveFiles {
            compiled: &compiled_path,
            pk: &pk_path,
            witness: &witness_path,
            srs: &srs,
            proof: &proof_path,
        };
        on_gpu = gpu.prove(&files)?;
    }
    let proof = if on_gpu {
        read_json(&proof_path)?
    } else {
        let proof = prove_witness(&compiled, &keys, &srs_params, &witness)?;
        write_json(&proof_path, &proof)?;
        proof
    };
    phases.prove = p.finish();

    // verify from the files on disk, as a third party would
    let p = Phase::start("verify");
    let (vk, meta) = read_vk(&vk_path)?;
    meta.check_for(&vk_path, &settings)?;
    let verdict = verify_artifact(&settings, &vk, &srs_params, &proof);
    phases.verify = p.finish();

    Ok(RunReport {
        ok: verdict.is_ok(),
        logrows: k,
        phases,
        outputs: witness.output_floats,
        proof_bytes: proof.proof_bytes()?.len(),
        peak_rss_mb: peak_rss_mb(),
        estimated_peak_mb,
        shape: settings_shape(&settings),
        prover: if on_gpu { "gpu" } else { "cpu" },
        layout_chosen_by: settings.model.layout.as_ref().map_or_else(String::new, |l| l.chosen_by.clone()),
        reused,
        error: verdict.err().map(|e| e.to_string()),
    })
}
