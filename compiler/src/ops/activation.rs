//! Piecewise-linear activations, built from the circuit's ReLU, add and linear ops (no new
//! constraints, so their soundness is that of those chips):
//!
//! - `Max(a, b)` = `b + relu(a - b)` and `Min(a, b)` = `b - relu(b - a)` for two tensors;
//! - `Max(x, c)` = `c + relu(x - c)` and `Min(x, c)` = `c - relu(c - x)` for a constant `c`:
//!   ONNX `Clip` (and `Relu6`, and the clamp of `HardSigmoid`) reach tract's typed graph as
//!   these; `Max(x, 0)` stays a plain ReLU;
//! - `Neg`: a diagonal linear map with weight `-1`, left pending so that a following constant
//!   scale or shift folds into it;
//! - `Abs` = `relu(x) + relu(-x)`;
//! - `LeakyRelu(alpha)` = `relu(x) - alpha * relu(-x)`. `PRelu` reaches tract's typed graph as
//!   a `Where` over a comparison, which the logic family lowers;
//! - `HardSwish(x)` = `x * clamp(x/6 + 1/2, 0, 1)`, the clamp as above and one product;
//! - `Square(x)` = `x * x` (tract's form of `ReduceSumSquare`'s square).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::nn::LeakyRelu;
use zkonnx_ir::quant::quantize;
use zkonnx_ir::{Arith, ArithKind, Op, TensorId};

use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::linear::diagonal;
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Clip",
        family: "activation",
        forms: "max(x, lo) and min(x, hi) as c + relu(x - c), c - relu(c - x): exact; bounds constant or computed",
        limits: "",
    },
    OpSupport {
        op: "HardSigmoid",
        family: "activation",
        forms: "clamp(alpha*x + beta, 0, 1): a linear map and two exact clamps",
        limits: "",
    },
    OpSupport {
        op: "LeakyRelu",
        family: "activation",
        forms: "relu(x) - alpha*relu(-x), any alpha: exact",
        limits: "",
    },
    OpSupport {
        op: "Neg",
        family: "activation",
        forms: "a diagonal linear map with weight -1: exact; a following constant scale or shift can fold into it",
        limits: "",
    },
    OpSupport { op: "Abs", family: "activation", forms: "relu(x) + relu(-x): exact", limits: "" },
    OpSupport {
        op: "HardSwish",
        family: "activation",
        forms: "x * clamp(x/6 + 1/2, 0, 1): exact clamp and one product",
        limits: "",
    },
    OpSupport {
        op: "Max",
        family: "activation",
        forms: "n-ary, broadcasting: b + relu(a - b) of tensors, c + relu(x - c) with a constant; Max(x, 0) is Relu",
        limits: "",
    },
    OpSupport {
        op: "Min",
        family: "activation",
        forms: "n-ary, broadcasting: b - relu(b - a) of tensors, c - relu(c - x) with a constant",
        limits: "",
    },
];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(op) = node.op_as::<TypedBinOp>() {
        let is_max = match op.0.name() {
            "Max" => true,
            "Min" => false,
            _ => return Ok(None),
        };
        if cx.inputs.len() != 2 {
            return Err(cx.shape_err("a binary op needs two operands"));
        }
        let (a, b) = (cx.inputs[0], cx.inputs[1]);
        let (x, c) = match (lw.const_of(a).cloned(), lw.const_of(b).cloned()) {
            (None, Some(c)) => (a, c),
            (Some(c), None) => (b, c),
            (None, None) => return tensor_max_min(lw, a, b, is_max, cx).map(Some),
            // two constants are folded by tract
            _ => return Ok(None),
        };
        // Max(x, 0) is the ReLU the element-wise family lowers
        if is_max && c.data.iter().all(|&v| v == 0.0) {
            return Ok(None);
        }
        return clamp(lw, x, &c, is_max, cx).map(Some);
    }
    let Some(op) = node.op_as::<ElementWiseOp>() else { return Ok(None) };
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("an element-wise op needs an operand"))?;
    let value = match op.0.name().as_ref() {
        "Neg" => {
            let x = lw.operand(x_outlet, cx)?;
            Value::Pending(Box::new(diagonal(x, &identity(lw, x), &vec![-1.0; lw.shape(x).iter().product()], cx)))
        }
        "Abs" => {
            let x = lw.operand(x_outlet, cx)?;
            let (pos, neg) = (relu(lw, x, cx), negated_relu(lw, x, cx));
            Value::Tensor(add(lw, pos, neg, 1, cx))
        }
        "LeakyRelu" => {
            let Some(alpha) = op.0.downcast_ref::<LeakyRelu>().map(|l| f64::from(l.alpha)) else {
                return Ok(None);
            };
            let x = lw.operand(x_outlet, cx)?;
            let pos = relu(lw, x, cx);
            let neg = negated_relu(lw, x, cx);
            let n = lw.shape(neg).iter().product();
            let scaled = diagonal(neg, &identity(lw, neg), &vec![alpha; n], cx).materialize(lw);
            Value::Tensor(add(lw, pos, scaled, -1, cx))
        }
        "HardSwish" => {
            let x = lw.operand(x_outlet, cx)?;
            let n = lw.shape(x).iter().product();
            let mut lin = diagonal(x, &identity(lw, x), &vec![1.0 / 6.0; n], cx);
            lin.shift_rows(|_| 0.5);
            let gate = lin.materialize(lw);
            let gate = unit_clamp(lw, gate, cx);
            Value::Tensor(product(lw, x, gate, cx))
        }
        "Square" => {
            let x = lw.operand(x_outlet, cx)?;
            Value::Tensor(product(lw, x, x, cx))
        }
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// `min(relu(x), 1)` = `1 - relu(1 - relu(x))`, exactly, at x's scale.
fn unit_clamp(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let one = 1i64 << lw.scale(x);
    let r = relu(lw, x, cx);
    let minus_r = negate(lw, r, cx);
    let gap = crate::ops::logic::add_const(lw, minus_r, one, cx);
    let over = relu(lw, gap, cx);
    let minus_over = negate(lw, over, cx);
    crate::ops::logic::add_const(lw, minus_over, one, cx)
}

/// `a * b` element by element, rescaled to the activation scale.
pub(crate) fn product(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, cx: &NodeCx) -> TensorId {
    let t = crate::ops::logic::mul(lw, a, b, cx);
    lw.rescale_to_activation(t)
}

/// `0..len` of `t`: the identity index map.
pub(crate) fn identity(lw: &Lowerer<'_>, t: TensorId) -> Vec<u32> {
    (0..lw.shape(t).iter().product::<usize>() as u32).collect()
}

pub(crate) fn relu(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let (scale, shape) = (lw.scale(x), lw.shape(x).to_vec());
    lw.emit(&cx.name, &cx.origin, Op::Relu { input: x }, shape, scale)
}

/// `relu(-x)`.
fn negated_relu(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let neg = negate(lw, x, cx);
    relu(lw, neg, cx)
}

/// `-x` exactly, at x's scale and shape: `0 - x` against a one-element zero constant (one add
/// row per element, no rescale). ONNX `Neg` itself stays a pending diagonal linear map instead,
/// so that a following constant scale or shift can fold into it.
pub(crate) fn negate(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let (scale, shape) = (lw.scale(x), lw.shape(x).to_vec());
    let zero = lw.emit(&cx.name, &cx.origin, Op::Const { values: vec![0] }, vec![1], scale);
    let pairs = identity(lw, x).into_iter().map(|i| (0, i)).collect();
    let op = Op::Arith(Arith { a: zero, b: x, pairs, kind: ArithKind::Add { ca: 1, cb: -1 } });
    lw.emit(&cx.name, &cx.origin, op, shape, scale)
}

/// `a + sign * b` element by element, aligning the scales.
pub(crate) fn add(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, sign: i64, cx: &NodeCx) -> TensorId {
    let pairs = (0..lw.shape(a).iter().product::<usize>() as u32).map(|i| (i, i)).collect();
    add_pairs(lw, a, b, pairs, sign, cx)
}

pub(crate) fn add_pairs(
    lw: &mut Lowerer<'_>,
    a: TensorId,
    b: TensorId,
    pairs: Vec<(u32, u32)>,
    sign: i64,
    cx: &NodeCx,
) -> TensorId {
    let (sa, sb) = (lw.scale(a), lw.scale(b));
    let s = sa.max(sb);
    let kind = ArithKind::Add { ca: 1 << (s - sa), cb: sign << (s - sb) };
    let op = Op::Arith(Arith { a, b, pairs, kind });
    lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), s)
}

