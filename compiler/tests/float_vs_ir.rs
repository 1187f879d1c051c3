//! Differential test: tract float inference vs the IR interpreter, dequantized, for every op
//! family's test model and every fixture model, within `float_error_bound`.

mod common;

use std::path::Path;

use common::*;
use zkonnx_compiler::{compile, dequantize_outputs, float_error_bound, quantize_inputs};
use zkonnx_ir::{Func, FuncKind, RunArgs};

/// One model per op family (see `tests/models/make.py`): Gemm (alpha, beta, transB 0/1,
/// symbolic batch), batched MatMul + broadcast Add/Sub/Mul constants (folded), Conv + BN +
/// Relu + MaxPool + AveragePool(pads) + GlobalAveragePool + Flatten + Gemm, Conv SAME_UPPER +
/// AveragePool, tensor-tensor Add/Mul/Sub with broadcasting + Relu, Reshape/Transpose/
/// Identity/Constant/Flatten, a linear Upsample at opset 9 (rewritten to Resize), a scatter of
/// constants that look like probe numbers.
#[test]
fn op_models_match_float_within_bound() {
    let args = RunArgs::default();
    for name in [
        "gemm",
        "matmul",
        "conv",
        "conv_same",
        "elementwise",
        "shape",
        "dynamic_matmul",
        "upsample_linear",
        "scatter_const_updates",
        "nonzero",
        "mask_compare",
    ] {
        let model = load(&model_path(name));
        check_within_bound(name, &model, &args, 8);
    }
}

/// Every fixture model (if the fixtures are present): its own input and random inputs.
#[test]
fn fixture_models_match_float_within_bound() {
    let args = RunArgs::default();
    let mut cases = vec![];
    for dir in ["digits_cnn", "mlp", "lenet"] {
        cases.push((dir.to_string(), fixtures().join(dir).join("model.onnx"), fixtures().join(dir).join("input.json")));
    }
    for tiny in [
        "relu",
        "gemm",
        "conv",
        "add_sub_mul",
        "pools",
        "transpose_reshape",
        "symbolic_batch",
        "activations",
        "reduce",
        "movement",
        "conv_variants",
        "attention",
        "logic",
        "max_min_prelu",
        "argmax",
        "norms_hardswish",
        "gather",
        "trilu",
        "functions",
        "transformer",
        "depthwise_cnn",
        "embedding",
        "lstm",
        "recurrent",
        "tree_ensemble",
        "indexing",
        "legacy",
        "torch_transformer",
        "torch_lstm",
        "ezkl_inputs",
        "constant_graph",
        "causal_mask",
        "padding_mask",
        "product_mask",
        "onnx_attention",
        "softmax_loss",
        "int_arith",
    ] {
        let dir = fixtures().join("tiny");
        cases.push((format!("tiny/{tiny}"), dir.join(format!("{tiny}.onnx")), dir.join(format!("{tiny}.input.json"))));
    }
    let mut ran = 0;
    for (label, path, input) in cases {
        assert!(path.exists(), "{label}: fixture {} is missing", path.display());
        let model = load(&path);
        // comparisons (and a tree's branches) jump: their random inputs sit on the input grid,
        // where the quantized comparison is exact (see the helper)
        let worst_random = if label == "tiny/logic" || label == "tiny/tree_ensemble" {
            check_within_bound_on_grid(&label, &model, &args, 4)
        } else if [
            "tiny/argmax",
            "tiny/embedding",
            "tiny/indexing",
            "tiny/ezkl_inputs",
            "tiny/constant_graph",
            "tiny/padding_mask",
            "tiny/product_mask",
            "tiny/softmax_loss",
            "tiny/int_arith",
        ]
        .contains(&label.as_str())
        {
            // an index jumps wherever rounding makes or breaks a tie (argmax), and token ids are
            // integers (embedding, indexing's ids, ezkl_inputs' ids and mask, padding_mask's
            // and product_mask's attention masks, softmax_loss's labels, int_arith's operands, whose
            // divisors must not be 0), so random inputs cannot be held to a bound, and a constant graph has
            // none; the fixture's input (exact on the grid, ties included) is below
            0.0
        } else {
            check_within_bound(&label, &model, &args, 4)
        };
        let graph = compile(&model, &args).expect("compile");
        let inputs = read_json_floats(&input, "input_data");
        let c = compare(&model, &graph, &args, &inputs);
        let bound = float_error_bound(&args, c.max_abs);
        println!("{label}: fixture input error {:.5} (bound {bound:.4}), random inputs {worst_random:.5}", c.max_err);
        assert!(c.max_err <= bound, "{label}: error {} > bound {bound}", c.max_err);
        // the float oracle itself agrees with onnx's reference evaluator
        let expected_path = input.to_string_lossy().replace("input.json", "expected.json");
        let expected = read_json_floats(std::path::Path::new(&expected_path), "outputs");
        for (e, f) in expected.iter().flatten().zip(c.float.iter().flatten()) {
            assert!((e - f).abs() <= 1e-3 * (1.0 + e.abs()), "{label}: tract {f} vs reference {e}");
        }
        ran += 1;
    }
    println!("{ran} fixture models checked");
}

