//! Indexing ops: `GatherND`, `ScatterElements`, `ScatterND` and `Resize` with constant indices,
//! scales or sizes; `OneHot` of computed indices; `TopK`.
//!
//! **Probing.** With every index, scale and size constant, `GatherND`, `ScatterElements` /
//! `ScatterND` (no reduction) and a nearest `Resize` only move elements, and a linear or cubic
//! `Resize` is a constant linear map of its input. Rather than re-deriving each op's index
//! arithmetic (ONNX's coordinate-transformation and rounding modes are many), the lowering asks
//! tract, the float oracle, what the op does: it runs the op once on inputs that number every
//! element (`1, 2, 3, ...`: each output then names the element it copies, and the map becomes
//! a free `Gather` or `Select`), or, for a `Resize` that mixes elements, once per input element
//! on a unit vector (each run gives one column of the weights, which become a linear op). Probes
//! are exact in `f32` up to `2^24`; a second run numbered from past the end tells a copied element
//! from a constant that happens to equal its number. The per-element probing is capped at
//! [`MAX_PROBED`] input elements.
//!
//! **OneHot** is the exact equality one-hot of the embedding lowering, then `on`/`off`;
//! **GatherND by computed indices** turns each index tuple into one flat index and gathers by
//! its one-hot, as `Gather` does.
//! **TopK** ranks each element among its row (`rank_i = Σ_j [x_j beats x_i]`, ties broken by
//! the lower index as ONNX says, on the same distinct key as `ArgMax`), then selects the
//! element of each rank `r < k` with an exact one-hot. Cost: `n²` ReLU rows per row of `n`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{GatherNd, OneHot, ScatterElements, ScatterNd, ScatterReduction, Topk};
use zkonnx_ir::{Linear, LinearRow, Op, TensorId};

use crate::index::for_each_coord;
use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::activation::add_pairs;
use crate::ops::embedding::equals_each;
use crate::ops::linear::{PendingLinear, RowF};
use crate::ops::logic::{mul_pairs, step};
use crate::ops::reduce::groups;
use crate::ops::OpSupport;
use crate::CompileError;

/// What ScatterElements and ScatterND take (the same lowering, by element or by slice).
const SCATTER_FORMS: &str = "reduction none; constant indices: probed, a free Gather or Select; computed indices: \
                             exact one-hots; reductions add (data plus the one-hot placed updates), max and min \
                             (a MaxPool over the data and the one-hot gated updates), mul (a product per update)";
const SCATTER_LIMITS: &str = "updates at another scale than the data; duplicate computed indices add (reduction none)";

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "GatherND",
        family: "indexing",
        forms: "constant indices: probed in tract, a free Gather; computed integer indices (any batch_dims): one-hot",
        limits: "computed indices that are not integers",
    },
    OpSupport { op: "ScatterElements", family: "indexing", forms: SCATTER_FORMS, limits: SCATTER_LIMITS },
    OpSupport {
        op: "Scatter",
        family: "indexing",
        forms: "opsets 9 and 10: rewritten at load to ScatterElements",
        limits: "as ScatterElements",
    },
    OpSupport { op: "ScatterND", family: "indexing", forms: SCATTER_FORMS, limits: SCATTER_LIMITS },
    OpSupport {
        op: "Resize",
        family: "indexing",
        forms: "constant roi, scales, sizes; nearest: a free Gather; linear, cubic: a constant linear map (probed)",
        limits: "computed scales or sizes (NonConstant); a linear or cubic resize of over 4096 input elements",
    },
    OpSupport {
        op: "Upsample",
        family: "indexing",
        forms: "opsets 7 to 9: rewritten at load to Resize (asymmetric, nearest rounds down), then as Resize",
        limits: "no scales attribute at opsets 7 and 8 (UnsupportedAttribute)",
    },
    OpSupport {
        op: "OneHot",
        family: "indexing",
        forms: "computed indices (negative wrap; float indices cast toward zero), constant depth and values, any \
                axis: exact one-hot",
        limits: "",
    },
    OpSupport {
        op: "TopK",
        family: "indexing",
        forms: "constant k, any axis, largest or smallest, sorted, ties to the lower index: n^2 exact comparisons",
        limits: "a computed k (no fixed output shape: shape error)",
    },
];

/// Most input elements a mixing `Resize` is probed on (one tract run each).
pub(crate) const MAX_PROBED: usize = 1 << 12;

