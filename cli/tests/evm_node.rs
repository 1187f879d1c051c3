//! A real chain over JSON-RPC: a local hardhat node (the npm `hardhat` pinned in package.json,
//! installed by `npm ci`), on which the binary deploys a verifier (`deploy-evm`) and verifies
//! proofs (`verify-evm --rpc-url`): an honest proof through `eth_call` and through a transaction
//! with receipt status 1, a wrong public output rejected, an address without code refused.
//!
//! The node runs offline (nothing is compiled with hardhat) and is killed by a drop guard, also
//! when an assertion fails. Without Node.js or `node_modules/hardhat` the test fails, naming
//! `npm ci`.

#![allow(clippy::unwrap_used, reason = "helpers of tests: a broken fixture or a dead node should fail loudly")]

use std::path::Path;
use std::process::{Command, Output};

use zkonnx_verifier::{read_json, ProofArtifact};
use zkonnx_verifier_contracts::rpc::{self, Address, Signer};
use zkonnx_verifier_contracts::vk_verifier::matches_runtime;
use zkonnx_verifier_contracts::{encode_calldata, EvmVerifierArtifact};

use zkonnx_verifier_contracts::hardhat::{repo_root, HardhatNode as Node, DEV_KEYS};

const DEV_KEY: &str = DEV_KEYS[0];
const DEV_KEY_1: &str = DEV_KEYS[1];

fn zkonnx(dir: &Path, args: &[&str], key_env: Option<&str>) -> Output {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zkonnx"));
    cmd.args(args).current_dir(dir).env("ZKONNX_CACHE_DIR", cache).env_remove("ZKONNX_PRIVATE_KEY");
    if let Some(key) = key_env {
        cmd.env("ZKONNX_PRIVATE_KEY", key);
    }
    cmd.output().unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `zkonnx run` on the tiny Gemm fixture at one lane (a verifier under EIP-170), then
/// `create-evm-verifier`.
fn prove_and_make_verifier(dir: &Path) {
    let fixtures = repo_root().join("fixtures/tiny");
    let (model, input) = (fixtures.join("gemm.onnx"), fixtures.join("gemm.input.json"));
    let args = ["run", "-M", model.to_str().unwrap(), "-D", input.to_str().unwrap(), "--out", ".", "--lanes", "1"];
    let o = zkonnx(dir, &args, None);
    assert!(o.status.success(), "run: {}", stderr(&o));
    let o = zkonnx(dir, &["create-evm-verifier", "--allow-insecure-srs"], None);
    assert!(o.status.success(), "create-evm-verifier: {}", stderr(&o));
}

/// `proof.json` with its last public value changed: a wrong claimed output.
fn write_wrong_output_proof(dir: &Path) {
    let mut proof: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("proof.json")).unwrap()).unwrap();
    let last = proof["instances"].as_array().unwrap().len() - 1;
    let v = proof["instances"][last].as_str().unwrap().to_string();
    let flipped = format!("{}{}", &v[..v.len() - 1], if v.ends_with('0') { '1' } else { '0' });
    proof["instances"][last] = flipped.into();
    std::fs::write(dir.join("bad.json"), serde_json::to_vec(&proof).unwrap()).unwrap();
}

/// The gas number after `label` in the command's report.
fn gas_after(text: &str, label: &str) -> u64 {
    let rest = &text[text.find(label).unwrap_or_else(|| panic!("no `{label}` in: {text}")) + label.len()..];
    rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap().parse().unwrap()
}

