//! Data movement: `AxisOp` (Reshape, Flatten, Transpose, Squeeze/Unsqueeze), `Identity`, and
//! constants. Lowered to `Gather` with explicit indices, or to no node at all when the data
//! order is unchanged (the output aliases its input's IR tensor).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::identity::Identity;
use zkonnx_ir::Op;

use crate::index::{is_identity, move_axis};
use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::OpSupport;
use crate::CompileError;

/// The window functions' forms and limits (one text for the three).
const WINDOW_FORMS: &str = "a constant size: the window is computed at load, a constant (periodic or symmetric)";
const WINDOW_LIMITS: &str = "a size computed at run time gives no fixed output shape (tract error naming the node)";

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Reshape",
        family: "shape",
        forms: "target shape known at load (constant or computed from shapes), 0, -1, allowzero: free alias",
        limits: "",
    },
    OpSupport { op: "Flatten", family: "shape", forms: "any axis: free (the output aliases its input)", limits: "" },
    OpSupport {
        op: "Squeeze",
        family: "shape",
        forms: "axes as attribute or constant input, or every size-1 axis: free alias",
        limits: "",
    },
    OpSupport {
        op: "Unsqueeze",
        family: "shape",
        forms: "axes as attribute or constant input: free alias",
        limits: "",
    },
    OpSupport {
        op: "Transpose",
        family: "shape",
        forms: "any permutation (by default the axes reversed): a free Gather",
        limits: "",
    },
    OpSupport {
        op: "DepthToSpace",
        family: "shape",
        forms: "4-D NCHW, DCR and CRD modes: tract's reshape and axis moves, free Gathers",
        limits: "",
    },
    OpSupport {
        op: "SpaceToDepth",
        family: "shape",
        forms: "4-D NCHW: tract's reshape and axis moves, free Gathers; mode CRD (opset 28) rewritten at load",
        limits: "",
    },
    OpSupport { op: "Identity", family: "shape", forms: "free (the output aliases its input)", limits: "" },
    OpSupport {
        op: "Dropout",
        family: "shape",
        forms: "inference (training_mode absent or false): free, the output aliases its input",
        limits: "training mode (random) is not supported",
    },
    OpSupport {
        op: "Size",
        family: "shape",
        forms: "folded at compile time: every dimension is fixed at load",
        limits: "",
    },
    OpSupport {
        op: "EyeLike",
        family: "shape",
        forms: "folded at compile time: a constant of its input's shape (any k)",
        limits: "",
    },
    OpSupport {
        op: "NonZero",
        family: "shape",
        forms: "folded at compile time when its input is constant (a fixed mask, `torch.tril`'s positions)",
        limits: "an input computed at run time: the output's shape would depend on the values",
    },
    OpSupport {
        op: "Constant",
        family: "shape",
        forms: "folded at compile time (as is any op whose inputs are all constant), quantized where used",
        limits: "",
    },
    OpSupport {
        op: "Shape",
        family: "shape",
        forms: "folded at compile time: every dimension is fixed at load; start and end",
        limits: "",
    },
    OpSupport {
        op: "ConstantOfShape",
        family: "shape",
        forms: "folded at compile time; its shape input must be known at load",
        limits: "",
    },
    OpSupport { op: "HannWindow", family: "shape", forms: WINDOW_FORMS, limits: WINDOW_LIMITS },
    OpSupport { op: "HammingWindow", family: "shape", forms: WINDOW_FORMS, limits: WINDOW_LIMITS },
    OpSupport { op: "BlackmanWindow", family: "shape", forms: WINDOW_FORMS, limits: WINDOW_LIMITS },
    OpSupport {
        op: "Range",
        family: "shape",
        forms: "folded at compile time when start, limit and delta are known at load",
        limits: "bounds computed at run time give no fixed output shape (shape error)",
    },
];

/// ONNX `Dropout` at inference (tract keeps its own `Dropout` op while typing): the output
/// aliases the input and the optional mask output is all true. Training mode (a constant true
/// `training_mode` with a nonzero ratio drops at random) is refused.
pub(crate) fn dropout(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Vec<Value>>, CompileError> {
    if node.op.name() != "Dropout" {
        return Ok(None);
    }
    // tract leaves out absent optional inputs, so the boolean one is training_mode and the
    // float one the ratio, whatever their slots
    let is_bool = |o: OutletId| lw.model.outlet_fact(o).is_ok_and(|f| f.datum_type == DatumType::Bool);
    let nonzero = |bool_input: bool, absent: bool| {
        let input = cx.inputs[1..].iter().find(|&&o| is_bool(o) == bool_input);
        input.map_or(Some(absent), |&o| lw.const_of(o).map(|c| c.data.iter().any(|&v| v != 0.0)))
    };
    // ratio defaults to 0.5, training_mode to false; a computed one could be either
    let (ratio, training) = (nonzero(false, true), nonzero(true, false));
    if training != Some(false) && ratio != Some(false) {
        return Err(cx.unsupported("Dropout in training mode (it drops at random)"));
    }
    let in_shape = lw.outlet_shape(cx.inputs[0])?;
    let mut values = vec![gather(lw, cx.inputs[0], None, cx)?];
    if node.outputs.len() > 1 {
        let data = vec![1.0; in_shape.iter().product()];
        values.push(Value::Const(ConstVal { shape: in_shape, data }));
    }
    Ok(Some(values))
}

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
