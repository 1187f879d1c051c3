//! `hashed` visibility end to end through the `zkonnx` binary: a tiny model with its params,
//! input and output hashed (salted) proves and verifies natively and on the EVM; its public
//! values equal `zkonnx hash` and circomlibjs's Poseidon (the external oracle,
//! `scripts/poseidon-commit.mjs`); another model of the same architecture proves with the same
//! keys under its own params hash, and a proof claiming another hash, salt or input is refused.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on a broken fixture")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;
use zkonnx::lower::circuits::poseidon::param_values;
use zkonnx::CompiledModel;

fn zkonnx(dir: &Path, args: &[&str]) -> Output {
    common::zkonnx_in(dir, args)
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = zkonnx(dir, args);
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let o = zkonnx(dir, args);
    assert!(!o.status.success(), "{args:?} succeeded");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// circomlibjs's commitments of `(values, salt)` pairs.
fn circomlibjs(tensors: &[(Vec<i64>, &str)]) -> Vec<String> {
    let input: Vec<Value> = tensors
        .iter()
        .map(|(v, salt)| serde_json::json!({"values": v.iter().map(i64::to_string).collect::<Vec<_>>(), "salt": salt}))
        .collect();
    let mut child = Command::new("node")
        .arg(root().join("scripts/poseidon-commit.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node (run `npm ci` first)");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), &serde_json::to_vec(&input).unwrap()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "poseidon-commit.mjs failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

const HASHED: [&str; 6] =
    ["--param-visibility", "hashed", "--input-visibility", "hashed", "--output-visibility", "hashed"];

#[test]
fn hashed_params_input_and_output_prove_verify_and_match_zkonnx_hash_and_circomlibjs() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let model = root().join("fixtures/tiny/gemm.onnx");
    let mut input = json(&root().join("fixtures/tiny/gemm.input.json"));
    input["input_salts"] = serde_json::json!(["987654321987654321"]);
    input["output_salts"] = serde_json::json!(["0x2a"]);
    std::fs::write(dir.join("input.json"), serde_json::to_vec(&input).unwrap()).unwrap();
    let mut args = vec!["run", "-M", model.to_str().unwrap(), "-D", "input.json", "--out", ".", "--json"];
    args.extend(HASHED);
    let report: Value = serde_json::from_str(&ok(dir, &args)).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    let proof = json(&dir.join("proof.json"));
    let public: Vec<String> =
        proof["instances"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let named: Vec<&str> =
        proof["hashed_public_values"].as_array().unwrap().iter().map(|h| h["of"].as_str().unwrap()).collect();
    assert_eq!(named, ["input 0", "output 0", "params"]);
    assert_eq!(report["public_values"], serde_json::json!(public));
    let settings = json(&dir.join("settings.json"));
    assert_eq!(settings["model"]["hashed_public_values"], proof["hashed_public_values"]);

    // zkonnx hash, from the input file and from the witness, gives the proof's public values
    for source in [["-D", "input.json"], ["-W", "witness.json"]] {
        let hashes: Value = serde_json::from_str(&ok(dir, &["hash", "--json", source[0], source[1]])).unwrap();
        let word = |of: &str| hashes.as_array().unwrap().iter().find(|h| h["of"] == of).unwrap()["word"].clone();
        assert_eq!(
            [word("input 0"), word("output 0"), word("params")],
            [&public[0], &public[1], &public[2]].map(|s| Value::from(s.as_str()))
        );
    }

    // circomlibjs recomputes the same three values from the quantized tensors
    let compiled = CompiledModel::read(&dir.join("model.compiled")).unwrap();
    let witness = json(&dir.join("witness.json"));
    let ints = |v: &Value| v[0].as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect::<Vec<_>>();
    let external = circomlibjs(&[
        (ints(&witness["inputs"]), "987654321987654321"),
        (ints(&witness["outputs"]), "42"),
        (param_values(&compiled.graph), "0"),
    ]);
    let hashes: Value = serde_json::from_str(&ok(dir, &["hash", "--json", "-W", "witness.json"])).unwrap();
    let fields: Vec<String> = ["input 0", "output 0", "params"]
        .iter()
        .map(|of| {
            hashes.as_array().unwrap().iter().find(|h| h["of"] == *of).unwrap()["field"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(external, fields);

    // on the EVM: the proof verifies; a swapped or changed hash is refused there and natively
    ok(dir, &["create-evm-verifier", "--allow-insecure-srs", "--proof", "proof.json"]);
    ok(dir, &["verify-evm"]);
    for (name, tamper) in [("swapped", 0usize), ("other params", 1)] {
        let mut bad = proof.clone();
        if tamper == 0 {
            bad["instances"][0] = Value::from(public[1].as_str());
            bad["instances"][1] = Value::from(public[0].as_str());
        } else {
            bad["instances"][2] = Value::from(public[0].as_str());
        }
        std::fs::write(dir.join("bad.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
        let e = refused(dir, &["verify-evm", "--proof", "bad.json"]);
        assert!(e.contains("rejected"), "{name}: {e}");
        refused(dir, &["verify", "--proof", "bad.json"]);
    }
    // a wrong salt: the witness proves another input hash than the one claimed
    let mut w = witness.clone();
    w["input_salts"] = serde_json::json!(["987654322"]);
    std::fs::write(dir.join("salted.json"), serde_json::to_vec(&w).unwrap()).unwrap();
    ok(dir, &["prove", "--witness", "salted.json", "--proof", "salted-proof.json"]);
    let mut claimed = json(&dir.join("salted-proof.json"));
    assert_ne!(claimed["instances"][0], proof["instances"][0]);
    claimed["instances"][0] = proof["instances"][0].clone();
    std::fs::write(dir.join("claimed.json"), serde_json::to_vec(&claimed).unwrap()).unwrap();
    refused(dir, &["verify", "--proof", "claimed.json"]);
    // one input element changed: its proof, claimed under the original input hash, is refused
    let mut changed = input.clone();
    changed["input_data"][0][0] = Value::from(changed["input_data"][0][0].as_f64().unwrap() + 0.5);
    std::fs::write(dir.join("changed.json"), serde_json::to_vec(&changed).unwrap()).unwrap();
    ok(dir, &["gen-witness", "-D", "changed.json", "-O", "changed-witness.json"]);
    ok(dir, &["prove", "--witness", "changed-witness.json", "--proof", "changed-proof.json"]);
    let mut claimed = json(&dir.join("changed-proof.json"));
    assert_ne!(claimed["instances"][0], proof["instances"][0]);
    ok(dir, &["verify", "--proof", "changed-proof.json"]);
    claimed["instances"][0] = proof["instances"][0].clone();
    std::fs::write(dir.join("claimed.json"), serde_json::to_vec(&claimed).unwrap()).unwrap();
    refused(dir, &["verify", "--proof", "claimed.json"]);
    // a salt that is not a field element is refused with its name
    w["input_salts"] = serde_json::json!(["-5"]);
    std::fs::write(dir.join("bad-salt.json"), serde_json::to_vec(&w).unwrap()).unwrap();
    let e = refused(dir, &["prove", "--witness", "bad-salt.json", "--proof", "x.json"]);
    assert!(e.contains("input_salts[0]"), "{e}");

    // another model of the same architecture (one weight changed): the same keys prove it,
    // the proof verifies under its own params hash, and not under the first model's
    let mut other = compiled.clone();
    let w0 = other.graph.nodes.iter_mut().find_map(|n| match &mut n.op {
        zkonnx::lower::ir::Op::Linear(l) => Some(&mut l.weights[0]),
        _ => None,
    });
    *w0.expect("a Linear node") += 1;
    zkonnx::lower::verifier::write_json(&dir.join("other.compiled"), &other).unwrap();
    ok(dir, &["gen-witness", "-C", "other.compiled", "-D", "input.json", "-O", "other-witness.json"]);
    ok(dir, &["prove", "-C", "other.compiled", "--witness", "other-witness.json", "--proof", "other.json"]);
    ok(dir, &["verify", "--proof", "other.json"]);
    let mut other_proof = json(&dir.join("other.json"));
    assert_ne!(other_proof["instances"][2], proof["instances"][2]);
    other_proof["instances"][2] = proof["instances"][2].clone();
    std::fs::write(dir.join("other-claimed.json"), serde_json::to_vec(&other_proof).unwrap()).unwrap();
    refused(dir, &["verify", "--proof", "other-claimed.json"]);
    refused(dir, &["verify-evm", "--proof", "other-claimed.json"]);
}

/// The registry consumer (`contracts/RegisteredModels.sol`) in revm: one verifier serves two
/// models of one architecture (the second proved with the first's keys); the contract accepts a
/// proof only once its params hash is registered, and a proof relabelled with a registered
/// hash is rejected by the verifier.
#[test]
fn the_registry_contract_accepts_a_proof_only_for_a_registered_model() {
    use zkonnx_verifier_contracts::evm::CALL_GAS;
    use zkonnx_verifier_contracts::vk_verifier::{compile_vk_verifier, creation_with_vk};
    use zkonnx_verifier_contracts::vkdata::VkData;
    use zkonnx_verifier_contracts::{compile_contract, encode_calldata, CallStatus, Evm};

    let (model, input) = ("tiny/gemm.onnx", "tiny/gemm.input.json");
    let p = common::prove_fixture(model, input, |a| a.param_visibility = zkonnx::Visibility::Hashed);
    let n = p.settings.num_instances();
    let mut evm = Evm::new();
    let data = VkData::new(&p.srs, p.keys.pk.get_vk(), n).unwrap();
    let verifier = evm.deploy(&creation_with_vk(&compile_vk_verifier().unwrap(), &data).unwrap()).unwrap().address;
    let source = include_str!("../../verifier-contracts/contracts/RegisteredModels.sol");
    let mut creation = compile_contract(source, "RegisteredModels", Some(200)).unwrap().creation;
    let mut addr = [0u8; 32];
    addr[12..].copy_from_slice(verifier.as_slice());
    creation.extend(addr);
    for v in [n as u64, (n - 1) as u64, 3_000_000] {
        creation.extend(common::word(v));
    }
    let registry = evm.deploy(&creation).unwrap().address;

    // the second model: one weight changed, proved with the first model's keys
    let mut graph = (*p.graph).clone();
    let w = graph.nodes.iter_mut().find_map(|n| match &mut n.op {
        zkonnx::lower::ir::Op::Linear(l) => Some(&mut l.weights[0]),
        _ => None,
    });
    *w.unwrap() -= 2;
    let other = CompiledModel::new(p.settings.clone(), graph);
    let other_hash = zkonnx::hash::params(&other).word;
    let prover = zkonnx::Prover::new(other, p.keys, p.srs.clone()).unwrap();
    let inputs = common::read_inputs(&common::fixture(input));
    let other_proof = prover.prove_witness(&prover.witness(&inputs).unwrap()).unwrap().artifact().clone();

    let words =
        |proof: &zkonnx::lower::verifier::ProofArtifact| (proof.instances().unwrap(), proof.proof_bytes().unwrap());
    let (first, first_bytes) = words(&p.proof);
    let (second, second_bytes) = words(&other_proof);
    let hash_word = |f| zkonnx::lower::circuits::poseidon::to_word(f);
    assert_eq!(format!("0x{}", hex::encode(hash_word(second[n - 1]))), other_hash);
    assert_ne!(first[n - 1], second[n - 1]);
    let submit = |evm: &mut Evm, instances: &[zkonnx::lower::circuits::Fr], bytes: &[u8]| {
        evm.call(registry, &common::submit_call(&encode_calldata(instances, bytes)), CALL_GAS).unwrap()
    };
    let register = |evm: &mut Evm, f| {
        use sha3::{Digest, Keccak256};
        let mut call = Keccak256::digest(b"register(uint256)")[..4].to_vec();
        call.extend(hash_word(f));
        assert_eq!(evm.call(registry, &call, CALL_GAS).unwrap().status, CallStatus::Success);
    };
    let status = |evm: &mut Evm, instances: &[_], bytes: &[u8]| submit(evm, instances, bytes).status;
    assert_eq!(status(&mut evm, &first, &first_bytes), CallStatus::Revert, "an unregistered model was accepted");
    register(&mut evm, first[n - 1]);
    let ok = submit(&mut evm, &first, &first_bytes);
    assert!(ok.status == CallStatus::Success && ok.output == hash_word(first[n - 1]).to_vec(), "{ok:?}");
    eprintln!("registry: a registered model's proof accepted for {} gas", ok.gas_used);
    assert_eq!(status(&mut evm, &second, &second_bytes), CallStatus::Revert, "the second model is not registered");
    // the second model's proof relabelled with the registered hash: the verifier refuses it
    let mut relabelled = second.clone();
    relabelled[n - 1] = first[n - 1];
    assert_eq!(status(&mut evm, &relabelled, &second_bytes), CallStatus::Revert);
    register(&mut evm, second[n - 1]);
    assert_eq!(status(&mut evm, &second, &second_bytes), CallStatus::Success);
}

/// `zkonnx table` lists each lookup table and the Poseidon chip's rows, and names what sets
/// logrows: the function table for a model of many functions; for a tiny model with hashed
/// params the range table, with the chip's rows inside the layout's.
#[test]
fn table_names_the_tables_and_what_sets_logrows() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = root().join("fixtures/tiny");
    let functions = tiny.join("functions.onnx");
    let out = ok(dir.path(), &["table", "-M", functions.to_str().unwrap()]);
    assert!(out.contains("tables and rows") && out.contains("Reciprocal") && out.contains("range table"), "{out}");
    assert!(out.lines().any(|l| l.contains("is set by the function table")), "{out}");
    let gemm = tiny.join("gemm.onnx");
    let out = ok(dir.path(), &["table", "-M", gemm.to_str().unwrap(), "--param-visibility", "hashed"]);
    // the rows of a "  <label>   <rows> rows ..." line
    let rows = |label: &str| -> usize {
        out.lines()
            .find_map(|l| l.trim_start().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label} line: {out}"))
    };
    let poseidon = rows("poseidon chip ");
    assert!(poseidon > 0 && poseidon.is_multiple_of(29), "{out}");
    let layout = rows("layout ");
    assert!(layout > poseidon, "{out}");
    assert!(out.lines().any(|l| l.contains("is set by the range table")), "{out}");
}