/// Lowers the family's single-output ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let op_name = node.op.name();
    let scatter_none = |r: &ScatterReduction| *r == ScatterReduction::None;
    let computed_indices = cx.inputs.get(1).is_some_and(|&i| lw.const_of(i).is_none());
    if let Some(op) = node.op_as::<GatherNd>() {
        if computed_indices {
            return gather_nd_computed(lw, op.batch_dims, cx).map(Some);
        }
    }
    // a reduction (constant or computed indices) combines each update with the data where
    // `none` replaces it
    if let Some(op) = node.op_as::<ScatterNd>() {
        if computed_indices || !scatter_none(&op.reduction) {
            return scatter_nd_computed(lw, op.reduction, cx).map(Some);
        }
    }
    if let Some(op) = node.op_as::<ScatterElements>() {
        if computed_indices || !scatter_none(&op.reduction) {
            return scatter_elements_computed(lw, op.axis, op.reduction, cx).map(Some);
        }
    }
    let movement = node.op_as::<GatherNd>().is_some()
        || node.op_as::<ScatterElements>().is_some_and(|o| scatter_none(&o.reduction))
        || node.op_as::<ScatterNd>().is_some_and(|o| scatter_none(&o.reduction))
        || op_name == "Resize";
    if movement {
        return probe(lw, node, cx).map(Some);
    }
    if let Some(op) = node.op_as::<OneHot>() {
        return one_hot(lw, op, cx).map(Some);
    }
    Ok(None)
}

/// Lowers the family's multi-output ops (`TopK`); `Ok(None)` for any other op.
pub(crate) fn lower_multi(
    lw: &mut Lowerer<'_>,
    node: &TypedNode,
    cx: &NodeCx,
) -> Result<Option<Vec<Value>>, CompileError> {
    match node.op_as::<Topk>() {
        Some(op) => top_k(lw, op, cx).map(Some),
        None => Ok(None),
    }
}

/// Runs the node's op in tract on `inputs` (the constant ones from the graph).
fn run_op(
    lw: &Lowerer<'_>,
    node: &TypedNode,
    probes: &[(usize, Tensor)],
    cx: &NodeCx,
) -> Result<Vec<f32>, CompileError> {
    let mut inputs = TVec::new();
    for (k, &outlet) in cx.inputs.iter().enumerate() {
        let fact = lw.model.outlet_fact(outlet).map_err(|e| CompileError::tract("reading an input", e))?;
        let t = match probes.iter().find(|(i, _)| *i == k) {
            Some((_, t)) => {
                t.clone().cast_to_dt(fact.datum_type).map_err(|e| CompileError::tract("probing", e))?.into_owned()
            }
            None => fact.konst.as_ref().map(|t| (**t).clone()).ok_or_else(|| cx.non_constant(format!("input {k}")))?,
        };
        inputs.push(t.into_tvalue());
    }
    let out = node
        .op
        .eval_out_of_plan(inputs)
        .map_err(|e| CompileError::tract("probing the op", e))?
        .and_then(|o| o.into_iter().next())
        .ok_or_else(|| cx.unsupported("an op tract cannot run out of a plan"))?;
    let out = out.cast_to::<f32>().map_err(|e| CompileError::tract("probing", e))?;
    let view = out.to_plain_array_view::<f32>().map_err(|e| CompileError::tract("probing", e))?;
    Ok(view.iter().copied().collect())
}

/// The op run on its computed inputs `data` numbered `base + 1, base + 2, ...` across them.
fn numbered_run(
    lw: &Lowerer<'_>,
    node: &TypedNode,
    data: &[usize],
    base: usize,
    cx: &NodeCx,
) -> Result<Vec<f32>, CompileError> {
    let mut probes = Vec::with_capacity(data.len());
    let mut next = base;
    for &k in data {
        let shape = lw.outlet_shape(cx.inputs[k])?;
        let n: usize = shape.iter().product();
        let numbers: Vec<f32> = (next + 1..=next + n).map(|v| v as f32).collect();
        probes.push((k, Tensor::from_shape(&shape, &numbers).map_err(|e| CompileError::tract("probing", e))?));
        next += n;
    }
    run_op(lw, node, &probes, cx)
}

