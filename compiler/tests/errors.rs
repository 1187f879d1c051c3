//! Error paths: malformed files, unsupported ops, computed weights, wrong inputs. None may
//! panic.

mod common;

use std::collections::BTreeMap;

use common::*;
use zkonnx_compiler::{compile, quantize_inputs, CompileError, OnnxModel};
use zkonnx_ir::{IrError, RunArgs};

fn no_dims() -> BTreeMap<String, usize> {
    BTreeMap::new()
}

#[test]
fn missing_file_is_a_load_error() {
    let err = OnnxModel::load(std::path::Path::new("/nonexistent/model.onnx"), &no_dims()).unwrap_err();
    assert!(matches!(err, CompileError::Load { ref path, .. } if path.contains("nonexistent")), "{err}");
}

#[test]
fn garbage_bytes_are_a_load_error() {
    for bytes in [&b"this is not onnx"[..], &[0xff; 64][..], &[][..], &[0x0a, 0xff, 0xff, 0xff, 0x0f][..]] {
        let err = OnnxModel::from_bytes(bytes, "junk", &no_dims()).unwrap_err();
        assert!(matches!(err, CompileError::Load { .. }), "{err}");
    }
}

/// Every truncation of a valid model fails cleanly (or, rarely, still parses) without a panic.
#[test]
fn truncated_models_never_panic() {
    for name in ["gemm", "conv"] {
        let bytes = std::fs::read(model_path(name)).unwrap();
        for len in 0..bytes.len() {
            if let Ok(m) = OnnxModel::from_bytes(&bytes[..len], name, &no_dims()) {
                let _ = compile(&m, &RunArgs::default());
            }
        }
    }
}

#[test]
fn fixture_bad_models_are_load_errors() {
    for file in ["malformed.onnx", "not_onnx.onnx"] {
        let path = fixtures().join("bad").join(file);
        if !path.exists() {
            continue;
        }
        let err = OnnxModel::load(&path, &no_dims()).unwrap_err();
        assert!(matches!(err, CompileError::Load { .. }), "{file}: {err}");
    }
}

#[test]
fn every_unsupported_node_is_named() {
    // tract cannot type Bernoulli: the loader's error names them all too
    let err = OnnxModel::load(&model_path("unsupported_many"), &no_dims())
        .and_then(|m| compile(&m, &RunArgs::default()))
        .unwrap_err();
    let CompileError::UnsupportedOp { node, op, others } = &err else { panic!("expected UnsupportedOp, got {err}") };
    assert_eq!((node.as_str(), op.as_str()), ("act0", "MeanVarianceNormalization"));
    let others: Vec<(&str, &str)> = others.iter().map(|(n, o)| (n.as_str(), o.as_str())).collect();
    assert_eq!(others, [("act1", "Bernoulli"), ("act2", "MeanVarianceNormalization")]);
    assert_eq!(
        err.to_string(),
        "node `act0`: ONNX op MeanVarianceNormalization is not supported; also node `act1` (Bernoulli), node `act2` \
         (MeanVarianceNormalization)"
    );
}

/// NonZero folds when its input is constant (`nonzero` in `float_vs_ir.rs`); of data computed at
/// run time its output's shape depends on the values, which no fixed circuit can have.
#[test]
fn nonzero_of_data_says_its_shape_depends_on_the_values() {
    let err = OnnxModel::load(&model_path("nonzero_data"), &no_dims())
        .and_then(|m| compile(&m, &RunArgs::default()))
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("where_nonzero") && text.contains("depend on the input values"), "{text}");
}

/// A divisor computed at run time is exact (`tiny/int_arith`), and one that is 0 fails at
/// witness time naming the node, never a made-up quotient: the reciprocal table holds no 0.
#[test]
fn a_zero_divisor_computed_at_run_time_fails_naming_the_node() {
    let model = load(&fixtures().join("tiny/int_arith.onnx"));
    let args = RunArgs::default();
    let graph = compile(&model, &args).expect("compile");
    let mut inputs = read_json_floats(&fixtures().join("tiny/int_arith.input.json"), "input_data");
    let ok = quantize_inputs(&graph, &inputs).expect("quantize");
    assert!(zkonnx_ir::run(&graph, &ok, args.range_bits()).is_ok());
    inputs[1][2] = 0.0;
    let zero = quantize_inputs(&graph, &inputs).expect("quantize");
    let err = zkonnx_ir::run(&graph, &zero, args.range_bits()).unwrap_err();
    assert!(matches!(err, IrError::OutOfTable { ref name, .. } if name == "quotient"), "{err}");
}

