//! Element-wise and along-an-axis ops as the ops that define them:
//!
//! - `Swish(x; alpha)` = `x · sigmoid(alpha · x)` (only rewritten for `alpha ≠ 1`: tract loads it
//!   as `x · sigmoid(x)` whatever its alpha);
//! - `Celu(x; alpha)` = `alpha · Elu(x / alpha)` (only for `alpha ≠ 1`: tract leaves out the
//!   factor alpha of the negative side, `min(0, exp(x/alpha) - 1)`);
//! - `SwiGLU(a, b; alpha)` = `Swish(a; alpha) · b`;
//! - `Hardmax(x; axis)` = `OneHot(ArgMax(x; axis), depth = x's size along axis)` at that axis:
//!   1 at the first maximum (ArgMax breaks ties toward the first), 0 elsewhere;
//! - `ReduceLogSumExp(x)` = `log(Σ exp(x - m)) + m` with `m = max(x)` over the same axes (tract
//!   writes `log(Σ exp(x))`, whose sum overflows any fixed point once `x` exceeds ~20: `exp(40)`
//!   is 2^57; shifted, each term is at most 1 and the sum at most the group's size);
//! - `CenterCropPad(x, shape; axes)`: per axis, the middle `shape` positions (a Slice starting
//!   at `(d - s) / 2`, rounded down) or `x` centred in zeros (a Pad of `(s - d) / 2` before); the
//!   target shape must be a constant and `x`'s dimensions declared;
//! - `ReverseSequence(x, lens; time_axis, batch_axis)`: a `GatherElements` along the time axis
//!   by constant indices (`lens[b] - 1 - t` for `t < lens[b]`, else `t`); `lens` must be a
//!   constant and `x`'s dimensions declared;
//! - `SpaceToDepth(x; blocksize, mode = "CRD")` (opset 28), which tract reads as the default
//!   `DCR` whatever its mode (a silent wrong result): `(N, C, H, W)` reshaped to
//!   `(N, C, H/b, b, W/b, b)`, the block axes moved after `C`, and merged into `C·b·b`;
//! - `Compress(x, condition; axis)`: a `Gather` of the positions the condition keeps, along
//!   `axis`, or of the flattened `x` without one; the condition must be a constant;
//! - `LRN(x; size, alpha, beta, bias)` = `x · (bias + alpha/size · S)^-beta`, `S` the sum of
//!   squares over a window of `size` channels: the squares, with a unit axis inserted before the
//!   channels, summed by a `Conv` of ones (`size` along the channels, 1 elsewhere, padded by
//!   `⌊(size-1)/2⌋` before and `⌈(size-1)/2⌉` after). The input's rank must be declared;
//! - `CumProd(x, axis; exclusive, reverse)`: the running product of the slices along `axis`, one
//!   product per slice after the first. The axis must be a constant and its size declared.

use super::{int_attr, ints_attr, Emit};
use crate::CompileError;

/// ONNX's `TensorProto.DataType.FLOAT`.
const FLOAT: i32 = 1;

/// `sigmoid(alpha · x)`.
fn swish_gate(e: &mut Emit<'_>, x: &str) -> String {
    let alpha = e.float("alpha").unwrap_or(1.0);
    let scaled = if alpha == 1.0 {
        x.to_string()
    } else {
        let a = e.scalar(alpha);
        e.op("Mul", &[x, &a], vec![])
    };
    e.op("Sigmoid", &[&scaled], vec![])
}

/// Replaces `Swish` (with `alpha ≠ 1`) in `e`.
pub(super) fn swish(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let gate = swish_gate(e, &x);
    e.op_to_output(0, "Mul", &[&x, &gate], vec![]);
    Ok(())
}

/// Replaces `Celu` (with `alpha ≠ 1`) in `e`.
pub(super) fn celu(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let alpha = e.float("alpha").unwrap_or(1.0);
    let (inv, a) = (e.scalar(1.0 / alpha), e.scalar(alpha));
    let z = e.op("Mul", &[&x, &inv], vec![]);
    let elu = e.op("Elu", &[&z], vec![]);
    e.op_to_output(0, "Mul", &[&elu, &a], vec![]);
    Ok(())
}

/// Replaces `SwiGLU` in `e`.
pub(super) fn swiglu(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(a), Some(b)) = (e.input(0), e.input(1)) else { return Err(e.unsupported("fewer than two inputs")) };
    let gate = swish_gate(e, &a);
    let gated = e.op("Mul", &[&a, &gate], vec![]);
    e.op_to_output(0, "Mul", &[&gated, &b], vec![]);
    Ok(())
}