/// The computed inputs of a movement op (the data, and a scatter's updates).
fn computed(lw: &Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Vec<usize> {
    let data_inputs = if node.op_as::<ScatterElements>().is_some() || node.op_as::<ScatterNd>().is_some() {
        vec![0, 2]
    } else {
        vec![0]
    };
    data_inputs.into_iter().filter(|&k| cx.inputs.get(k).is_some_and(|&o| lw.const_of(o).is_none())).collect()
}

/// A movement op as a `Gather`/`Select`, or a mixing one as a linear op, from tract's answers.
fn probe(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Value, CompileError> {
    let data = computed(lw, node, cx);
    let mut sizes = Vec::new();
    for &k in &data {
        sizes.push(lw.outlet_shape(cx.inputs[k])?.iter().product::<usize>());
    }
    let offset: usize = sizes.iter().sum();
    if 2 * offset >= 1 << 24 {
        return Err(cx.unsupported("probing more than 2^23 elements"));
    }
    // two runs, numbered from 1 and from offset + 1: an output copied from element v reads v
    // in the first and v + offset in the second; a constant (a scatter's constant updates)
    // reads the same in both, so it is never taken for a copy
    let (out, shifted) = (numbered_run(lw, node, &data, 0, cx)?, numbered_run(lw, node, &data, offset, cx)?);
    let picks: Option<Vec<(u32, u32)>> = out
        .iter()
        .zip(&shifted)
        .map(|(&f, &g)| {
            if f.fract() != 0.0 || f < 1.0 || f as usize > offset || f64::from(g) != f64::from(f) + offset as f64 {
                return None;
            }
            let v = f as usize;
            let mut rest = v - 1;
            for (slot, &n) in sizes.iter().enumerate() {
                if rest < n {
                    return Some((slot as u32, rest as u32));
                }
                rest -= n;
            }
            None
        })
        .collect();
    let mut tensors = Vec::with_capacity(data.len());
    for &k in &data {
        tensors.push(lw.operand(cx.inputs[k], cx)?);
    }
    match picks {
        Some(picks) if tensors.len() == 1 => {
            let indices = picks.into_iter().map(|(_, i)| i).collect();
            let s = lw.scale(tensors[0]);
            Ok(Value::Tensor(lw.emit(
                &cx.name,
                &cx.origin,
                Op::Gather { input: tensors[0], indices },
                cx.shape.clone(),
                s,
            )))
        }
        Some(picks) => {
            let s = lw.scale(tensors[0]);
            if tensors.iter().any(|&t| lw.scale(t) != s) {
                return Err(cx.unsupported("scattering values of another scale"));
            }
            Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, Op::Select { inputs: tensors, picks }, cx.shape.clone(), s)))
        }
        _ if data.len() == 1 => mixing(lw, node, cx, tensors[0]),
        _ => Err(cx.unsupported("an op that mixes its inputs' elements")),
    }
}

/// A constant linear map of input 0 (a linear or cubic `Resize`), one probe per input element.
fn mixing(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx, x: TensorId) -> Result<Value, CompileError> {
    let shape = lw.outlet_shape(cx.inputs[0])?;
    let n: usize = shape.iter().product();
    if n > MAX_PROBED {
        return Err(cx.unsupported(format!("a mixing resize of {n} elements (at most {MAX_PROBED})")));
    }
    let unit = |j: Option<usize>| {
        let v: Vec<f32> = (0..n).map(|i| if Some(i) == j { 1.0 } else { 0.0 }).collect();
        Tensor::from_shape(&shape, &v).map_err(|e| CompileError::tract("probing", e))
    };
    let bias = run_op(lw, node, &[(0, unit(None)?)], cx)?;
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    p.rows = bias.iter().map(|_| RowF { terms: vec![], bias: None }).collect();
    for j in 0..n {
        let col = run_op(lw, node, &[(0, unit(Some(j))?)], cx)?;
        for (o, (&c, &b)) in col.iter().zip(&bias).enumerate() {
            let w = f64::from(c) - f64::from(b);
            if w != 0.0 {
                p.weights.push(w);
                p.rows[o].terms.push((j as u32, p.weights.len() as u32 - 1));
            }
        }
    }
    if bias.iter().any(|&b| b != 0.0) {
        p.biases = bias.iter().map(|&b| f64::from(b)).collect();
        for (o, row) in p.rows.iter_mut().enumerate() {
            row.bias = Some(o as u32);
        }
    }
    Ok(Value::Pending(Box::new(p)))
}

