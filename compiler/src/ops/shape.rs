//! Data movement: `AxisOp` (Reshape, Flatten, Transpose, Squeeze/Unsqueeze), `Identity`, and
//! constants. Lowered to `Gather` with explicit indices, or to no node at all when the data
//! order is unchanged (the output aliases its input's IR tensor).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::identity::Identity;
use zkonnx_ir::Op;

use crate::index::{is_identity, move_axis};
use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::CompileError;

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let in_shape = match cx.inputs.first() {
        Some(i) => lw.outlet_shape(*i)?,
        None => return Ok(None),
    };
    let indices = if let Some(op) = node.op_as::<AxisOp>() {
        match op {
            // adding, removing or regrouping axes keeps the row-major order
            AxisOp::Add(_) | AxisOp::Rm(_) | AxisOp::Reshape(..) => None,
            AxisOp::Move(from, to) => {
                let (shape, idx) = move_axis(&in_shape, *from, *to)
                    .ok_or_else(|| cx.shape_err(format!("axis move {from}->{to} on {in_shape:?}")))?;
                if shape != cx.shape {
                    return Err(cx.shape_err(format!("axis move gives {shape:?}, tract says {:?}", cx.shape)));
                }
                Some(idx)
            }
        }
    } else if node.op_as::<Identity>().is_some() {
        None
    } else {
        return Ok(None);
    };
    if in_shape.iter().product::<usize>() != cx.shape.iter().product::<usize>() {
        return Err(cx.shape_err(format!("{in_shape:?} and {:?} differ in size", cx.shape)));
    }
    let indices = indices.filter(|idx| !is_identity(idx, idx.len()));
    gather(lw, cx.inputs[0], indices, cx).map(Some)
}

/// `out[o] = in[indices[o]]` on any kind of value; `None` means the identity.
pub(crate) fn gather(
    lw: &mut Lowerer<'_>,
    input: OutletId,
    indices: Option<Vec<u32>>,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    if matches!(lw.value(input)?, Value::Pending(_)) && !lw.sole_use(input) {
        lw.operand(input, cx)?; // shared: emit it once rather than once per consumer
    }
    let Some(indices) = indices else {
        return Ok(match lw.value(input)?.clone() {
            Value::Pending(mut p) => {
                p.shape = cx.shape.clone();
                Value::Pending(p)
            }
            Value::Const(c) => Value::Const(ConstVal { shape: cx.shape.clone(), ..c }),
            tensor => tensor,
        });
    };
    Ok(match lw.value(input)?.clone() {
        Value::Pending(p) => Value::Pending(Box::new(p.gather(&indices, cx.shape.clone()))),
        Value::Const(c) => Value::Const(ConstVal {
            shape: cx.shape.clone(),
            data: indices.iter().map(|&i| c.data[i as usize]).collect(),
        }),
        _ => {
            let x = lw.operand(input, cx)?;
            let scale = lw.scale(x);
            Value::Tensor(lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices }, cx.shape.clone(), scale))
        }
    })
}

/// A tract constant as a float [`ConstVal`].
pub(crate) fn const_value(t: &Tensor, name: &str) -> Result<ConstVal, CompileError> {
    let cast = t.cast_to::<f64>().map_err(|e| CompileError::tract(&format!("reading constant `{name}`"), e))?;
    let view =
        cast.to_plain_array_view::<f64>().map_err(|e| CompileError::tract(&format!("reading constant `{name}`"), e))?;
    Ok(ConstVal { shape: t.shape().to_vec(), data: view.iter().copied().collect() })
}
