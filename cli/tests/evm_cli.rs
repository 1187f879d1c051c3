//! The EVM commands through the binary: `create-evm-verifier` (refusing an oversized verifier
//! with the fix and writing nothing), `encode-evm-calldata`, `verify-evm` (accepting the real
//! proof, exiting non-zero on a wrong public output).

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on a broken fixture")]

mod common;

use std::path::Path;
use std::process::Output;

fn zkonnx(dir: &Path, args: &[&str]) -> Output {
    common::zkonnx_in(dir, args)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn run_fixture(dir: &Path, lanes: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny");
    let (model, input) = (root.join("gemm.onnx"), root.join("gemm.input.json"));
    let args = ["run", "-M", model.to_str().unwrap(), "-D", input.to_str().unwrap(), "--out", ".", "--lanes", lanes];
    let o = zkonnx(dir, &args);
    assert!(o.status.success(), "run: {}", stderr(&o));
}

#[test]
fn create_encode_and_verify_on_the_evm() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    run_fixture(dir, "1");
    // the run used the development SRS: a verifier against it is refused unless asked for
    let o = zkonnx(dir, &["create-evm-verifier"]);
    assert!(!o.status.success(), "a verifier against the development SRS was written");
    let err = stderr(&o);
    assert!(
        err.contains("INSECURE development SRS") && err.contains("--allow-insecure-srs") && err.contains("--srs"),
        "{err}"
    );
    assert!(!dir.join("verifier.json").exists() && !dir.join("verifier.sol").exists());
    let o = zkonnx(dir, &["create-evm-verifier", "--allow-insecure-srs"]);
    assert!(o.status.success(), "create-evm-verifier: {}", stderr(&o));
    assert!(stderr(&o).contains("anyone can forge"), "the allowed insecure verifier is not labelled: {}", stderr(&o));
    assert!(stderr(&o).contains("runtime code"), "{}", stderr(&o));
    assert!(stderr(&o).contains("predicted verify gas"), "{}", stderr(&o));
    // with the model's proof: deployed in revm, the proof checked and its gas measured
    let o = zkonnx(dir, &["create-evm-verifier", "--allow-insecure-srs", "--proof", "proof.json"]);
    assert!(o.status.success(), "create-evm-verifier --proof: {}", stderr(&o));
    let line = stderr(&o).lines().find(|l| l.starts_with("measured in revm")).map(str::to_string);
    let gas: u64 = line
        .as_deref()
        .and_then(|l| l.split(" takes ").nth(1))
        .and_then(|t| t.split(' ').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("no measured gas in: {}", stderr(&o)));
    assert!((100_000..2_000_000).contains(&gas), "{gas}");
    let verifier: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("verifier.json")).unwrap()).unwrap();
    assert_eq!(verifier["format"], "zkonnx-evm-verifier");
    assert!(verifier["runtime_size"].as_u64().unwrap() <= 24_576);
    // one lane: the compiled verifier fits one contract, so `auto` made it
    assert!(verifier["generator"].as_str().unwrap().contains("compiled"), "{verifier}");
    assert!(verifier.get("vk_data_size").is_none());
    assert!(std::fs::read_to_string(dir.join("verifier.sol")).unwrap().contains("contract Halo2VerifierCompiled"));
    // the key-as-data verifier on request, checking the same proof
    let o = zkonnx(
        dir,
        &[
            "create-evm-verifier",
            "--verifier",
            "data",
            "--allow-insecure-srs",
            "--proof",
            "proof.json",
            "--sol-code-path",
            "data.sol",
            "--bytecode-path",
            "data.json",
        ],
    );
    assert!(o.status.success(), "--verifier data: {}", stderr(&o));
    assert!(stderr(&o).contains("measured in revm"), "{}", stderr(&o));
    let data: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("data.json")).unwrap()).unwrap();
    assert!(data["vk_data_size"].as_u64().unwrap() <= 24_576);
    assert!(std::fs::read_to_string(dir.join("data.sol")).unwrap().contains("contract Halo2VerifierVk"));

    let o = zkonnx(dir, &["encode-evm-calldata"]);
    assert!(o.status.success(), "encode-evm-calldata: {}", stderr(&o));
    let calldata = std::fs::read(dir.join("calldata.bin")).unwrap();
    let proof: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("proof.json")).unwrap()).unwrap();
    let n = proof["instances"].as_array().unwrap().len();
    let proof_hex = proof["proof"].as_str().unwrap().trim_start_matches("0x");
    assert_eq!(calldata.len(), 32 * n + proof_hex.len() / 2);
    assert_eq!(hex::encode(&calldata[32 * n..]), proof_hex);

    let o = zkonnx(dir, &["verify-evm"]);
    assert!(o.status.success(), "verify-evm: {}", stderr(&o));
    assert!(stderr(&o).contains("gas"), "{}", stderr(&o));

    // a wrong public output: the contract refuses and the command exits non-zero
    let mut bad = proof.clone();
    let last = bad["instances"].as_array().unwrap().len() - 1;
    let v = bad["instances"][last].as_str().unwrap().to_string();
    let flipped = format!("{}{}", &v[..v.len() - 1], if v.ends_with('0') { '1' } else { '0' });
    bad["instances"][last] = flipped.into();
    std::fs::write(dir.join("bad.json"), serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = zkonnx(dir, &["verify-evm", "--proof", "bad.json"]);
    assert!(!o.status.success(), "a wrong public output verified on the EVM");
    assert!(stderr(&o).contains("rejected"), "{}", stderr(&o));
}