/// `OneHot(indices)`: `off + (on - off)·[index == v]` along `op.axis`, for integer indices
/// (negative ones wrap, as ONNX says).
fn one_hot(lw: &mut Lowerer<'_>, op: &OneHot, cx: &NodeCx) -> Result<Value, CompileError> {
    let idx_outlet = cx.inputs[0];
    let mut idx = lw.tensor(idx_outlet, &cx.name, &cx.origin, 0)?;
    if lw.scale(idx) != 0 && crate::ops::logic::integer_valued(lw, idx_outlet, 0) {
        // integers held at a fractional scale (an ArgMax's index): exact multiples, rescaled to 0
        idx = lw.rescale_to_integer(idx);
    }
    if lw.scale(idx) != 0 {
        // float indices: cast to integers as ONNX does, toward zero
        idx = truncate(lw, idx, cx);
    }
    let value = |t: &Tensor| t.cast_to_scalar::<f64>().map_err(|e| CompileError::tract("reading OneHot's values", e));
    let (on, off) = (value(&op.on)?, value(&op.off)?);
    let m: usize = lw.outlet_shape(idx_outlet)?.iter().product();
    let n = op.dim;
    let eq = equals_each(lw, idx, n, true, &NodeCx { shape: vec![m * n], ..cx.clone() });
    // out[pre, v, post] = eq[(pre, post), v]
    let mut p = PendingLinear::new(eq, cx.shape.clone(), cx);
    p.weights = vec![on - off];
    p.biases = vec![off];
    let axis = op.axis;
    let idx_shape: Vec<usize> = cx.shape.iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &x)| x).collect();
    for_each_coord(&cx.shape, |_, c| {
        let v = c[axis];
        let rest: Vec<usize> = c.iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &x)| x).collect();
        let j = crate::index::flat_of(&rest, &idx_shape);
        p.rows.push(RowF { terms: vec![((j * n + v) as u32, 0)], bias: Some(0) });
    });
    Ok(Value::Pending(Box::new(p)))
}

/// `trunc(x)` of a tensor at scale `s > 0`, as an integer at scale 0: `sign(x) · floor(|x|)`,
/// with `|x| = sign(x) · x` (`sign` is -1 at 0, where the product is 0 either way).
fn truncate(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    use crate::ops::logic::{floor_shift, mul};
    let s = lw.scale(x);
    let xcx = NodeCx { shape: lw.shape(x).to_vec(), ..cx.clone() };
    let sign = crate::ops::division::sign(lw, x, &xcx);
    let abs = mul(lw, sign, x, &xcx);
    let floor = floor_shift(lw, abs, s, &xcx);
    mul(lw, sign, floor, &xcx)
}