/// Replaces `Hardmax` in `e`.
pub(super) fn hardmax(e: &mut Emit<'_>) -> Result<(), CompileError> {
    if e.opset < 13 {
        return Err(e.unsupported("Hardmax before opset 13 (over the axes flattened from `axis` on)"));
    }
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let axis = e.int("axis").unwrap_or(-1);
    let index = e.op("ArgMax", &[&x], vec![int_attr("axis", axis), int_attr("keepdims", 0)]);
    let depth = match e.declared_rank(&x).map(|r| if axis < 0 { axis + r as i64 } else { axis }) {
        Some(a) if a >= 0 => e.declared_dim(&x, a as usize).map(|d| e.int_scalar(d)),
        _ => None,
    };
    let depth = match depth {
        Some(d) => d,
        None => e.shape(&x, axis, if axis == -1 { i64::MAX } else { axis + 1 }),
    };
    let values = e.ints(&[0, 1]);
    let values = e.op("Cast", &[&values], vec![int_attr("to", i64::from(e.elem_type(&x).unwrap_or(FLOAT)))]);
    e.op_to_output(0, "OneHot", &[&index, &depth, &values], vec![int_attr("axis", axis)]);
    Ok(())
}

/// Replaces `ReduceLogSumExp` in `e`; the opset decides whether `ReduceSum` takes its axes as
/// an input (13 and later) while `ReduceMax` still takes an attribute (before 18).
pub(super) fn reduce_log_sum_exp(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let opset = e.opset;
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let keepdims = e.int("keepdims").unwrap_or(1);
    let noop = e.int("noop_with_empty_axes").unwrap_or(0);
    let axes_attr = super::attr(&e.node, "axes").map(|a| a.ints.clone());
    // each reduction takes the axes the way its opset says
    let reduce = |e: &mut Emit<'_>, op: &str, input: &str, keep: i64| {
        let mut attrs = vec![int_attr("keepdims", keep), int_attr("noop_with_empty_axes", noop)];
        let mut inputs = vec![input.to_string()];
        let takes_input = if op == "ReduceSum" { opset >= 13 } else { opset >= 18 };
        match (&axes_attr, e.input(1)) {
            (Some(axes), _) if takes_input => inputs.push(e.ints(axes)),
            (Some(axes), _) => attrs.push(super::ints_attr("axes", axes)),
            (None, Some(axes)) => inputs.push(axes),
            (None, None) => {}
        }
        if !takes_input {
            attrs.retain(|a| a.name != "noop_with_empty_axes");
        }
        let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        e.op(op, &refs, attrs)
    };
    let m = reduce(e, "ReduceMax", &x, 1);
    let shifted = e.op("Sub", &[&x, &m], vec![]);
    let exp = e.op("Exp", &[&shifted], vec![]);
    let sum = reduce(e, "ReduceSum", &exp, keepdims);
    let log = e.op("Log", &[&sum], vec![]);
    let m = if keepdims != 0 { m } else { reduce(e, "ReduceMax", &x, 0) };
    e.op_to_output(0, "Add", &[&log, &m], vec![]);
    Ok(())
}

/// Replaces `Scatter` (opsets 9 and 10) in `e` by `ScatterElements`, its name from opset 11.
pub(super) fn scatter(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let node = super::NodeProto { op_type: "ScatterElements".into(), ..e.node.clone() };
    e.graph.node.push(node);
    Ok(())
}

/// Replaces `CenterCropPad` in `e`.
pub(super) fn center_crop_pad(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let sizes =
        e.input(1).and_then(|s| e.const_ints(&s)).ok_or_else(|| e.unsupported("a shape that is not a constant"))?;
    let rank = e.declared_rank(&x).ok_or_else(|| e.unsupported("an input of undeclared rank"))?;
    let axes: Vec<i64> = match super::attr(&e.node, "axes") {
        Some(a) => a.ints.iter().map(|&a| if a < 0 { a + rank as i64 } else { a }).collect(),
        None => (0..rank as i64).collect(),
    };
    if axes.len() != sizes.len() || axes.iter().any(|&a| !(0..rank as i64).contains(&a)) {
        return Err(e.unsupported("axes that do not match the shape or the input's rank"));
    }
    let (mut starts, mut ends, mut crop_axes) = (vec![], vec![], vec![]);
    let mut pads = vec![0i64; 2 * rank];
    for (&a, &s) in axes.iter().zip(&sizes) {
        let d =
            e.declared_dim(&x, a as usize).ok_or_else(|| e.unsupported("an input dimension that is not declared"))?;
        if s < d {
            let start = (d - s) / 2;
            starts.push(start);
            ends.push(start + s);
            crop_axes.push(a);
        } else if s > d {
            pads[a as usize] = (s - d) / 2;
            pads[rank + a as usize] = s - d - (s - d) / 2;
        }
    }
    let mut y = x;
    if !crop_axes.is_empty() {
        let (st, en, ax) = (e.ints(&starts), e.ints(&ends), e.ints(&crop_axes));
        y = e.op("Slice", &[&y, &st, &en, &ax], vec![]);
    }
    if pads.iter().any(|&p| p != 0) {
        let pads = e.ints(&pads);
        y = e.op("Pad", &[&y, &pads], vec![]);
    }
    e.op_to_output(0, "Identity", &[&y], vec![]);
    Ok(())
}

