//! Doubles computed as floats: every `double` tensor of the model (inputs, outputs, value
//! infos, initializers, constants, casts to double), in the graph and in its subgraphs, becomes
//! `float` before tract parses it.
//!
//! Why: skl2onnx exports a model fitted on doubles with double weights, and zkonnx reads every
//! float input as f32, so tract cannot type its `MatMul` (F32 against F64); tract also lacks f64
//! kernels for some ops (`Sigmoid`). Precision is not lost where it matters: the circuit
//! computes in fixed point far coarser than f32, and the float oracle in f32 is still within
//! its bound of the reference.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::type_proto::Value as TypeValue;
use tract_onnx::pb::{AttributeProto, GraphProto, TensorProto, ValueInfoProto};

const DOUBLE: i32 = DataType::Double as i32;
const FLOAT: i32 = DataType::Float as i32;

/// Rewrites `graph` and its subgraphs in place; returns whether anything was a double.
pub(crate) fn to_floats(graph: &mut GraphProto) -> bool {
    let mut changed = false;
    for vi in graph.input.iter_mut().chain(graph.output.iter_mut()).chain(graph.value_info.iter_mut()) {
        changed |= value_info(vi);
    }
    for t in &mut graph.initializer {
        changed |= tensor(t);
    }
    for node in &mut graph.node {
        for a in &mut node.attribute {
            changed |= attribute(a, node.op_type == "Cast");
        }
    }
    changed
}

fn value_info(vi: &mut ValueInfoProto) -> bool {
    match vi.r#type.as_mut().and_then(|t| t.value.as_mut()) {
        Some(TypeValue::TensorType(t)) if t.elem_type == DOUBLE => {
            t.elem_type = FLOAT;
            true
        }
        _ => false,
    }
}

/// A double tensor's values as floats (from `double_data` or little-endian `raw_data`).
fn tensor(t: &mut TensorProto) -> bool {
    if t.data_type != DOUBLE {
        return false;
    }
    t.data_type = FLOAT;
    if !t.raw_data.is_empty() {
        let values = t.raw_data.chunks_exact(8).map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            f64::from_le_bytes(b) as f32
        });
        t.raw_data = values.flat_map(f32::to_le_bytes).collect();
    } else {
        t.float_data = std::mem::take(&mut t.double_data).into_iter().map(|v| v as f32).collect();
    }
    true
}

/// A tensor attribute (`Constant`'s value), a subgraph, or `Cast`'s `to`.
fn attribute(a: &mut AttributeProto, cast: bool) -> bool {
    let mut changed = false;
    if cast && a.name == "to" && a.i == i64::from(DOUBLE) {
        a.i = i64::from(FLOAT);
        changed = true;
    }
    if let Some(t) = a.t.as_mut() {
        changed |= tensor(t);
    }
    for t in &mut a.tensors {
        changed |= tensor(t);
    }
    if let Some(g) = a.g.as_mut() {
        changed |= to_floats(g);
    }
    for g in &mut a.graphs {
        changed |= to_floats(g);
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use tract_onnx::pb::type_proto::Tensor as TensorType;
    use tract_onnx::pb::{NodeProto, TypeProto};

    #[test]
    fn every_double_becomes_a_float() {
        let double_input = ValueInfoProto {
            name: "x".into(),
            r#type: Some(TypeProto {
                value: Some(TypeValue::TensorType(TensorType { elem_type: DOUBLE, shape: None })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let raw: Vec<u8> = [1.5f64, -2.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        let w = TensorProto { name: "w".into(), data_type: DOUBLE, raw_data: raw, ..Default::default() };
        let b = TensorProto { name: "b".into(), data_type: DOUBLE, double_data: vec![0.5], ..Default::default() };
        let cast = NodeProto {
            op_type: "Cast".into(),
            attribute: vec![AttributeProto { name: "to".into(), i: i64::from(DOUBLE), ..Default::default() }],
            ..Default::default()
        };
        // an integer attribute named `to` of another op is left alone
        let other = NodeProto {
            op_type: "Foo".into(),
            attribute: vec![AttributeProto { name: "to".into(), i: i64::from(DOUBLE), ..Default::default() }],
            ..Default::default()
        };
        let mut g = GraphProto {
            input: vec![double_input],
            initializer: vec![w, b],
            node: vec![cast, other],
            ..Default::default()
        };
        assert!(to_floats(&mut g));
        let Some(TypeValue::TensorType(t)) = g.input[0].r#type.as_ref().and_then(|t| t.value.as_ref()) else {
            panic!("no tensor type")
        };
        assert_eq!(t.elem_type, FLOAT);
        let floats: Vec<f32> =
            g.initializer[0].raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!((g.initializer[0].data_type, floats), (FLOAT, vec![1.5, -2.25]));
        assert_eq!((g.initializer[1].data_type, g.initializer[1].float_data.clone()), (FLOAT, vec![0.5]));
        assert_eq!(g.node[0].attribute[0].i, i64::from(FLOAT));
        assert_eq!(g.node[1].attribute[0].i, i64::from(DOUBLE));
        assert!(!to_floats(&mut g), "a second pass finds nothing");
    }
}