/// `TopK(x, k)`: the `k` largest (or smallest) values along the axis, sorted, and their indices.
fn top_k(lw: &mut Lowerer<'_>, op: &Topk, cx: &NodeCx) -> Result<Vec<Value>, CompileError> {
    let x_outlet = cx.inputs[0];
    let in_shape = lw.outlet_shape(x_outlet)?;
    let k = cx.shape.get(op.axis).copied().ok_or_else(|| cx.shape_err("TopK axis"))?;
    let windows = groups(&in_shape, &[op.axis], cx)?;
    let n = in_shape[op.axis];
    let w = windows.len();
    let x = lw.operand(x_outlet, cx)?;
    let s = lw.scale(x);
    let flat = |len: usize| NodeCx { shape: vec![len], ..cx.clone() };
    // the lower index wins a tie
    let (xs, key) = crate::ops::reduce::distinct_keys(lw, x, &windows, if op.largest { 1 } else { -1 }, false, cx);
    // beats[(g, i), j] = [key_j - key_i >= 1]; rank_i = Σ_j beats
    let pairs = (0..w * n * n).map(|t| ((t / (n * n) * n + t % n) as u32, (t / n) as u32)).collect();
    let d = add_pairs(lw, key, key, pairs, -1, &flat(w * n * n));
    let beats = step(lw, d, &flat(w * n * n));
    let rows = (0..w * n).map(|i| LinearRow { terms: (0..n).map(|j| ((i * n + j) as u32, 0)).collect(), bias: None });
    let sum = Op::Linear(Linear { input: beats, weights: vec![1], rows: rows.collect() });
    let rank = lw.emit(&cx.name, &cx.origin, sum, vec![w * n], 0);
    // sel[(g, i), r] = [rank_i == r] for r < k
    let sel = equals_each(lw, rank, k, false, &flat(w * n * k));
    let out_rows = |f: &mut dyn FnMut(usize, usize) -> Vec<(u32, u32)>| {
        let mut rows = Vec::with_capacity(w * k);
        let reduced: Vec<usize> = cx.shape.iter().enumerate().map(|(a, &v)| if a == op.axis { 1 } else { v }).collect();
        for_each_coord(&cx.shape, |_, c| {
            let mut c0 = c.to_vec();
            c0[op.axis] = 0;
            let g = crate::index::flat_of(&c0, &reduced);
            rows.push(f(g, c[op.axis]));
        });
        rows
    };
    // values: Σ_i sel[(g, i), r] · x_(g, i)
    let prod_pairs = (0..w * n * k).map(|t| (t as u32, (t / k) as u32)).collect();
    let picked = mul_pairs(lw, sel, xs, prod_pairs, &flat(w * n * k));
    let value_rows = out_rows(&mut |g, r| (0..n).map(|i| (((g * n + i) * k + r) as u32, 0)).collect());
    let rows = value_rows.into_iter().map(|terms| LinearRow { terms, bias: None }).collect();
    let values = lw.emit(
        &cx.name,
        &cx.origin,
        Op::Linear(Linear { input: picked, weights: vec![1], rows }),
        cx.shape.clone(),
        s,
    );
    // indices: Σ_i sel[(g, i), r] · i, exact integers at scale 0
    let index_rows = out_rows(&mut |g, r| (0..n).map(|i| (((g * n + i) * k + r) as u32, i as u32)).collect());
    let rows = index_rows.into_iter().map(|terms| LinearRow { terms, bias: None }).collect();
    let weights = (0..n as i64).collect();
    let indices = lw.emit(&cx.name, &cx.origin, Op::Linear(Linear { input: sel, weights, rows }), cx.shape.clone(), 0);
    Ok(vec![Value::Tensor(values), Value::Tensor(indices)])
}

/// `GatherND` by computed integer indices: each index tuple becomes one flat index into the
/// indexed axes after the `batch_dims` leading ones (negative components wrapped), then an exact
/// one-hot over those positions selects the slice of its own batch, as for `Gather` (what
/// `tf.gather(..., batch_dims=1)` exports).
fn gather_nd_computed(lw: &mut Lowerer<'_>, batch_dims: usize, cx: &NodeCx) -> Result<Value, CompileError> {
    let data = lw.const_of(cx.inputs[0]).cloned();
    let d_shape = match &data {
        Some(d) => d.shape.clone(),
        None => lw.outlet_shape(cx.inputs[0])?,
    };
    let i_shape = lw.outlet_shape(cx.inputs[1])?;
    let b = batch_dims;
    if b >= d_shape.len() || b >= i_shape.len() || d_shape[..b] != i_shape[..b] {
        return Err(cx.shape_err(format!("GatherND batch_dims {b} of data {d_shape:?} and indices {i_shape:?}")));
    }
    let batches: usize = d_shape[..b].iter().product();
    let (flat_idx, [m, n, r]) = index_tuples(lw, &d_shape[b..], "GatherND", cx)?;
    let per_batch = (m / batches.max(1)).max(1);
    let flat = |len: usize| NodeCx { shape: vec![len], ..cx.clone() };
    let onehot = equals_each(lw, flat_idx, n, false, &flat(m * n));
    let rows = (0..m * r)
        .map(|o| {
            let (j, t) = (o / r, o % r);
            let first = (j / per_batch) * n;
            (0..n).map(|v| ((j * n + v) as u32, ((first + v) * r + t) as u32)).collect()
        })
        .collect();
    crate::ops::embedding::select(lw, onehot, data.as_ref(), rows, cx)
}

