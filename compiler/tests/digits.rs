//! The default model end to end: the interpreter classifies the held-out digits like float
//! inference does.

mod common;

use common::*;
use zkonnx_compiler::{compile, dequantize_outputs, quantize_inputs};
use zkonnx_ir::RunArgs;

fn argmax(xs: impl IntoIterator<Item = f64>) -> usize {
    let mut best = (0, f64::NEG_INFINITY);
    for (i, x) in xs.into_iter().enumerate() {
        if x > best.1 {
            best = (i, x);
        }
    }
    best.0
}

#[test]
fn digits_cnn_argmax_agrees_with_float() {
    let dir = fixtures().join("digits_cnn");
    assert!(dir.join("test_set.json").exists(), "fixtures/digits_cnn/test_set.json is missing");
    let model = load(&dir.join("model.onnx"));
    let args = RunArgs::default();
    let graph = compile(&model, &args).unwrap();
    let text = std::fs::read_to_string(dir.join("test_set.json")).unwrap();
    let set: serde_json::Value = serde_json::from_str(&text).unwrap();
    let images: Vec<Vec<f32>> = serde_json::from_value(set["images"].clone()).unwrap();
    let labels: Vec<usize> = serde_json::from_value(set["labels"].clone()).unwrap();
    let (mut agree, mut float_correct, mut ir_correct) = (0, 0, 0);
    for (image, &label) in images.iter().zip(&labels) {
        let inputs = vec![image.clone()];
        let float = model.run_float(&inputs).unwrap();
        let q = quantize_inputs(&graph, &inputs).unwrap();
        let trace = zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap();
        let ir = dequantize_outputs(&graph, &trace.outputs(&graph));
        let (f, i) = (argmax(float[0].iter().map(|&x| f64::from(x))), argmax(ir[0].iter().copied()));
        agree += usize::from(f == i);
        float_correct += usize::from(f == label);
        ir_correct += usize::from(i == label);
    }
    let n = images.len();
    let rate = agree as f64 / n as f64;
    println!(
        "digits_cnn: argmax agreement {agree}/{n} = {:.2}%, accuracy float {float_correct}/{n}, ir {ir_correct}/{n}",
        rate * 100.0
    );
    assert!(rate >= 0.99, "agreement {rate}");
}
