//! EVM verification: `create-evm-verifier`, `encode-evm-calldata`, `deploy-evm`, `verify-evm`
//! (in an in-process EVM, or on a chain over JSON-RPC).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use zkonnx::evm::chain::{self as rpc, redact_url, Address, Signer, DEFAULT_VERIFY_GAS};
use zkonnx::evm::{self, EvmVerifierArtifact, VerifierKind, VerifierOptions};
use zkonnx::lower::contracts::evm::CALL_GAS;
use zkonnx::lower::verifier::artifact::write_atomic;
use zkonnx::Proof;

use crate::common::{Spinners, VkArgs};

#[derive(clap::Args, Debug)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    key: VkArgs,
    /// Where to write the Solidity source.
    #[arg(long = "sol-code-path", default_value = "verifier.sol")]
    sol: PathBuf,
    /// Where to write the compiled verifier (`verifier.json`: bytecode and what it is for).
    #[arg(long = "bytecode-path", default_value = "verifier.json")]
    bytecode: PathBuf,
    /// Which verifier: `auto` (the compiled one when it fits EIP-170, else `data`), `compiled`
    /// (the key compiled to straight-line EVM code: the least gas per proof), `data` (one
    /// contract for every circuit, the key stored as data: any width), or `reference`
    /// (snark-verifier's unrolled Solidity, which zkonnx tests its own against).
    #[arg(long, value_enum, default_value = "auto")]
    verifier: Kind,
    /// Same as `--verifier reference`.
    #[arg(long, conflicts_with = "verifier")]
    reference: bool,
    /// Write a verifier even when its runtime code exceeds EIP-170 (for chains without the
    /// limit, or to measure it).
    #[arg(long)]
    allow_oversize: bool,
    /// Write a verifier against the INSECURE development SRS anyway (tests only: anyone can
    /// forge proofs it accepts).
    #[arg(long)]
    allow_insecure_srs: bool,
    /// A proof of the model: the new verifier is deployed in an in-process EVM and checks it,
    /// and the gas that verification took is printed (without it, the layout's prediction).
    #[arg(long)]
    proof: Option<PathBuf>,
    /// A split model's folder: the verifier of its aggregated proofs (the root key's, decoding its
    /// accumulator: compiled, or `--verifier reference`; `--proof` is then an `aggregated.json`).
    #[arg(long)]
    split: Option<PathBuf>,
}

/// `--verifier`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub(crate) enum Kind {
    Auto,
    Compiled,
    Data,
    Reference,
}

impl CreateArgs {
    /// The verifier `--verifier` (or `--reference`) asks for.
    fn kind(&self) -> VerifierKind {
        match (self.reference, self.verifier) {
            (true, _) | (_, Kind::Reference) => VerifierKind::Reference,
            (_, Kind::Auto) => VerifierKind::Auto,
            (_, Kind::Compiled) => VerifierKind::Compiled,
            (_, Kind::Data) => VerifierKind::KeyAsData,
        }
    }
}

pub(crate) fn create(a: CreateArgs) -> Result<()> {
    if let Some(split) = &a.split {
        return create_aggregated(&a, split);
    }
    let progress = Spinners::default();
    let verifier = a.key.load(&progress)?;
    let kind = a.kind();
    let mut options = VerifierOptions::new(kind);
    options.allow_oversize = a.allow_oversize;
    options.allow_insecure_srs = a.allow_insecure_srs;
    let made = evm::create_verifier(&verifier, &options, &progress)?;
    made.write(&a.sol, &a.bytecode)?;
    let data_note =
        made.artifact.vk_data_size.map(|s| format!(", verifying-key data contract {s} bytes")).unwrap_or_default();
    eprintln!(
        "wrote {} and {} (runtime code {} bytes of the 24,576 EIP-170 allows{data_note}; creation code {} bytes)",
        a.sol.display(),
        a.bytecode.display(),
        made.artifact.runtime_size,
        made.creation_size()
    );
    match &a.proof {
        Some(path) => {
            let proof = Proof::read(path)?;
            let v = evm::verify_in_evm(&made.artifact, &proof, zkonnx::lower::contracts::evm::CALL_GAS)?;
            if !v.accepted {
                anyhow::bail!("{}: the new verifier refuses this proof in the EVM", path.display());
            }
            eprintln!(
                "measured in revm: verifying {} takes {} gas (base cost and calldata included); deploying takes {}",
                path.display(),
                v.gas_used,
                v.deploy_gas
            );
        }
        None => {
            if let Some(l) = verifier.settings().model.layout.as_ref().filter(|l| l.predicted_verify_gas > 0) {
                eprintln!(
                    "predicted verify gas {} for this layout (pass --proof proof.json to measure it)",
                    l.predicted_verify_gas
                );
            }
        }
    }
    Ok(())
}

