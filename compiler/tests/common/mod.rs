//! Helpers shared by the compiler's integration tests (a `mod.rs`, so cargo does not build
//! it as a test target of its own).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    reason = "test helpers: each test binary uses a different subset, failures should panic, \
              and the measured errors are printed for the report"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use zkonnx_compiler::{compile, dequantize_outputs, float_error_bound, quantize_inputs, OnnxModel};
use zkonnx_ir::{Graph, RunArgs};

/// `compiler/tests/models/<name>.onnx`.
pub fn model_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/models").join(format!("{name}.onnx"))
}

/// The workspace's `fixtures/` folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

pub fn load(path: &Path) -> OnnxModel {
    OnnxModel::load(path, &BTreeMap::new()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Reads `{"input_data": [[...], ...]}` (or `{"outputs": ...}` with `key = "outputs"`).
pub fn read_json_floats(path: &Path, key: &str) -> Vec<Vec<f32>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if key == "input_data" {
        // EZKL's input files may hold integers and booleans too
        return zkonnx_ir::parse_inputs(text.as_bytes()).expect("an input file");
    }
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    serde_json::from_value(v[key].clone()).expect("array of float arrays")
}

/// Deterministic pseudo-random floats in `[-1, 1)` (a 64-bit LCG: no rand dependency).
pub fn inputs_for(shapes: &[Vec<usize>], seed: u64) -> Vec<Vec<f32>> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    shapes
        .iter()
        .map(|shape| {
            (0..shape.iter().product::<usize>())
                .map(|_| {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    ((s >> 40) as f64 / (1u64 << 24) as f64 * 2.0 - 1.0) as f32
                })
                .collect()
        })
        .collect()
}

/// Float outputs, dequantized interpreter outputs, and the max abs difference.
#[derive(Debug)]
pub struct Comparison {
    pub float: Vec<Vec<f32>>,
    pub ir: Vec<Vec<f64>>,
    pub max_err: f64,
    pub max_abs: f64,
}

/// Runs tract in float and the IR interpreter on the same inputs.
pub fn compare(model: &OnnxModel, graph: &Graph, args: &RunArgs, inputs: &[Vec<f32>]) -> Comparison {
    let float = model.run_float(inputs).expect("float run");
    let q = quantize_inputs(graph, inputs).expect("quantize");
    let trace = zkonnx_ir::run(graph, &q, args.range_bits()).expect("interpreter");
    let ir = dequantize_outputs(graph, &trace.outputs(graph));
    assert_eq!(float.len(), ir.len(), "output count");
    let mut max_err = 0f64;
    let mut max_abs = 0f64;
    for (f, i) in float.iter().zip(&ir) {
        assert_eq!(f.len(), i.len(), "output length");
        for (&a, &b) in f.iter().zip(i) {
            max_err = max_err.max((f64::from(a) - b).abs());
            max_abs = max_abs.max(f64::from(a).abs());
        }
    }
    Comparison { float, ir, max_err, max_abs }
}

/// Compiles `model` with `args`, compares on a few random inputs, asserts the bound, and
/// returns the worst error seen.
pub fn check_within_bound(label: &str, model: &OnnxModel, args: &RunArgs, seeds: u64) -> f64 {
    check_inputs_within_bound(label, model, args, seeds, false)
}

/// [`check_within_bound`] with the random inputs snapped to the input grid (`2^-input_scale`):
/// for models whose outputs jump (comparisons, floor), where an off-grid input next to a tie
/// legitimately compares differently once quantized.
pub fn check_within_bound_on_grid(label: &str, model: &OnnxModel, args: &RunArgs, seeds: u64) -> f64 {
    check_inputs_within_bound(label, model, args, seeds, true)
}

fn check_inputs_within_bound(label: &str, model: &OnnxModel, args: &RunArgs, seeds: u64, on_grid: bool) -> f64 {
    let graph = compile(model, args).unwrap_or_else(|e| panic!("{label}: {e}"));
    assert_eq!(graph.output_shapes(), model.output_shapes(), "{label}: output shapes");
    assert_eq!(graph.input_shapes(), model.input_shapes(), "{label}: input shapes");
    let mut worst = 0f64;
    for seed in 0..seeds {
        let mut inputs = inputs_for(&model.input_shapes(), seed);
        if on_grid {
            let step = f64::from(1u32 << args.input_scale);
            inputs.iter_mut().flatten().for_each(|v| *v = ((f64::from(*v) * step).round() / step) as f32);
        }
        let c = compare(model, &graph, args, &inputs);
        let bound = float_error_bound(args, c.max_abs);
        assert!(c.max_err <= bound, "{label} seed {seed}: error {} > bound {bound}", c.max_err);
        worst = worst.max(c.max_err);
    }
    println!("{label}: {} IR nodes, max |float - ir| = {worst:.5}", graph.nodes.len());
    worst
}
