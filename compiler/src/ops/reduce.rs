//! Reductions over axes (tract's `Reduce`): `ReduceSum` (and `ReduceMean`, which reaches tract
//! as a sum followed by a constant scale that folds into it) as a linear op with unit
//! weights; `ReduceMax` (and `GlobalMaxPool`) as max windows; `ReduceMin` as `-max(-x)`;
//! `ReduceProd` as a chain of products, each rescaled; `ArgMax`/`ArgMin` as an exact one-hot of
//! the (tie-broken) maximum and a linear map to the index (see [`arg_extreme`]). `ReduceL2`,
//! `ReduceLogSum` and `ReduceLogSumExp` reach tract's typed graph as a sum between element-wise
//! `Square`/`Sqrt`, `Ln` or `Exp`/`Ln`, which the activation and non-linear families lower
//! (`ReduceLogSumExp` shifted by its maximum first, see `legacy::functions`).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::CumSum;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use zkonnx_ir::{Arith, ArithKind, Op, TensorId};

use crate::index::{for_each_coord, strides};
use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::activation::{add_pairs, identity, negate};
use crate::ops::linear::{diagonal, PendingLinear, RowF};
use crate::ops::logic::{add_const, step as at_least_one};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "CumSum",
        family: "reduce",
        forms: "along a constant axis, inclusive or exclusive, forward or reverse: an exact linear map",
        limits: "more than 2^28 sum terms (TooLarge)",
    },
    OpSupport {
        op: "LpNormalization",
        family: "reduce",
        forms: "p = 1 or 2 along one axis: tract's ReduceL1/ReduceL2 (below), then a division",
        limits: "",
    },
    OpSupport {
        op: "Mean",
        family: "reduce",
        forms: "of any number of operands, broadcasting: tract's sum and a constant division, exact adds",
        limits: "",
    },
    OpSupport {
        op: "ReduceSum",
        family: "reduce",
        forms: "constant axes (attribute or input), keepdims, noop_with_empty_axes: a linear op of unit weights",
        limits: "",
    },
    OpSupport {
        op: "ReduceMean",
        family: "reduce",
        forms: "as ReduceSum; tract's division by the count folds into the sum's weights",
        limits: "",
    },
    OpSupport {
        op: "ReduceMax",
        family: "reduce",
        forms: "constant axes, keepdims: max windows (a free Gather where each window is one element)",
        limits: "",
    },
    OpSupport { op: "ReduceMin", family: "reduce", forms: "as ReduceMax, as -max(-x)", limits: "" },
    OpSupport {
        op: "ReduceProd",
        family: "reduce",
        forms: "constant axes, keepdims: a chain of products, each rescaled to the activation scale",
        limits: "",
    },
    OpSupport { op: "ReduceL1", family: "reduce", forms: "tract's Abs (activation family) then a sum", limits: "" },
    OpSupport {
        op: "ReduceSumSquare",
        family: "reduce",
        forms: "tract's Square (one product, activation family) then a sum",
        limits: "",
    },
    OpSupport {
        op: "ReduceL2",
        family: "reduce",
        forms: "tract's Square, a sum, then Sqrt (table lookup, nonlinear family)",
        limits: "",
    },
    OpSupport {
        op: "ReduceLogSum",
        family: "reduce",
        forms: "a sum then Ln (table lookup, nonlinear family)",
        limits: "",
    },
    OpSupport {
        op: "ReduceLogSumExp",
        family: "reduce",
        forms: "rewritten at load to log(sum(exp(x - max))) + max over the same axes (lookups, nonlinear family)",
        limits: "",
    },
    OpSupport {
        op: "ArgMax",
        family: "reduce",
        forms: "one axis, keepdims, select_last_index: exact one-hot of the tie-broken max, the index linear",
        limits: "",
    },
    OpSupport { op: "ArgMin", family: "reduce", forms: "as ArgMax, on -x", limits: "" },
    OpSupport {
        op: "GlobalAveragePool",
        family: "reduce",
        forms: "tract's sum over the spatial axes and constant division, one linear op (any spatial rank)",
        limits: "",
    },
    OpSupport {
        op: "GlobalMaxPool",
        family: "reduce",
        forms: "tract's max over the spatial axes: max windows (any spatial rank)",
        limits: "",
    },
];

