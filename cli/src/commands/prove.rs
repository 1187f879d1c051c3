//! `prove`: prove a witness with a proving key.

use std::path::PathBuf;

use anyhow::Result;
use zkonnx::gpu::{self, GpuMode, ProveFiles};
use zkonnx::lower::verifier::read_json;
use zkonnx::memory::{self, Step};
use zkonnx::{CompiledModel, Prover, Witness};

use crate::common::{srs_source, Phase, Spinners};

#[derive(clap::Args, Debug)]
pub(crate) struct ProveArgs {
    /// The compiled model.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    #[arg(long, default_value = "pk.key")]
    pk: PathBuf,
    #[arg(short = 'W', long, default_value = "witness.json")]
    witness: PathBuf,
    /// SRS file (default: the cached development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    #[arg(short = 'O', long = "proof", default_value = "proof.json")]
    output: PathBuf,
    /// Run even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
    /// Where to prove: `on` (an NVIDIA GPU, failing without one), `auto` (the GPU when there is one
    /// and the `zkonnx-gpu` prover is installed, else the CPU) or `off`.
    #[arg(long, default_value = "auto", value_parser = parse_gpu)]
    gpu: GpuMode,
}

pub(crate) fn parse_gpu(s: &str) -> Result<GpuMode, String> {
    gpu::parse_mode(s).map_err(|e| e.to_string())
}

pub(crate) fn run(a: ProveArgs) -> Result<()> {
    let progress = Spinners::default();
    let compiled = CompiledModel::read(&a.compiled)?;
    memory::check(&compiled.settings, Step::Prove, a.force, &progress)?;
    let srs = srs_source(a.srs.as_deref())?;
    let k = compiled.settings.run_args.logrows;
    if let Some(gpu) = gpu::choose(a.gpu, &progress)? {
        let srs_file = srs.path_for(k, &progress)?;
        let files =
            ProveFiles { compiled: &a.compiled, pk: &a.pk, witness: &a.witness, srs: &srs_file, proof: &a.output };
        let phase = Phase::start("proving on the GPU");
        let done = gpu.prove(&files, &progress);
        phase.finish();
        if done? {
            eprintln!("wrote {}", a.output.display());
            return Ok(());
        }
    }
    let keys = zkonnx::read_keys(&a.pk, &compiled)?;
    let witness: Witness = read_json(&a.witness)?;
    let prover = Prover::new(compiled, keys, srs.load(k, &progress)?)?;
    let phase = Phase::start("proving");
    let proof = prover.prove_witness(&witness);
    phase.finish();
    let proof = proof?;
    proof.write(&a.output)?;
    eprintln!("wrote {} ({} proof bytes)", a.output.display(), proof.proof_bytes()?.len());
    Ok(())
}