#[test]
fn a_wide_circuit_gets_a_deployable_verifier_and_an_oversized_reference_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    run_fixture(dir, "4");
    // zkonnx's verifier (auto: compiled or key as data) fits and verifies on a chain with EIP-170
    let o = zkonnx(dir, &["create-evm-verifier", "--allow-insecure-srs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = zkonnx(dir, &["verify-evm"]);
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(dir.join("verifier.sol")).unwrap();
    std::fs::remove_file(dir.join("verifier.json")).unwrap();

    // snark-verifier's unrolled one does not fit at 4 lanes
    let o = zkonnx(dir, &["create-evm-verifier", "--reference", "--allow-insecure-srs"]);
    assert!(!o.status.success(), "an oversized verifier was written");
    let err = stderr(&o);
    assert!(err.contains("EIP-170") && err.contains("--lanes 1") && err.contains("--verifier data"), "{err}");
    assert!(!dir.join("verifier.sol").exists() && !dir.join("verifier.json").exists());
    // on request it is written anyway, and still verifies on a chain without the limit
    let o = zkonnx(dir, &["create-evm-verifier", "--reference", "--allow-oversize", "--allow-insecure-srs"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = zkonnx(dir, &["verify-evm"]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `table --optimize gas` marks the candidate with the least predicted verify gas, and
/// `gen-settings --optimize gas` records that layout and its predicted gas in the settings.
#[test]
fn the_gas_objective_picks_the_cheapest_verifier() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/lenet/model.onnx");
    let model = model.to_str().unwrap();
    for optimize in ["time", "gas"] {
        let o = zkonnx(dir, &["table", "-M", model, "--optimize", optimize]);
        assert!(o.status.success(), "table: {}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let head = out.lines().position(|l| l.starts_with("layouts")).expect("the layouts table");
        assert!(out.lines().nth(head + 1).is_some_and(|l| l.contains("verify gas (est)")), "{out}");
        let rows: Vec<(bool, f64, f64)> = out
            .lines()
            .skip(head + 2)
            .take_while(|l| l.len() > 2 && (l.starts_with('*') || l.starts_with(' ') || l.starts_with('=')))
            .map(|l| {
                let cols: Vec<&str> = l[1..].split_whitespace().collect();
                (l.starts_with('*'), cols[4].parse().unwrap(), cols[7].parse().unwrap())
            })
            .collect();
        assert!(rows.len() > 1, "{out}");
        let chosen = rows.iter().find(|r| r.0).expect("a chosen row");
        let (best_time, best_gas) = rows.iter().fold((f64::MAX, f64::MAX), |(t, g), r| (t.min(r.1), g.min(r.2)));
        if optimize == "gas" {
            assert_eq!(chosen.2, best_gas, "{out}");
            assert!(out.contains("the least verify gas"), "{out}");
        } else {
            assert_eq!(chosen.1, best_time, "{out}");
        }
    }
    let settings = |optimize: &str| -> serde_json::Value {
        let out = format!("{optimize}.json");
        let o = zkonnx(dir, &["gen-settings", "-M", model, "-O", &out, "--optimize", optimize]);
        assert!(o.status.success(), "gen-settings: {}", stderr(&o));
        serde_json::from_slice(&std::fs::read(dir.join(&out)).unwrap()).unwrap()
    };
    let (time, gas) = (settings("time"), settings("gas"));
    let layout = |s: &serde_json::Value| s["model"]["layout"].clone();
    assert_eq!(layout(&gas)["optimized_for"], "gas");
    let predicted = |s: &serde_json::Value| layout(s)["predicted_verify_gas"].as_u64().unwrap();
    assert!(predicted(&gas) > 0 && predicted(&gas) <= predicted(&time), "{gas} vs {time}");
    assert!(gas["run_args"]["lanes"].as_u64() <= time["run_args"]["lanes"].as_u64());
    let o = zkonnx(dir, &["gen-settings", "-M", model, "--optimize", "fast"]);
    assert!(!o.status.success() && stderr(&o).contains("expected time or gas"), "{}", stderr(&o));
    let o = zkonnx(dir, &["gen-settings", "-M", model, "--max-prove-secs", "5"]);
    assert!(!o.status.success() && stderr(&o).contains("with --optimize gas"), "{}", stderr(&o));
    // a pinned width: the optimizer chose nothing, so the settings claim no objective
    let o = zkonnx(dir, &["gen-settings", "-M", model, "-O", "pinned.json", "--optimize", "gas", "--lanes", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pinned: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("pinned.json")).unwrap()).unwrap();
    assert!(pinned["model"]["layout"].get("optimized_for").is_none(), "{pinned}");
}