/// A Hugging Face BertModel as PyTorch exports it (`fixtures/hf_bert`: SDPA attention with a
/// padding mask from its `attention_mask` input, the last token padded), calibrated on its input
/// as `run` does: the interpreter's last hidden state matches PyTorch's within twice the bound
/// (its LayerNorms amplify the rounding beyond [`float_error_bound`]'s model: the same input with
/// no token padded is off by 0.0138, with the last one padded by 0.0141).
#[test]
fn a_hugging_face_bert_with_a_padding_mask_matches_pytorch() {
    let dir = fixtures().join("hf_bert");
    let (args, c, worst) = calibrated(&dir.join("model.onnx"), &dir.join("input.json"), &dir.join("expected.json"));
    let bound = float_error_bound(&args, c.max_abs);
    println!("hf_bert: error {worst:.5} against PyTorch, {:.5} against tract (bound {bound:.4})", c.max_err);
    assert!(worst <= 2.0 * bound && c.max_err <= 2.0 * bound, "hf_bert: error {worst} / {} > 2 × {bound}", c.max_err);
}

/// Calibrates `model` on the input file as `run` does, compiles it and interprets the input:
/// the settings, the comparison with tract, and the largest error of the first output against
/// the expected file (an independent reference).
fn calibrated(model: &Path, input: &Path, expected: &Path) -> (RunArgs, Comparison, f64) {
    let model = load(model);
    let inputs = read_json_floats(input, "input_data");
    let expected = read_json_floats(expected, "outputs");
    let target = zkonnx_compiler::CalibrationTarget::Resources;
    let report = zkonnx_compiler::calibrate(&model, std::slice::from_ref(&inputs), &RunArgs::default(), target);
    let args = report.unwrap_or_else(|e| panic!("calibrate: {e}")).run_args;
    let graph = compile(&model, &args).unwrap_or_else(|e| panic!("compile: {e}"));
    let c = compare(&model, &graph, &args, &inputs);
    let worst = c.ir[0].iter().zip(&expected[0]).map(|(a, &b)| (a - f64::from(b)).abs()).fold(0f64, f64::max);
    (args, c, worst)
}

/// A linear layer quantized in the QDQ form (`tiny/qdq_linear`: uint8 activations, int8 weights
/// per output column), calibrated on its input as `run` does (the default scales cannot hold
/// its uint8 range): the interpreter matches onnx's reference, whose outputs lie on the output
/// quantization's grid of 1/16.
#[test]
fn a_qdq_quantized_layer_matches_the_reference() {
    let dir = fixtures().join("tiny");
    let file = |ext: &str| dir.join(format!("qdq_linear.{ext}"));
    let (_, c, worst) = calibrated(&file("onnx"), &file("input.json"), &file("expected.json"));
    println!("qdq_linear: error {worst:.5} against the reference, {:.5} against tract", c.max_err);
    assert!(worst <= 1e-6 && c.max_err <= 1e-6, "qdq_linear: {:?}", c.ir);
}

/// Names and origins come from the ONNX nodes; BatchNorm and Gemm's alpha/beta fold into the
/// linear op (one Linear + one Rescale per layer, no diagonal Linear left over).
#[test]
fn lowered_graph_keeps_onnx_names_and_folds_constants() {
    let args = RunArgs::default();
    let graph = compile(&load(&model_path("gemm")), &args).unwrap();
    let summary: Vec<(&str, &str, &str)> =
        graph.nodes.iter().map(|n| (n.name.as_str(), n.origin.as_str(), n.op.kind())).collect();
    assert_eq!(
        summary,
        vec![
            ("x", "Input", "Input"),
            ("fc1", "Gemm", "Linear"),
            ("fc1", "Gemm", "Rescale"),
            ("relu1", "Relu", "Relu"),
            ("fc2", "Gemm", "Linear"),
            ("fc2", "Gemm", "Rescale"),
        ]
    );
    assert_eq!(graph.nodes[1].scale, args.input_scale + args.param_scale);
    assert_eq!(graph.nodes[2].scale, args.input_scale);

    let graph = compile(&load(&model_path("conv")), &args).unwrap();
    let linears: Vec<&str> =
        graph.nodes.iter().filter(|n| n.op.kind() == "Linear").map(|n| n.origin.as_str()).collect();
    assert_eq!(linears, vec!["Conv", "AveragePool", "GlobalAveragePool", "Gemm"]);
}

