//! Replays the inputs the fuzzer once crashed on (`fuzz/regressions/<target>/`), so the test
//! suite catches a regression without running the fuzzer: each must give `Ok` or `Err`, never
//! panic. Structured key inputs are stored there as whole key files, under `vk_bytes/`.
//! The folders hold nothing yet for most targets: a replay of an empty folder passes trivially,
//! which is the point (the one crash found so far is open, see fuzz/regressions/README.md).

use std::path::{Path, PathBuf};

use zkonnx_verifier::artifact::parse_json;
use zkonnx_verifier::ProofArtifact;

fn cases(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect();
    out.sort();
    out
}

#[test]
fn onnx_compile_regressions_do_not_panic() {
    for (path, bytes) in cases("onnx_compile") {
        eprintln!("replaying {}", path.display());
        if let Ok(m) = zkonnx::Model::from_bytes(&bytes, "fuzz", &Default::default()) {
            let _ = m.lower(&Default::default());
        }
    }
}

#[test]
fn input_json_regressions_do_not_panic() {
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny/gemm.onnx");
    let model = zkonnx::Model::load(&onnx, &Default::default()).unwrap();
    let args = zkonnx::RunArgs::default();
    let graph = model.lower(&args).unwrap();
    for (path, bytes) in cases("input_json") {
        eprintln!("replaying {}", path.display());
        if let Ok(inputs) = zkonnx::parse_inputs(&bytes) {
            if let Ok(q) = zkonnx::quantize_inputs(&graph, &inputs) {
                let _ = zkonnx_ir::run(&graph, &q, args.range_bits());
            }
        }
    }
}

#[test]
fn settings_json_regressions_do_not_panic() {
    for (path, bytes) in cases("settings_json") {
        if let Ok(s) = parse_json::<zkonnx::Settings>(&path, &bytes) {
            let _ = s.run_args.validate();
        }
    }
}

#[test]
fn proof_json_regressions_do_not_panic() {
    for (path, bytes) in cases("proof_json") {
        if let Ok(a) = parse_json::<ProofArtifact>(&path, &bytes) {
            let _ = (a.instances(), a.proof_bytes());
        }
    }
}

#[test]
fn vk_regressions_are_errors_not_panics() {
    for (path, bytes) in cases("vk_bytes") {
        assert!(zkonnx_verifier::keys::vk_from_bytes(&path, &bytes).is_err(), "{} accepted", path.display());
    }
}

#[test]
fn pk_regressions_are_errors_not_panics() {
    for (path, bytes) in cases("pk_bytes") {
        assert!(zkonnx_verifier::keys::pk_from_bytes(&path, &bytes).is_err(), "{} accepted", path.display());
    }
}