/// A BitShift amount or a Compress condition computed at run time is refused, naming the node.
#[test]
fn computed_shift_amounts_and_compress_conditions_are_refused_naming_the_node() {
    let err = OnnxModel::load(&model_path("bitshift_runtime"), &no_dims())
        .and_then(|m| compile(&m, &RunArgs::default()))
        .unwrap_err();
    assert!(matches!(err, CompileError::NonConstant { ref node, .. } if node == "shift"), "{err}");
    assert!(err.to_string().contains("shift amount"), "{err}");
    let err = OnnxModel::load(&model_path("compress_runtime"), &no_dims()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("pick") && text.contains("Compress") && text.contains("computed at run time"), "{text}");
}

#[test]
fn unsupported_op_names_node_and_op() {
    let model = load(&model_path("unsupported"));
    let err = compile(&model, &RunArgs::default()).unwrap_err();
    match err {
        CompileError::UnsupportedOp { node, op, .. } => {
            assert_eq!((node.as_str(), op.as_str()), ("act0", "MeanVarianceNormalization"))
        }
        other => panic!("expected UnsupportedOp, got {other}"),
    }
    let path = fixtures().join("bad/unsupported_op.onnx");
    if path.exists() {
        let err = OnnxModel::load(&path, &no_dims()).and_then(|m| compile(&m, &RunArgs::default())).unwrap_err();
        assert!(
            matches!(err, CompileError::UnsupportedOp { ref op, .. } if op == "MeanVarianceNormalization"),
            "{err}"
        );
    }
}

#[test]
fn a_matmul_of_two_computed_tensors_is_an_ir_matmul() {
    let model = load(&model_path("dynamic_matmul"));
    let graph = compile(&model, &RunArgs::default()).unwrap();
    let kinds: Vec<(&str, &str)> = graph.nodes.iter().map(|n| (n.name.as_str(), n.op.kind())).collect();
    assert_eq!(kinds, vec![("a", "Input"), ("b", "Input"), ("mm_dyn", "MatMul"), ("mm_dyn", "Rescale")]);
}

#[test]
fn wrong_input_length_and_count() {
    let model = load(&model_path("gemm"));
    let graph = compile(&model, &RunArgs::default()).unwrap();
    let err = quantize_inputs(&graph, &[vec![0.0; 3]]).unwrap_err();
    assert!(matches!(err, IrError::InputLength { ref name, expected: 4, got: 3, .. } if name == "x"), "{err}");
    let err = model.run_float(&[vec![0.0; 5]]).unwrap_err();
    assert!(matches!(err, CompileError::InputLength { expected: 4, got: 5, .. }), "{err}");
    let err = quantize_inputs(&graph, &[]).unwrap_err();
    assert!(matches!(err, IrError::InputCount { expected: 1, got: 0 }), "{err}");
    let err = model.run_float(&[vec![0.0; 4], vec![0.0; 4]]).unwrap_err();
    assert!(matches!(err, CompileError::InputCount { expected: 1, got: 2 }), "{err}");

    let bad = fixtures().join("bad/wrong_length.input.json");
    let digits = fixtures().join("digits_cnn/model.onnx");
    if bad.exists() && digits.exists() {
        let model = load(&digits);
        let graph = compile(&model, &RunArgs::default()).unwrap();
        let inputs = read_json_floats(&bad, "input_data");
        let err = quantize_inputs(&graph, &inputs).unwrap_err();
        assert!(matches!(err, IrError::InputLength { expected: 64, got: 63, .. }), "{err}");
    }
}

#[test]
fn invalid_run_args_are_ir_errors() {
    let model = load(&model_path("gemm"));
    let mut args = RunArgs::default();
    args.lookup_bits = 30;
    assert!(matches!(compile(&model, &args), Err(CompileError::Ir(_))));
}

