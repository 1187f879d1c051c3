//! `zkonnx run` on a folder that already holds a previous run's artifacts: the keys are reused
//! when they belong to the same compiled model and settings, regenerated when anything differs
//! or a key file is damaged. Also the resource limits the binary enforces before any work.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "helpers of tests: a broken fixture should fail loudly")]

use std::path::Path;
use std::process::{Command, Output};

fn zkonnx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .env("ZKONNX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"))
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

/// `run --json` on the tiny Gemm into `out`; returns the JSON line.
fn run(out: &Path, input_scale: &str) -> serde_json::Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny");
    let (model, input) = (root.join("gemm.onnx"), root.join("gemm.input.json"));
    let o = zkonnx(&[
        "run",
        "-M",
        model.to_str().unwrap(),
        "-D",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--input-scale",
        input_scale,
        // small scales and table: logrows 9, so each run takes about a second
        "--param-scale",
        "4",
        "--lookup-bits",
        "8",
        "--json",
    ]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "run failed: {stdout}\n{}", String::from_utf8_lossy(&o.stderr));
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["ok"], true, "{line}");
    line
}

fn reused(line: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(line["reused"].clone()).expect("a `reused` list")
}

#[test]
fn second_run_reuses_keys_and_regenerates_when_anything_differs() {
    let out = tempfile::tempdir().unwrap();
    let first = run(out.path(), "4");
    assert!(reused(&first).is_empty(), "{first}");
    let vk_before = std::fs::read(out.path().join("vk.key")).unwrap();

    let second = run(out.path(), "4");
    assert_eq!(reused(&second), ["setup"], "{second}");
    assert_eq!(std::fs::read(out.path().join("vk.key")).unwrap(), vk_before);
    assert_eq!(second["outputs"], first["outputs"]);

    // other settings: a different compiled model, so new keys
    let third = run(out.path(), "3");
    assert!(reused(&third).is_empty(), "{third}");
    assert_ne!(std::fs::read(out.path().join("vk.key")).unwrap(), vk_before);

    // a damaged (half-written) proving key is never reused
    let pk = out.path().join("pk.key");
    let bytes = std::fs::read(&pk).unwrap();
    std::fs::write(&pk, &bytes[..bytes.len() / 2]).unwrap();
    let fourth = run(out.path(), "3");
    assert!(reused(&fourth).is_empty(), "{fourth}");
    assert_eq!(std::fs::read(&pk).unwrap().len(), bytes.len());
    assert_eq!(reused(&run(out.path(), "3")), ["setup"]);
}

#[test]
fn logrows_above_26_are_clear_errors() {
    let o = zkonnx(&["srs", "gen", "--logrows", "27", "-O", "/nonexistent/never-written.srs"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("27") && err.contains("26"), "{err}");

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny");
    let model = root.join("gemm.onnx");
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("settings.json");
    let s = settings.to_str().unwrap();
    let o = zkonnx(&["gen-settings", "-M", model.to_str().unwrap(), "-O", s]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&settings).unwrap();
    for k in [27, 28, 29] {
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["run_args"]["logrows"] = k.into();
        std::fs::write(&settings, v.to_string()).unwrap();
        let compiled = dir.path().join("model.compiled");
        let o = zkonnx(&["compile", "-M", model.to_str().unwrap(), "-S", s, "-O", compiled.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("logrows") && err.contains(&k.to_string()), "{k}: {err}");
        assert!(!compiled.exists(), "{k}: a compiled model was written");
    }
    let o = zkonnx(&["gen-settings", "-M", model.to_str().unwrap(), "-O", s, "--logrows", "27"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("26"), "{err}");
}
