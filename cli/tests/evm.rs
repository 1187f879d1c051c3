//! The EVM verifiers against real proofs, in process (revm): zkonnx's verifier with the key as
//! data (and its Rust twin) and snark-verifier's unrolled reference accept every fixture
//! model's proof exactly when the native verifier does: honest proofs, every 32-byte word of a
//! proof flipped, a wrong public output, another model's proof; and a wide circuit's.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on a broken fixture")]

mod common;

use common::{all_fixtures, prove_fixture, submit_call, word, Proved};
use halo2_proofs::halo2curves::bn256::{Fq, Fr};
use halo2_proofs::halo2curves::ff::Field;
use zkonnx_verifier::verify_proof_bytes;
use zkonnx_verifier_contracts::evm::{Address, CALL_GAS};
use zkonnx_verifier_contracts::solc::check_deployable;
use zkonnx_verifier_contracts::vk_verifier::{compile_vk_verifier, creation_interpreting, creation_with_vk};
use zkonnx_verifier_contracts::vkdata::{self, compiled, VkData};
use zkonnx_verifier_contracts::{compile_contract, encode_calldata, reference_verifier, Bytecode, CallStatus, Evm};

const FIXTURES: [(&str, &str); 3] = [
    ("mlp/model.onnx", "mlp/input.json"),
    ("lenet/model.onnx", "lenet/input.json"),
    ("digits_cnn/model.onnx", "digits_cnn/input.json"),
];

/// A field's modulus, big-endian: the encoding of −1, plus one.
fn modulus_be(minus_one: [u8; 32]) -> [u8; 32] {
    let mut m = minus_one;
    add_be(&mut m, &{
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    });
    m
}

/// `word += m` (big-endian; the fixtures' values are far enough below 2^256 not to wrap).
fn add_be(word: &mut [u8], m: &[u8; 32]) {
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let v = u16::from(word[i]) + u16::from(m[i]) + carry;
        word[i] = v as u8;
        carry = v >> 8;
    }
}

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

/// Both contracts for one fixture: snark-verifier's reference (on a chain without EIP-170,
/// since it outgrows it at two lanes) and zkonnx's verifier with the key as data (on a chain
/// with mainnet's limits).
struct Deployed {
    reference: Option<Address>,
    vk: Address,
    /// The same verifier without the program contract (interpreting the program).
    interpreted: Address,
    /// The compiled verifier, when the key's code fits EIP-170.
    compiled: Option<Address>,
    data: VkData,
}

struct Chains {
    unlimited: Evm,
    mainnet: Evm,
    vk_verifier: Bytecode,
}

impl Chains {
    fn new() -> Self {
        Chains {
            unlimited: Evm::without_size_limits(),
            mainnet: Evm::new(),
            vk_verifier: compile_vk_verifier().unwrap(),
        }
    }

    /// Deploys the data verifier, and the reference too when `with_reference` (its code for
    /// a wide circuit costs more gas to deploy than a block holds).
    fn deploy(&mut self, p: &Proved, with_reference: bool) -> Deployed {
        let reference = with_reference.then(|| deploy_reference(&mut self.unlimited, p));
        let data = VkData::new(&p.srs, p.keys.pk.get_vk(), p.settings.num_instances()).unwrap();
        assert_eq!(VkData::from_bytes(&data.to_bytes()).unwrap(), data, "the data does not round-trip");
        let d = self.mainnet.deploy(&creation_with_vk(&self.vk_verifier, &data).unwrap()).unwrap();
        eprintln!(
            "  data verifier runtime {} B, key data {} B, deploy gas {}",
            d.runtime_size,
            data.to_bytes().len() + 1,
            d.gas_used
        );
        let interpreted = self.mainnet.deploy(&creation_interpreting(&self.vk_verifier, &data).unwrap()).unwrap();
        let compiled = compiled::verifier_code(&data).ok().map(|code| {
            let c = self.mainnet.deploy(&compiled::creation_of(&code)).unwrap();
            eprintln!("  compiled verifier {} B, deploy gas {}", c.runtime_size, c.gas_used);
            c.address
        });
        Deployed { reference, vk: d.address, interpreted: interpreted.address, compiled, data }
    }

