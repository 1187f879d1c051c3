//! `Gather` and `GatherElements` by computed indices: an exact one-hot of each index, then a
//! linear map with the table as weights when the data is constant (an `Embedding` fed by an
//! int64 input), or exact products with the computed data, summed.
//!
//! For table axis length `n` and integer indices `i` (scale 0): `i' = i + n·[i <= -1]` wraps
//! negative indices; `onehot[j, v] = 1 - [i'_j - v >= 1] - [v - i'_j >= 1]` is 1 exactly when
//! `i'_j = v` (built from ReLU steps, so it adds no new constraints); `out[pre, j, post] =
//! Σ_v onehot[j, v] · table[pre, v, post]`. An index outside `[-n, n)` selects nothing and
//! gives zeros (ONNX leaves it undefined). Cost: a few ReLU rows per (index, table row) pair.

use zkonnx_ir::{Arith, ArithKind, Linear, LinearRow, Op, TensorId};

use crate::index::{flat_of, for_each_coord, strides};
use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::activation::{add, add_pairs, negate};
use crate::ops::linear::{PendingLinear, RowF};
use crate::ops::logic::{mul_pairs, not, step};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers: none of its own, it serves `movement` (`Gather`,
/// `GatherElements` by computed indices) and `indexing`, which list those ops.
pub(crate) const OPS: &[OpSupport] = &[];

/// `data[.., idx, ..]` along `axis` for computed integer indices: a constant `data` (an
/// embedding table) or, with `data` `None`, the computed input 0.
pub(crate) fn gather_computed(
    lw: &mut Lowerer<'_>,
    axis: usize,
    data: Option<&ConstVal>,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let (idx, idx_shape, in_shape, n) = operands(lw, axis, data, cx)?;
    let expected: Vec<usize> = [&in_shape[..axis], &idx_shape[..], &in_shape[axis + 1..]].concat();
    if expected != cx.shape {
        return Err(cx.shape_err(format!("gathering {in_shape:?} gives {expected:?}, not {:?}", cx.shape)));
    }
    let m: usize = idx_shape.iter().product();
    let onehot = equals_each(lw, idx, n, true, &NodeCx { shape: vec![m * n], ..cx.clone() });
    // out[pre, j, post] = Σ_v onehot[j, v] · data[pre, v, post]
    let st = strides(&in_shape);
    let k = idx_shape.len();
    let mut rows = Vec::with_capacity(cx.shape.iter().product());
    for_each_coord(&cx.shape, |_, c| {
        let (pre, rest) = c.split_at(axis);
        let (j, post) = rest.split_at(k);
        let j_flat = flat_of(j, &idx_shape);
        let base: usize = pre.iter().zip(&st).map(|(&x, &s)| x * s).sum::<usize>()
            + post.iter().zip(&st[axis + 1..]).map(|(&x, &s)| x * s).sum::<usize>();
        rows.push((0..n).map(|v| ((j_flat * n + v) as u32, (base + v * st[axis]) as u32)).collect());
    });
    select(lw, onehot, data, rows, cx)
}

/// `GatherElements` by computed integer indices: `out[c] = data[c with c[axis] = idx[c]]`.
pub(crate) fn gather_elements_computed(
    lw: &mut Lowerer<'_>,
    axis: usize,
    data: Option<&ConstVal>,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let (idx, idx_shape, in_shape, n) = operands(lw, axis, data, cx)?;
    let fits = idx_shape.len() == in_shape.len()
        && idx_shape.iter().zip(&in_shape).enumerate().all(|(d, (&i, &s))| d == axis || i <= s);
    if idx_shape != cx.shape || !fits {
        return Err(cx.shape_err(format!("GatherElements indices {idx_shape:?} do not fit data {in_shape:?}")));
    }
    let m: usize = idx_shape.iter().product();
    let onehot = equals_each(lw, idx, n, true, &NodeCx { shape: vec![m * n], ..cx.clone() });
    let st = strides(&in_shape);
    let mut rows = Vec::with_capacity(m);
    for_each_coord(&cx.shape, |o, c| {
        let base: usize = c.iter().zip(&st).enumerate().filter(|&(d, _)| d != axis).map(|(_, (&x, &s))| x * s).sum();
        rows.push((0..n).map(|v| ((o * n + v) as u32, (base + v * st[axis]) as u32)).collect());
    });
    select(lw, onehot, data, rows, cx)
}

/// The computed indices with their shape, the data's shape (a constant `data`, or input 0's)
/// and its length along `axis`.
fn operands(
    lw: &mut Lowerer<'_>,
    axis: usize,
    data: Option<&ConstVal>,
    cx: &NodeCx,
) -> Result<(TensorId, Vec<usize>, Vec<usize>, usize), CompileError> {
    let (idx, idx_shape) = indices(lw, cx)?;
    let in_shape = match data {
        Some(d) => d.shape.clone(),
        None => lw.outlet_shape(cx.inputs[0])?,
    };
    let n = *in_shape.get(axis).ok_or_else(|| cx.shape_err(format!("axis {axis} of {in_shape:?}")))?;
    Ok((idx, idx_shape, in_shape, n))
}

/// The computed integer indices (input 1, scale 0) and their shape.
pub(crate) fn indices(lw: &mut Lowerer<'_>, cx: &NodeCx) -> Result<(TensorId, Vec<usize>), CompileError> {
    let idx_outlet = *cx.inputs.get(1).ok_or_else(|| cx.shape_err("a gather needs indices"))?;
    let mut idx = lw.tensor(idx_outlet, &cx.name, &cx.origin, 0)?;
    if lw.model.outlet_fact(idx_outlet).is_ok_and(|f| f.datum_type.is_integer()) {
        // ArgMax's index, a linear map of its one-hot, is held at a fixed-point scale
        idx = lw.rescale_to_integer(idx);
    }
    if lw.scale(idx) != 0 {
        return Err(cx.unsupported("a gather by computed indices that are not integers (an int64 model input)"));
    }
    Ok((idx, lw.outlet_shape(idx_outlet)?))
}

/// `out[o] = Σ_(h, d) in rows[o] onehot[h] · data[d]`: a linear map with the table as weights
/// for a constant `data`, else exact products with the computed input 0, summed.
pub(crate) fn select(
    lw: &mut Lowerer<'_>,
    onehot: TensorId,
    data: Option<&ConstVal>,
    rows: Vec<Vec<(u32, u32)>>,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    if let Some(d) = data {
        let mut p = PendingLinear::new(onehot, cx.shape.clone(), cx);
        p.weights = d.data.clone();
        p.rows = rows.into_iter().map(|terms| RowF { terms, bias: None }).collect();
        return Ok(Value::Pending(Box::new(p)));
    }
    let x = lw.operand(cx.inputs[0], cx)?;
    Ok(Value::Tensor(select_computed(lw, onehot, x, &rows, cx)))
}

/// `out[o] = Σ_(h, d) in rows[o] onehot[h] · x[d]` for a computed `x`: exact products, summed,
/// at `x`'s scale and `cx.shape`.
pub(crate) fn select_computed(
    lw: &mut Lowerer<'_>,
    onehot: TensorId,
    x: TensorId,
    rows: &[Vec<(u32, u32)>],
    cx: &NodeCx,
) -> TensorId {
    let s = lw.scale(x);
    let pairs: Vec<(u32, u32)> = rows.iter().flatten().copied().collect();
    let products = pairs.len();
    let picked = mul_pairs(lw, onehot, x, pairs, &NodeCx { shape: vec![products], ..cx.clone() });
    let mut next = 0u32;
    let sums = rows
        .iter()
        .map(|r| {
            let terms = (next..next + r.len() as u32).map(|i| (i, 0)).collect();
            next += r.len() as u32;
            LinearRow { terms, bias: None }
        })
        .collect();
    let op = Op::Linear(Linear { input: picked, weights: vec![1], rows: sums });
    lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), s)
}

