//! Doubles and bfloat16 computed as floats: every `double` or `bfloat16` tensor of the model
//! (inputs, outputs, value infos, initializers, constants, casts), in the graph and in its
//! subgraphs, becomes `float` before tract parses it.
//!
//! Why: skl2onnx exports a model fitted on doubles with double weights, and zkonnx reads every
//! float input as f32, so tract cannot type its `MatMul` (F32 against F64); tract also lacks f64
//! kernels for some ops (`Sigmoid`), and cannot load bfloat16 at all. Precision is not lost where
//! it matters: the circuit computes in fixed point far coarser than f32 (and finer than
//! bfloat16's 8 bits), and the float oracle in f32 is still within its bound of the reference.

use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::type_proto::Value as TypeValue;
use tract_onnx::pb::{AttributeProto, GraphProto, TensorProto, ValueInfoProto};

const DOUBLE: i32 = DataType::Double as i32;
const BFLOAT16: i32 = DataType::Bfloat16 as i32;
const FLOAT: i32 = DataType::Float as i32;

/// Whether tensors of type `t` become floats.
fn widened(t: i32) -> bool {
    t == DOUBLE || t == BFLOAT16
}

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
        Some(TypeValue::TensorType(t)) if widened(t.elem_type) => {
            t.elem_type = FLOAT;
            true
        }
        _ => false,
    }
}

/// A double or bfloat16 tensor's values as floats (doubles from `double_data` or little-endian
/// `raw_data`; bfloat16 from `raw_data` or `int32_data`, each the high 16 bits of a float).
fn tensor(t: &mut TensorProto) -> bool {
    let bf16 = |bits: u16| f32::from_bits(u32::from(bits) << 16);
    match t.data_type {
        DOUBLE if !t.raw_data.is_empty() => {
            let values = t.raw_data.chunks_exact(8).map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b) as f32
            });
            t.raw_data = values.flat_map(f32::to_le_bytes).collect();
        }
        DOUBLE => t.float_data = std::mem::take(&mut t.double_data).into_iter().map(|v| v as f32).collect(),
        BFLOAT16 if !t.raw_data.is_empty() => {
            let values = t.raw_data.chunks_exact(2).map(|c| bf16(u16::from_le_bytes([c[0], c[1]])));
            t.raw_data = values.flat_map(f32::to_le_bytes).collect();
        }
        BFLOAT16 => t.float_data = std::mem::take(&mut t.int32_data).into_iter().map(|v| bf16(v as u16)).collect(),
        _ => return false,
    }
    t.data_type = FLOAT;
    true
}

/// A tensor attribute (`Constant`'s value), a subgraph, or `Cast`'s `to`.
fn attribute(a: &mut AttributeProto, cast: bool) -> bool {
    let mut changed = false;
    if cast && a.name == "to" && i32::try_from(a.i).is_ok_and(widened) {
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
    fn every_double_and_bfloat16_becomes_a_float() {
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
        // bfloat16 1.5 is 0x3fc0, -2.0 is 0xc000
        let h = TensorProto {
            name: "h".into(),
            data_type: BFLOAT16,
            raw_data: vec![0xc0, 0x3f, 0x00, 0xc0],
            ..Default::default()
        };
        let i = TensorProto { name: "i".into(), data_type: BFLOAT16, int32_data: vec![0x3fc0], ..Default::default() };
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
            initializer: vec![w, b, h, i],
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
        let floats: Vec<f32> =
            g.initializer[2].raw_data.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        assert_eq!((g.initializer[2].data_type, floats), (FLOAT, vec![1.5, -2.0]));
        assert_eq!((g.initializer[3].data_type, g.initializer[3].float_data.clone()), (FLOAT, vec![1.5]));
        assert_eq!(g.node[0].attribute[0].i, i64::from(FLOAT));
        assert_eq!(g.node[1].attribute[0].i, i64::from(DOUBLE));
        assert!(!to_floats(&mut g), "a second pass finds nothing");
    }
}
