//! The EVM verifier against real proofs, in process (revm): every fixture model's proof is
//! accepted on-chain exactly when the native verifier accepts it: honest proofs, every
//! 32-byte word of a proof flipped, a wrong public output, another model's proof.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on a broken fixture")]

mod common;

use common::{prove_fixture, Proved};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use zkonnx_verifier::verify_proof_bytes;
use zkonnx_verifier_contracts::evm::{Address, CALL_GAS};
use zkonnx_verifier_contracts::solc::check_deployable;
use zkonnx_verifier_contracts::{compile_contract, encode_calldata, reference_verifier, Evm};

const FIXTURES: [(&str, &str); 3] = [
    ("mlp/model.onnx", "mlp/input.json"),
    ("lenet/model.onnx", "lenet/input.json"),
    ("digits_cnn/model.onnx", "digits_cnn/input.json"),
];

/// Generates, compiles and deploys the reference verifier of `p`'s key.
fn deploy_reference(evm: &mut Evm, p: &Proved) -> Address {
    let vk = p.keys.pk.get_vk();
    let sol = reference_verifier(&p.srs, vk, p.settings.num_instances()).unwrap();
    let code = compile_contract(&sol, "Halo2Verifier", None).unwrap();
    // the unrolled reference outgrows EIP-170 at two lanes already: it runs on a chain
    // without the size limit, as the oracle, and its size is reported
    let fits = check_deployable("reference verifier", &code, "").is_ok();
    let d = evm.deploy(&code.creation).unwrap();
    eprintln!("  reference runtime {} B (fits EIP-170: {fits}), deploy gas {}", d.runtime_size, d.gas_used);
    d.address
}

/// The EVM's and the native verifier's verdicts on the same public values and proof bytes;
/// panics if they disagree.
fn verdicts(evm: &mut Evm, at: Address, p: &Proved, instances: &[Fr], proof: &[u8]) -> bool {
    let out = evm.call(at, &encode_calldata(instances, proof), CALL_GAS).unwrap();
    let native = verify_proof_bytes(&p.srs, p.keys.pk.get_vk(), instances, proof).is_ok();
    assert_eq!(out.accepted(), native, "EVM ({:?}, {} gas) and native verifier disagree", out.status, out.gas_used);
    native
}

#[test]
fn reference_verifier_agrees_with_the_native_one_on_every_fixture() {
    let mut evm = Evm::without_size_limits();
    let mut deployed: Vec<(Address, Proved)> = vec![];
    for (model, input) in FIXTURES {
        eprintln!("{model}:");
        let p = prove_fixture(model, input, |_| {});
        let at = deploy_reference(&mut evm, &p);
        let instances = p.proof.instances().unwrap();
        let proof = p.proof.proof_bytes().unwrap();
        let honest = evm.call(at, &encode_calldata(&instances, &proof), CALL_GAS).unwrap();
        assert!(honest.accepted(), "{model}: honest proof refused: {honest:?}");
        eprintln!("  verify gas {} ({} instances, {} proof bytes)", honest.gas_used, instances.len(), proof.len());
        assert!(verdicts(&mut evm, at, &p, &instances, &proof));

        // a wrong public output
        let mut wrong = instances.clone();
        *wrong.last_mut().unwrap() += Fr::ONE;
        assert!(!verdicts(&mut evm, at, &p, &wrong, &proof), "{model}: wrong output accepted");
        // every 32-byte word of every fixture's proof
        for w in 0..proof.len() / 32 {
            let mut bad = proof.clone();
            bad[32 * w + 31] ^= 1;
            assert!(!verdicts(&mut evm, at, &p, &instances, &bad), "{model}: word {w} flipped accepted");
        }
        // a truncated proof
        assert!(!verdicts(&mut evm, at, &p, &instances, &proof[..proof.len() - 32]));
        deployed.push((at, p));
    }
    // a proof of one model sent to another model's verifier
    for (i, (at, p)) in deployed.iter().enumerate() {
        let (_, other) = &deployed[(i + 1) % deployed.len()];
        let call = encode_calldata(&other.proof.instances().unwrap(), &other.proof.proof_bytes().unwrap());
        assert!(!evm.call(*at, &call, CALL_GAS).unwrap().accepted(), "{}: foreign proof accepted", i);
        let _ = p;
    }
}

/// ABI: `submit(bytes)` with `data`.
fn submit_call(data: &[u8]) -> Vec<u8> {
    use sha3::{Digest, Keccak256};
    let mut call = Keccak256::digest(b"submit(bytes)")[..4].to_vec();
    call.extend(word(32));
    call.extend(word(data.len() as u64));
    call.extend(data);
    while (call.len() - 4) % 32 != 0 {
        call.push(0);
    }
    call
}

fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The example consumer contract verifies a real proof through a deployed verifier (mainnet
/// size limits: one lane keeps the reference verifier under EIP-170) and reads the proven
/// outputs: its argmax equals the proof's, and a tampered proof makes it revert.
#[test]
fn example_consumer_reads_the_proven_output() {
    let p = prove_fixture("mlp/model.onnx", "mlp/input.json", |a| a.lanes = 1);
    let mut evm = Evm::new();
    let verifier = deploy_reference(&mut evm, &p);
    let source = include_str!("../../verifier-contracts/contracts/ProvenArgmax.sol");
    let consumer = compile_contract(source, "ProvenArgmax", Some(200)).unwrap();
    let n = p.settings.num_instances();
    let outputs = p.proof.outputs[0].len();
    let mut creation = consumer.creation.clone();
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(verifier.as_slice());
    creation.extend(addr);
    for v in [n as u64, (n - outputs) as u64, outputs as u64, 2_000_000] {
        creation.extend(word(v));
    }
    let at = evm.deploy(&creation).unwrap().address;

    let instances = p.proof.instances().unwrap();
    let proof = p.proof.proof_bytes().unwrap();
    let data = encode_calldata(&instances, &proof);
    let out = evm.call(at, &submit_call(&data), CALL_GAS).unwrap();
    assert_eq!(out.status, zkonnx_verifier_contracts::CallStatus::Success, "{out:?}");
    let argmax = p.proof.outputs[0]
        .iter()
        .enumerate()
        .fold((0, f64::MIN), |(bi, bv), (i, &v)| if v > bv { (i, v) } else { (bi, bv) })
        .0;
    assert_eq!(out.output, word(argmax as u64), "the contract's argmax differs from the proof's outputs");
    eprintln!("consumer: class {argmax} proven on-chain, {} gas", out.gas_used);

    let mut bad = data.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let out = evm.call(at, &submit_call(&bad), CALL_GAS).unwrap();
    assert_eq!(out.status, zkonnx_verifier_contracts::CallStatus::Revert, "{out:?}");
    assert!(out.gas_used < CALL_GAS / 4, "the capped verifier call burned {} gas", out.gas_used);
}