    /// The verdicts of the native verifier, both contracts and the data verifier's Rust twin
    /// on the same public values and proof bytes; panics if any disagree or if the data
    /// verifier refuses other than by a clean revert.
    fn verdicts(&mut self, d: &Deployed, p: &Proved, instances: &[Fr], proof: &[u8]) -> bool {
        let call = encode_calldata(instances, proof);
        let native = verify_proof_bytes(&p.srs, p.keys.pk.get_vk(), instances, proof).is_ok();
        let ours = self.mainnet.call(d.vk, &call, CALL_GAS).unwrap();
        let interpreted = self.mainnet.call(d.interpreted, &call, CALL_GAS).unwrap();
        assert_eq!(
            interpreted.accepted(),
            native,
            "the interpreting verifier ({:?}) and native disagree",
            interpreted.status
        );
        if let Some(at) = d.compiled {
            let c = self.mainnet.call(at, &call, CALL_GAS).unwrap();
            assert_eq!(
                c.accepted(),
                native,
                "the compiled verifier ({:?}, {} gas) and native disagree",
                c.status,
                c.gas_used
            );
            if !native {
                assert_eq!(c.status, CallStatus::Revert, "a compiled refusal that is not a clean revert");
            }
        }
        let twin = vkdata::native::verify(&d.data, instances, proof).is_ok();
        // snark-verifier's contract ignores bytes after the proof; zkonnx's verifiers refuse them
        let trailing = proof.len() > d.data.proof_len();
        if let (Some(at), false) = (d.reference, trailing) {
            let reference = self.unlimited.call(at, &call, CALL_GAS).unwrap();
            assert_eq!(reference.accepted(), native, "reference EVM ({:?}) and native disagree", reference.status);
        }
        assert_eq!(
            ours.accepted(),
            native,
            "data verifier ({:?}, {} gas) and native disagree",
            ours.status,
            ours.gas_used
        );
        assert_eq!(twin, native, "the data verifier's Rust twin and the native verifier disagree");
        if !native {
            assert_eq!(ours.status, CallStatus::Revert, "a refusal that is not a clean revert");
            assert!(ours.gas_used < 5_000_000, "a refusal burnt {} gas", ours.gas_used);
        }
        native
    }
}

