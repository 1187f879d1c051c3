//! Shared helpers of the end-to-end tests: the library pipeline on a fixture model.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared by several test files; a broken fixture should fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_circuits::{min_k, CircuitParams};
use zkonnx_compiler::{calibrate, quantize_inputs, CalibrationTarget, OnnxModel};
use zkonnx_ir::{Graph, ModelInfo, RunArgs, Settings, Trace};
use zkonnx_prover::{Keys, SrsCache};
use zkonnx_verifier::ProofArtifact;

pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(rel)
}

/// `(model, input)` of every fixture model: the three main ones, then `tiny/` by name.
pub fn all_fixtures() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        ["mlp", "lenet", "digits_cnn"].iter().map(|m| (format!("{m}/model.onnx"), format!("{m}/input.json"))).collect();
    let mut tiny: Vec<String> = std::fs::read_dir(fixture("tiny"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".onnx").map(str::to_string))
        .collect();
    tiny.sort();
    out.extend(tiny.into_iter().map(|n| (format!("tiny/{n}.onnx"), format!("tiny/{n}.input.json"))));
    out
}

pub fn read_inputs(path: &Path) -> Vec<Vec<f32>> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(v["input_data"].clone()).unwrap()
}

/// Development SRS cache shared by all tests of this crate.
pub fn srs(k: u32) -> ParamsKZG<Bn256> {
    SrsCache::new(Path::new(env!("CARGO_TARGET_TMPDIR")).join("srs")).dev_srs(k).unwrap()
}

pub struct Proved {
    pub settings: Settings,
    pub graph: Arc<Graph>,
    pub keys: Keys,
    pub srs: ParamsKZG<Bn256>,
    pub proof: ProofArtifact,
    pub float_outputs: Vec<Vec<f32>>,
    pub quantized_outputs: Vec<Vec<f64>>,
}

/// A fixture calibrated on its input and compiled, with its quantized trace.
pub struct Compiled {
    pub model: OnnxModel,
    pub inputs: Vec<Vec<f32>>,
    pub args: RunArgs,
    pub graph: Graph,
    pub params: CircuitParams,
    pub trace: Trace,
}

/// Calibrates on the input (target `resources`), compiles, sets logrows to the smallest that
/// fits, and runs the interpreter: the first half of what `zkonnx run` does.
pub fn compile_fixture(model: &str, input: &str, tweak: impl FnOnce(&mut RunArgs)) -> Compiled {
    let model = OnnxModel::load(&fixture(model), &Default::default()).unwrap();
    let inputs = read_inputs(&fixture(input));
    let mut base = RunArgs::default();
    tweak(&mut base);
    let report = calibrate(&model, std::slice::from_ref(&inputs), &base, CalibrationTarget::Resources).unwrap();
    let mut args = report.run_args;
    let graph = zkonnx_compiler::compile(&model, &args).unwrap();
    args.logrows = min_k(&graph, &CircuitParams::for_graph(&args, &graph));
    let params = CircuitParams::for_graph(&args, &graph);
    let q = quantize_inputs(&graph, &inputs).unwrap();
    let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap();
    Compiled { model, inputs, args, graph, params, trace }
}

/// Calibrates on the input, compiles, sets up, proves: what `zkonnx run` does, via the library.
pub fn prove_fixture(model: &str, input: &str, tweak: impl FnOnce(&mut RunArgs)) -> Proved {
    prove_fixture_with_srs(model, input, tweak, srs)
}

/// [`prove_fixture`] with the SRS for the fixture's `k` from `srs_for(k)` instead of the
/// development SRS cache.
pub fn prove_fixture_with_srs(
    model: &str,
    input: &str,
    tweak: impl FnOnce(&mut RunArgs),
    srs_for: impl FnOnce(u32) -> ParamsKZG<Bn256>,
) -> Proved {
    let Compiled { model, inputs, args, graph, params, trace } = compile_fixture(model, input, tweak);
    let mut info = ModelInfo::default();
    info.input_shapes = graph.input_shapes();
    info.output_shapes = graph.output_shapes();
    let settings = Settings::new(args.clone(), info);
    let graph = Arc::new(graph);
    let srs = srs_for(args.logrows);
    let keys = zkonnx_prover::keygen(&srs, graph.clone(), params).unwrap();
    let trace = Arc::new(trace);
    let outs = trace.outputs(&graph);
    let (proof, instances) =
        zkonnx_prover::prove(&srs, &keys, graph.clone(), trace, zkonnx_prover::Backend::Cpu).unwrap();
    let deq = zkonnx_compiler::dequantize_outputs(&graph, &outs);
    let proof = ProofArtifact::new(args.logrows, &instances, &proof, deq.clone(), String::new());
    Proved {
        settings,
        graph,
        keys,
        srs,
        proof,
        float_outputs: model.run_float(&inputs).unwrap(),
        quantized_outputs: deq,
    }
}