/// `out[j·n + v] = [t_j == v]` for integer `t` (scale 0) and `v < n`, as exact 0/1 at scale 0;
/// with `wrap`, a negative `t_j` counts as `t_j + n` first.
pub(crate) fn equals_each(lw: &mut Lowerer<'_>, t: TensorId, n: usize, wrap: bool, cx: &NodeCx) -> TensorId {
    let m: usize = lw.shape(t).iter().product();
    let flat = |len: usize| NodeCx { shape: vec![len], ..cx.clone() };
    let t = if wrap {
        // t + n·[-t >= 1]
        let neg = negate(lw, t, &flat(m));
        let is_neg = step(lw, neg, &flat(m));
        let pairs = (0..m as u32).map(|k| (k, k)).collect();
        let wrapped = Op::Arith(Arith { a: t, b: is_neg, pairs, kind: ArithKind::Add { ca: 1, cb: n as i64 } });
        lw.emit(&cx.name, &cx.origin, wrapped, vec![m], 0)
    } else {
        t
    };
    // d[j, v] = t_j - v; equal when neither d >= 1 nor -d >= 1
    let vs = lw.emit(&cx.name, &cx.origin, Op::Const { values: (0..n as i64).collect() }, vec![n], 0);
    let pairs = (0..m * n).map(|k| ((k / n) as u32, (k % n) as u32)).collect();
    let d = add_pairs(lw, t, vs, pairs, -1, &flat(m * n));
    let above = step(lw, d, &flat(m * n));
    let nd = negate(lw, d, &flat(m * n));
    let below = step(lw, nd, &flat(m * n));
    let off = add(lw, above, below, 1, &flat(m * n));
    not(lw, off, &flat(m * n))
}