/// `create-evm-verifier --split DIR`.
fn create_aggregated(a: &CreateArgs, dir: &Path) -> Result<()> {
    let progress = Spinners::default();
    let split = zkonnx::split::Split::open(dir)?;
    let srs = crate::common::srs_source(a.key.srs.as_deref())?.load(split.manifest().aggregation_k, &progress)?;
    let kind = a.kind();
    let mut options = VerifierOptions::new(kind);
    options.allow_oversize = a.allow_oversize;
    options.allow_insecure_srs = a.allow_insecure_srs;
    let made = evm::create_aggregated_verifier(&split, &srs, &options, &progress)?;
    made.write(&a.sol, &a.bytecode)?;
    eprintln!(
        "wrote {} and {} (the aggregated proofs' verifier: runtime code {} bytes of the 24,576 EIP-170 allows)",
        a.sol.display(),
        a.bytecode.display(),
        made.artifact.runtime_size
    );
    if let Some(path) = &a.proof {
        let proof: zkonnx::split::AggregatedProof = zkonnx::lower::verifier::read_json(path)?;
        let v = evm::verify_aggregated_in_evm(&made.artifact, &proof, CALL_GAS)?;
        if !v.accepted {
            bail!("{}: the new verifier refuses this aggregated proof in the EVM", path.display());
        }
        eprintln!(
            "measured in revm: verifying {} takes {} gas; deploying takes {}",
            path.display(),
            v.gas_used,
            v.deploy_gas
        );
    }
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
    let proof = Proof::read(&a.proof)?;
    let data = proof.calldata()?;
    write_atomic(&a.calldata, &data)?;
    eprintln!(
        "wrote {} ({} bytes: {} public values, then the proof)",
        a.calldata.display(),
        data.len(),
        proof.public_values().len()
    );
    Ok(())
}

/// Where the private key that pays comes from: a file, else an environment variable; never a
/// command-line argument (those show in `ps` and shell history).
#[derive(clap::Args, Debug)]
pub(crate) struct KeyArgs {
    /// File holding the paying account's private key (hex, with or without 0x); without it the
    /// key is read from the ZKONNX_PRIVATE_KEY environment variable.
    #[arg(long = "private-key-file")]
    private_key_file: Option<PathBuf>,
}

/// The environment variable read when no `--private-key-file` is given.
const KEY_ENV: &str = "ZKONNX_PRIVATE_KEY";

