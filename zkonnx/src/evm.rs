//! On-chain verification: the EVM verifier of a verifying key (zkonnx's compiled verifier, the
//! key as straight-line code in one contract, when it fits EIP-170; zkonnx's key-as-data
//! verifier for any width; or snark-verifier's unrolled one as the reference), an in-process EVM
//! to check proofs against it, and deployment and calls on a real chain over JSON-RPC.

use std::path::Path;

use zkonnx_verifier::artifact::write_atomic;
use zkonnx_verifier::{read_json, write_json};
use zkonnx_verifier_contracts::reference::{REFERENCE_CONTRACT, REFERENCE_GENERATOR};
use zkonnx_verifier_contracts::rpc::{self, Address, Deployment, Signer};
use zkonnx_verifier_contracts::solc::check_deployable;
use zkonnx_verifier_contracts::vk_verifier::{
    compile_vk_verifier, creation_with_vk, matches_runtime, VK_VERIFIER_CONTRACT, VK_VERIFIER_GENERATOR,
    VK_VERIFIER_SOURCE,
};
use zkonnx_verifier_contracts::vkdata::{compiled, VkData};
use zkonnx_verifier_contracts::{compile_contract, reference_verifier, Bytecode, ContractError, Evm, VerifierInfo};
pub use zkonnx_verifier_contracts::{EvmVerifierArtifact, EIP170_LIMIT, SRS_INSECURE_DEV, SRS_OTHER};

use crate::progress::{timed, Level, Progress};
use crate::{Error, Proof, Result, Verifier};

/// Which EVM verifier to make.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifierKind {
    /// The compiled verifier when its code fits EIP-170 (the cheapest to call), else the
    /// key-as-data one (any width).
    #[default]
    Auto,
    /// The verifying key compiled to straight-line EVM code, one contract (`vkdata::compiled`);
    /// an error when the code outgrows EIP-170.
    Compiled,
    /// zkonnx's `Halo2VerifierVk`: one contract for every circuit, the key stored as data.
    KeyAsData,
    /// snark-verifier's unrolled verifier, the key baked into code; it grows with the circuit's
    /// width and outgrows EIP-170 at about 14 advice columns.
    Reference,
}

/// A compiled Solidity verifier with its source.
#[derive(Debug, Clone)]
pub struct EvmVerifier {
    /// The Solidity source.
    pub source: String,
    /// `verifier.json`: bytecode and what it is for (its sizes included).
    pub artifact: EvmVerifierArtifact,
}

impl EvmVerifier {
    /// Creation code size, bytes.
    pub fn creation_size(&self) -> usize {
        self.artifact.creation.trim_start_matches("0x").len() / 2
    }

    /// Writes the source and `verifier.json` atomically.
    pub fn write(&self, sol: &Path, json: &Path) -> Result<()> {
        write_atomic(sol, self.source.as_bytes())?;
        write_json(json, &self.artifact)?;
        Ok(())
    }
}

/// How [`create_verifier`] makes a verifier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierOptions {
    /// Which verifier.
    pub kind: VerifierKind,
    /// Write a reference verifier over EIP-170 anyway (a warning).
    pub allow_oversize: bool,
    /// Make a verifier against the insecure development SRS anyway (a warning): only for tests,
    /// since anyone can forge proofs it accepts.
    pub allow_insecure_srs: bool,
}

impl VerifierOptions {
    /// The key-as-data verifier, refusing oversize code and the development SRS.
    pub fn new(kind: VerifierKind) -> Self {
        Self { kind, ..Self::default() }
    }
}

/// The warning a verifier against the development SRS carries when allowed.
const INSECURE_VERIFIER: &str = "this EVM verifier checks proofs against the INSECURE development SRS: anyone can \
     forge proofs it accepts; never deploy it where it matters";

fn refuse_insecure(what: &str, allow: bool, progress: &dyn Progress) -> Result<()> {
    if allow {
        progress.note(Level::Warning, INSECURE_VERIFIER);
        return Ok(());
    }
    Err(Error::InsecureSrs { action: what.to_string() })
}