/// The `m` index tuples of `idx` (`[m, q]`, integers at scale 0) as flat indices into the
/// leading axes `lead` (`q` of them), negative components wrapped:
/// `flat_j = Σ_d (idx[j, d] + lead_d·[idx[j, d] <= -1]) · stride_d`, exactly.
fn flat_tuples(lw: &mut Lowerer<'_>, idx: TensorId, m: usize, lead: &[usize], cx: &NodeCx) -> TensorId {
    let q = lead.len();
    let st = crate::index::strides(lead);
    let flat = |len: usize| NodeCx { shape: vec![len], ..cx.clone() };
    let neg = crate::ops::activation::negate(lw, idx, &flat(m * q));
    let is_neg = step(lw, neg, &flat(m * q));
    let linear = |lw: &mut Lowerer<'_>, input: TensorId, weight: &dyn Fn(usize) -> i64| {
        let weights: Vec<i64> = (0..q).map(weight).collect();
        let rows =
            (0..m).map(|j| LinearRow { terms: (0..q).map(|d| ((j * q + d) as u32, d as u32)).collect(), bias: None });
        let op = Op::Linear(Linear { input, weights, rows: rows.collect() });
        lw.emit(&cx.name, &cx.origin, op, vec![m], 0)
    };
    let plain = linear(lw, idx, &|d| st[d] as i64);
    let wrap = linear(lw, is_neg, &|d| (lead[d] * st[d]) as i64);
    crate::ops::activation::add(lw, plain, wrap, 1, &flat(m))
}

/// `ScatterND` (no reduction) by computed integer indices (as tf2onnx exports
/// `tf.tensor_scatter_nd_update`): each index tuple becomes a flat index `p_j` into the leading
/// axes (as for `GatherND`), then an exact one-hot `h[j, v] = [p_j == v]`, and
/// `out[v, t] = data[v, t] · (1 - Σ_j h[j, v]) + Σ_j h[j, v] · upd[j, t]`: products of exact 0/1
/// with the data and the updates, so the proof fixes which slices were replaced. Duplicate
/// indices, whose result ONNX leaves undefined, add their updates.
fn scatter_nd_computed(lw: &mut Lowerer<'_>, reduction: ScatterReduction, cx: &NodeCx) -> Result<Value, CompileError> {
    let d_shape = lw.outlet_shape(cx.inputs[0])?;
    let (flat_idx, sizes) = index_tuples(lw, &d_shape, "ScatterND", cx)?;
    scatter(lw, flat_idx, sizes, reduction, cx)
}

/// The computed index tuples (input 1, `[..., q]`) of a GatherND or ScatterND into data of
/// `d_shape` as flat slice positions ([`flat_tuples`]), with `[m, n, r]`: the tuples, the slices
/// of the `q` leading axes, and the elements per slice.
fn index_tuples(
    lw: &mut Lowerer<'_>,
    d_shape: &[usize],
    op: &str,
    cx: &NodeCx,
) -> Result<(TensorId, [usize; 3]), CompileError> {
    let (idx, i_shape) = crate::ops::embedding::indices(lw, cx)?;
    let q = *i_shape.last().ok_or_else(|| cx.shape_err(format!("{op} indices of rank 0")))?;
    if q == 0 || q > d_shape.len() {
        return Err(cx.shape_err(format!("{op} index tuples of {q} into {d_shape:?}")));
    }
    let m: usize = i_shape[..i_shape.len() - 1].iter().product();
    let (lead, rest) = d_shape.split_at(q);
    let flat_idx = flat_tuples(lw, idx, m, lead, cx);
    Ok((flat_idx, [m, lead.iter().product(), rest.iter().product()]))
}

