//! EVM verification: `create-evm-verifier`, `encode-evm-calldata`, `verify-evm`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use zkonnx_ir::Settings;
use zkonnx_verifier::artifact::write_atomic;
use zkonnx_verifier::keys::read_vk;
use zkonnx_verifier::srs::verifier_params;
use zkonnx_verifier::{read_json, write_json, ProofArtifact};
use zkonnx_verifier_contracts::evm::CALL_GAS;
use zkonnx_verifier_contracts::reference::{REFERENCE_CONTRACT, REFERENCE_GENERATOR};
use zkonnx_verifier_contracts::solc::check_deployable;
use zkonnx_verifier_contracts::{
    compile_contract, encode_calldata, reference_verifier, Evm, EvmVerifierArtifact, VerifierInfo,
};

use crate::common::{load_srs, Phase};

#[derive(clap::Args, Debug)]
pub(crate) struct CreateArgs {
    #[arg(long, default_value = "vk.key")]
    vk: PathBuf,
    #[arg(long, default_value = "settings.json")]
    settings: PathBuf,
    /// SRS file (default: the cached development SRS for the settings' logrows).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Where to write the Solidity source.
    #[arg(long = "sol-code-path", default_value = "verifier.sol")]
    sol: PathBuf,
    /// Where to write the compiled verifier (`verifier.json`: bytecode and what it is for).
    #[arg(long = "bytecode-path", default_value = "verifier.json")]
    bytecode: PathBuf,
    /// Write a verifier even when its runtime code exceeds EIP-170 (for chains without the
    /// limit, or to measure it).
    #[arg(long)]
    allow_oversize: bool,
}

pub(crate) fn create(a: CreateArgs) -> Result<()> {
    let settings: Settings = read_json(&a.settings)?;
    let (vk, meta) = read_vk(&a.vk)?;
    meta.check_for(&a.vk, &settings)?;
    let k = settings.run_args.logrows;
    let srs = verifier_params(&load_srs(a.srs.as_deref(), k)?, k)?;
    let phase = Phase::start("generating the Solidity verifier");
    let sol = reference_verifier(&srs, &vk, settings.num_instances())?;
    phase.finish();
    let phase = Phase::start("compiling it (solc)");
    let code = compile_contract(&sol, REFERENCE_CONTRACT, None)?;
    phase.finish();
    let hint = format!(
        "this circuit has {} lanes of 5 advice columns and snark-verifier's verifier grows with the width: \
         regenerate the settings with `--lanes 1` (fewer columns, more rows), or pass --allow-oversize for a \
         chain without the limit",
        settings.run_args.lanes
    );
    if let Err(e) = check_deployable("verifier's runtime code", &code, &hint) {
        if !a.allow_oversize {
            return Err(e.into());
        }
        eprintln!("warning: {e}");
    }
    let info = VerifierInfo {
        generator: REFERENCE_GENERATOR.into(),
        contract: REFERENCE_CONTRACT.into(),
        optimizer: false,
        num_instances: settings.num_instances(),
        logrows: k,
        model_hash: meta.model_hash,
    };
    write_atomic(&a.sol, sol.as_bytes())?;
    write_json(&a.bytecode, &EvmVerifierArtifact::new(&code, info))?;
    eprintln!(
        "wrote {} and {} (runtime code {} bytes of the 24,576 EIP-170 allows; creation code {} bytes)",
        a.sol.display(),
        a.bytecode.display(),
        code.runtime.len(),
        code.creation.len()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct CalldataArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    /// Where to write the raw calldata bytes.
    #[arg(long = "calldata-path", default_value = "calldata.bin")]
    calldata: PathBuf,
}

pub(crate) fn calldata(a: CalldataArgs) -> Result<()> {
    let proof: ProofArtifact = read_json(&a.proof)?;
    let data = encode_calldata(&proof.instances()?, &proof.proof_bytes()?);
    write_atomic(&a.calldata, &data)?;
    eprintln!(
        "wrote {} ({} bytes: {} public values, then the proof)",
        a.calldata.display(),
        data.len(),
        proof.instances.len()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyEvmArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    /// The compiled verifier from `create-evm-verifier`.
    #[arg(long = "bytecode-path", default_value = "verifier.json")]
    bytecode: PathBuf,
}

/// Deploys the verifier into an in-process EVM (mainnet rules) and calls it with the proof.
pub(crate) fn verify_evm(a: VerifyEvmArgs) -> Result<()> {
    let verifier: EvmVerifierArtifact = read_json(&a.bytecode)?;
    let proof: ProofArtifact = read_json(&a.proof)?;
    let code = verifier.bytecode().with_context(|| format!("reading {}", a.bytecode.display()))?;
    let mut evm = if code.runtime.len() > zkonnx_verifier_contracts::EIP170_LIMIT {
        eprintln!("note: the verifier exceeds EIP-170; running it on an EVM without the size limit");
        Evm::without_size_limits()
    } else {
        Evm::new()
    };
    let deployed = evm.deploy(&code.creation).with_context(|| format!("deploying {}", a.bytecode.display()))?;
    let call = evm.call(deployed.address, &encode_calldata(&proof.instances()?, &proof.proof_bytes()?), CALL_GAS)?;
    if !call.accepted() {
        bail!(
            "{} rejected {} ({:?}, {} gas used)",
            a.bytecode.display(),
            a.proof.display(),
            call.status,
            call.gas_used
        );
    }
    eprintln!(
        "verified on the EVM: {} accepted {} ({} gas for the call, {} to deploy)",
        a.bytecode.display(),
        a.proof.display(),
        call.gas_used,
        deployed.gas_used
    );
    Ok(())
}