/// A tree branch compares the quantized input exactly: on the grid points at and around each
/// threshold (0.375 is on the grid, 0.3 is not), every branch mode routes as its definition says,
/// so the scores (each tree's vote) and the label are exact. The oracle is the definition, not
/// tract: tract 0.23.9 decodes a `BRANCH_GTE` node as a leaf (its `Cmp::try_from` accepts 1..=5,
/// and GreaterEqual is 6), so its float scores are wrong for that mode.
#[test]
fn tree_branches_compare_exactly_at_their_thresholds() {
    let args = RunArgs::default();
    let model = load(&model_path("tree_modes"));
    let graph = compile(&model, &args).expect("compile");
    let ulp = 1.0 / f32::from(1u16 << args.input_scale);
    let modes: [fn(f32, f32) -> bool; 4] = [|x, t| x <= t, |x, t| x < t, |x, t| x >= t, |x, t| x > t];
    let mut taken = [[false; 2]; 4];
    for (f, t) in [(0, 0.375f32), (1, 0.375), (2, 0.3), (3, 0.3)] {
        let on_grid = (t / ulp).round() * ulp;
        for x in [on_grid - ulp, on_grid, on_grid + ulp] {
            let mut input = vec![0.0f32; 4];
            input[f] = x;
            let mut scores = vec![0.0f64; 8];
            for (tree, holds) in modes.iter().enumerate() {
                let way = usize::from(!holds(input[tree], if tree < 2 { 0.375 } else { 0.3 }));
                scores[2 * tree + way] = 1.0;
                taken[tree][way] = true;
            }
            let label = scores.iter().position(|&s| s == 1.0).unwrap_or(0) as f64;
            let c = compare(&model, &graph, &args, &[input]);
            assert_eq!(c.ir, vec![vec![label], scores], "feature {f} = {x}");
        }
    }
    assert!(taken.iter().flatten().all(|&t| t), "every branch goes both ways: {taken:?}");
}

/// Under two-limb range checks a function is tabulated at knots and interpolated (see the
/// compiler's `ops::nonlinear`): every interpolating table pairs values with differences, no
/// table exceeds `2^(B + 2)` knots although activations have `2B` bits, and the models with
/// function tables, at 14 fractional bits with a `2^10`-row range table, are more accurate than
/// under the default one-limb settings (7 bits, `2^14` rows) on the fixture's input and random
/// ones. (The default's empirical bound is not a fair yardstick at 14 bits: knots `2^-6` apart
/// put `rsqrt` of a LayerNorm's small variances about `2^-10` off.)
#[test]
fn two_limb_function_lookups_interpolate_and_beat_one_limb() {
    let one = RunArgs::default();
    let mut two = RunArgs::default();
    (two.input_scale, two.param_scale, two.lookup_bits, two.range_limbs) = (14, 14, 10, 2);
    for tiny in ["functions", "transformer", "torch_transformer", "lstm", "torch_lstm", "recurrent"] {
        let label = format!("tiny/{tiny}");
        let path = fixtures().join("tiny").join(format!("{tiny}.onnx"));
        let model = load(&path);
        let graph = compile(&model, &two).expect("compile");
        let funcs = graph.funcs();
        for f in funcs.iter().filter(|f| f.interpolates() && !f.difference && f.in_scale < two.input_scale) {
            if f.kind == FuncKind::Exp {
                // split: exp(x) = f(q) · g(r), g over the 2^b fractions at the input's scale
                let b = two.input_scale - f.in_scale;
                let fraction = Func { in_scale: two.input_scale, lo: 0, hi: (1 << b) - 1, ..*f };
                assert!(funcs.contains(&fraction), "{label}: {f:?} has no fraction table");
                assert!(!funcs.contains(&f.difference()), "{label}: {f:?} is interpolated");
            } else {
                assert!(funcs.contains(&f.difference()), "{label}: {f:?} has no difference table");
            }
        }
        // at the input's scale only exp's fractions and the regions next to a pole, which are
        // tabulated point by point (`fine_region`: at most 2^(B+5) inputs)
        let point_by_point = |f: &&Func| f.interpolates() && !f.difference && f.in_scale == two.input_scale;
        for f in funcs.iter().filter(point_by_point) {
            let fraction = f.kind == FuncKind::Exp && f.lo == 0;
            assert!(fraction || f.clamped_from.is_some(), "{label}: {f:?} is not at knot scale");
        }
        for f in &funcs {
            let rows = f.table_rows().expect("valid domain");
            let most = if point_by_point(&f) && f.clamped_from.is_some() { 5 } else { 2 };
            assert!(rows <= 1 << (two.lookup_bits + most), "{label}: {f:?} has {rows} knots");
        }
        assert!(funcs.iter().any(|f| f.difference), "{label}: nothing interpolates");
        let coarse = compile(&model, &one).expect("compile");
        let mut samples = vec![read_json_floats(&path.with_extension("input.json"), "input_data")];
        samples.extend((0..4).map(|seed| inputs_for(&model.input_shapes(), seed)));
        for (k, inputs) in samples.iter().enumerate() {
            let (fine, base) = (compare(&model, &graph, &two, inputs), compare(&model, &coarse, &one, inputs));
            println!("{label} sample {k}: two limbs at S=14 {:.6}, one limb at S=7 {:.6}", fine.max_err, base.max_err);
            assert!(fine.max_err < base.max_err, "{label} sample {k}: {} >= {}", fine.max_err, base.max_err);
            assert!(fine.max_err <= float_error_bound(&one, base.max_abs), "{label} sample {k}: {}", fine.max_err);
        }
    }
}