/// Replaces `ReverseSequence` in `e`.
pub(super) fn reverse_sequence(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let lens =
        e.input(1).and_then(|l| e.const_ints(&l)).ok_or_else(|| e.unsupported("sequence_lens not a constant"))?;
    let (time, batch) = (e.int("time_axis").unwrap_or(0) as usize, e.int("batch_axis").unwrap_or(1) as usize);
    let rank = e.declared_rank(&x).ok_or_else(|| e.unsupported("an input of undeclared rank"))?;
    let dims: Option<Vec<i64>> = (0..rank).map(|a| e.declared_dim(&x, a)).collect();
    let dims = dims.ok_or_else(|| e.unsupported("an input dimension that is not declared"))?;
    if time.max(batch) >= rank || time == batch || lens.len() as i64 != dims[batch] {
        return Err(e.unsupported("time_axis, batch_axis or sequence_lens that do not fit the input"));
    }
    let mut index = vec![];
    let mut coord = vec![0i64; rank];
    for _ in 0..dims.iter().product::<i64>() {
        let (t, len) = (coord[time], lens[coord[batch] as usize]);
        index.push(if t < len { len - 1 - t } else { t });
        // the next coordinate, last axis fastest
        for a in (0..rank).rev() {
            coord[a] += 1;
            if coord[a] < dims[a] {
                break;
            }
            coord[a] = 0;
        }
    }
    let name = e.fresh.name(&e.node, "index");
    let t = super::TensorProto {
        dims: dims.clone(),
        data_type: super::DataType::Int64 as i32,
        int64_data: index,
        ..Default::default()
    };
    let index = super::initializer(e.graph, name, t);
    e.op_to_output(0, "GatherElements", &[&x, &index], vec![int_attr("axis", time as i64)]);
    Ok(())
}

/// Replaces `Compress` in `e`.
pub(super) fn compress(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let cond = e
        .input(1)
        .and_then(|c| e.const_ints(&c))
        .ok_or_else(|| e.unsupported("a condition computed at run time (the output shape would depend on it)"))?;
    let kept: Vec<i64> = (0..).zip(&cond).filter(|&(_, &c)| c != 0).map(|(i, _)| i).collect();
    if kept.is_empty() {
        return Err(e.unsupported("a condition that keeps nothing (an empty output)"));
    }
    let index = e.ints(&kept);
    let (source, axis) = match e.int("axis") {
        Some(axis) => (x, axis),
        None => {
            let flat = e.ints(&[-1]);
            (e.op("Reshape", &[&x, &flat], vec![]), 0)
        }
    };
    e.op_to_output(0, "Gather", &[&source, &index], vec![int_attr("axis", axis)]);
    Ok(())
}

/// Replaces `LRN` in `e`.
pub(super) fn lrn(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let size = e.int("size").filter(|&s| s > 0).ok_or_else(|| e.unsupported("no positive size"))?;
    let (alpha, beta, bias) =
        (e.float("alpha").unwrap_or(1e-4), e.float("beta").unwrap_or(0.75), e.float("bias").unwrap_or(1.0));
    let rank = e.declared_rank(&x).filter(|&r| r >= 3).ok_or_else(|| e.unsupported("an input of undeclared rank"))?;
    let square = e.op("Mul", &[&x, &x], vec![]);
    let axis = e.ints(&[1]);
    let lifted = e.op("Unsqueeze", &[&square, &axis], vec![]);
    // kernel (1, 1, size, 1, ..., 1) over the rank - 1 spatial axes of the lifted squares
    let mut dims = vec![1, 1, size];
    dims.resize(rank + 1, 1);
    let ones = e.floats(&dims, vec![1.0; size as usize]);
    let mut pads = vec![0; 2 * (rank - 1)];
    pads[0] = (size - 1) / 2;
    pads[rank - 1] = size / 2;
    let summed = e.op("Conv", &[&lifted, &ones], vec![ints_attr("pads", &pads)]);
    let sums = e.op("Squeeze", &[&summed, &axis], vec![]);
    let factor = e.scalar(alpha / size as f32);
    let scaled = e.op("Mul", &[&sums, &factor], vec![]);
    let offset = e.scalar(bias);
    let base = e.op("Add", &[&scaled, &offset], vec![]);
    let exponent = e.scalar(-beta);
    let norm = e.op("Pow", &[&base, &exponent], vec![]);
    e.op_to_output(0, "Mul", &[&x, &norm], vec![]);
    Ok(())
}