/// Lowers `Reduce`; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(op) = node.op_as::<CumSum>() {
        return cumsum(lw, op, cx).map(Some);
    }
    let Some(op) = node.op_as::<Reduce>() else { return Ok(None) };
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("a reduction needs an operand"))?;
    let in_shape = lw.outlet_shape(x_outlet)?;
    let windows = windows(&in_shape, &op.axes, cx)?;
    let x = lw.operand(x_outlet, cx)?;
    let value = match op.reducer {
        Reducer::Sum => Value::Pending(Box::new(window_sums(x, windows, 1.0, cx))),
        Reducer::MeanOfSquares => {
            // tract's form of RMSNormalization's mean square: the squares (one product and
            // rescale each), then their mean, a linear map left pending
            let n = windows.first().map_or(1, Vec::len).max(1);
            let elementwise = NodeCx { shape: in_shape.clone(), ..cx.clone() };
            let squares = crate::ops::activation::product(lw, x, x, &elementwise);
            Value::Pending(Box::new(window_sums(squares, windows, 1.0 / n as f64, cx)))
        }
        Reducer::Max => Value::Tensor(max_windows(lw, x, windows, cx)),
        Reducer::Min => {
            let neg = negate(lw, x, cx);
            let m = max_windows(lw, neg, windows, cx);
            // the final negation stays a pending linear map: it folds into a following linear op
            let out = identity(lw, m);
            Value::Pending(Box::new(diagonal(m, &out, &vec![-1.0; out.len()], cx)))
        }
        Reducer::Prod => Value::Tensor(product_windows(lw, x, &windows, cx)),
        Reducer::ArgMax(last) => arg_extreme(lw, x, &windows, last, cx),
        Reducer::ArgMin(last) => {
            let neg = negate(lw, x, cx);
            arg_extreme(lw, neg, &windows, last, cx)
        }
        other => return Err(cx.unsupported(format!("reduction {other:?}"))),
    };
    Ok(Some(value))
}

/// `CumSum` along one axis (inclusive or exclusive, forward or reversed): each output is the sum
/// of a prefix (or suffix) of its line, exactly, as a pending linear map with weight 1.
fn cumsum(lw: &mut Lowerer<'_>, op: &CumSum, cx: &NodeCx) -> Result<Value, CompileError> {
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("CumSum needs an operand"))?;
    let shape = lw.outlet_shape(x_outlet)?;
    let len = *shape.get(op.axis).ok_or_else(|| cx.shape_err(format!("axis {} is out of range", op.axis)))?;
    let inner: usize = shape[op.axis + 1..].iter().product();
    let total: usize = shape.iter().product();
    crate::lower::check_size(
        &cx.name,
        "CumSum's sum terms",
        total.saturating_mul(len),
        crate::lower::MAX_LINEAR_TERMS,
    )?;
    let x = lw.operand(x_outlet, cx)?;
    let windows = (0..total)
        .map(|o| {
            let at = (o / inner.max(1)) % len.max(1);
            let base = o - at * inner;
            let span = match (op.reverse, op.exclusive) {
                (false, false) => 0..at + 1,
                (false, true) => 0..at,
                (true, false) => at..len,
                (true, true) => at + 1..len,
            };
            span.map(|j| (base + j * inner) as u32).collect()
        })
        .collect();
    Ok(Value::Pending(Box::new(window_sums(x, windows, 1.0, cx))))
}

/// `weight` times the sum over each window of `x`, as a pending linear map.
fn window_sums(x: TensorId, windows: Vec<Vec<u32>>, weight: f64, cx: &NodeCx) -> PendingLinear {
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    p.weights = vec![weight];
    p.rows = windows.into_iter().map(|w| RowF { terms: w.into_iter().map(|i| (i, 0)).collect(), bias: None }).collect();
    p
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

/// The product over each window: `((x0 · x1) · x2) …`, every product rescaled back to the
/// activation scale (one rounding per factor).
fn product_windows(lw: &mut Lowerer<'_>, x: TensorId, windows: &[Vec<u32>], cx: &NodeCx) -> TensorId {
    let first = windows.iter().map(|w| w[0]).collect();
    let scale = lw.scale(x);
    let mut acc = lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices: first }, cx.shape.clone(), scale);
    for k in 1..windows.first().map_or(1, Vec::len) {
        let pairs = windows.iter().enumerate().map(|(o, w)| (o as u32, w[k])).collect();
        let s = lw.scale(acc) + scale;
        let op = Op::Arith(Arith { a: acc, b: x, pairs, kind: ArithKind::Mul });
        let t = lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), s);
        acc = lw.rescale_to_activation(t);
    }
    acc
}

