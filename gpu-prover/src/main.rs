//! `zkonnx-gpu`: proves a zkonnx witness on an NVIDIA GPU with Axiom's CUDA prover.
//!
//! Not meant to be called by hand: `zkonnx prove --gpu on|auto` and `zkonnx run --gpu on|auto` find
//! the GPU, then run `zkonnx-gpu prove` on the same artifact files. The proof it writes is an ordinary
//! zkonnx proof file (same keys, transcript and format), checked by `zkonnx verify` and the EVM verifier.
//! It links the CUDA runtime and driver, so it only starts on a machine with an NVIDIA GPU.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use zkonnx_prover::{load_srs_for, prove_witness, read_keys_and_witness, Backend};
use zkonnx_verifier::{write_json, CompiledModel};

#[derive(Parser, Debug)]
#[command(name = "zkonnx-gpu", version, about = "Prove zkonnx artifacts on an NVIDIA GPU")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Prove a witness (the arguments of `zkonnx prove`, all required).
    Prove(ProveArgs),
    /// Print the NVIDIA driver and GPUs found.
    Info,
}

#[derive(clap::Args, Debug)]
struct ProveArgs {
    #[arg(long)]
    compiled: PathBuf,
    #[arg(long)]
    pk: PathBuf,
    #[arg(long)]
    witness: PathBuf,
    #[arg(long)]
    srs: PathBuf,
    #[arg(long)]
    proof: PathBuf,
}

fn prove(a: &ProveArgs) -> Result<()> {
    let compiled = CompiledModel::read(&a.compiled)?;
    let (keys, witness) = read_keys_and_witness(&compiled, &a.pk, &a.witness)?;
    let (srs, _) = load_srs_for(&a.srs, keys.params.k).context("loading the SRS")?;
    let start = Instant::now();
    let proof = prove_witness(&compiled, &keys, &srs, &witness, Backend::Cuda).context("proving on the GPU")?;
    eprintln!("zkonnx-gpu: proved in {:.2} s", start.elapsed().as_secs_f64());
    write_json(&a.proof, &proof)?;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Prove(a) => prove(a),
        Command::Info => zkonnx_gpu::probe().map(|info| eprintln!("{info}")).map_err(Into::into),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkonnx-gpu: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