/// `ScatterElements` (no reduction) by computed integer indices along `axis`: each index's
/// target is a flat position, `base_u + stride_axis · (idx_u + len_axis·[idx_u <= -1])` with
/// `base_u` the flat position of `u`'s coordinates with 0 on the axis; then as [`scatter`] with
/// slices of one element.
fn scatter_elements_computed(
    lw: &mut Lowerer<'_>,
    axis: usize,
    reduction: ScatterReduction,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let d_shape = lw.outlet_shape(cx.inputs[0])?;
    let (idx, i_shape) = crate::ops::embedding::indices(lw, cx)?;
    let len = *d_shape.get(axis).ok_or_else(|| cx.shape_err(format!("axis {axis} of {d_shape:?}")))?;
    if i_shape.len() != d_shape.len() {
        return Err(cx.shape_err(format!("ScatterElements indices {i_shape:?} for data {d_shape:?}")));
    }
    let (m, n): (usize, usize) = (i_shape.iter().product(), d_shape.iter().product());
    let st = crate::index::strides(&d_shape);
    let flat = |k: usize| NodeCx { shape: vec![k], ..cx.clone() };
    // weights: [stride, len·stride, base_0, base_1, ...]
    let mut weights = vec![st[axis] as i64, (len * st[axis]) as i64];
    let mut rows = Vec::with_capacity(m);
    for_each_coord(&i_shape, |u, coord| {
        let base: usize = coord.iter().zip(&st).enumerate().filter(|(d, _)| *d != axis).map(|(_, (c, s))| c * s).sum();
        weights.push(base as i64);
        rows.push((u, weights.len() - 1));
    });
    let plain_rows = rows.iter().map(|&(u, b)| LinearRow { terms: vec![(u as u32, 0)], bias: Some(b as u32) });
    let plain = Op::Linear(Linear { input: idx, weights: weights.clone(), rows: plain_rows.collect() });
    let plain = lw.emit(&cx.name, &cx.origin, plain, vec![m], 0);
    let neg = crate::ops::activation::negate(lw, idx, &flat(m));
    let is_neg = step(lw, neg, &flat(m));
    let wrap_rows = (0..m).map(|u| LinearRow { terms: vec![(u as u32, 1)], bias: None });
    let wrap = Op::Linear(Linear { input: is_neg, weights, rows: wrap_rows.collect() });
    let wrap = lw.emit(&cx.name, &cx.origin, wrap, vec![m], 0);
    let flat_idx = crate::ops::activation::add(lw, plain, wrap, 1, &flat(m));
    scatter(lw, flat_idx, [m, n, 1], reduction, cx)
}

/// Writes `m` update slices of `r` elements (input 2) at the flat slice positions `flat_idx`
/// (`[m]`, integers in `[0, n)`) of the data (input 0, `n` slices): with the exact one-hot
/// `h[j, v] = [p_j == v]`, `out[v, t] = data[v, t] · (1 - Σ_j h[j, v]) + Σ_j h[j, v] · upd[j, t]`.
/// A position outside `[0, n)` matches no slice (ONNX rejects it; the update is dropped). With
/// reduction `add`, `out[v, t] = data[v, t] + Σ_j h[j, v] · upd[j, t]`; `max`, `min` and `mul`
/// see [`scatter_extreme`] and [`scatter_product`].
fn scatter(
    lw: &mut Lowerer<'_>,
    flat_idx: TensorId,
    [m, n, r]: [usize; 3],
    reduction: ScatterReduction,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let [d_outlet, _, u_outlet] = cx.inputs[..] else { return Err(cx.shape_err("a scatter needs three inputs")) };
    let flat = |len: usize| NodeCx { shape: vec![len], ..cx.clone() };
    let onehot = equals_each(lw, flat_idx, n, false, &flat(m * n));
    let data = lw.operand(d_outlet, cx)?;
    let data = lw.rescale_to_activation(data);
    let upd = lw.operand(u_outlet, cx)?;
    let upd = lw.rescale_to_activation(upd);
    let s = lw.scale(data);
    if lw.scale(upd) != s {
        return Err(cx.unsupported("scatter updates at another scale than the data"));
    }
    let parts = (onehot, data, upd);
    match reduction {
        ScatterReduction::Max => return Ok(Value::Tensor(scatter_extreme(lw, parts, [m, n, r], true, cx))),
        ScatterReduction::Min => return Ok(Value::Tensor(scatter_extreme(lw, parts, [m, n, r], false, cx))),
        ScatterReduction::Mul => return Ok(Value::Tensor(scatter_product(lw, parts, [m, n, r], cx))),
        ScatterReduction::None | ScatterReduction::Add => {}
    }
    // covered[v] = Σ_j h[j, v]; keep = 1 - covered (all of the data when updates add)
    let kept = if reduction == ScatterReduction::Add {
        data
    } else {
        let rows = (0..n).map(|v| LinearRow { terms: (0..m).map(|j| ((j * n + v) as u32, 0)).collect(), bias: None });
        let covered = Op::Linear(Linear { input: onehot, weights: vec![1], rows: rows.collect() });
        let covered = lw.emit(&cx.name, &cx.origin, covered, vec![n], 0);
        let keep = crate::ops::logic::not(lw, covered, &flat(n));
        mul_pairs(lw, keep, data, (0..n * r).map(|o| ((o / r) as u32, o as u32)).collect(), &flat(n * r))
    };
    let rows: Vec<Vec<(u32, u32)>> =
        (0..n * r).map(|o| (0..m).map(|j| ((j * n + o / r) as u32, (j * r + o % r) as u32)).collect()).collect();
    let placed = crate::ops::embedding::select_computed(lw, onehot, upd, &rows, cx);
    let out = crate::ops::activation::add(lw, kept, placed, 1, cx);
    Ok(Value::Tensor(out))
}