/// Makes the EVM verifier of a verifying key ([`VerifierKind::Auto`]: the compiled verifier when
/// its code fits EIP-170, else the key-as-data one, with a note saying why). Refused when the
/// verifier's SRS is the insecure development one, unless allowed; a reference verifier over
/// EIP-170 is refused unless allowed (then reported as a warning).
pub fn create_verifier(verifier: &Verifier, options: &VerifierOptions, progress: &dyn Progress) -> Result<EvmVerifier> {
    if verifier.insecure_dev_srs() {
        refuse_insecure("making an EVM verifier", options.allow_insecure_srs, progress)?;
    }
    let (kind, allow_oversize) = (options.kind, options.allow_oversize);
    let (settings, vk, srs, model_hash) = (verifier.settings(), verifier.vk(), verifier.srs(), verifier.model_hash());
    let num_instances = settings.num_instances();
    let info = |generator: &str, contract: &str, optimizer| VerifierInfo {
        generator: generator.into(),
        contract: contract.into(),
        optimizer,
        num_instances,
        logrows: settings.run_args.logrows,
        model_hash: model_hash.into(),
    };
    let (source, code, info, data_size) = match kind {
        VerifierKind::Reference => {
            let (sol, _) = timed(progress, "generating snark-verifier's Solidity verifier", || {
                reference_verifier(srs, vk, num_instances)
            });
            let sol = sol?;
            let (code, _) = timed(progress, "compiling it (solc)", || compile_contract(&sol, REFERENCE_CONTRACT, None));
            let code = code?;
            let hint = format!(
                "this circuit has {} lanes of 5 advice columns and snark-verifier's verifier grows with the width: \
                 use the key-as-data verifier (it fits any width), regenerate the settings with one lane, or allow \
                 an oversize verifier for a chain without the limit",
                settings.run_args.lanes
            );
            if let Err(e) = check_deployable("verifier's runtime code", &code, &hint) {
                if !allow_oversize {
                    return Err(e.into());
                }
                progress.note(Level::Warning, &e.to_string());
            }
            (sol, code, info(REFERENCE_GENERATOR, REFERENCE_CONTRACT, false), None)
        }
        VerifierKind::Auto | VerifierKind::Compiled | VerifierKind::KeyAsData => {
            let (data, _) =
                timed(progress, "encoding the verifying key as data", || VkData::new(srs, vk, num_instances));
            let data = data?;
            if kind != VerifierKind::KeyAsData {
                let (code, _) = timed(progress, "compiling the key to EVM code", || compiled::verifier_code(&data));
                match code {
                    Ok(runtime) => {
                        let code = Bytecode { creation: compiled::creation_of(&runtime), runtime };
                        let source = compiled::deployer_source(&code.runtime, model_hash);
                        let info = info(compiled::COMPILED_GENERATOR, compiled::COMPILED_CONTRACT, false);
                        return Ok(finish(verifier, source, &code, info, None));
                    }
                    Err(e) if kind == VerifierKind::Auto => progress.note(
                        Level::Info,
                        &format!("{e}: making the key-as-data verifier (it fits any width, at more gas per call)"),
                    ),
                    Err(e) => return Err(e.into()),
                }
            }
            let (verifier, _) = timed(progress, "compiling the verifier (solc)", compile_vk_verifier);
            let verifier = verifier?;
            let creation = creation_with_vk(&verifier, &data)?;
            let code = Bytecode { creation, runtime: verifier.runtime };
            let size = data.to_bytes().len() + 1;
            (VK_VERIFIER_SOURCE.to_string(), code, info(VK_VERIFIER_GENERATOR, VK_VERIFIER_CONTRACT, true), Some(size))
        }
    };
    Ok(finish(verifier, source, &code, info, data_size))
}

fn finish(
    verifier: &Verifier,
    source: String,
    code: &Bytecode,
    info: VerifierInfo,
    data_size: Option<usize>,
) -> EvmVerifier {
    let mut artifact = EvmVerifierArtifact::new(code, info);
    artifact.vk_data_size = data_size;
    artifact.srs = if verifier.insecure_dev_srs() { SRS_INSECURE_DEV } else { SRS_OTHER }.to_string();
    EvmVerifier { source, artifact }
}

