//! Calibration picks scales and a table that fit the samples, within its stated tolerance.

mod common;

use common::{fixtures, load, read_json_floats};
use zkonnx_compiler::{calibrate, compile, quantize_inputs, tolerance, CalibrationTarget};
use zkonnx_ir::{IrError, RunArgs};

fn input(rel: &str) -> Vec<Vec<f32>> {
    read_json_floats(&fixtures().join(rel), "input_data")
}

#[test]
fn chosen_settings_fit_the_samples_within_tolerance() {
    let model = load(&fixtures().join("lenet/model.onnx"));
    let sample = input("lenet/input.json");
    let base = RunArgs::default();
    let res = calibrate(&model, std::slice::from_ref(&sample), &base, CalibrationTarget::Resources).unwrap();
    let acc = calibrate(&model, std::slice::from_ref(&sample), &base, CalibrationTarget::Accuracy).unwrap();
    let max_out = res.candidates[0].max_abs_output;
    assert!(res.chosen_error <= tolerance(max_out), "{res:?}");
    assert!(acc.chosen_error <= res.chosen_error, "accuracy {} > resources {}", acc.chosen_error, res.chosen_error);
    assert!(acc.run_args.input_scale >= res.run_args.input_scale);
    for r in [&res, &acc] {
        let a = &r.run_args;
        assert!(a.logrows > a.lookup_bits && a.range_bits() >= a.param_scale);
        let g = compile(&model, a).unwrap();
        zkonnx_ir::run(&g, &quantize_inputs(&g, &sample).unwrap(), a.range_bits()).unwrap();
    }
}

#[test]
fn finer_weights_are_tried_and_the_most_accurate_smallest_table_wins() {
    let model = load(&fixtures().join("mlp/model.onnx"));
    let sample = input("mlp/input.json");
    let r =
        calibrate(&model, std::slice::from_ref(&sample), &RunArgs::default(), CalibrationTarget::Resources).unwrap();
    let usable = || r.candidates.iter().filter(|c| c.note.is_empty());
    for s in 5..=12 {
        let params: Vec<u32> = usable().filter(|c| c.input_scale == s).map(|c| c.param_scale).collect();
        assert!(params.contains(&s) && params.iter().any(|&p| p > s), "scale {s}: params {params:?}");
    }
    // every candidate's range holds its rescales' remainders
    assert!(usable().all(|c| c.lookup_bits * c.range_limbs >= c.param_scale), "{:?}", r.candidates);
    let a = &r.run_args;
    let tol = tolerance(r.candidates[0].max_abs_output);
    let within: Vec<_> = usable().filter(|c| c.max_abs_error <= tol).collect();
    let smallest = within.iter().map(|c| c.lookup_bits).min().unwrap();
    assert_eq!(a.lookup_bits, smallest);
    let best =
        within.iter().filter(|c| c.lookup_bits == smallest).map(|c| c.max_abs_error).fold(f64::INFINITY, f64::min);
    assert_eq!(r.chosen_error, best);
    // on this MLP the finer weights win: the same table at scale 5 with weights at 5 errs more
    let same_scales = usable()
        .find(|c| (c.input_scale, c.param_scale, c.range_limbs) == (a.input_scale, a.input_scale, a.range_limbs))
        .unwrap();
    assert!(a.param_scale > a.input_scale && r.chosen_error < same_scales.max_abs_error, "{r:?}");
}

#[test]
fn two_limb_candidates_halve_the_table_of_graphs_without_lookups() {
    let sample = input("mlp/input.json");
    let r = calibrate(
        &load(&fixtures().join("mlp/model.onnx")),
        std::slice::from_ref(&sample),
        &RunArgs::default(),
        CalibrationTarget::Resources,
    )
    .unwrap();
    let usable: Vec<_> = r.candidates.iter().filter(|c| c.note.is_empty()).collect();
    for one in usable.iter().filter(|c| c.range_limbs == 1) {
        let two = usable
            .iter()
            .find(|c| (c.input_scale, c.param_scale, c.range_limbs) == (one.input_scale, one.param_scale, 2))
            .unwrap_or_else(|| panic!("no two-limb twin of {one:?}"));
        // the same quantization: the same error, with a table of about half the bits
        assert_eq!(two.max_abs_error, one.max_abs_error);
        assert!(two.lookup_bits < one.lookup_bits && 2 * two.lookup_bits + 2 >= one.lookup_bits, "{one:?} {two:?}");
    }
    // at 14 fractional bits, the MLP's two-limb table stays small
    assert!(usable.iter().any(|c| c.input_scale == 14 && c.range_limbs == 2 && c.lookup_bits <= 12), "{usable:?}");
}

