//! Shared helpers of the end-to-end tests: the library pipeline on a fixture model.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "shared by several test files; a broken fixture should fail the test loudly"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx::{Model, Options, Prover};
use zkonnx_circuits::CircuitParams;
use zkonnx_ir::{Graph, RunArgs, Settings, Trace};
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
    zkonnx::read_inputs(path).unwrap()
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
    pub model: Model,
    pub inputs: Vec<Vec<f32>>,
    pub args: RunArgs,
    pub graph: Graph,
    pub params: CircuitParams,
    pub trace: Trace,
    pub settings: Settings,
}

/// The library's options for a test: what `tweak` changes of the default run arguments is
/// pinned; so is the width (2 lanes, every lane with lookups, unless tweaked), which keeps the
/// tests' circuits narrow whatever the layout optimizer would choose. Quantization is left to
/// calibration unless tweaked.
fn options_for(tweak: impl FnOnce(&mut RunArgs)) -> Options {
    let d = RunArgs::default();
    let mut a = d.clone();
    tweak(&mut a);
    let mut o = Options::new();
    let differs = |x: u32, y: u32| (x != y).then_some(x);
    o.input_scale = differs(a.input_scale, d.input_scale);
    o.param_scale = differs(a.param_scale, d.param_scale);
    o.lookup_bits = differs(a.lookup_bits, d.lookup_bits);
    o.range_limbs = differs(a.range_limbs, d.range_limbs);
    o.lanes = Some(a.lanes);
    o.lookup_lanes = Some(a.lookup_lanes.unwrap_or(a.lanes));
    o.input_visibility = Some(a.input_visibility);
    o.output_visibility = Some(a.output_visibility);
    o.param_visibility = Some(a.param_visibility);
    o.dims = a.dims;
    o
}

/// Calibrates on the input through the library (target `resources`, the smallest logrows that
/// fits), compiles, and runs the interpreter: the first half of what `zkonnx run` does.
pub fn compile_fixture(model: &str, input: &str, tweak: impl FnOnce(&mut RunArgs)) -> Compiled {
    let options = options_for(tweak);
    let model = Model::load(fixture(model), &options.dims).unwrap();
    let inputs = read_inputs(&fixture(input));
    let settings = model.settings(std::slice::from_ref(&inputs), &options).unwrap();
    let compiled = model.compile(settings).unwrap();
    let args = compiled.settings.run_args.clone();
    let params = CircuitParams::from_settings(&compiled.settings);
    let q = zkonnx::quantize_inputs(&compiled.graph, &inputs).unwrap();
    let trace = zkonnx_ir::run(&compiled.graph, &q, args.range_bits()).unwrap();
    Compiled { model, inputs, args, graph: compiled.graph, params, trace, settings: compiled.settings }
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
    let Compiled { model, inputs, args, graph, settings, .. } = compile_fixture(model, input, tweak);
    let srs = srs_for(args.logrows);
    let compiled = zkonnx::CompiledModel::new(settings.clone(), graph.clone());
    let keys = zkonnx::keygen(&compiled, &srs).unwrap();
    let prover = Prover::new(compiled, keys, srs.clone()).unwrap();
    let witness = prover.witness(&inputs).unwrap();
    let proof = prover.prove_witness(&witness).unwrap();
    let keys = prover.into_keys();
    Proved {
        settings,
        graph: Arc::new(graph),
        keys,
        srs,
        proof: proof.artifact().clone(),
        float_outputs: model.run_float(&inputs).unwrap(),
        quantized_outputs: witness.output_floats,
    }
}

/// Runs the `zkonnx` binary in `dir`, with this crate's test cache as its cache.
pub fn zkonnx_in(dir: &Path, args: &[&str]) -> Output {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .current_dir(dir)
        .env("ZKONNX_CACHE_DIR", cache)
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

/// ABI: a consumer contract's `submit(bytes)` with `data`.
pub fn submit_call(data: &[u8]) -> Vec<u8> {
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

/// `v` as a 32-byte big-endian word.
pub fn word(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}
