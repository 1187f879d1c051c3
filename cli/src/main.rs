//! `zkonnx`: prove that an ONNX model produced an output, and verify such proofs.
//!
//! The command-line face of the workspace: it may use every crate, and nothing depends on it.
//! The workflow follows EZKL's (gen-settings, calibrate, compile, setup, gen-witness, prove,
//! verify) plus one-shot `run` and `demo`.

#![expect(clippy::print_stdout, reason = "a CLI prints its results")]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod commands;
mod common;

#[derive(Parser, Debug)]
#[command(name = "zkonnx", version, about = "Zero-knowledge proofs of ONNX model inference (halo2, KZG on BN254)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Write default settings for a model.
    GenSettings(commands::settings::GenSettingsArgs),
    /// Choose scales, lookup range and logrows from sample inputs; report the output error.
    Calibrate(commands::settings::CalibrateArgs),
    /// Quantize and compile a model into the circuit's IR.
    Compile(commands::compile::CompileArgs),
    /// Structured reference string (SRS) tools.
    #[command(subcommand)]
    Srs(commands::srs::SrsCommand),
    /// Generate the proving and verifying keys of a compiled model.
    Setup(commands::setup::SetupArgs),
    /// Run the quantized model on an input and write the witness.
    GenWitness(commands::witness::WitnessArgs),
    /// Print the Poseidon commitments of a compiled model's params and of an input's inputs and
    /// outputs (what `hashed` visibility makes public).
    Hash(commands::hash::HashArgs),
    /// Prove a witness.
    Prove(commands::prove::ProveArgs),
    /// Verify a proof; exits non-zero when it does not verify.
    Verify(commands::verify::VerifyArgs),
    /// Generate and compile a Solidity verifier for a verifying key.
    CreateEvmVerifier(commands::evm::CreateArgs),
    /// Write a proof as verifier calldata (public values, then the proof).
    EncodeEvmCalldata(commands::evm::CalldataArgs),
    /// Deploy a compiled Solidity verifier to a chain over JSON-RPC; prints its address.
    DeployEvm(commands::evm::DeployEvmArgs),
    /// Verify a proof with a Solidity verifier: in an in-process EVM, or deployed on a chain
    /// (`--rpc-url`, `--addr`); exits non-zero when it is rejected.
    VerifyEvm(commands::evm::VerifyEvmArgs),
    /// Print the quantized graph of a model.
    Table(commands::table::TableArgs),
    /// List the ONNX ops this release lowers, with their supported forms and known limits.
    Ops(commands::ops::OpsArgs),
    /// All steps in order: settings, compile, setup, witness, prove, verify (with `--split`: for
    /// a model split into segments, aggregated into one proof).
    Run(commands::run::RunCmdArgs),
    /// Split a model bigger than one circuit into segments (each its own circuit and keys).
    Split(commands::split::SplitArgs),
    /// Prove one segment of a split model from its witness (a stateless, resumable job).
    ProveSegment(commands::split::ProveSegmentArgs),
    /// Aggregate a split model's segment proofs into one proof.
    Aggregate(commands::split::AggregateArgs),
    /// Prove and verify the embedded digits model on an embedded test image.
    Demo(commands::demo::DemoArgs),
    /// Serve proofs over HTTP/JSON from artifact folders (models held in memory, jobs in SQLite).
    Serve(commands::serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // halo2's BN254 arithmetic is built with BMI2/ADX assembly on x86-64 (prover/Cargo.toml):
    // say so instead of dying on an illegal instruction on older CPUs
    #[cfg(target_arch = "x86_64")]
    if !(std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("adx")) {
        eprintln!(
            "error: this CPU lacks the BMI2/ADX instructions zkonnx's field arithmetic is built with \
             (x86-64 from Intel Broadwell / AMD Zen on); rebuild without halo2's `asm` feature"
        );
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::GenSettings(a) => commands::settings::gen_settings(a),
        Command::Calibrate(a) => commands::settings::calibrate(a),
        Command::Compile(a) => commands::compile::run(a),
        Command::Srs(c) => commands::srs::run(c),
        Command::Setup(a) => commands::setup::run(a),
        Command::GenWitness(a) => commands::witness::run(a),
        Command::Hash(a) => commands::hash::run(a),
        Command::Prove(a) => commands::prove::run(a),
        Command::Verify(a) => commands::verify::run(a),
        Command::CreateEvmVerifier(a) => commands::evm::create(a),
        Command::EncodeEvmCalldata(a) => commands::evm::calldata(a),
        Command::DeployEvm(a) => commands::evm::deploy_evm(a),
        Command::VerifyEvm(a) => commands::evm::verify_evm(a),
        Command::Table(a) => commands::table::run(a),
        Command::Ops(a) => commands::ops::run(&a),
        Command::Run(a) => commands::run::run(a),
        Command::Split(a) => commands::split::split(a),
        Command::ProveSegment(a) => commands::split::prove_segment(a),
        Command::Aggregate(a) => commands::split::aggregate(a),
        Command::Demo(a) => commands::demo::run(a),
        Command::Serve(a) => commands::serve::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            if let Some(hint) = hint(&e) {
                eprintln!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The command-line fix for a library error that the library states without flags.
fn hint(e: &anyhow::Error) -> Option<&'static str> {
    use zkonnx::lower::contracts::ContractError;
    let e = e.chain().find_map(|c| c.downcast_ref::<zkonnx::Error>())?;
    match e {
        zkonnx::Error::Memory { .. } => Some("pass --force to try anyway"),
        zkonnx::Error::InsecureSrs { .. } => Some(
            "make the keys and the verifier with `--srs FILE` (a ceremony SRS: `zkonnx srs fetch -k K`), \
             or pass --allow-insecure-srs for a test chain",
        ),
        zkonnx::Error::Contract(c) if matches!(**c, ContractError::TooLarge { .. }) => Some(
            "use `--verifier auto` or `--verifier data` (zkonnx's key-as-data verifier fits any width), regenerate \
             the settings with `--optimize gas` or `--lanes 1`, or pass --allow-oversize (the reference) for a chain \
             without the limit",
        ),
        zkonnx::Error::Compile(c) if matches!(**c, zkonnx::lower::compiler::CompileError::UnsupportedOp { .. }) => {
            Some("`zkonnx ops` lists the ONNX ops this release lowers")
        }
        _ => None,
    }
}