#[test]
fn graphs_with_function_tables_get_measured_two_limb_candidates() {
    let t = calibrate(
        &load(&fixtures().join("tiny/transformer.onnx")),
        &[input("tiny/transformer.input.json")],
        &RunArgs::default(),
        CalibrationTarget::Resources,
    )
    .unwrap();
    let usable: Vec<_> = t.candidates.iter().filter(|c| c.note.is_empty()).collect();
    // two-limb functions interpolate: a different graph, so each error is measured on its own
    let mut differs = false;
    for two in usable.iter().filter(|c| c.range_limbs == 2) {
        let one = usable
            .iter()
            .find(|c| (c.input_scale, c.param_scale, c.range_limbs) == (two.input_scale, two.param_scale, 1))
            .unwrap_or_else(|| panic!("no one-limb twin of {two:?}"));
        assert!(two.lookup_bits < one.lookup_bits, "{one:?} {two:?}");
        differs |= two.max_abs_error != one.max_abs_error;
    }
    assert!(differs, "{usable:?}");
    // at 13 and 14 fractional bits, a 2^9-row table reaches an error a one-limb table of
    // 2^16 rows or more does not beat by much
    let best_two = usable.iter().filter(|c| c.range_limbs == 2 && c.lookup_bits <= 9).map(|c| c.max_abs_error);
    let best_two = best_two.fold(f64::INFINITY, f64::min);
    let one_limb = usable.iter().filter(|c| c.range_limbs == 1).map(|c| c.max_abs_error).fold(f64::INFINITY, f64::min);
    assert!(best_two < 0.001 && best_two < 2.0 * one_limb, "two limbs {best_two}, one limb {one_limb}");
}

#[test]
fn an_input_beyond_the_calibrated_range_names_the_layer() {
    let model = load(&fixtures().join("mlp/model.onnx"));
    let sample = input("mlp/input.json");
    let r =
        calibrate(&model, std::slice::from_ref(&sample), &RunArgs::default(), CalibrationTarget::Resources).unwrap();
    let g = compile(&model, &r.run_args).unwrap();
    let huge: Vec<Vec<f32>> = sample.iter().map(|v| v.iter().map(|x| x * 64.0 + 1.0).collect()).collect();
    let err = zkonnx_ir::run(&g, &quantize_inputs(&g, &huge).unwrap(), r.run_args.range_bits()).unwrap_err();
    match err {
        IrError::OutOfRange { name, .. } => assert!(!name.is_empty()),
        e => panic!("expected OutOfRange, got {e}"),
    }
}

#[test]
fn a_layer_beyond_every_table_is_named_with_the_fix() {
    // inputs that fit a 24-bit table at the smallest scale, but whose first layer's sums do not
    let model = load(&fixtures().join("mlp/model.onnx"));
    let huge: Vec<Vec<f32>> = input("mlp/input.json").iter().map(|v| v.iter().map(|x| x * 8e3).collect()).collect();
    let err = calibrate(&model, &[huge], &RunArgs::default(), CalibrationTarget::Resources).unwrap_err().to_string();
    assert!(err.contains("at layer `"), "{err}");
    assert!(err.contains("beyond a 24-bit table") && err.contains("normalise the model's inputs"), "{err}");
}

#[test]
fn the_per_layer_table_covers_every_onnx_node_of_the_transformer() {
    let model = load(&fixtures().join("tiny/transformer.onnx"));
    let sample = input("tiny/transformer.input.json");
    let r =
        calibrate(&model, std::slice::from_ref(&sample), &RunArgs::default(), CalibrationTarget::Resources).unwrap();
    let layers = zkonnx_compiler::layer_stats(&model, &r.run_args, std::slice::from_ref(&sample)).unwrap();
    let names: Vec<&str> = layers.iter().map(|l| l.node.as_str()).collect();
    for want in ["x", "ln1", "scores", "softmax", "context", "residual1", "ln2", "gelu_erf", "fc2", "residual2"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let softmax = layers.iter().find(|l| l.node == "softmax").unwrap();
    assert!(softmax.min >= 0.0 && softmax.max <= 1.0, "{softmax:?}");
    let out = layers.iter().find(|l| l.node == "residual2").unwrap();
    let err = out.max_abs_error.expect("the output layer has a float value");
    assert!(err <= tolerance(out.max.abs().max(out.min.abs())) + 0.05, "{out:?}");
    let text = zkonnx_compiler::render_layer_stats(&layers);
    assert!(text.lines().count() == layers.len() + 1 && text.contains("softmax"), "{text}");
}
