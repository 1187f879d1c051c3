//! A dApp backend in one file: it uses the `zkonnx` library to prove what a model predicts, then
//! puts the proof on a chain, where the example consumer contract `ProvenArgmax` verifies it
//! through the deployed zkonnx verifier and records the winning class; finally it reads the
//! proven class back from the chain.
//!
//! ```sh
//! dapp-backend --rpc-url http://127.0.0.1:8545 --private-key-file key.txt [--model M --input I] [--work DIR]
//! ```
//! Without `--model`, the digits CNN of `zkonnx demo` on its test image (a 7).
//!
//! What a real backend keeps across requests: the [`zkonnx::Prover`] (circuit, proving key and
//! SRS in memory), the deployed addresses. This example uses the insecure development SRS, like
//! the tests; pass `--srs` with a ceremony SRS (`zkonnx srs fetch -k K`) for anything real.

#![expect(clippy::print_stdout, reason = "an example program prints its result")]

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use clap::Parser;
use sha3::{Digest, Keccak256};
use zkonnx::evm::chain::{self, Signer};
use zkonnx::evm::{create_verifier, VerifierKind, VerifierOptions};
use zkonnx::lower::contracts::compile_contract;
use zkonnx::{Artifacts, Level, Model, Options, Progress, Prover, SrsSource, Visibility};

const DIGITS_MODEL: &[u8] = include_bytes!("../../../fixtures/digits_cnn/model.onnx");
const DIGITS_INPUT: &[u8] = include_bytes!("../../../fixtures/digits_cnn/input.json");
const CONSUMER: &str = include_str!("../../../verifier-contracts/contracts/ProvenArgmax.sol");
/// Gas the consumer hands the verifier (a failing verifier may burn it all).
const VERIFY_GAS: u64 = 3_000_000;

#[derive(Parser, Debug)]
struct Args {
    /// The chain's JSON-RPC endpoint.
    #[arg(long = "rpc-url")]
    rpc_url: String,
    /// File holding the paying account's private key (hex).
    #[arg(long = "private-key-file")]
    private_key_file: PathBuf,
    /// An ONNX classifier (default: the digits CNN).
    #[arg(long, requires = "input")]
    model: Option<PathBuf>,
    /// Its input (EZKL format).
    #[arg(long, requires = "model")]
    input: Option<PathBuf>,
    /// Folder for the artifacts.
    #[arg(long, default_value = "dapp-artifacts")]
    work: PathBuf,
    /// SRS file (default: the INSECURE development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
}

/// Prints the library's notes on stderr.
struct Notes;

impl Progress for Notes {
    fn note(&self, level: Level, message: &str) {
        eprintln!("{}{message}", if level == Level::Warning { "warning: " } else { "" });
    }
}

fn selector(signature: &str) -> [u8; 4] {
    let h = Keccak256::digest(signature.as_bytes());
    [h[0], h[1], h[2], h[3]]
}

/// A uint256 word.
fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// `submit(bytes data)` ABI-encoded.
fn submit_call(data: &[u8]) -> Vec<u8> {
    let mut out = selector("submit(bytes)").to_vec();
    out.extend_from_slice(&word(32));
    out.extend_from_slice(&word(data.len() as u64));
    out.extend_from_slice(data);
    out.resize(out.len() + (32 - data.len() % 32) % 32, 0);
    out
}