impl KeyArgs {
    fn signer(&self) -> Result<Signer> {
        let (key, from) = match &self.private_key_file {
            Some(path) => (
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the private key file {}", path.display()))?,
                path.display().to_string(),
            ),
            None => match std::env::var(KEY_ENV) {
                Ok(key) => (key, format!("${KEY_ENV}")),
                Err(_) => bail!(
                    "no private key: pass --private-key-file FILE or set {KEY_ENV} (a key is never taken on the \
                     command line)"
                ),
            },
        };
        Signer::from_hex(&key).with_context(|| format!("the private key in {from}"))
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct DeployEvmArgs {
    /// The chain's JSON-RPC endpoint (http or https, e.g. http://127.0.0.1:8545).
    #[arg(long = "rpc-url")]
    rpc_url: String,
    /// The compiled verifier from `create-evm-verifier`.
    #[arg(long = "bytecode-path", default_value = "verifier.json")]
    bytecode: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
    /// Where to write the deployed address.
    #[arg(long = "addr-path", default_value = "addr.txt")]
    addr_path: PathBuf,
    /// Deploy a verifier made against the INSECURE development SRS anyway (a local test chain
    /// only: anyone can forge proofs it accepts).
    #[arg(long)]
    allow_insecure_srs: bool,
}

/// Deploys the verifier with a transaction, checks the code now at the address, and prints and
/// writes the address.
pub(crate) fn deploy_evm(a: DeployEvmArgs) -> Result<()> {
    let signer = a.key.signer()?;
    let verifier: EvmVerifierArtifact = evm::read_verifier(&a.bytecode)?;
    if verifier.runtime_size > evm::EIP170_LIMIT {
        eprintln!(
            "warning: the verifier's runtime code is {} bytes, over EIP-170's 24,576: a chain with the limit \
             refuses it",
            verifier.runtime_size
        );
    }
    let shown = redact_url(&a.rpc_url);
    let chain = rpc::chain_id(&a.rpc_url)?;
    eprintln!("deploying {} to chain {chain} at {shown} from {}", a.bytecode.display(), signer.address());
    let deployed = evm::deploy(&a.rpc_url, &signer, &verifier, a.allow_insecure_srs, &Spinners::default())?;
    write_atomic(&a.addr_path, format!("{}\n", deployed.address).as_bytes())?;
    eprintln!(
        "deployed at {} (transaction {}, {} gas); wrote {}",
        deployed.address,
        deployed.tx_hash,
        deployed.gas_used,
        a.addr_path.display()
    );
    println!("{}", deployed.address);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyEvmArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    /// The compiled verifier from `create-evm-verifier` (in-process EVM only).
    #[arg(long = "bytecode-path", default_value = "verifier.json")]
    bytecode: PathBuf,
    /// Verify on a chain through this JSON-RPC endpoint (http or https) with `eth_call`, instead
    /// of in an in-process EVM.
    #[arg(long = "rpc-url", requires = "addr")]
    rpc_url: Option<String>,
    /// The deployed verifier's address (what `deploy-evm` printed).
    #[arg(long, requires = "rpc_url")]
    addr: Option<String>,
    /// Also verify in a transaction, paid by the private key, whose receipt must have status 1.
    #[arg(long, requires = "rpc_url")]
    send: bool,
    #[command(flatten)]
    key: KeyArgs,
    /// Gas cap of the call and the transaction; a verifier may burn all of it on a bad proof
    /// [default: 3,000,000 on a chain, 30,000,000 in-process].
    #[arg(long = "gas-limit")]
    gas_limit: Option<u64>,
}

/// Verifies a proof in an in-process EVM, or on a chain with `--rpc-url`.
pub(crate) fn verify_evm(a: VerifyEvmArgs) -> Result<()> {
    if a.key.private_key_file.is_some() && !a.send {
        bail!("--private-key-file is only read with --send (the transaction needs a payer; eth_call does not)");
    }
    match (&a.rpc_url, &a.addr) {
        (Some(url), Some(addr)) => verify_on_chain(&a, url, addr),
        _ => verify_in_process(&a),
    }
}

/// `eth_call`, then with `--send` a transaction; an error (non-zero exit) on a refusal.
fn verify_on_chain(a: &VerifyEvmArgs, url: &str, addr: &str) -> Result<()> {
    let to = Address::from_str(addr.trim()).with_context(|| format!("--addr {addr}: not an address"))?;
    let signer = if a.send { Some(a.key.signer()?) } else { None };
    let calldata = proof_calldata(&a.proof)?;
    let shown = redact_url(url);
    let gas = a.gas_limit.unwrap_or(DEFAULT_VERIFY_GAS);
    let verdict = rpc::call_verifier(url, to, &calldata, gas)?;
    if !verdict.accepted {
        bail!(
            "the verifier at {to} on {shown} rejected {} in eth_call (gas cap {}): {}",
            a.proof.display(),
            gas,
            verdict.reason.as_deref().unwrap_or("no reason given")
        );
    }
    let estimate = verdict.gas_estimate.map_or_else(|| "unknown".into(), |g| g.to_string());
    eprintln!("eth_call: the verifier at {to} on {shown} accepted {} (estimated gas {estimate})", a.proof.display());
    let Some(signer) = signer else { return Ok(()) };
    let sent = rpc::send_verify(url, &signer, to, &calldata, gas)?;
    if !sent.success {
        bail!(
            "transaction {} failed (receipt status 0, {} gas used of {}): the verifier rejected {}",
            sent.tx_hash,
            sent.gas_used,
            gas,
            a.proof.display()
        );
    }
    eprintln!("transaction {}: receipt status 1, {} gas used", sent.tx_hash, sent.gas_used);
    Ok(())
}

/// The calldata of a proof file: a single proof (`proof.json`) or an aggregated one
/// (`aggregated.json`), told apart by its format tag.
fn proof_calldata(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let format = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v.get("format").and_then(|f| f.as_str()).map(str::to_string));
    if format.as_deref() == Some("zkonnx-aggregated-proof") {
        let proof: zkonnx::split::AggregatedProof = zkonnx::lower::verifier::parse_json(path, &bytes)?;
        return Ok(proof.calldata()?);
    }
    Ok(Proof::read(path)?.calldata()?)
}

/// Deploys the verifier into an in-process EVM (mainnet rules) and calls it with the proof.
fn verify_in_process(a: &VerifyEvmArgs) -> Result<()> {
    let verifier = evm::read_verifier(&a.bytecode)?;
    let calldata = proof_calldata(&a.proof)?;
    let verdict = evm::verify_calldata_in_evm(&verifier, &calldata, a.gas_limit.unwrap_or(CALL_GAS))
        .with_context(|| format!("deploying and calling {}", a.bytecode.display()))?;
    if verdict.unlimited {
        eprintln!("note: the verifier exceeds EIP-170; running it on an EVM without the size limit");
    }
    if !verdict.accepted {
        bail!("{} rejected {} ({} gas used)", a.bytecode.display(), a.proof.display(), verdict.gas_used);
    }
    eprintln!(
        "verified on the EVM: {} accepted {} ({} gas for the call, {} to deploy)",
        a.bytecode.display(),
        a.proof.display(),
        verdict.gas_used,
        verdict.deploy_gas
    );
    Ok(())
}