/// The interpolated lookups against their analytic bound, over a dense grid of inputs: with
/// knots `h` apart (read from the graph), `|ir - f(x)| <= h²/8 · max|f''| + 2^-O + 2^-(S+1) ·
/// max|f'|` (interpolation, the two table roundings and the final one, the input's rounding).
/// `exp` is split instead, `f(q) · g(r)`: `2^-(O+1) · (max f + e^h + 1) + 2^-(S+1) · max|f'|`
/// (the table roundings times the other factor, the product's rounding, the input's).
#[test]
fn interpolated_functions_stay_within_their_analytic_bound() {
    let mut args = RunArgs::default();
    (args.input_scale, args.param_scale, args.lookup_bits, args.range_limbs) = (14, 14, 11, 2);
    let model = load(&fixtures().join("tiny/functions.onnx"));
    let graph = compile(&model, &args).expect("compile");
    // the first five outputs: sigmoid, tanh, erf, exp and sin of x in [-2, 2) (tract writes the
    // sixth, softplus, as other ops)
    let kinds = [FuncKind::Sigmoid, FuncKind::Tanh, FuncKind::Erf, FuncKind::Exp, FuncKind::Sin];
    let exp2 = std::f64::consts::E.powi(2);
    // (max |f'|, max |f''|) on [-2, 2]
    let slopes = [(0.25, 0.1), (1.0, 0.77), (1.13, 0.97), (exp2, exp2), (1.0, 1.0)];
    let knot_scale = |kind| {
        let knots = |f: &Func| f.kind == kind && !f.difference && f.in_scale < args.input_scale;
        let f = graph.funcs().into_iter().find(knots).expect("tabulated at knots");
        assert_eq!(f.out_scale, args.input_scale);
        f.in_scale
    };
    let grid: Vec<f32> = (0..2048).map(|i| -2.0 + i as f32 / 512.0).collect();
    let mut worst = [0f64; 5];
    for chunk in grid.chunks(10) {
        let mut x = chunk.to_vec();
        x.resize(10, 0.0);
        let float = model.run_float(std::slice::from_ref(&x)).expect("float");
        let q = quantize_inputs(&graph, std::slice::from_ref(&x)).expect("quantize");
        let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).expect("interpreter");
        let ir = dequantize_outputs(&graph, &trace.outputs(&graph));
        for (k, w) in worst.iter_mut().enumerate() {
            for (a, b) in float[k].iter().zip(&ir[k]) {
                *w = w.max((f64::from(*a) - b).abs());
            }
        }
    }
    let s = args.input_scale as i32;
    for (k, kind) in kinds.into_iter().enumerate() {
        let h = 2f64.powi(-(knot_scale(kind) as i32));
        let (d1, d2) = slopes[k];
        let bound = if kind == FuncKind::Exp {
            2f64.powi(-s - 1) * (exp2 + h.exp() + 1.0) + 2f64.powi(-s - 1) * d1
        } else {
            h * h / 8.0 * d2 + 2f64.powi(-s) + 2f64.powi(-s - 1) * d1
        };
        println!("{kind:?}: knots 2^{} apart, worst {:.2e}, bound {bound:.2e}", -(knot_scale(kind) as i32), worst[k]);
        assert!(worst[k] <= bound, "{kind:?}: {} > {bound}", worst[k]);
    }
}