/// Reads `verifier.json`.
pub fn read_verifier(path: &Path) -> Result<EvmVerifierArtifact> {
    Ok(read_json(path)?)
}

/// The in-process EVM's verdict on one proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct EvmVerdict {
    /// Whether the verifier returned `1`.
    pub accepted: bool,
    /// Gas of the call (21,000 base and calldata included).
    pub gas_used: u64,
    /// Gas of the deployment.
    pub deploy_gas: u64,
    /// Whether the EVM ran without the contract-size limits (an oversize verifier).
    pub unlimited: bool,
}

/// Deploys `verifier` into a fresh in-process EVM (mainnet rules; without the size limits when
/// it exceeds EIP-170) and calls it with the proof's calldata, capped at `gas_limit`.
pub fn verify_in_evm(verifier: &EvmVerifierArtifact, proof: &Proof, gas_limit: u64) -> Result<EvmVerdict> {
    verify_calldata_in_evm(verifier, &proof.calldata()?, gas_limit)
}

/// [`verify_in_evm`] with the calldata (public values, then the proof) of any proof.
pub fn verify_calldata_in_evm(verifier: &EvmVerifierArtifact, calldata: &[u8], gas_limit: u64) -> Result<EvmVerdict> {
    let code = verifier.bytecode()?;
    let unlimited = code.runtime.len() > EIP170_LIMIT;
    let mut evm = if unlimited { Evm::without_size_limits() } else { Evm::new() };
    let deployed = evm.deploy(&code.creation)?;
    let call = evm.call(deployed.address, calldata, gas_limit)?;
    Ok(EvmVerdict { accepted: call.accepted(), gas_used: call.gas_used, deploy_gas: deployed.gas_used, unlimited })
}

/// Deploys a verifier to the chain at `rpc_url`, paid by `signer`, and checks that the code now
/// at the address is the verifier's runtime code. A verifier made against the insecure
/// development SRS (or by a zkonnx that did not record its SRS) is refused unless
/// `allow_insecure_srs`.
pub fn deploy(
    rpc_url: &str,
    signer: &Signer,
    verifier: &EvmVerifierArtifact,
    allow_insecure_srs: bool,
    progress: &dyn Progress,
) -> Result<Deployment> {
    match verifier.srs.as_str() {
        SRS_OTHER => {}
        SRS_INSECURE_DEV => refuse_insecure("deploying this verifier", allow_insecure_srs, progress)?,
        _ => refuse_insecure(
            "deploying a verifier that does not record its SRS (regenerate it)",
            allow_insecure_srs,
            progress,
        )?,
    }
    let code = verifier.bytecode()?;
    let deployed = rpc::deploy(rpc_url, signer, &code.creation)?;
    let onchain = rpc::code_at(rpc_url, deployed.address)?;
    if !matches_runtime(&onchain, &code.runtime) {
        return Err(Error::from(ContractError::Rejected {
            reason: format!(
                "the code at {} ({} bytes) is not the verifier's runtime code ({} bytes)",
                deployed.address,
                onchain.len(),
                code.runtime.len()
            ),
        }));
    }
    Ok(deployed)
}

/// Re-exports for chain access: signers, addresses, verdicts, the raw JSON-RPC calls and a
/// local hardhat node for development.
pub mod chain {
    pub use zkonnx_verifier_contracts::hardhat::{HardhatNode, DEV_KEYS, HARDHAT_CHAIN_ID};
    pub use zkonnx_verifier_contracts::rpc::{
        call, call_verifier, chain_id, code_at, deploy, redact_url, send_verify, Address, Deployment, Signer,
        TxOutcome, Verdict, DEFAULT_VERIFY_GAS,
    };
}

/// `eth_call` of a deployed verifier with a proof.
pub fn call_on_chain(rpc_url: &str, to: Address, proof: &Proof, gas: u64) -> Result<rpc::Verdict> {
    Ok(rpc::call_verifier(rpc_url, to, &proof.calldata()?, gas)?)
}

