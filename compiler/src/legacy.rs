//! Rewrites of ONNX ops that tract-onnx 0.23.9 does not load into equivalent ones it does, on
//! the protobuf, before parsing:
//!
//! - `LpPool(x; p, kernel, ...)` = `(k · AveragePool(|x|^p; count_include_pad))^(1/p)` with
//!   `k` the kernel's size: a zero pad contributes `|0|^p = 0`, as in `LpPool`;
//! - `Upsample` (deprecated in opset 10, still in models exported at opsets 7 to 9) is
//!   `Resize` of opset 10 with the same inputs (`scales` becomes an input at opsets 7 and 8),
//!   asymmetric coordinates and, for `nearest`, floor rounding. `Resize` needs opset 10, so such a
//!   model is raised to opset 10, and the two other ops whose signature changed at opset 10 are
//!   rewritten with it: `Slice` (attributes to inputs) and `TopK` (`k` to an input).
//!
//! - doubles are computed as floats ([`doubles`]).
//!
//! The nodes a rewrite adds are named `<node>.<suffix>`, which the compiler maps back to the
//! original node, so errors and the per-layer table still name it and its op.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

use crate::CompileError;

mod doubles;

/// Applies the rewrites to `model` in place.
pub(crate) fn rewrite(model: &mut ModelProto) -> Result<(), CompileError> {
    let opset =
        model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(1, |o| o.version);
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    doubles::to_floats(graph);
    let mut fresh = Fresh(0);
    let nodes = std::mem::take(&mut graph.node);
    let upsample = opset < 10 && nodes.iter().any(|n| n.op_type == "Upsample" && n.domain.is_empty());
    for node in nodes {
        match node.op_type.as_str() {
            "LpPool" if node.domain.is_empty() => lp_pool(graph, node, &mut fresh)?,
            "Upsample" if upsample => upsample_to_resize(graph, node, opset, &mut fresh)?,
            "Slice" if upsample => slice_to_opset10(graph, node, &mut fresh),
            "TopK" if upsample => top_k_to_opset10(graph, node, &mut fresh),
            _ => graph.node.push(node),
        }
    }
    if upsample {
        for o in model.opset_import.iter_mut().filter(|o| o.domain.is_empty() || o.domain == "ai.onnx") {
            o.version = 10;
        }
    }
    Ok(())
}

/// Names for the tensors the rewrites add.
struct Fresh(usize);