/// Functions with a pole or an infinite slope at 0 (`poles`: 1/x, sqrt, log, 1/sqrt of x) under
/// two-limb checks. Interpolating between knots misses them by up to thousands of output units
/// near 0, so the compiler tabulates that region point by point (`fine_region`) and interpolates
/// the rest. On every input of `(0, 8]` at the input scale (so the input is exact), each
/// output is within `2^-O · 2 + |f(x)| / 64`: the interpolation's miss (at most one unit or 1/64
/// of the value where it is used), the tables' rounding and the final one (half a unit each).
#[test]
fn functions_with_a_pole_are_tabulated_where_interpolation_would_miss() {
    let mut args = RunArgs::default();
    (args.input_scale, args.param_scale, args.lookup_bits, args.range_limbs) = (11, 11, 8, 2);
    let model = load(&model_path("poles"));
    let graph = compile(&model, &args).expect("compile");
    let funcs = graph.funcs();
    let s = args.input_scale;
    for kind in [FuncKind::Reciprocal, FuncKind::Sqrt, FuncKind::Log] {
        let point_by_point = funcs.iter().any(|f| f.kind == kind && f.in_scale == s && !f.difference);
        let knots = funcs.iter().any(|f| f.kind == kind && f.in_scale < s && !f.difference);
        assert!(point_by_point && knots, "{kind:?}: a fine region and interpolated sides: {funcs:?}");
    }
    let reals: [fn(f64) -> f64; 4] = [|x| 1.0 / x, f64::sqrt, f64::ln, |x| 1.0 / x.sqrt()];
    let unit = 2f64.powi(-(s as i32));
    let grid: Vec<f32> = (1..=16384).map(|i| i as f32 / 2048.0).collect();
    let mut worst = [0f64; 4];
    for chunk in grid.chunks(16) {
        let mut x = chunk.to_vec();
        x.resize(16, 1.0);
        let q = quantize_inputs(&graph, std::slice::from_ref(&x)).expect("quantize");
        let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).expect("interpreter");
        let ir = dequantize_outputs(&graph, &trace.outputs(&graph));
        for (k, w) in worst.iter_mut().enumerate() {
            for (xi, y) in x.iter().zip(&ir[k]) {
                let f = reals[k](f64::from(*xi));
                // the miss as a fraction of what the function's own bound allows
                *w = w.max((f - y).abs() / (2.0 * unit + f.abs() / 64.0));
            }
        }
    }
    println!("1/x, sqrt, log, 1/sqrt: worst miss over its bound {worst:?}");
    // 1/sqrt is 1/x of sqrt's output y, rounded by half a unit: times |d(1/y)/dy| = 1/x that adds
    // 2^-(S+1)/x, at most 2^-6/sqrt(x) <= 0.71 times the bound's |f|/64 (x >= 2^-11)
    let bounds = [1.0, 1.0, 1.0, 1.0 + 0.71];
    for ((name, w), bound) in ["1/x", "sqrt", "log", "1/sqrt"].iter().zip(worst).zip(bounds) {
        assert!(w <= bound, "{name}: worst {w:.3} of the bound, more than {bound:.3}");
    }
}

/// `Round` of few elements is computed by rescales, not a table (`ops::division::round_half_even`),
/// and keeps ONNX's ties to even on both sides of 0.
#[test]
fn a_small_round_rounds_ties_to_even_without_a_table() {
    let model = load(&model_path("round_ties"));
    let args = RunArgs::default();
    let graph = compile(&model, &args).expect("compile");
    assert!(graph.funcs().iter().all(|f| f.kind != FuncKind::Round), "{:?}", graph.funcs());
    let x = vec![-2.5f32, -1.5, -0.5, 0.5, 1.5, 2.5, 63.0 / 128.0, -65.0 / 128.0];
    let q = quantize_inputs(&graph, std::slice::from_ref(&x)).expect("quantize");
    let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).expect("interpreter");
    let y = dequantize_outputs(&graph, &trace.outputs(&graph));
    assert_eq!(y[0], vec![-2.0, -2.0, 0.0, 0.0, 2.0, 2.0, 0.0, -1.0]);
}
