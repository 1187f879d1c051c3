//! Reductions over axes (tract's `Reduce`): `ReduceSum` (and `ReduceMean`, which reaches tract
//! as a sum followed by a constant scale that folds into it) as a linear op with unit
//! weights; `ReduceMax` (and `GlobalMaxPool`) as max windows; `ReduceMin` as `-max(-x)`.
//! Products, `ArgMax`/`ArgMin` and the others are refused by name.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use zkonnx_ir::Op;

use crate::index::{for_each_coord, strides};
use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::activation::{identity, negate};
use crate::ops::linear::{diagonal, PendingLinear, RowF};
use crate::CompileError;

/// Lowers `Reduce`; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let Some(op) = node.op_as::<Reduce>() else { return Ok(None) };
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("a reduction needs an operand"))?;
    let in_shape = lw.outlet_shape(x_outlet)?;
    let windows = windows(&in_shape, &op.axes, cx)?;
    let x = lw.operand(x_outlet, cx)?;
    let value = match op.reducer {
        Reducer::Sum => {
            let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
            p.weights = vec![1.0];
            p.rows = windows
                .into_iter()
                .map(|w| RowF { terms: w.into_iter().map(|i| (i, 0)).collect(), bias: None })
                .collect();
            Value::Pending(Box::new(p))
        }
        Reducer::Max => Value::Tensor(max_windows(lw, x, windows, cx)),
        Reducer::Min => {
            let neg = negate(lw, x, cx);
            let m = max_windows(lw, neg, windows, cx);
            // the final negation stays a pending linear map: it folds into a following linear op
            let out = identity(lw, m);
            Value::Pending(Box::new(diagonal(m, &out, &vec![-1.0; out.len()], cx)))
        }
        other => return Err(cx.unsupported(format!("reduction {other:?}"))),
    };
    Ok(Some(value))
}

/// `max` over each window; windows of one element are a plain gather.
fn max_windows(lw: &mut Lowerer<'_>, x: usize, windows: Vec<Vec<u32>>, cx: &NodeCx) -> usize {
    let scale = lw.scale(x);
    let op = if windows.iter().all(|w| w.len() == 1) {
        Op::Gather { input: x, indices: windows.into_iter().flatten().collect() }
    } else {
        Op::MaxPool { input: x, windows }
    };
    lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale)
}

/// For each output element (the input's shape with the reduced axes kept at size 1), the
/// flat input indices it reduces.
fn windows(in_shape: &[usize], axes: &[usize], cx: &NodeCx) -> Result<Vec<Vec<u32>>, CompileError> {
    if let Some(&a) = axes.iter().find(|&&a| a >= in_shape.len()) {
        return Err(cx.shape_err(format!("axis {a} of a rank-{} tensor", in_shape.len())));
    }
    let out_shape: Vec<usize> =
        in_shape.iter().enumerate().map(|(d, &n)| if axes.contains(&d) { 1 } else { n }).collect();
    if out_shape.iter().product::<usize>() != cx.shape.iter().product::<usize>() {
        return Err(cx.shape_err(format!("reducing {in_shape:?} over {axes:?} does not give {:?}", cx.shape)));
    }
    let reduced: Vec<usize> =
        in_shape.iter().enumerate().map(|(d, &n)| if axes.contains(&d) { n } else { 1 }).collect();
    let st = strides(in_shape);
    let mut out = Vec::with_capacity(out_shape.iter().product());
    for_each_coord(&out_shape, |_, o| {
        let mut w = Vec::with_capacity(reduced.iter().product());
        for_each_coord(&reduced, |_, r| {
            w.push(o.iter().zip(r).zip(&st).map(|((&a, &b), &s)| (a + b) * s).sum::<usize>() as u32);
        });
        out.push(w);
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx(shape: Vec<usize>) -> NodeCx {
        NodeCx { name: "r".into(), origin: "ReduceSum".into(), shape, inputs: vec![] }
    }

    #[test]
    fn windows_cover_the_reduced_axes() {
        // [2, 3] over axis 1: rows
        assert_eq!(windows(&[2, 3], &[1], &cx(vec![2, 1])).unwrap(), vec![vec![0, 1, 2], vec![3, 4, 5]]);
        // over axis 0: columns
        assert_eq!(windows(&[2, 3], &[0], &cx(vec![1, 3])).unwrap(), vec![vec![0, 3], vec![1, 4], vec![2, 5]]);
        // all axes of [1, 2, 2]
        assert_eq!(windows(&[1, 2, 2], &[0, 1, 2], &cx(vec![1, 1, 1])).unwrap(), vec![vec![0, 1, 2, 3]]);
        assert!(windows(&[2, 3], &[2], &cx(vec![2, 3])).is_err());
        assert!(windows(&[2, 3], &[1], &cx(vec![3])).is_err());
    }
}
