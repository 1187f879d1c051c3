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
        assert!(a.logrows > a.lookup_bits && a.lookup_bits >= a.param_scale);
        let g = compile(&model, a).unwrap();
        zkonnx_ir::run(&g, &quantize_inputs(&g, &sample).unwrap(), a.lookup_bits).unwrap();
    }
}

#[test]
fn an_input_beyond_the_calibrated_range_names_the_layer() {
    let model = load(&fixtures().join("mlp/model.onnx"));
    let sample = input("mlp/input.json");
    let r =
        calibrate(&model, std::slice::from_ref(&sample), &RunArgs::default(), CalibrationTarget::Resources).unwrap();
    let g = compile(&model, &r.run_args).unwrap();
    let huge: Vec<Vec<f32>> = sample.iter().map(|v| v.iter().map(|x| x * 64.0 + 1.0).collect()).collect();
    let err = zkonnx_ir::run(&g, &quantize_inputs(&g, &huge).unwrap(), r.run_args.lookup_bits).unwrap_err();
    match err {
        IrError::OutOfRange { name, .. } => assert!(!name.is_empty()),
        e => panic!("expected OutOfRange, got {e}"),
    }
}