/// The EVM verifier of a split model's aggregated proofs, for the root's key: zkonnx's compiled
/// verifier with accumulator support ([`VerifierKind::Auto`] or [`VerifierKind::Compiled`]), or
/// snark-verifier's generated one ([`VerifierKind::Reference`]); both decode the KZG
/// accumulator among the public values and fold it into their pairing check. The code and the
/// gas depend on the root circuit's shape alone, not on the number of segments. `srs` is the
/// aggregation's (at least its logrows). Refused against the insecure development SRS unless
/// allowed; the key-as-data verifier does not decode accumulators.
pub fn create_aggregated_verifier(
    split: &crate::split::Split,
    srs: &halo2_proofs::poly::kzg::commitment::ParamsKZG<halo2_proofs::halo2curves::bn256::Bn256>,
    options: &VerifierOptions,
    progress: &dyn Progress,
) -> Result<EvmVerifier> {
    let insecure = zkonnx_prover::is_dev_srs(srs);
    if insecure {
        refuse_insecure("making an EVM verifier", options.allow_insecure_srs, progress)?;
    }
    let vk = split.root_vk()?;
    let k = vk.get_domain().k();
    let num_instances = split.root_interface()?.len();
    let params = zkonnx_verifier::srs::verifier_params(srs, k)?;
    let model_hash = split.manifest().model_hash.clone();
    let info = |generator: &str, contract: &str| VerifierInfo {
        generator: generator.into(),
        contract: contract.into(),
        optimizer: false,
        num_instances,
        logrows: k,
        model_hash: model_hash.clone(),
    };
    let (source, code, info) = match options.kind {
        VerifierKind::Reference => {
            let (sol, _) = timed(progress, "generating snark-verifier's aggregation verifier", || {
                zkonnx_verifier_contracts::reference::reference_aggregation_verifier(&params, &vk, num_instances)
            });
            let sol = sol?;
            let (code, _) = timed(progress, "compiling it (solc)", || compile_contract(&sol, REFERENCE_CONTRACT, None));
            let code = code?;
            let hint =
                "snark-verifier's unrolled verifier of this aggregation circuit is too large: use the compiled one";
            if let Err(e) = check_deployable("verifier's runtime code", &code, hint) {
                if !options.allow_oversize {
                    return Err(e.into());
                }
                progress.note(Level::Warning, &e.to_string());
            }
            (sol, code, info(REFERENCE_GENERATOR, REFERENCE_CONTRACT))
        }
        VerifierKind::KeyAsData => {
            return Err(Error::Option {
                option: "--verifier".into(),
                reason: "data: the key-as-data verifier does not decode the accumulator of aggregated proofs; use \
                         auto (compiled) or reference"
                    .into(),
            })
        }
        VerifierKind::Auto | VerifierKind::Compiled => {
            let data = VkData::with_accumulator(&params, &vk, num_instances)?;
            let (runtime, _) = timed(progress, "compiling the key to EVM code", || compiled::verifier_code(&data));
            let runtime = runtime?;
            let code = Bytecode { creation: compiled::creation_of(&runtime), runtime };
            let source = compiled::deployer_source(&code.runtime, &model_hash);
            (source, code, info(compiled::COMPILED_GENERATOR, compiled::COMPILED_CONTRACT))
        }
    };
    let mut artifact = EvmVerifierArtifact::new(&code, info);
    artifact.srs = if insecure { SRS_INSECURE_DEV } else { SRS_OTHER }.to_string();
    Ok(EvmVerifier { source, artifact })
}

/// [`verify_in_evm`] for an aggregated proof.
pub fn verify_aggregated_in_evm(
    verifier: &EvmVerifierArtifact,
    proof: &crate::split::AggregatedProof,
    gas_limit: u64,
) -> Result<EvmVerdict> {
    verify_calldata_in_evm(verifier, &proof.calldata()?, gas_limit)
}

/// [`call_on_chain`] for an aggregated proof.
pub fn call_aggregated_on_chain(
    rpc_url: &str,
    to: Address,
    proof: &crate::split::AggregatedProof,
    gas: u64,
) -> Result<rpc::Verdict> {
    Ok(rpc::call_verifier(rpc_url, to, &proof.calldata()?, gas)?)
}
