//! Conformance against the `onnx` package's PyTorch-converted backend test models
//! (`onnx/backend/test/data/{pytorch-converted,pytorch-operator}`): each model is calibrated on
//! its reference input, compiled, run through the IR interpreter, and its dequantized output
//! compared with the reference output within [`float_error_bound`].
//!
//! `compiler/tests/conformance/manifest.json` lists every model with its status: `pass` (with
//! the max error and its bound) or `fail` (with the reason). The test fails when a model marked
//! `pass` no longer passes or the set of models changed; it prints newly passing models. After
//! adding ops, regenerate the manifest with
//! `ZKONNX_UPDATE_MANIFEST=1 cargo test --release -p zkonnx-compiler --test conformance`.
//!
//! The models come from the installed package (`fixtures/.venv`, made by `scripts/test.sh`
//! from `fixtures/requirements.txt`; `$ZKONNX_PYTHON` overrides): nothing of them is committed.

mod common;

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use common::read_json_floats;
use serde_json::{json, Value};
use zkonnx_compiler::{
    calibrate, compile, dequantize_outputs, float_error_bound, quantize_inputs, CalibrationTarget, OnnxModel,
};
use zkonnx_ir::RunArgs;

fn manifest_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/manifest.json")
}

/// Exports the models with the venv's Python into the test's temp dir.
fn export() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let python = std::env::var_os("ZKONNX_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../fixtures/.venv/bin/python"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    let status = std::process::Command::new(&python)
        .arg(root.join("tests/conformance/export.py"))
        .arg(&out)
        .status()
        .unwrap_or_else(|e| {
            panic!("{}: {e}; run `bash scripts/test.sh` (it makes fixtures/.venv with onnx)", python.display())
        });
    assert!(status.success(), "exporting the onnx backend test models failed (is `onnx` installed in the venv?)");
    out
}

/// Compiles and runs one model: `Ok((max error, bound))`, or why it cannot run.
fn run_one(dir: &Path) -> Result<(f64, f64), String> {
    let meta: Value = serde_json::from_slice(&std::fs::read(dir.join("meta.json")).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    if let Some(t) = meta["inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| !["float", "int"].iter().any(|p| i["dtype"].as_str().unwrap_or("").starts_with(p)))
    {
        return Err(format!("non-numeric model input ({})", t["dtype"].as_str().unwrap_or("?")));
    }
    if meta["finite"] != true {
        return Err("the reference data holds NaN or infinity".into());
    }
    let big = meta["max_abs_input"].as_f64().unwrap_or(0.0);
    if big > 1e9 {
        return Err(format!("reference inputs up to {big:.1e}: uninitialized test data, beyond any fixed-point scale"));
    }
    let model = OnnxModel::load(&dir.join("model.onnx"), &BTreeMap::new()).map_err(|e| e.to_string())?;
    let inputs = read_json_floats(&dir.join("input.json"), "input_data");
    let expected = read_json_floats(&dir.join("expected.json"), "outputs");
    let report = calibrate(&model, std::slice::from_ref(&inputs), &RunArgs::default(), CalibrationTarget::Resources)
        .map_err(|e| e.to_string())?;
    let args = report.run_args;
    let graph = compile(&model, &args).map_err(|e| e.to_string())?;
    let q = quantize_inputs(&graph, &inputs).map_err(|e| e.to_string())?;
    let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).map_err(|e| e.to_string())?;
    let outputs = dequantize_outputs(&graph, &trace.outputs(&graph));
    if outputs.len() != expected.len() || outputs.iter().zip(&expected).any(|(a, b)| a.len() != b.len()) {
        return Err("output count or length differs from the reference".into());
    }
    let pairs = outputs.iter().flatten().zip(expected.iter().flatten());
    let (mut max_err, mut max_abs) = (0f64, 0f64);
    for (o, e) in pairs {
        max_err = max_err.max((o - f64::from(*e)).abs());
        max_abs = max_abs.max(f64::from(*e).abs());
    }
    Ok((max_err, float_error_bound(&args, max_abs)))
}

/// One model's entry: pass with its error, or fail with the reason (first line, no paths).
fn status(dir: &Path) -> Value {
    let round = |v: f64| (v * 1e5).round() / 1e5;
    match catch_unwind(AssertUnwindSafe(|| run_one(dir))) {
        Ok(Ok((err, bound))) if err <= bound => {
            json!({ "status": "pass", "max_error": round(err), "bound": round(bound) })
        }
        Ok(Ok((err, bound))) => {
            json!({ "status": "fail", "reason": format!("error {err:.4} above the bound {bound:.4}") })
        }
        Ok(Err(reason)) => {
            let reason = reason.lines().next().unwrap_or("").replace(&dir.display().to_string(), "<model>");
            json!({ "status": "fail", "reason": reason })
        }
        Err(_) => json!({ "status": "fail", "reason": "panicked" }),
    }
}

#[test]
fn pytorch_converted_models_keep_their_manifest_status() {
    let dir = export();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("export dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let results: BTreeMap<String, Value> = names.iter().map(|n| (n.clone(), status(&dir.join(n)))).collect();
    let passing = results.values().filter(|v| v["status"] == "pass").count();
    println!("conformance: {passing} of {} models pass", results.len());
    if std::env::var_os("ZKONNX_UPDATE_MANIFEST").is_some() {
        let manifest = json!({
            "source": "onnx backend test data: pytorch-converted and pytorch-operator (test_data_set_0)",
            "totals": { "models": results.len(), "pass": passing, "fail": results.len() - passing },
            "models": results,
        });
        let text = serde_json::to_string_pretty(&manifest).expect("json") + "\n";
        std::fs::write(manifest_path(), text).expect("writing the manifest");
        return;
    }
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(manifest_path()).expect("manifest.json")).expect("manifest json");
    let listed: Vec<&String> = manifest["models"].as_object().expect("models").keys().collect();
    assert_eq!(listed, names.iter().collect::<Vec<_>>(), "the set of models changed: regenerate the manifest");
    let mut regressions = vec![];
    for (name, now) in &results {
        let was = &manifest["models"][name];
        match (was["status"].as_str(), now["status"].as_str()) {
            (Some("pass"), Some("pass")) | (Some("fail"), Some("fail")) => {}
            (Some("pass"), _) => regressions.push(format!("{name}: {}", now["reason"])),
            _ => println!("{name} passes now: regenerate the manifest"),
        }
    }
    assert!(regressions.is_empty(), "models marked passing fail now:\n{}", regressions.join("\n"));
}