#[test]
fn deploy_and_verify_on_a_local_hardhat_node() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut node = Node::start(dir).unwrap(); // boots while the proof is made
    prove_and_make_verifier(dir);
    eprintln!("hardhat answered after {:.1} s", node.wait_ready().unwrap());
    let url = node.url().to_string();
    std::fs::write(dir.join("key.txt"), format!("{DEV_KEY}\n")).unwrap();

    // a verifier against the development SRS is not deployed unless asked for
    let o = zkonnx(dir, &["deploy-evm", "--rpc-url", &url, "--private-key-file", "key.txt"], None);
    assert!(!o.status.success() && stderr(&o).contains("INSECURE development SRS"), "{}", stderr(&o));
    assert!(!dir.join("addr.txt").exists());

    // deploy: the address on stdout and in addr.txt, the chain's code is the verifier's
    let args = ["deploy-evm", "--rpc-url", &url, "--private-key-file", "key.txt", "--allow-insecure-srs"];
    let o = zkonnx(dir, &args, None);
    assert!(o.status.success(), "deploy-evm: {}", stderr(&o));
    let addr = String::from_utf8(o.stdout.clone()).unwrap().trim().to_string();
    assert_eq!(std::fs::read_to_string(dir.join("addr.txt")).unwrap().trim(), addr);
    let verifier: EvmVerifierArtifact =
        serde_json::from_slice(&std::fs::read(dir.join("verifier.json")).unwrap()).unwrap();
    let address: Address = addr.parse().unwrap();
    assert!(matches_runtime(&rpc::code_at(&url, address).unwrap(), &verifier.bytecode().unwrap().runtime));

    // eth_call accepts the honest proof and reports the node's gas estimate
    let o = zkonnx(dir, &["verify-evm", "--rpc-url", &url, "--addr", &addr], None);
    assert!(o.status.success(), "verify-evm --rpc-url: {}", stderr(&o));
    let estimate = gas_after(&stderr(&o), "estimated gas");
    assert!((100_000..3_000_000).contains(&estimate), "{}", stderr(&o));

    // a transaction (key from the environment this time) is mined with status 1
    let o = zkonnx(dir, &["verify-evm", "--rpc-url", &url, "--addr", &addr, "--send"], Some(DEV_KEY_1));
    assert!(o.status.success(), "verify-evm --send: {}", stderr(&o));
    assert!(stderr(&o).contains("receipt status 1"), "{}", stderr(&o));
    let used = gas_after(&stderr(&o), "status 1,");
    assert!(used > 21_000 && used <= estimate, "used {used}, estimated {estimate}");

    // a wrong public output: eth_call refuses, the command exits non-zero naming the gas cap
    write_wrong_output_proof(dir);
    let o = zkonnx(
        dir,
        &["verify-evm", "--rpc-url", &url, "--addr", &addr, "--proof", "bad.json", "--send"],
        Some(DEV_KEY),
    );
    assert!(!o.status.success(), "a wrong public output verified on chain");
    assert!(stderr(&o).contains("rejected") && stderr(&o).contains("gas cap 3000000"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("receipt"), "a refused proof was still sent: {}", stderr(&o));

    // the same proof sent anyway (library): the chain mines it with receipt status 0
    let bad: ProofArtifact = read_json(&dir.join("bad.json")).unwrap();
    let calldata = encode_calldata(&bad.instances().unwrap(), &bad.proof_bytes().unwrap());
    let signer = Signer::from_hex(DEV_KEY).unwrap();
    let sent = rpc::send_verify(&url, &signer, address, &calldata, 2_000_000).unwrap();
    assert!(!sent.success, "a wrong public output was accepted in a transaction");
    assert!(sent.gas_used > 21_000 && sent.gas_used <= 2_000_000, "{sent:?}");
    let verdict = rpc::call_verifier(&url, address, &calldata, 2_000_000).unwrap();
    assert!(!verdict.accepted && verdict.gas_estimate.is_none(), "{verdict:?}");

    // an address without code (a funded account): refused before any call
    let o = zkonnx(dir, &["verify-evm", "--rpc-url", &url, "--addr", &signer.address().to_string()], None);
    assert!(!o.status.success(), "an empty account verified");
    assert!(stderr(&o).contains("no contract code"), "{}", stderr(&o));
    drop(node);
}

#[test]
fn deploying_without_a_key_fails_before_any_rpc() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // nothing listens on port 9: a request would fail with a different error
    let o = zkonnx(dir, &["deploy-evm", "--rpc-url", "http://127.0.0.1:9"], None);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no private key") && err.contains("ZKONNX_PRIVATE_KEY"), "{err}");
    // a malformed key is refused without echoing it
    std::fs::write(dir.join("key.txt"), "0x1234abcd").unwrap();
    let o = zkonnx(dir, &["deploy-evm", "--rpc-url", "http://127.0.0.1:9", "--private-key-file", "key.txt"], None);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("private key") && err.contains("key.txt") && !err.contains("1234abcd"), "{err}");
    // and there is no flag that takes a key
    let o = zkonnx(dir, &["deploy-evm", "--rpc-url", "http://127.0.0.1:9", "--private-key", DEV_KEY], None);
    assert!(!o.status.success() && stderr(&o).contains("unexpected argument"), "{}", stderr(&o));
}
