//! Corrupt compiled models are clear errors: the reader (`parse_json`) rejects garbage and
//! foreign files, and `Graph::validate` (what `zkonnx` runs on every compiled model it loads)
//! rejects graphs that parse but cannot be laid out.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "helpers of tests: a broken fixture should fail loudly")]

mod common;

use std::path::Path;

use common::compile_fixture;
use zkonnx_ir::{ModelInfo, Op, Settings};
use zkonnx_verifier::artifact::parse_json;
use zkonnx_verifier::{ArtifactError, CompiledModel};

fn compiled_json() -> serde_json::Value {
    let c = compile_fixture("tiny/relu.onnx", "tiny/relu.input.json", |_| {});
    let model = CompiledModel::new(Settings::new(c.args, ModelInfo::default()), c.graph);
    let mut v = serde_json::to_value(&model).unwrap();
    v["format"] = "zkonnx-compiled-model".into();
    v["version"] = 1.into();
    v
}

/// Parses and validates like the CLI's `load_compiled`.
fn load(v: &serde_json::Value) -> Result<CompiledModel, String> {
    let c = parse_json::<CompiledModel>(Path::new("model.compiled"), v.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    c.graph.validate().map_err(|e| e.to_string())?;
    c.settings.run_args.validate().map_err(|e| e.to_string())?;
    Ok(c)
}

#[test]
fn corrupt_compiled_models_are_clear_errors() {
    let good = compiled_json();
    let c = load(&good).unwrap();
    let p = Path::new("model.compiled");
    for garbage in [&b""[..], b"{\"format\": 1", b"\x89PNG\r\n", b"[]"] {
        let err = parse_json::<CompiledModel>(p, garbage).err().unwrap();
        assert!(err.to_string().contains("model.compiled"), "{err}");
    }
    let mut v = good.clone();
    v["format"] = "zkonnx-settings".into();
    let err = parse_json::<CompiledModel>(p, v.to_string().as_bytes()).err().unwrap();
    assert!(matches!(err, ArtifactError::WrongKind { .. }), "{err}");
    let mut v = good.clone();
    v["graph"]["nodes"][0]["op"] = serde_json::json!({"NoSuchOp": {}});
    assert!(load(&v).unwrap_err().contains("model.compiled"));

    // a node reading a later node (not topological)
    let last = c.graph.nodes.len() - 1;
    let reader = c.graph.nodes.iter().position(|n| !matches!(n.op, Op::Input { .. } | Op::Const { .. })).unwrap();
    let mut g = c.graph.clone();
    set_input(&mut g.nodes[reader].op, last);
    let mut v = good.clone();
    v["graph"] = serde_json::to_value(&g).unwrap();
    let err = load(&v).unwrap_err();
    assert!(err.contains(&g.nodes[reader].name) || err.contains("later") || err.contains("order"), "{err}");

    // a tensor index out of range, and an output out of range
    let mut g = c.graph.clone();
    set_input(&mut g.nodes[reader].op, 10_000);
    let mut v = good.clone();
    v["graph"] = serde_json::to_value(&g).unwrap();
    assert!(load(&v).is_err(), "out-of-range input accepted");
    let mut v = good.clone();
    v["graph"]["outputs"] = serde_json::json!([10_000]);
    assert!(load(&v).is_err(), "out-of-range output accepted");
    // settings inside the compiled model are validated too
    let mut v = good;
    v["settings"]["run_args"]["lookup_bits"] = 99.into();
    assert!(load(&v).unwrap_err().contains("lookup_bits"));
}

fn set_input(op: &mut Op, to: usize) {
    assert!(!op.inputs().is_empty(), "not a reader");
    op.map_inputs(|_| to);
}
