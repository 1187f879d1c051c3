//! `run`: every step in order, artifacts in one folder (`zkonnx::run`).

use std::path::PathBuf;

use anyhow::Result;
use zkonnx::gpu::GpuMode;
use zkonnx::run::{RunConfig, RunReport};

use crate::commands::prove::parse_gpu;
use crate::common::{RunArgsFlags, Spinners};

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
    #[arg(long, default_value = "auto", value_parser = parse_gpu)]
    pub(crate) gpu: GpuMode,
    #[command(flatten)]
    pub(crate) flags: RunArgsFlags,
}

pub(crate) fn run(a: RunCmdArgs) -> Result<()> {
    let report = pipeline(&a)?;
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

/// `zkonnx::run::run` with the command's flags.
pub(crate) fn pipeline(a: &RunCmdArgs) -> Result<RunReport> {
    let mut config = RunConfig::default();
    config.srs = a.srs.clone();
    config.force = a.force;
    config.gpu = a.gpu;
    let (inputs, salts) = zkonnx::read_input_file(&a.input)?;
    config.salts = salts;
    Ok(zkonnx::run::run(&a.model, &inputs, &a.out, &a.flags.options()?, &config, &Spinners::default())?)
}