/// A symbolic batch so large that the input tensor exceeds the element limit is refused
/// before anything is allocated, naming the tensor.
#[test]
fn oversized_tensors_are_refused_naming_the_node() {
    let dims = BTreeMap::from([("N".to_string(), 1usize << 25)]);
    let m = OnnxModel::load(&fixtures().join("tiny/symbolic_batch.onnx"), &dims).unwrap();
    let err = compile(&m, &RunArgs::default()).unwrap_err();
    match &err {
        CompileError::TooLarge { node, got, max, .. } => {
            assert_eq!((*got, *max), (4 << 25, 1 << 26), "{err}");
            assert!(!node.is_empty() && err.to_string().contains(node.as_str()), "{err}");
        }
        other => panic!("expected TooLarge, got {other}"),
    }
}

/// An additive mask (a constant of -inf, or far below the activation range) is taken only
/// straight into a Softmax: anywhere else its hidden terms would read as 0 where the model has
/// -inf. Each misuse is refused naming the node that added the mask and what reads it.
#[test]
fn an_additive_mask_outside_a_softmax_is_refused_naming_both_nodes() {
    let refuse = |name: &str| {
        let m = load(&model_path(name));
        compile(&m, &RunArgs::default()).map(|_| ()).unwrap_err().to_string()
    };
    assert_eq!(
        refuse("mask_relu"),
        "node `mask` (Add): an additive mask (a constant of -inf or far below the activation range) whose sum goes to \
         node `relu` (Relu) rather than straight into a Softmax is not supported"
    );
    assert_eq!(
        refuse("mask_log_softmax"),
        "node `attn` (LogSoftmax): the log of a softmax of masked positions (LogSoftmax, or Log of Softmax: a hidden \
         position's log-probability is -inf) is not supported"
    );
    assert_eq!(
        refuse("mask_partial"),
        "node `runtime_mask` (Where): a constant of -inf (or beyond the fixed-point range) that is not an attention \
         mask taken straight into a Softmax is not supported"
    );
    assert_eq!(
        refuse("mask_isnan"),
        "node `nan` (IsNaN): IsNan of a sum with an attention mask (-inf where it hides) is not supported"
    );
    let far = refuse("mask_far_row");
    assert!(
        far.starts_with("node `attn` (Softmax): a Softmax group every position of which the mask added by node `mask`"),
        "{far}"
    );
}

/// The test model `name` compiled with the default arguments and run by the interpreter on
/// the one input `x`: its dequantized outputs.
fn interpret(name: &str, x: &[f32]) -> Vec<Vec<f64>> {
    let args = RunArgs::default();
    let graph = compile(&load(&model_path(name)), &args).unwrap_or_else(|e| panic!("{name}: {e}"));
    let q = quantize_inputs(&graph, &[x.to_vec()]).unwrap_or_else(|e| panic!("{name}: {e}"));
    let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap_or_else(|e| panic!("{name}: {e}"));
    zkonnx_compiler::dequantize_outputs(&graph, &trace.outputs(&graph))
}

/// A Softmax row hidden entirely by -inf has no float value (NaN): zkonnx gives 0, as ONNX's
/// `Attention` specifies for a fully masked row; the kept positions of the other row are the
/// softmax of the kept scores alone, and the hidden one is exactly 0.
#[test]
fn a_row_masked_throughout_by_minus_infinity_gives_zeros() {
    let args = RunArgs::default();
    let x = [0.5f32, -1.25, 1.0, 0.25, 2.0, -0.75];
    let y = interpret("mask_rows", &x).remove(0);
    let (e0, e2) = (f64::from(x[0]).exp(), f64::from(x[2]).exp());
    let want = [e0 / (e0 + e2), 0.0, e2 / (e0 + e2), 0.0, 0.0, 0.0];
    let bound = zkonnx_compiler::float_error_bound(&args, 1.0);
    for (got, want) in y.iter().zip(want) {
        assert!((got - want).abs() <= bound, "{y:?} vs {want} (bound {bound})");
    }
    assert_eq!([y[1], y[3], y[4], y[5]], [0.0; 4]);
}