fn main() -> Result<()> {
    let a = Args::parse();
    let signer =
        Signer::from_hex(&std::fs::read_to_string(&a.private_key_file).context("reading the private key file")?)?;

    // 1. the model, calibrated on its input, compiled; keys made once
    let (model, inputs) = match (&a.model, &a.input) {
        (Some(m), Some(i)) => (Model::load(m, &Default::default())?, zkonnx::read_inputs(i)?),
        _ => (Model::from_bytes(DIGITS_MODEL, "digits_cnn", &Default::default())?, zkonnx::parse_inputs(DIGITS_INPUT)?),
    };
    let options = Options::new();
    let compiled = model.compile(model.settings(std::slice::from_ref(&inputs), &options)?)?;
    let settings = compiled.settings.clone();
    ensure!(
        settings.run_args.output_visibility == Visibility::Public,
        "the outputs must be public to be used on-chain"
    );
    let artifacts = Artifacts::create(&a.work)?;
    artifacts.write_compiled(&compiled)?;
    let srs = SrsSource::file_or_dev(a.srs.as_deref())?;
    let params = srs.load(settings.run_args.logrows, &Notes)?;
    let (keys, _) = artifacts.setup(&compiled, &params, &Notes)?;
    let prover = Prover::new(compiled, keys, params)?;

    // 2. the proof of this input
    let proof = prover.prove(&inputs)?;
    let outputs: Vec<f64> = proof.outputs().iter().flatten().copied().collect();
    let predicted = outputs.iter().enumerate().fold(0, |best, (i, &x)| if x > outputs[best] { i } else { best });
    eprintln!("proved: the model predicts class {predicted} (outputs {outputs:?})");

    // 3. the verifier and the consumer on the chain
    // the development SRS is allowed only when the example chose it (no --srs): on a test chain
    let mut options = VerifierOptions::new(VerifierKind::KeyAsData);
    options.allow_insecure_srs = a.srs.is_none();
    let verifier = create_verifier(&prover.verifier()?, &options, &Notes)?;
    let deployed = zkonnx::evm::deploy(&a.rpc_url, &signer, &verifier.artifact, options.allow_insecure_srs, &Notes)?;
    eprintln!("verifier deployed at {} ({} gas)", deployed.address, deployed.gas_used);
    let consumer = compile_contract(CONSUMER, "ProvenArgmax", Some(200))?;
    let public_inputs: usize = if settings.run_args.input_visibility == Visibility::Public {
        settings.model.input_shapes.iter().map(|s| s.iter().product::<usize>()).sum()
    } else {
        0
    };
    let mut creation = consumer.creation.clone();
    let mut address_word = [0u8; 32];
    address_word[12..].copy_from_slice(deployed.address.as_slice());
    creation.extend_from_slice(&address_word);
    for v in [settings.num_instances(), public_inputs, outputs.len(), VERIFY_GAS as usize] {
        creation.extend_from_slice(&word(v as u64));
    }
    let app = chain::deploy(&a.rpc_url, &signer, &creation)?;
    eprintln!("ProvenArgmax deployed at {} ({} gas)", app.address, app.gas_used);

    // 4. submit the proof; the contract verifies it and records the argmax
    let sent = chain::send_verify(&a.rpc_url, &signer, app.address, &submit_call(&proof.calldata()?), 5_000_000)?;
    if !sent.success {
        bail!("ProvenArgmax.submit reverted (transaction {}, {} gas)", sent.tx_hash, sent.gas_used);
    }
    eprintln!("submitted in transaction {} ({} gas)", sent.tx_hash, sent.gas_used);

    // 5. read the proven class back from the chain
    let read = chain::call(&a.rpc_url, app.address, &selector("lastClass()"), 100_000)?;
    ensure!(read.len() == 32, "lastClass() returned {} bytes", read.len());
    let mut low = [0u8; 8];
    low.copy_from_slice(&read[24..]);
    let on_chain = u64::from_be_bytes(low);
    ensure!(read[..24].iter().all(|&b| b == 0), "lastClass() is not a small integer: 0x{}", hex::encode(&read));

    // a proof whose claimed output is changed is refused by the contract
    let mut forged = proof.calldata()?;
    let at = (public_inputs + predicted) * 32 + 31;
    forged[at] ^= 1;
    let refused = chain::send_verify(&a.rpc_url, &signer, app.address, &submit_call(&forged), 5_000_000)?;
    ensure!(!refused.success, "a forged output was accepted on chain");

    let report = serde_json::json!({
        "predicted": predicted,
        "on_chain_class": on_chain,
        "verifier": deployed.address.to_string(),
        "consumer": app.address.to_string(),
        "submit_gas": sent.gas_used,
        "forged_rejected": true,
    });
    println!("{report}");
    ensure!(on_chain == predicted as u64, "the chain recorded class {on_chain}, the proof says {predicted}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submit_is_abi_encoded() {
        // selector, offset, length, the bytes padded to a word
        let call = submit_call(&[1, 2, 3]);
        assert_eq!(call.len(), 4 + 32 * 3);
        assert_eq!(&call[4..36], &word(32));
        assert_eq!(&call[36..68], &word(3));
        assert_eq!(&call[68..71], &[1, 2, 3]);
        assert_eq!(selector("lastClass()").len(), 4);
    }
}