/// The pairs `(j·n + v, j·r + t)` or alike for each candidate `k = j·nr + o` (`o = v·r + t`)
/// of a scatter's `m` updates over `n` slices of `r` elements: `(of_onehot, of_update, of_data)`.
fn candidate_pairs([m, n, r]: [usize; 3]) -> impl Iterator<Item = (u32, u32, u32)> {
    let nr = n * r;
    (0..m * nr).map(move |k| {
        let (j, o) = (k / nr, k % nr);
        ((j * n + o / r) as u32, (j * r + o % r) as u32, o as u32)
    })
}

/// Reduction `max` (`min`: of the negated values): the candidates
/// `c[j, o] = data[o] + h[j, v]·(upd[j, t] - data[o])` are the update where `j` targets `v` and
/// the data elsewhere (so a candidate never wins where its update does not land), and
/// `out[o] = max(data[o], max_j c[j, o])`, one MaxPool over the data and the candidates. Every
/// duplicate index takes part, as ONNX's reduction specifies.
fn scatter_extreme(
    lw: &mut Lowerer<'_>,
    (onehot, data, upd): (TensorId, TensorId, TensorId),
    [m, n, r]: [usize; 3],
    is_max: bool,
    cx: &NodeCx,
) -> TensorId {
    use crate::ops::activation::negate;
    let nr = n * r;
    let all = NodeCx { shape: vec![m * nr], ..cx.clone() };
    let (data, upd) = if is_max { (data, upd) } else { (negate(lw, data, cx), negate(lw, upd, cx)) };
    let pairs: Vec<_> = candidate_pairs([m, n, r]).collect();
    let diff = add_pairs(lw, upd, data, pairs.iter().map(|&(_, u, o)| (u, o)).collect(), -1, &all);
    let gated = mul_pairs(lw, onehot, diff, pairs.iter().zip(0..).map(|(&(h, _, _), k)| (h, k)).collect(), &all);
    let cand = add_pairs(lw, gated, data, pairs.iter().zip(0..).map(|(&(_, _, o), k)| (k, o)).collect(), 1, &all);
    let s = lw.scale(data);
    let picks = (0..nr as u32).map(|o| (0, o)).chain((0..(m * nr) as u32).map(|k| (1, k))).collect();
    let op = Op::Select { inputs: vec![data, cand], picks };
    let both = lw.emit(&cx.name, &cx.origin, op, vec![(m + 1) * nr], s);
    let windows = (0..nr).map(|o| (0..=m).map(|j| (j * nr + o) as u32).collect()).collect();
    let out = lw.emit(&cx.name, &cx.origin, Op::MaxPool { input: both, windows }, cx.shape.clone(), s);
    if is_max {
        out
    } else {
        negate(lw, out, cx)
    }
}

/// Reduction `mul`: `out[o] = data[o] · Π_j (1 + h[j, v]·(upd[j, t] - 1))`, one factor per
/// update (1 where it does not land), each product rescaled to the activation scale.
fn scatter_product(
    lw: &mut Lowerer<'_>,
    (onehot, data, upd): (TensorId, TensorId, TensorId),
    [m, n, r]: [usize; 3],
    cx: &NodeCx,
) -> TensorId {
    use crate::ops::logic::add_const;
    let nr = n * r;
    let all = NodeCx { shape: vec![m * nr], ..cx.clone() };
    let one = 1i64 << lw.scale(upd);
    let upd_cx = NodeCx { shape: lw.shape(upd).to_vec(), ..cx.clone() };
    let less_one = add_const(lw, upd, -one, &upd_cx);
    let pairs = candidate_pairs([m, n, r]).map(|(h, u, _)| (h, u)).collect();
    let gated = mul_pairs(lw, onehot, less_one, pairs, &all);
    let factors = add_const(lw, gated, one, &all);
    let mut acc = data;
    for j in 0..m {
        let pairs = (0..nr as u32).map(|o| (o, (j * nr) as u32 + o)).collect();
        let t = mul_pairs(lw, acc, factors, pairs, cx);
        acc = lw.rescale_to_activation(t);
    }
    acc
}