/// A mask the input decides (`Where(x > 0, 0, -inf)` added to x): each row is the softmax of
/// its positive entries, exactly 0 elsewhere; a row with none is all zeros.
#[test]
fn a_mask_computed_at_run_time_hides_what_the_input_decides() {
    let args = RunArgs::default();
    let y = interpret("mask_runtime", &[0.5, -1.25, 1.0, 0.25, 2.0, -0.75]).remove(0);
    let (a, b, c, d) = (0.5f64.exp(), 1f64.exp(), 0.25f64.exp(), 2f64.exp());
    let want = [a / (a + b), 0.0, b / (a + b), c / (c + d), d / (c + d), 0.0];
    let bound = zkonnx_compiler::float_error_bound(&args, 1.0);
    for (got, want) in y.iter().zip(want) {
        assert!((got - want).abs() <= bound, "{y:?} vs {want} (bound {bound})");
    }
    assert_eq!([y[1], y[5]], [0.0; 2]);
    // a row the input hides entirely gives zeros (as ONNX's Attention specifies), the other row
    // its softmax
    let y = interpret("mask_runtime", &[0.5, -1.25, 1.0, -0.25, -2.0, -0.75]).remove(0);
    for (got, want) in y.iter().zip([a / (a + b), 0.0, b / (a + b), 0.0, 0.0, 0.0]) {
        assert!((got - want).abs() <= bound, "{y:?} vs {want} (bound {bound})");
    }
    assert_eq!(y[3..], [0.0; 3]);
}

/// `(1 - attention_mask) * finfo.min` (`tiny/product_mask`) hides where the mask is 0 and keeps
/// where it is 1; a mask of 2 would add +inf, which no proof may hide: the interpreter (and the
/// circuit's lookup) refuses it, naming the node.
#[test]
fn a_product_mask_that_would_add_plus_infinity_fails_naming_the_node() {
    let args = RunArgs::default();
    let graph = compile(&load(&fixtures().join("tiny/product_mask.onnx")), &args).unwrap();
    let x = vec![0.25f32; 16];
    let q = quantize_inputs(&graph, &[x.clone(), vec![1.0, 0.0, 1.0, 1.0]]).unwrap();
    let y = zkonnx_compiler::dequantize_outputs(
        &graph,
        &zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap().outputs(&graph),
    );
    let third = 1.0 / 3.0;
    let bound = zkonnx_compiler::float_error_bound(&args, 1.0);
    for (got, want) in y[0].iter().zip([third, 0.0, third, third].repeat(4)) {
        assert!((got - want).abs() <= bound, "{y:?}");
    }
    // a hidden key scoring far above the kept ones takes no precision from them: the maximum is
    // taken over the kept positions
    let high: Vec<f32> = [0.25f32, 0.5, 0.75, 6.0].repeat(4);
    let q = quantize_inputs(&graph, &[high, vec![1.0, 1.0, 1.0, 0.0]]).unwrap();
    let y = zkonnx_compiler::dequantize_outputs(
        &graph,
        &zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap().outputs(&graph),
    );
    let e: Vec<f64> = [0.25f64, 0.5, 0.75].iter().map(|v| v.exp()).collect();
    let sum: f64 = e.iter().sum();
    for (got, want) in y[0].iter().zip([e[0] / sum, e[1] / sum, e[2] / sum, 0.0].repeat(4)) {
        assert!((got - want).abs() <= bound, "{y:?}");
    }
    let q = quantize_inputs(&graph, &[x, vec![1.0, 2.0, 1.0, 1.0]]).unwrap();
    let err = zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap_err().to_string();
    assert!(err.contains("`extended`") && err.contains("outside the table's domain [0, 0]"), "{err}");
}

/// Dropout at inference is its input (and an all-true mask); in training mode it drops at
/// random, which no circuit reproduces: refused naming the node.
#[test]
fn dropout_is_its_input_at_inference_and_refused_in_training() {
    let args = RunArgs::default();
    let x = [0.5f32, -1.25, 1.0, 0.25, 2.0, -0.75];
    let y = interpret("dropout_eval", &x);
    assert_eq!(y[0], x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    assert_eq!(y[1], vec![1.0; 6]);
    for name in ["dropout_training", "dropout_training_default_ratio"] {
        let err = compile(&load(&model_path(name)), &args).unwrap_err().to_string();
        assert_eq!(err, "node `drop` (Dropout): Dropout in training mode (it drops at random) is not supported");
    }
}