/// `Max(a, b)` = `b + relu(a - b)`; `Min(a, b)` = `b - relu(b - a)`, with broadcasting.
fn tensor_max_min(
    lw: &mut Lowerer<'_>,
    a: OutletId,
    b: OutletId,
    is_max: bool,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let (ma, mb) = (cx.broadcast_from(&lw.outlet_shape(a)?)?, cx.broadcast_from(&lw.outlet_shape(b)?)?);
    let (ta, tb) = (lw.operand(a, cx)?, lw.operand(b, cx)?);
    let d = if is_max {
        add_pairs(lw, ta, tb, ma.iter().copied().zip(mb.iter().copied()).collect(), -1, cx)
    } else {
        add_pairs(lw, tb, ta, mb.iter().copied().zip(ma.iter().copied()).collect(), -1, cx)
    };
    let r = relu(lw, d, cx);
    let pairs = mb.iter().copied().zip(0..).collect();
    Ok(Value::Tensor(add_pairs(lw, tb, r, pairs, if is_max { 1 } else { -1 }, cx)))
}

/// `Max(x, c)` = `c + relu(x - c)`; `Min(x, c)` = `c - relu(c - x)`.
fn clamp(lw: &mut Lowerer<'_>, x: OutletId, c: &ConstVal, is_max: bool, cx: &NodeCx) -> Result<Value, CompileError> {
    let x_shape = lw.outlet_shape(x)?;
    let (mx, mc) = (cx.broadcast_from(&x_shape)?, cx.broadcast_from(&c.shape)?);
    let x = lw.operand(x, cx)?;
    let scale = lw.scale(x);
    // the bound as an IR constant of the output's shape, at x's scale
    let values = mc.iter().map(|&i| quantize(c.data[i as usize], scale)).collect();
    let k = lw.emit(&cx.name, &cx.origin, Op::Const { values }, cx.shape.clone(), scale);
    let same: Vec<(u32, u32)> = (0..mc.len() as u32).map(|i| (i, i)).collect();
    let d = if is_max {
        add_pairs(lw, x, k, mx.iter().zip(&same).map(|(&i, &(o, _))| (i, o)).collect(), -1, cx)
    } else {
        add_pairs(lw, k, x, same.iter().zip(&mx).map(|(&(o, _), &i)| (o, i)).collect(), -1, cx)
    };
    let r = relu(lw, d, cx);
    Ok(Value::Tensor(if is_max { add(lw, k, r, 1, cx) } else { add(lw, k, r, -1, cx) }))
}