#[test]
fn evm_verifiers_agree_with_the_native_one_on_every_fixture() {
    let mut chains = Chains::new();
    let mut deployed: Vec<(Deployed, Proved)> = vec![];
    for (model, input) in FIXTURES {
        eprintln!("{model}:");
        let p = prove_fixture(model, input, |_| {});
        let d = chains.deploy(&p, true);
        let instances = p.proof.instances().unwrap();
        let proof = p.proof.proof_bytes().unwrap();
        let call = encode_calldata(&instances, &proof);
        let reference = chains.unlimited.call(d.reference.unwrap(), &call, CALL_GAS).unwrap();
        let ours = chains.mainnet.call(d.vk, &call, CALL_GAS).unwrap();
        assert!(reference.accepted() && ours.accepted(), "{model}: honest proof refused: {reference:?} {ours:?}");
        eprintln!(
            "  verify gas: reference {}, data verifier {} ({} instances, {} proof bytes)",
            reference.gas_used,
            ours.gas_used,
            instances.len(),
            proof.len()
        );
        assert!(chains.verdicts(&d, &p, &instances, &proof));
        if let (Some(at), true) = (d.compiled, model.starts_with("mlp")) {
            let code = compiled::verifier_code(&d.data).unwrap();
            let c = chains.mainnet.call(at, &call, CALL_GAS).unwrap();
            eprintln!("  compiled verifier {} gas", c.gas_used);
            // the Solidity deployer of the compiled code installs exactly that code
            let sol = compiled::deployer_source(&code, "test");
            let deployer = compile_contract(&sol, compiled::COMPILED_CONTRACT, None).unwrap();
            let installed = chains.mainnet.deploy(&deployer.creation).unwrap();
            assert_eq!(installed.runtime_size, code.len());
            assert!(chains.mainnet.call(installed.address, &call, CALL_GAS).unwrap().accepted());
        }

        // a wrong public output
        let mut wrong = instances.clone();
        *wrong.last_mut().unwrap() += Fr::ONE;
        assert!(!chains.verdicts(&d, &p, &wrong, &proof), "{model}: wrong output accepted");
        // every 32-byte word of every fixture's proof
        for w in 0..proof.len() / 32 {
            let mut bad = proof.clone();
            bad[32 * w + 31] ^= 1;
            assert!(!chains.verdicts(&d, &p, &instances, &bad), "{model}: word {w} flipped accepted");
        }
        // non-canonical encodings of the same values: a public value + r, an evaluation + r, a
        // commitment's x + q; the native verifier cannot even read them, the contracts revert
        let evals_at = 32 * instances.len() + 64 * (d.data.num_witnesses() + usize::from(d.data.num_chunks));
        let r = modulus_be(zkonnx_verifier::transcript::fr_to_be(&-Fr::ONE));
        let q = modulus_be(zkonnx_verifier::transcript::fq_to_be(&-Fq::ONE));
        for (at, modulus) in [(0, r), (evals_at, r), (32 * instances.len(), q)] {
            let mut cd = call.clone();
            add_be(&mut cd[at..at + 32], &modulus);
            for to in [Some(d.vk), d.compiled].into_iter().flatten() {
                let out = chains.mainnet.call(to, &cd, CALL_GAS).unwrap();
                assert_eq!(out.status, CallStatus::Revert, "{model}: word at {at} + modulus: {out:?}");
            }
        }
        // a truncated proof, one word too many, a missing public value
        assert!(!chains.verdicts(&d, &p, &instances, &proof[..proof.len() - 32]));
        assert!(!chains.verdicts(&d, &p, &instances, &[proof.as_slice(), &[0u8; 32]].concat()));
        assert!(!chains.verdicts(&d, &p, &instances[1..], &proof));
        deployed.push((d, p));
    }
    // a proof of one model sent to another model's verifiers
    for i in 0..deployed.len() {
        let d = &deployed[i].0;
        let other = &deployed[(i + 1) % deployed.len()].1;
        let (inst, proof) = (other.proof.instances().unwrap(), other.proof.proof_bytes().unwrap());
        let call = encode_calldata(&inst, &proof);
        assert!(
            !chains.unlimited.call(d.reference.unwrap(), &call, CALL_GAS).unwrap().accepted(),
            "{i}: foreign proof accepted"
        );
        let ours = chains.mainnet.call(d.vk, &call, CALL_GAS).unwrap();
        assert!(!ours.accepted() && ours.status == CallStatus::Revert, "{i}: foreign proof: {ours:?}");
        assert!(vkdata::native::verify(&d.data, &inst, &proof).is_err());
    }
}

/// Every small fixture model (`fixtures/tiny`) on the data verifier: honest proof accepted,
/// a wrong output, a flipped proof word and a truncated proof refused, in agreement with the
/// native verifier and the Rust twin. (The reference is compared on the three main fixtures.)
#[test]
fn every_tiny_fixture_verifies_on_the_data_verifier() {
    let mut chains = Chains::new();
    for (model, input) in all_fixtures().into_iter().filter(|(m, _)| m.starts_with("tiny/")) {
        let p = prove_fixture(&model, &input, |_| {});
        let d = chains.deploy(&p, false);
        let instances = p.proof.instances().unwrap();
        let proof = p.proof.proof_bytes().unwrap();
        let ours = chains.mainnet.call(d.vk, &encode_calldata(&instances, &proof), CALL_GAS).unwrap();
        assert!(ours.accepted(), "{model}: {ours:?}");
        eprintln!("{model}: {} gas, key data {} B", ours.gas_used, d.data.to_bytes().len());
        if let Some(at) = d.compiled {
            let c = chains.mainnet.call(at, &encode_calldata(&instances, &proof), CALL_GAS).unwrap();
            eprintln!("  compiled: {:?} {} gas", c.status, c.gas_used);
        }
        let mut wrong = instances.clone();
        *wrong.last_mut().unwrap() += Fr::ONE;
        assert!(!chains.verdicts(&d, &p, &wrong, &proof), "{model}: wrong output accepted");
        let mut bad = proof.clone();
        bad[proof.len() / 2] ^= 1;
        assert!(!chains.verdicts(&d, &p, &instances, &bad), "{model}: flipped proof accepted");
        assert!(!chains.verdicts(&d, &p, &instances, &proof[..proof.len() - 32]));
    }
}

