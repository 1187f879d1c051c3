//! Conformance, proved: every model the conformance manifest
//! (`compiler/tests/conformance/manifest.json`) marks passing whose circuit is small (at most
//! [`MAX_K`] logrows) is calibrated on its reference input, compiled, proved with KZG and
//! verified natively; its proven outputs must equal the interpreter's. The models come from the
//! `onnx` package in `fixtures/.venv` (see `compiler/tests/conformance.rs`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use common::{read_inputs, srs};
use zkonnx_circuits::{min_k, CircuitParams};
use zkonnx_compiler::{calibrate, quantize_inputs, CalibrationTarget, OnnxModel};
use zkonnx_ir::RunArgs;
use zkonnx_verifier::verify_proof_bytes;

/// Largest circuit proved here (bigger ones stay compile-and-interpret only).
const MAX_K: u32 = 12;

fn export() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python =
        std::env::var_os("ZKONNX_PYTHON").map(PathBuf::from).unwrap_or_else(|| root.join("fixtures/.venv/bin/python"));
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    let status = std::process::Command::new(&python)
        .arg(root.join("compiler/tests/conformance/export.py"))
        .arg(&out)
        .status()
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/test.sh` (it makes fixtures/.venv)", python.display()));
    assert!(status.success(), "exporting the onnx backend test models failed");
    out
}

#[test]
fn small_passing_conformance_models_prove_and_verify() {
    let dir = export();
    let manifest_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compiler/tests/conformance/manifest.json");
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest_path).unwrap()).unwrap();
    let passing: Vec<&String> = manifest["models"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["status"] == "pass")
        .map(|(name, _)| name)
        .collect();
    let (mut proved, mut larger) = (vec![], 0);
    for name in passing {
        let model_dir = dir.join(name);
        let model = OnnxModel::load(&model_dir.join("model.onnx"), &BTreeMap::new()).unwrap();
        let inputs = read_inputs(&model_dir.join("input.json"));
        let report =
            calibrate(&model, std::slice::from_ref(&inputs), &RunArgs::default(), CalibrationTarget::Resources)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut args = report.run_args;
        let graph = zkonnx_compiler::compile(&model, &args).unwrap();
        args.logrows = min_k(&graph, &CircuitParams::for_graph(&args, &graph));
        if args.logrows > MAX_K {
            larger += 1;
            continue;
        }
        let params = CircuitParams::for_graph(&args, &graph);
        let q = quantize_inputs(&graph, &inputs).unwrap();
        let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap();
        // the public values the proof must attest: the interpreter's outputs
        let expected =
            zkonnx_circuits::instances_from_values(&graph, &params, &q, &trace.outputs(&graph), &Default::default());
        let (graph, trace) = (Arc::new(graph), Arc::new(trace));
        let params_kzg = srs(args.logrows);
        let keys = zkonnx_prover::keygen(&params_kzg, graph.clone(), params).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (proof, instances) = zkonnx_prover::prove(
            &params_kzg,
            &keys,
            graph.clone(),
            trace,
            &Default::default(),
            zkonnx_prover::Backend::Cpu,
        )
        .unwrap_or_else(|e| panic!("{name}: proving: {e}"));
        assert_eq!(instances, expected, "{name}: the proven public values are not the interpreter's");
        verify_proof_bytes(&params_kzg, keys.pk.get_vk(), &expected, &proof)
            .unwrap_or_else(|e| panic!("{name}: the proof does not verify: {e}"));
        proved.push(format!("{name} (k {})", args.logrows));
    }
    println!(
        "proved and verified {} conformance models ({larger} larger ones not proved): {}",
        proved.len(),
        proved.join(", ")
    );
    // 87 of the 108 passing models fit at k <= 12 today
    assert!(proved.len() >= 80, "only {} small conformance models proved", proved.len());
}