impl Fresh {
    fn name(&mut self, node: &NodeProto, what: &str) -> String {
        self.0 += 1;
        format!("{}.zkonnx_{what}_{}", node.name, self.0)
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn float_const(graph: &mut GraphProto, name: String, dims: Vec<i64>, values: Vec<f32>) -> String {
    let t = TensorProto { dims, data_type: DataType::Float as i32, float_data: values, ..Default::default() };
    initializer(graph, name, t)
}

fn int_const(graph: &mut GraphProto, name: String, values: Vec<i64>) -> String {
    let dims = vec![values.len() as i64];
    let t = TensorProto { dims, data_type: DataType::Int64 as i32, int64_data: values, ..Default::default() };
    initializer(graph, name, t)
}

/// Adds `t` to the graph's initializers as `name`; returns the name.
fn initializer(graph: &mut GraphProto, name: String, mut t: TensorProto) -> String {
    t.name = name.clone();
    graph.initializer.push(t);
    name
}

fn node(name: &str, op: &str, inputs: Vec<String>, output: String, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: name.to_string(),
        op_type: op.into(),
        input: inputs,
        output: vec![output],
        attribute,
        ..Default::default()
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}

fn string_attr(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn lp_pool(graph: &mut GraphProto, lp: NodeProto, fresh: &mut Fresh) -> Result<(), CompileError> {
    let bad = |what: &str| CompileError::UnsupportedAttribute {
        node: lp.name.clone(),
        op: "LpPool".into(),
        what: what.into(),
    };
    let p = attr(&lp, "p").map_or(2, |a| a.i);
    if p < 1 {
        return Err(bad("p below 1"));
    }
    if attr(&lp, "dilations").is_some_and(|a| a.ints.iter().any(|&d| d != 1)) {
        return Err(bad("dilations"));
    }
    let kernel: i64 =
        attr(&lp, "kernel_shape").map(|a| a.ints.iter().product()).ok_or_else(|| bad("no kernel_shape"))?;
    let (x, y) = match (lp.input.first(), lp.output.first()) {
        (Some(x), Some(y)) => (x.clone(), y.clone()),
        _ => return Err(bad("no input or output")),
    };
    let name = lp.name.clone();
    let abs = fresh.name(&lp, "abs");
    graph.node.push(node(&format!("{name}.abs"), "Abs", vec![x], abs.clone(), vec![]));
    let pow = fresh.name(&lp, "pow");
    let pc = float_const(graph, fresh.name(&lp, "p"), vec![], vec![p as f32]);
    graph.node.push(node(&format!("{name}.pow"), "Pow", vec![abs, pc], pow.clone(), vec![]));
    let mut pool_attrs: Vec<AttributeProto> = lp
        .attribute
        .iter()
        .filter(|a| ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode"].contains(&a.name.as_str()))
        .cloned()
        .collect();
    pool_attrs.push(int_attr("count_include_pad", 1));
    let mean = fresh.name(&lp, "mean");
    graph.node.push(node(&format!("{name}.pool"), "AveragePool", vec![pow], mean.clone(), pool_attrs));
    let sum = fresh.name(&lp, "sum");
    let kc = float_const(graph, fresh.name(&lp, "k"), vec![], vec![kernel as f32]);
    graph.node.push(node(&format!("{name}.sum"), "Mul", vec![mean, kc], sum.clone(), vec![]));
    let inv = float_const(graph, fresh.name(&lp, "inv_p"), vec![], vec![1.0 / p as f32]);
    graph.node.push(node(&name, "Pow", vec![sum, inv], y, vec![]));
    Ok(())
}

fn upsample_to_resize(
    graph: &mut GraphProto,
    mut up: NodeProto,
    opset: i64,
    fresh: &mut Fresh,
) -> Result<(), CompileError> {
    if opset < 9 {
        // opsets 7 and 8: the scales are an attribute
        let scales =
            attr(&up, "scales").map(|a| a.floats.clone()).ok_or_else(|| CompileError::UnsupportedAttribute {
                node: up.name.clone(),
                op: "Upsample".into(),
                what: "no scales".into(),
            })?;
        let name = fresh.name(&up, "scales");
        let dims = vec![scales.len() as i64];
        let input = float_const(graph, name, dims, scales);
        up.input.truncate(1);
        up.input.push(input);
        up.attribute.retain(|a| a.name != "scales");
    }
    let nearest = attr(&up, "mode").is_none_or(|a| a.s == b"nearest");
    up.op_type = "Resize".into();
    up.attribute.retain(|a| a.name == "mode");
    up.attribute.push(string_attr("coordinate_transformation_mode", "asymmetric"));
    if nearest {
        up.attribute.push(string_attr("nearest_mode", "floor"));
    }
    graph.node.push(up);
    Ok(())
}

fn slice_to_opset10(graph: &mut GraphProto, mut s: NodeProto, fresh: &mut Fresh) {
    if s.input.len() > 1 {
        graph.node.push(s); // already in the input form
        return;
    }
    for key in ["starts", "ends", "axes"] {
        if let Some(a) = attr(&s, key).map(|a| a.ints.clone()) {
            let name = fresh.name(&s, key);
            let input = int_const(graph, name, a);
            s.input.push(input);
        }
    }
    s.attribute.retain(|a| !["starts", "ends", "axes"].contains(&a.name.as_str()));
    graph.node.push(s);
}

fn top_k_to_opset10(graph: &mut GraphProto, mut t: NodeProto, fresh: &mut Fresh) {
    if let Some(k) = attr(&t, "k").map(|a| a.i) {
        let name = fresh.name(&t, "k");
        let input = int_const(graph, name, vec![k]);
        t.input.push(input);
        t.attribute.retain(|a| a.name != "k");
    }
    graph.node.push(t);
}