/// A wide circuit (12 lanes: 60 advice columns, 24 lookups): the reference verifier is far
/// over EIP-170, the data verifier (its key data in two data contracts) deploys on a chain with
/// the limit, accepts the proof and refuses tampered ones cleanly, in agreement with the native
/// verifier.
#[test]
fn a_wide_circuit_verifies_on_a_mainnet_sized_chain() {
    let p = prove_fixture("mlp/model.onnx", "mlp/input.json", |a| a.lanes = 12);
    let cs = p.keys.pk.get_vk().cs();
    assert!(cs.num_advice_columns() >= 32 && cs.lookups().len() >= 16, "not wide enough");
    assert!(VkData::new(&p.srs, p.keys.pk.get_vk(), p.settings.num_instances()).unwrap().to_bytes().len() > 24_575);
    let mut chains = Chains::new();
    let d = chains.deploy(&p, false);
    let instances = p.proof.instances().unwrap();
    let proof = p.proof.proof_bytes().unwrap();
    let ours = chains.mainnet.call(d.vk, &encode_calldata(&instances, &proof), CALL_GAS).unwrap();
    assert!(ours.accepted(), "{ours:?}");
    eprintln!(
        "wide ({} advice, {} lookups): data verifier {} gas, key data {} B",
        cs.num_advice_columns(),
        cs.lookups().len(),
        ours.gas_used,
        d.data.to_bytes().len() + 1
    );
    let mut wrong = instances.clone();
    wrong[0] += Fr::ONE;
    assert!(!chains.verdicts(&d, &p, &wrong, &proof));
    for w in (0..proof.len() / 32).step_by(25) {
        let mut bad = proof.clone();
        bad[32 * w + 31] ^= 1;
        assert!(!chains.verdicts(&d, &p, &instances, &bad), "word {w} flipped accepted");
    }
}

/// Lanes without lookups (4 lanes, the first with lookups): the data verifier reads the
/// narrower set of lookup arguments from the key and agrees with the native verifier.
#[test]
fn lanes_without_lookups_verify_on_chain() {
    let p = prove_fixture("mlp/model.onnx", "mlp/input.json", |a| {
        a.lanes = 4;
        a.lookup_lanes = Some(1);
    });
    let cs = p.keys.pk.get_vk().cs();
    assert_eq!((cs.num_advice_columns(), cs.lookups().len()), (20, 2));
    let mut chains = Chains::new();
    let d = chains.deploy(&p, false);
    let instances = p.proof.instances().unwrap();
    let proof = p.proof.proof_bytes().unwrap();
    assert!(chains.verdicts(&d, &p, &instances, &proof), "the valid proof is refused");
    let mut wrong = instances.clone();
    wrong[0] += Fr::ONE;
    assert!(!chains.verdicts(&d, &p, &wrong, &proof));
    let mut bad = proof.clone();
    bad[proof.len() / 3] ^= 1;
    assert!(!chains.verdicts(&d, &p, &instances, &bad));
}

/// The example consumer contract verifies a real proof through a deployed data verifier
/// (mainnet size limits, default lanes) and reads the proven outputs: its argmax equals the
/// proof's, and a tampered proof makes it revert.
#[test]
fn example_consumer_reads_the_proven_output() {
    let p = prove_fixture("mlp/model.onnx", "mlp/input.json", |_| {});
    let mut evm = Evm::new();
    let data = VkData::new(&p.srs, p.keys.pk.get_vk(), p.settings.num_instances()).unwrap();
    let verifier = evm.deploy(&creation_with_vk(&compile_vk_verifier().unwrap(), &data).unwrap()).unwrap().address;
    let source = include_str!("../../verifier-contracts/contracts/ProvenArgmax.sol");
    let consumer = compile_contract(source, "ProvenArgmax", Some(200)).unwrap();
    let n = p.settings.num_instances();
    let outputs = p.proof.outputs[0].len();
    let mut creation = consumer.creation.clone();
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(verifier.as_slice());
    creation.extend(addr);
    for v in [n as u64, (n - outputs) as u64, outputs as u64, 3_000_000] {
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
