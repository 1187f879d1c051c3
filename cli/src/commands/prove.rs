//! `prove`: prove a witness with a proving key.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_gpu::GpuMode;
use zkonnx_prover::{read_keys_and_witness, Backend, Keys};
use zkonnx_verifier::{write_json, CompiledModel, ProofArtifact, Witness};

use crate::commands::compile::load_compiled;
use crate::common::{check_memory, load_srs, srs_path, MemoryStep, Phase};
use crate::gpu::{self, ProveFiles};

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
    #[arg(long, default_value = "auto", value_parser = gpu::parse_mode)]
    gpu: GpuMode,
}

pub(crate) fn run(a: ProveArgs) -> Result<()> {
    let compiled = load_compiled(&a.compiled)?;
    check_memory(&compiled.settings, MemoryStep::Prove, a.force)?;
    if let Some(gpu) = gpu::choose(a.gpu)? {
        let srs = srs_path(a.srs.as_deref(), compiled.settings.run_args.logrows)?;
        let files = ProveFiles { compiled: &a.compiled, pk: &a.pk, witness: &a.witness, srs: &srs, proof: &a.output };
        let phase = Phase::start("proving on the GPU");
        if gpu.prove(&files)? {
            phase.finish();
            eprintln!("wrote {}", a.output.display());
            return Ok(());
        }
    }
    let (keys, witness) = read_keys_and_witness(&compiled, &a.pk, &a.witness)?;
    let srs = load_srs(a.srs.as_deref(), keys.params.k)?;
    let proof = prove_witness(&compiled, &keys, &srs, &witness)?;
    write_json(&a.output, &proof)?;
    eprintln!("wrote {} ({} proof bytes)", a.output.display(), proof.proof.len() / 2 - 1);
    Ok(())
}

/// Proves on the CPU, timing the phase (see [`zkonnx_prover::prove_witness`]).
pub(crate) fn prove_witness(
    compiled: &CompiledModel,
    keys: &Keys,
    srs: &halo2_proofs::poly::kzg::commitment::ParamsKZG<halo2_proofs::halo2curves::bn256::Bn256>,
    witness: &Witness,
) -> Result<ProofArtifact> {
    let phase = Phase::start("proving");
    let proof = zkonnx_prover::prove_witness(compiled, keys, srs, witness, Backend::Cpu).context("proving")?;
    phase.finish();
    Ok(proof)
}