/// Replaces `Pad` (with a `constant_value`) in `e` by the same `Pad`, its own name kept, of that
/// value reshaped to a scalar: ONNX allows a one-element tensor (Attention's function body pads
/// with a `[1]` tensor), tract only a scalar. A scalar initializer is left as it is.
pub(super) fn scalar_pad_value(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let mut pad = e.node.clone();
    let value = pad.input.get(2).cloned().ok_or_else(|| e.unsupported("no constant value"))?;
    if !e.initializer(&value).is_some_and(|t| t.dims.is_empty()) {
        let scalar_shape = e.ints(&[]);
        pad.input[2] = e.op("Reshape", &[&value, &scalar_shape], vec![]);
    }
    e.graph.node.push(pad);
    Ok(())
}

/// Whether a `SpaceToDepth` node asks for the column-row-depth order.
pub(super) fn is_crd(node: &super::NodeProto) -> bool {
    super::attr(node, "mode").is_some_and(|a| a.s == b"CRD")
}

/// Replaces `SpaceToDepth` in the `CRD` mode in `e`.
pub(super) fn space_to_depth_crd(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let b = e.int("blocksize").filter(|&b| b > 0).ok_or_else(|| e.unsupported("no positive blocksize"))?;
    let (Some(h), Some(w)) = (e.declared_dim(&x, 2), e.declared_dim(&x, 3)) else {
        return Err(e.unsupported("mode CRD on an input of undeclared height or width"));
    };
    if h % b != 0 || w % b != 0 {
        return Err(e.unsupported("a height or width that the blocksize does not divide"));
    }
    let blocks = e.ints(&[0, 0, h / b, b, w / b, b]);
    let x = e.op("Reshape", &[&x, &blocks], vec![]);
    let x = e.op("Transpose", &[&x], vec![super::ints_attr("perm", &[0, 1, 3, 5, 2, 4])]);
    let merged = e.ints(&[0, -1, h / b, w / b]);
    e.op_to_output(0, "Reshape", &[&x, &merged], vec![]);
    Ok(())
}

/// Replaces `CumProd` in `e`.
pub(super) fn cumprod(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let axis = match e.input(1).and_then(|a| e.const_ints(&a)).as_deref() {
        Some(&[a]) => a,
        _ => return Err(e.unsupported("an axis that is not a constant")),
    };
    let rank = e.declared_rank(&x).ok_or_else(|| e.unsupported("an input of undeclared rank"))? as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    let n = (0..rank)
        .contains(&axis)
        .then(|| e.declared_dim(&x, axis as usize))
        .flatten()
        .ok_or_else(|| e.unsupported("an axis of undeclared size"))?;
    let (exclusive, reverse) = (e.int("exclusive").unwrap_or(0) != 0, e.int("reverse").unwrap_or(0) != 0);
    let axes = e.ints(&[axis]);
    let slices: Vec<String> = (0..n)
        .map(|j| {
            let (start, end) = (e.ints(&[j]), e.ints(&[j + 1]));
            e.op("Slice", &[&x, &start, &end, &axes], vec![])
        })
        .collect();
    let order: Vec<usize> = if reverse { (0..n as usize).rev().collect() } else { (0..n as usize).collect() };
    let mut out = vec![String::new(); n as usize];
    let mut running: Option<String> = None;
    for &j in &order {
        let next = match &running {
            Some(r) => e.op("Mul", &[r, &slices[j]], vec![]),
            None => slices[j].clone(),
        };
        out[j] = match (exclusive, &running) {
            (false, _) => next.clone(),
            (true, Some(r)) => r.clone(),
            (true, None) => {
                // the first exclusive product is 1, shaped like a slice
                let one = e.scalar_of(1.0, e.elem_type(&x));
                let shape = e.op("Shape", &[&slices[j]], vec![]);
                e.op("Expand", &[&one, &shape], vec![])
            }
        };
        running = Some(next);
    }
    let refs: Vec<&str> = out.iter().map(String::as_str).collect();
    e.op_to_output(0, "Concat", &refs, vec![int_attr("axis", axis)]);
    Ok(())
}