/// The index of the maximum of each window (all of length `n`), the first one on ties (the
/// last with `last`), exactly, with only ReLU, add and linear maps:
/// - the window's values are made distinct, keeping their order: `x' = n·x + bonus` with
///   `bonus = n-1-pos` for the first occurrence (`pos` for the last), as integers at x's scale;
/// - `onehot = [x' - max(x') + 1 >= 1]` is 1 at the maximum only;
/// - the index is `Σ pos · onehot`, a linear map left pending so it can fold into what follows.
///
/// Quantized values closer than one step tie where the float ones would not; the tie-break is
/// then ONNX's own (`select_last_index`).
fn arg_extreme(lw: &mut Lowerer<'_>, x: TensorId, windows: &[Vec<u32>], last: bool, cx: &NodeCx) -> Value {
    let n = windows.first().map_or(1, Vec::len);
    let total = windows.len() * n;
    let flat = NodeCx { shape: vec![total], ..cx.clone() };
    let (_, xd) = distinct_keys(lw, x, windows, 1, last, cx);
    let chunks = (0..windows.len()).map(|w| (w * n) as u32..((w + 1) * n) as u32).map(Iterator::collect).collect();
    let m = max_windows(lw, xd, chunks, cx);
    let below = add_pairs(lw, xd, m, (0..total).map(|k| (k as u32, (k / n) as u32)).collect(), -1, &flat);
    let shifted = add_const(lw, below, 1, &flat);
    let onehot = at_least_one(lw, shifted, &flat);
    let mut p = PendingLinear::new(onehot, cx.shape.clone(), cx);
    p.weights = (0..n).map(|pos| pos as f64).collect();
    p.rows = (0..windows.len())
        .map(|w| RowF { terms: (0..n).map(|pos| ((w * n + pos) as u32, pos as u32)).collect(), bias: None })
        .collect();
    Value::Pending(Box::new(p))
}

/// `x` gathered window by window (`[windows · n]`), and its distinct keys `sign·n·x + bonus` with
/// `bonus = n-1-pos` (the first of equal values ranks highest) or, with `last`, `pos`: integers at
/// x's scale that keep the order of `sign·x` and break its ties. ArgMax/ArgMin and TopK share it.
pub(crate) fn distinct_keys(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    windows: &[Vec<u32>],
    sign: i64,
    last: bool,
    cx: &NodeCx,
) -> (TensorId, TensorId) {
    let n = windows.first().map_or(1, Vec::len);
    let total = windows.len() * n;
    let scale = lw.scale(x);
    let gathered = Op::Gather { input: x, indices: windows.concat() };
    let xs = lw.emit(&cx.name, &cx.origin, gathered, vec![total], scale);
    let bonus = (0..total).map(|k| (if last { k % n } else { n - 1 - k % n }) as i64).collect();
    let bonus = lw.emit(&cx.name, &cx.origin, Op::Const { values: bonus }, vec![total], scale);
    let pairs = (0..total as u32).map(|k| (k, k)).collect();
    let distinct = Op::Arith(Arith { a: xs, b: bonus, pairs, kind: ArithKind::Add { ca: sign * n as i64, cb: 1 } });
    (xs, lw.emit(&cx.name, &cx.origin, distinct, vec![total], scale))
}

/// For each output element (the input's shape with the reduced axes kept at size 1), the
/// flat input indices it reduces.
fn windows(in_shape: &[usize], axes: &[usize], cx: &NodeCx) -> Result<Vec<Vec<u32>>, CompileError> {
    let out = groups(in_shape, axes, cx)?;
    if out.len() != cx.shape.iter().product::<usize>() {
        return Err(cx.shape_err(format!("reducing {in_shape:?} over {axes:?} does not give {:?}", cx.shape)));
    }
    Ok(out)
}

/// The flat indices of `in_shape` grouped by their coordinates off `axes` (one group per
/// element of the reduced shape, in row-major order).
pub(crate) fn groups(in_shape: &[usize], axes: &[usize], cx: &NodeCx) -> Result<Vec<Vec<u32>>, CompileError> {
    if let Some(&a) = axes.iter().find(|&&a| a >= in_shape.len()) {
        return Err(cx.shape_err(format!("axis {a} of a rank-{} tensor", in_shape.len())));
    }
    let out_shape: Vec<usize> =
        in_shape.iter().enumerate().map(|(d, &n)| if axes.contains(&d) { 1 } else { n }).collect();
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
