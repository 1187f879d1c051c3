//! Symbolic dimensions: `N` defaults to 1 and can be set at load time.

mod common;

use std::collections::BTreeMap;

use common::*;
use zkonnx_compiler::OnnxModel;
use zkonnx_ir::RunArgs;

#[test]
fn symbolic_batch_defaults_to_one_and_follows_dims() {
    let model = load(&model_path("gemm"));
    assert_eq!(model.input_shapes(), vec![vec![1, 4]]);
    assert_eq!(model.output_shapes(), vec![vec![1, 3]]);

    let dims = BTreeMap::from([("N".to_string(), 4)]);
    let model = OnnxModel::load(&model_path("gemm"), &dims).unwrap();
    assert_eq!(model.input_shapes(), vec![vec![4, 4]]);
    assert_eq!(model.output_shapes(), vec![vec![4, 3]]);
    check_within_bound("gemm N=4", &model, &RunArgs::default(), 4);

    let path = fixtures().join("tiny/symbolic_batch.onnx");
    if path.exists() {
        let model = OnnxModel::load(&path, &BTreeMap::from([("N".to_string(), 3)])).unwrap();
        assert_eq!(model.input_shapes(), vec![vec![3, 4]]);
        check_within_bound("tiny/symbolic_batch N=3", &model, &RunArgs::default(), 4);
    }
}
