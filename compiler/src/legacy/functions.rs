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
//! - `CumProd(x, axis; exclusive, reverse)`: the running product of the slices along `axis`, one
//!   product per slice after the first. The axis must be a constant and its size declared.

use super::{int_attr, Emit};
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
pub(super) fn hardmax(e: &mut Emit<'_>, opset: i64) -> Result<(), CompileError> {
    if opset < 13 {
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

/// Replaces `ReduceLogSumExp` in `e`; `opset` decides whether `ReduceSum` takes its axes as an
/// input (13 and later) while `ReduceMax` still takes an attribute (before 18).
pub(super) fn reduce_log_sum_exp(e: &mut Emit<'_>, opset: i64) -> Result<(), CompileError> {
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
