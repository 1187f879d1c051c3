//! Non-linear functions, proved by table lookup (`Op::Lookup`, see `zkonnx_ir::func`): `Exp`,
//! `Log`, `Sqrt`, `Reciprocal`, `Sigmoid`, `Tanh`, `Erf`, the trigonometric and hyperbolic
//! functions and their inverses, tanh-form `Gelu`, `Silu`, `Pow` (by a constant, or by a computed
//! exponent as `exp(e · ln x)`), `Round` (half to even), `Mod` by a constant, and the composites
//! `Softmax` and `LogSoftmax`. Division by a computed tensor (`elementwise`) is a
//! reciprocal lookup and a product.
//!
//! Why lookups: none of these is piecewise linear, and a table row per element (which also
//! range-checks the input to the table's domain) is cheaper than any polynomial or bit
//! decomposition at our precisions. Tables are sized to the range the input can reach:
//! - a plain function's input is an activation, so its table covers `[-2^(B-1), 2^(B-1))`
//!   (`B` = `lookup_bits`): `2^B` rows;
//! - Softmax's `exp` sees `x - max(x) ∈ (-2^B, 0]`, so its table covers exactly that;
//! - Softmax's normaliser `1 / Σ exp` sees a sum in `[2^S, n·2^S]` (the maximum contributes
//!   exactly `2^S`), so its table covers exactly that.
//!
//! These are the domains an input *can* reach; settings made from sample inputs narrow each to
//! what the samples *did* reach (`zkonnx_ir::tables`, applied by [`crate::compile`]).
//!
//! Scales: a function's output is at the activation scale `S`, except reciprocals, whose output
//! is at `R = min(2S, B)` (a `1/x` at scale `S` would keep only `S` bits of a value below 1);
//! the product with a reciprocal is rescaled by `R` back to `S`.
//!
//! Under two-limb range checks (`range_limbs = 2`) an activation has `2B` bits, far more than a
//! table should hold, and fine scales are the point. A continuous function is then tabulated at
//! knots `2^-H` apart and interpolated linearly between them ([`lookup`]): the interpolation
//! error is at most `2^(-2H) / 8 · max|f''|`. `H` is `ceil(S/2)` (about `2^(-S-3)` for the
//! bounded-curvature functions: tanh, sigmoid, erf, exp of a non-positive input, below the
//! output's own rounding), made coarser where the domain would need more than `2^(B+2)` knots.
//! Each function then costs two tables (values and differences) of at most `2^(B+2)` rows
//! instead of `2^(2B)`; calibration measures the resulting error per candidate. The interpolated
//! output is range-checked (it comes out of a rescale), so under two limbs a reciprocal stays
//! at `S` (a general `1/x` may exceed 1) and Softmax's `exp` at `min(2S, 2B - 2)`.
//!
//! Near a pole or an infinite slope (`1/x`, `1/sqrt(x)`, `log`, `sqrt` and fractional powers
//! near 0) the straight line from a saturated knot misses by orders of magnitude, so the
//! intervals where interpolation would miss by more than a unit and `1/64` of the value are
//! tabulated point by point and only the rest is interpolated ([`fine_region`]): a BERT's
//! LayerNorm `1/sqrt` then fits two-limb range checks (logrows 12) instead of one-limb ones of
//! `2^16` rows (logrows 17).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::math::PowConst;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};
use zkonnx_ir::{Func, FuncKind, Linear, LinearRow, Op, TensorId};

use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::activation::{add, add_pairs, identity};
use crate::ops::logic::{add_const, floor_shift, mul, relabel};
use crate::ops::reduce::groups;
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Exp",
        family: "nonlinear",
        forms: "table lookup over the calibrated input range (interpolated between knots under two-limb checks)",
        limits: "",
    },
    OpSupport {
        op: "Log",
        family: "nonlinear",
        forms: "table lookup; the Log of a Softmax is lowered as a LogSoftmax",
        limits: "",
    },
    OpSupport { op: "Sqrt", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport {
        op: "Reciprocal",
        family: "nonlinear",
        forms: "table lookup, output at scale min(2S, B) (S under two-limb range checks)",
        limits: "",
    },
    OpSupport { op: "Sigmoid", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Tanh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Erf", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Sin", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Cos", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Tan", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Asin", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Acos", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Atan", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Sinh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Cosh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Asinh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Acosh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport { op: "Atanh", family: "nonlinear", forms: "table lookup", limits: "" },
    OpSupport {
        op: "Pow",
        family: "nonlinear",
        forms: "by one uniform constant: table lookup (x^2 an exact product); else exp(e * ln x), broadcasting",
        limits: "a computed exponent needs a positive base: one at or below 0 fails at proving, naming the node",
    },
    OpSupport {
        op: "Round",
        family: "nonlinear",
        forms: "half to even, exact: by two rescales and a tie check where that costs fewer rows than a table, else \
                by table lookup",
        limits: "",
    },
    OpSupport {
        op: "Mod",
        family: "nonlinear",
        forms: "by one nonzero uniform constant: a remainder table; by a computed or non-uniform divisor: an exact \
                division (a reciprocal candidate, two corrections, the remainder asserted in [0, |b|)); fmod 0 adds \
                a sign fix-up (logic)",
        limits: "a divisor of zero (UnsupportedAttribute at compile time, a failed witness at run time)",
    },
    OpSupport {
        op: "Softmax",
        family: "nonlinear",
        forms: "any axis (before opset 13: the axes from it on): x - max(x), exp lookup, sum, reciprocal lookup; \
                of scores plus a mask of -inf (or far below the range): constant, a Where of a computed \
                condition, or (1 - m) * finfo.min; the softmax of the kept positions (a row hidden entirely: zeros)",
        limits: "",
    },
    OpSupport {
        op: "Attention",
        family: "nonlinear",
        forms: "rewritten at load to its defining ops: 3-D or 4-D, grouped-query heads, past_key/past_value, \
                scale, softcap, float or boolean attn_mask, is_causal, left/right windows, nonpad_kv_seqlen (run-time \
                padding), qk_matmul_output modes 0-3",
        limits: "nonpad_kv_seqlen with past_key or undeclared lengths, an attn_mask shorter than the keys; \
                a qk_matmul_output of a hidden score (-inf) is refused",
    },
    OpSupport {
        op: "LinearAttention",
        family: "nonlinear",
        forms: "rewritten at load to its recurrence, unrolled over the declared tokens: update rules linear, gated, \
                delta, gated_delta; grouped-query heads; past_state and present_state; decay per head or per key \
                dimension",
        limits: "undeclared query, key or value dimensions (UnsupportedAttribute)",
    },
    OpSupport {
        op: "LogSoftmax",
        family: "nonlinear",
        forms: "any axis: d - ln(sum exp(d)) with d = x - max(x), by exp and log lookups",
        limits: "",
    },
    OpSupport {
        op: "Gelu",
        family: "nonlinear",
        forms: "exact form: erf lookup and products; tanh form (approximate): one lookup",
        limits: "",
    },
    OpSupport { op: "Softplus", family: "nonlinear", forms: "ln(1 + exp(x)): exp and log lookups", limits: "" },
    OpSupport {
        op: "Softsign",
        family: "nonlinear",
        forms: "x / (1 + |x|): Abs (activation), reciprocal lookup and product",
        limits: "",
    },
    OpSupport {
        op: "Elu",
        family: "nonlinear",
        forms: "exp lookup, exact comparison with 0 and Where (logic)",
        limits: "",
    },
    OpSupport {
        op: "Selu",
        family: "nonlinear",
        forms: "exp lookup, exact comparison with 0 and Where (logic), constant scales",
        limits: "",
    },
    OpSupport {
        op: "Celu",
        family: "nonlinear",
        forms: "exp(x/alpha) lookup, exact clamps (activation) and ReLU (alpha other than 1: rewritten at load to \
                alpha * Elu(x / alpha), tract leaving out the factor)",
        limits: "",
    },
    OpSupport {
        op: "Mish",
        family: "nonlinear",
        forms: "x * tanh(ln(1 + exp(x))): exp, log and tanh lookups and a product",
        limits: "",
    },
    OpSupport {
        op: "LayerNormalization",
        family: "nonlinear",
        forms: "over the axes from axis: mean and variance as linear sums, 1/sqrt lookup, scale and bias",
        limits: "",
    },
    OpSupport {
        op: "InstanceNormalization",
        family: "nonlinear",
        forms: "per (batch, channel) over the spatial axes: mean and variance as sums, 1/sqrt lookup, scale, bias",
        limits: "",
    },
    OpSupport {
        op: "RMSNormalization",
        family: "nonlinear",
        forms: "over the axes from axis: mean of squares as products and a sum, 1/sqrt lookup, scale",
        limits: "",
    },
    OpSupport {
        op: "GroupNormalization",
        family: "nonlinear",
        forms: "tract's mean and variance per group as sums and products, 1/sqrt lookup, scale and bias",
        limits: "",
    },
    OpSupport {
        op: "Swish",
        family: "nonlinear",
        forms: "x * sigmoid(alpha * x): sigmoid lookup and a product (alpha other than 1 rewritten at load)",
        limits: "",
    },
    OpSupport {
        op: "SwiGLU",
        family: "nonlinear",
        forms: "rewritten at load to a * sigmoid(alpha * a) * b",
        limits: "",
    },
    OpSupport {
        op: "Hardmax",
        family: "nonlinear",
        forms: "opset 13 and later, any axis: rewritten at load to OneHot(ArgMax) (ties: the first maximum)",
        limits: "opsets before 13 (UnsupportedAttribute)",
    },
    OpSupport {
        op: "RotaryEmbedding",
        family: "nonlinear",
        forms: "rewritten at load: 4-D or 3-D with num_heads, halves or interleaved, partial rotary_embedding_dim, \
                caches gathered at run-time position_ids (or given per position)",
        limits: "",
    },
    OpSupport {
        op: "Shrink",
        family: "nonlinear",
        forms: "x-bias above lambd, x+bias below -lambd, else 0: tract's comparisons and Where (logic), exact",
        limits: "",
    },
    OpSupport {
        op: "ThresholdedRelu",
        family: "nonlinear",
        forms: "x > alpha ? x : 0: tract's comparison and Where (logic), exact",
        limits: "",
    },
];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(op) = node.op_as::<Softmax>() {
        return softmax(lw, &op.axes, op.kind, cx).map(Some);
    }
    if node.op_as::<TypedBinOp>().is_some_and(|op| op.0.name() == "Rem") {
        let integer = node.outputs.first().is_some_and(|o| o.fact.datum_type.is_integer());
        return remainder(lw, integer, cx).map(Some);
    }
    let (kind, alpha) = if let Some(e) = pow_by_constant(lw, node, cx)? {
        (FuncKind::Pow, e)
    } else if node.op_as::<TypedBinOp>().is_some_and(|op| op.0.name() == "Pow") {
        return pow_computed(lw, cx).map(Some);
    } else {
        let Some(kind) = node.op_as::<ElementWiseOp>().and_then(element_wise_kind) else { return Ok(None) };
        kind
    };
    function(lw, kind, alpha, cx).map(Some)
}

/// The exponent of a `Pow` by a uniform constant, written as tract's binary `Pow` (before
/// decluttering turns it into `PowConst`).
fn pow_by_constant(lw: &Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<f32>, CompileError> {
    if node.op_as::<TypedBinOp>().is_none_or(|op| op.0.name() != "Pow") {
        return Ok(None);
    }
    let [x, e] = cx.inputs[..] else { return Ok(None) };
    let Some(c) = lw.const_of(e) else { return Ok(None) };
    let first = c.data.first().copied();
    if first.is_none() || c.data.iter().any(|&v| Some(v) != first) || lw.outlet_shape(x)? != cx.shape {
        return Ok(None);
    }
    Ok(first.map(|v| v as f32))
}

/// `x^e` for an exponent computed at run time (or a constant one that varies by element, or a
/// broadcast base), as `exp(e · ln x)`: a log lookup, an exact product and an exp lookup, with
/// broadcasting. ONNX defines it for `x > 0` this way; a base at or below 0 falls outside the
/// log table's calibrated domain (its margin stops at 0) and fails at proving time naming the
/// node, rather than using the log table's placeholder there.
fn pow_computed(lw: &mut Lowerer<'_>, cx: &NodeCx) -> Result<Value, CompileError> {
    let [x_outlet, e_outlet] = cx.inputs[..] else { return Err(cx.shape_err("Pow needs two operands")) };
    let (x_map, e_map) =
        (cx.broadcast_from(&lw.outlet_shape(x_outlet)?)?, cx.broadcast_from(&lw.outlet_shape(e_outlet)?)?);
    let x = lw.operand(x_outlet, cx)?;
    let x = lw.rescale_to_activation(x);
    let e = lw.operand(e_outlet, cx)?;
    let e = lw.rescale_to_activation(e);
    let (lo, hi) = activation_domain(lw);
    let x_cx = NodeCx { shape: lw.shape(x).to_vec(), ..cx.clone() };
    let ln_x = lookup(lw, x, Func::new(FuncKind::Log, lw.scale(x), lw.args.input_scale, lo, hi), &x_cx);
    let ln_x = lw.rescale_to_activation(ln_x);
    let pairs = e_map.into_iter().zip(x_map).collect();
    let exponent = product(lw, e, ln_x, pairs, cx);
    let y = lookup(lw, exponent, Func::new(FuncKind::Exp, lw.scale(exponent), lw.args.input_scale, lo, hi), cx);
    Ok(Value::Tensor(lw.rescale_to_activation(y)))
}

/// The table function of a tract element-wise op, if it is one.
fn element_wise_kind(op: &ElementWiseOp) -> Option<(FuncKind, f32)> {
    Some(match op.0.name().as_ref() {
        "Exp" => (FuncKind::Exp, 0.0),
        "Ln" => (FuncKind::Log, 0.0),
        "Sqrt" => (FuncKind::Sqrt, 0.0),
        "Rsqrt" => (FuncKind::Rsqrt, 0.0),
        "Recip" => (FuncKind::Reciprocal, 0.0),
        "Sigmoid" => (FuncKind::Sigmoid, 0.0),
        "Tanh" => (FuncKind::Tanh, 0.0),
        "Erf" => (FuncKind::Erf, 0.0),
        "Silu" => (FuncKind::Silu, 0.0),
        "GeluApproximate" => (FuncKind::GeluTanh, 0.0),
        "Sin" => (FuncKind::Sin, 0.0),
        "Cos" => (FuncKind::Cos, 0.0),
        "Tan" => (FuncKind::Tan, 0.0),
        "Asin" => (FuncKind::Asin, 0.0),
        "Acos" => (FuncKind::Acos, 0.0),
        "Atan" => (FuncKind::Atan, 0.0),
        "Sinh" => (FuncKind::Sinh, 0.0),
        "Cosh" => (FuncKind::Cosh, 0.0),
        "Asinh" => (FuncKind::Asinh, 0.0),
        "Acosh" => (FuncKind::Acosh, 0.0),
        "Atanh" => (FuncKind::Atanh, 0.0),
        "RoundHalfToEven" => (FuncKind::Round, 0.0),
        "PowConst" => {
            let p = op.0.downcast_ref::<PowConst>()?;
            (FuncKind::Pow, p.exponent)
        }
        _ => return None,
    })
}

/// `kind(x)` (with constant `alpha`) element-wise by table lookup.
fn function(lw: &mut Lowerer<'_>, kind: FuncKind, alpha: f32, cx: &NodeCx) -> Result<Value, CompileError> {
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("a function needs an operand"))?;
    if kind == FuncKind::Log {
        // tract writes some LogSoftmax as Ln(Softmax(x)): the log of a quantized probability
        // loses everything below 2^-S, so compute the log-softmax directly
        let producer = lw.model.node(x_outlet.node);
        if let Some(sm) = producer.op_as::<Softmax>().filter(|sm| sm.kind == SoftmaxKind::Softmax) {
            let inner = NodeCx { inputs: producer.inputs.clone(), ..cx.clone() };
            return softmax(lw, &sm.axes, SoftmaxKind::LogSoftmax, &inner);
        }
    }
    let x = lw.operand(x_outlet, cx)?;
    let x = lw.rescale_to_activation(x);
    if kind == FuncKind::Pow && alpha == 2.0 {
        // an exact product is cheaper than a table and loses nothing
        return Ok(Value::Tensor(crate::ops::activation::product(lw, x, x, cx)));
    }
    if kind == FuncKind::Pow && alpha == 1.0 {
        return Ok(Value::Tensor(x));
    }
    if kind == FuncKind::Round && crate::ops::division::round_by_rescale_is_cheaper(lw, x) {
        return Ok(Value::Tensor(crate::ops::division::round_half_even(lw, x, cx)));
    }
    let out_scale = if kind == FuncKind::Reciprocal { recip_scale(lw) } else { lw.args.input_scale };
    let (lo, hi) = activation_domain(lw);
    let func = Func::new(kind, lw.scale(x), out_scale, lo, hi).with_alpha(alpha);
    let y = lookup(lw, x, func, cx);
    Ok(Value::Tensor(lw.rescale_to_activation(y)))
}

/// `x rem c` (sign of `x`) for a constant divisor `c`, by lookup over the activation range (the
/// truncated remainder is not piecewise linear in few pieces: one table row per element is the
/// cheapest exact form). ONNX's integer `Mod` reaches here as tract's `Rem` followed by a
/// sign fix-up (comparisons and `Where`, see `logic`). A computed or non-uniform divisor, or a
/// broadcast dividend: an exact division (see `division`).
fn remainder(lw: &mut Lowerer<'_>, integer: bool, cx: &NodeCx) -> Result<Value, CompileError> {
    let [x_outlet, c_outlet] = cx.inputs[..] else { return Err(cx.shape_err("Mod needs two operands")) };
    let c = lw.const_of(c_outlet);
    if c.is_some_and(|c| c.data.contains(&0.0)) {
        return Err(cx.unsupported("Mod by a divisor of zero"));
    }
    let divisor = c.and_then(|c| c.data.first().copied().filter(|d| c.data.iter().all(|v| v == d)));
    let Some(divisor) = divisor.filter(|_| lw.outlet_shape(x_outlet).is_ok_and(|s| s == cx.shape)) else {
        let (_, r, _) = crate::ops::division::of_operands(lw, integer, cx)?;
        return Ok(Value::Tensor(r));
    };
    let x = lw.operand(x_outlet, cx)?;
    let x = lw.rescale_to_activation(x);
    let (lo, hi) = activation_domain(lw);
    let func = Func::new(FuncKind::Fmod, lw.scale(x), lw.scale(x), lo, hi).with_alpha(divisor as f32);
    Ok(Value::Tensor(lookup(lw, x, func, cx)))
}

/// The activation range `[-2^(R-1), 2^(R-1) - 1]`, `R` = the range-checked bits
/// (`lookup_bits · range_limbs`).
pub(crate) fn activation_domain(lw: &Lowerer<'_>) -> (i64, i64) {
    let half = 1i64 << (lw.args.range_bits().clamp(2, 40) - 1);
    (-half, half - 1)
}

/// The output scale of reciprocal tables: `min(2S, B)` with one limb, so the product's rescale
/// by it stays within what the range table checks; `S` with two limbs, where the interpolated
/// `1/x` is itself range-checked like any activation (and `S` is already fine).
pub(crate) fn recip_scale(lw: &Lowerer<'_>) -> u32 {
    if lw.args.range_limbs > 1 {
        lw.args.input_scale
    } else {
        (2 * lw.args.input_scale).min(lw.args.lookup_bits)
    }
}

/// Largest number of knots of an interpolated table, as bits above `lookup_bits`.
const KNOT_BITS_ABOVE_TABLE: u32 = 2;

/// Input bits per table knot for `func` (0: one table row per input value). Under two-limb
/// range checks, for a function that interpolates: the smallest `b >= floor(S/2)` at which
/// the domain has at most `2^(B + 2)` knots (at most `S`, so knots stay at scale `>= 0`).
fn knot_shift(lw: &Lowerer<'_>, func: &Func) -> u32 {
    if lw.args.range_limbs < 2 || !func.interpolates() {
        return 0;
    }
    let most = 1i128 << (lw.args.lookup_bits + KNOT_BITS_ABOVE_TABLE).min(62);
    let knots = |b: u32| i128::from(func.hi >> b) - i128::from(func.lo >> b) + 1;
    let mut b = func.in_scale / 2;
    while b < func.in_scale && knots(b) > most {
        b += 1;
    }
    b
}

/// `func(x)` element-wise, at `func.out_scale`, with `x`'s shape: one lookup per element, or,
/// where [`knot_shift`] gives `b > 0`, linear interpolation between knots `2^b` inputs apart:
///
/// - `q = floor(x / 2^b)`: a rescale of `x - 2^(b-1)` (the rescale rounds half up);
/// - `r = x - 2^b·q`, in `[0, 2^b)`, read at scale `b` (the fraction of a step; at `S` for exp);
/// - `y = f(q) + Δf(q)·r / 2^b`, rounded, where `f` and `Δf` (`f(q + 1) - f(q)`) are two tables
///   over `q`'s domain at input scale `S - b`; for `exp`, `y = f(q) · g(r)` instead, `g` a table
///   of the fractions ([`split_exp_fraction`]).
///
/// Every step is an existing op, so the circuit needs no new gate, and each is constrained: the
/// rescale pins `q` (its remainder is range-checked), which pins `r`; the lookups pin both table
/// values, and the product, sum and final rescale are exact.
///
/// Where interpolation would miss `func` by more than [`INTERPOLATION_TOLERANCE`] and
/// [`RELATIVE_TOLERANCE`] of its value (near a pole or an infinite slope: `1/x`, `1/sqrt(x)`,
/// `log`, `sqrt` near 0), that region is tabulated point by point instead and only the rest
/// interpolated ([`fine_region`], [`lookup_with_fine_region`]).
pub(crate) fn lookup(lw: &mut Lowerer<'_>, x: TensorId, func: Func, cx: &NodeCx) -> TensorId {
    let shape = lw.shape(x).to_vec();
    let b = knot_shift(lw, &func);
    if b == 0 {
        return lw.emit(&cx.name, &cx.origin, Op::Lookup { input: x, func }, shape, func.out_scale);
    }
    let cx = NodeCx { shape, ..cx.clone() };
    if func.kind != FuncKind::Exp {
        if let Some(fine) = fine_region(lw, &func, b) {
            return lookup_with_fine_region(lw, x, func, b, fine, &cx);
        }
    }
    interpolate(lw, x, func, b, &cx)
}

/// The interpolation (or, for `exp`, the split) of [`lookup`] at knots `2^b` inputs apart;
/// `cx.shape` is `x`'s shape.
fn interpolate(lw: &mut Lowerer<'_>, x: TensorId, func: Func, b: u32, cx: &NodeCx) -> TensorId {
    let shape = cx.shape.clone();
    let q = floor_shift(lw, x, b, cx);
    let r = add(lw, x, q, -1, cx);
    let knots = knots_of(&func, b);
    let y0 = lw.emit(&cx.name, &cx.origin, Op::Lookup { input: q, func: knots }, shape.clone(), func.out_scale);
    if func.kind == FuncKind::Exp {
        // exp(x) = exp(2^b·q / 2^S) · exp(r / 2^S), the second factor from a table of the 2^b
        // fractions (see `split_exp_fraction`)
        let fraction = split_exp_fraction(func, b);
        let g = lw.emit(&cx.name, &cx.origin, Op::Lookup { input: r, func: fraction }, shape, func.out_scale);
        let y = mul(lw, y0, g, cx);
        return lw.rescale_by(y, func.out_scale);
    }
    let r = relabel(lw, r, b);
    let dy = lw.emit(&cx.name, &cx.origin, Op::Lookup { input: q, func: knots.difference() }, shape, func.out_scale);
    let step = mul(lw, dy, r, cx);
    let y = add(lw, y0, step, 1, cx);
    lw.rescale_by(y, b)
}

/// `func` tabulated at its knots `2^b` inputs apart: input scale `S - b`, domain `floor(lo /
/// 2^b)..=floor(hi / 2^b)`.
fn knots_of(func: &Func, b: u32) -> Func {
    Func { in_scale: func.in_scale - b, lo: func.lo >> b, hi: func.hi >> b, ..*func }
}

/// Largest miss, in units of the output (`2^-O`), that [`lookup`]'s interpolation may make on an
/// interval between two knots before [`fine_region`] tabulates it point by point. With the
/// tables' rounding and the final one (half a unit each), an interpolated value then stays within
/// two units of the function, a tabulated one within half a unit.
const INTERPOLATION_TOLERANCE: f64 = 1.0;

/// Largest miss relative to the function's value (`1/64`) that [`fine_region`] lets
/// interpolation make where that exceeds [`INTERPOLATION_TOLERANCE`]. Near a pole the function is
/// large and tabulating every input out to where the absolute miss falls below one unit costs
/// about `2^S` rows, for no measured gain: at one unit, an InstanceNormalization (`S = 14`) went
/// from logrows 11 to 14 with the same output error, and at `2^-12` to 13. The misses that need
/// the table are the ones next to the pole, where the straight line between a saturated knot and
/// the next is off by orders of magnitude (what kept a BERT on one-limb range checks at logrows
/// 17; at `1/64` it proves at 12, and the fixtures' logrows stay within one of what they were).
const RELATIVE_TOLERANCE: f64 = 1.0 / 64.0;

/// Largest point-by-point region [`fine_region`] takes, as bits above `lookup_bits`.
const FINE_BITS_ABOVE_TABLE: u32 = 5;

/// Where interpolating `func` between knots `2^b` inputs apart misses it by more than
/// [`INTERPOLATION_TOLERANCE`] and [`RELATIVE_TOLERANCE`] of its value (the straight line
/// between the unrounded values at the knots against the unrounded value, [`Func::unrounded`], at
/// a quarter, a half and three quarters of every interval: the tables' rounding is not the
/// interpolation's): the hull `[t_lo, t_hi]` of those
/// intervals, knot-aligned where it does not reach the domain's ends, or `None` when there is
/// none or it would hold more than `2^(B + 5)` inputs (the interpolation then stays as it is).
///
/// Interpolation's error grows with `|f''|`: below `2^(-S-3)` for the bounded-curvature
/// functions (tanh, erf, sigmoid, ...), which have no such region, but without bound next to a
/// pole or an infinite slope. There `1/x`, `1/sqrt(x)` and `log` miss by orders of magnitude on
/// the first intervals (the knot at 0 is saturated), which is what made calibration keep such
/// models on one-limb tables (`2^16` rows for a BERT's LayerNorm), and what an input in the
/// margin near 0 got silently. Measuring the miss instead of deriving it per function covers
/// every function, with its clamps and saturation, the same way.
fn fine_region(lw: &Lowerer<'_>, func: &Func, b: u32) -> Option<(i64, i64)> {
    let knots = knots_of(func, b);
    let step = 1i64 << b;
    let misses = |k: i64| {
        let (y0, y1) = (func.unrounded(k * step), func.unrounded((k + 1) * step));
        [1, 2, 3].into_iter().map(|quarter| quarter * step / 4).any(|r| {
            let (x, t) = (k * step + r, r as f64 / step as f64);
            let f = func.unrounded(x);
            let tolerance = INTERPOLATION_TOLERANCE.max(RELATIVE_TOLERANCE * f.abs());
            func.contains(x) && (y0 + (y1 - y0) * t - f).abs() > tolerance
        })
    };
    let first = (knots.lo..=knots.hi).find(|&k| misses(k))?;
    let last = (first..=knots.hi).rev().find(|&k| misses(k)).unwrap_or(first);
    let (t_lo, t_hi) = ((first * step).max(func.lo), ((last + 1) * step).min(func.hi));
    let most = 1i128 << (lw.args.lookup_bits + FINE_BITS_ABOVE_TABLE).min(62);
    (i128::from(t_hi) - i128::from(t_lo) < most).then_some((t_lo, t_hi))
}

/// `func(x)` with `[t_lo, t_hi]` ([`fine_region`]) tabulated point by point and the rest of the
/// domain interpolated, each side on its own: with `x` clamped three ways,
///
/// `y = F(clamp(x, t_lo, t_hi)) + I_lo(min(x, t_lo)) + I_hi(max(x, t_hi)) - f(t_lo) - f(t_hi)`,
///
/// `F` the point-by-point table, `I_lo` and `I_hi` the interpolations over `[lo, t_lo]` and
/// `[t_hi, hi]` (a side is left out where the region reaches the domain's end). Inside the region
/// both interpolations sit at their end knots, where they equal the table value exactly (the
/// final rescale of `f(q)·2^b + Δf(q)·0` is `f(q)`), and cancel against the constants; outside, the
/// table sits at the region's end and cancels likewise. The clamps are `max(x, t) = t + relu(x -
/// t)` and `min(x, t) = x - relu(x - t)`: each lookup still checks its input's domain, so an `x`
/// outside `[lo, hi]` fails the witness as before, and every step is an existing op. Each piece
/// names `x` ([`Func::clamped_from`]), so calibration sizes it from `x`'s sampled range and
/// margin: a piece that range does not reach keeps one row.
fn lookup_with_fine_region(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    func: Func,
    b: u32,
    (t_lo, t_hi): (i64, i64),
    cx: &NodeCx,
) -> TensorId {
    let mut clamped = x;
    let mut sides = Vec::new();
    let mut ends = 0i64;
    if t_lo > func.lo {
        let from_lo = add_const(lw, x, -t_lo, cx);
        let over = crate::ops::activation::relu(lw, from_lo, cx);
        let below = add(lw, x, over, -1, cx);
        sides.push(interpolate(lw, below, Func { hi: t_lo, clamped_from: Some(x), ..func }, b, cx));
        ends += func.eval(t_lo);
        clamped = add_const(lw, over, t_lo, cx);
    }
    if t_hi < func.hi {
        let from_hi = add_const(lw, clamped, -t_hi, cx);
        let over = crate::ops::activation::relu(lw, from_hi, cx);
        let above = add_const(lw, over, t_hi, cx);
        sides.push(interpolate(lw, above, Func { lo: t_hi, clamped_from: Some(x), ..func }, b, cx));
        ends += func.eval(t_hi);
        clamped = add(lw, clamped, over, -1, cx);
    }
    let fine = Func { lo: t_lo, hi: t_hi, clamped_from: Some(x), ..func };
    let op = Op::Lookup { input: clamped, func: fine };
    let mut y = lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), func.out_scale);
    for side in sides {
        y = add(lw, y, side, 1, cx);
    }
    add_const(lw, y, -ends, cx)
}

/// The table of `exp` over the `2^b` fractions `r / 2^S`, `r` in `[0, 2^b)`, of an `exp` split
/// at knots `2^b` inputs apart: `exp(x) = f(q) · g(r)` with `x = 2^b·q + r`, where [`lookup`]
/// interpolates other functions. Exact but for the two table roundings and the product's (each
/// half a unit of `2^-O`, the first times `g < e^(2^(b-S))`, the second times `f`), and its
/// tables hold `knots + 2^b` rows where interpolation holds `2 · knots`. The split is pinned as
/// the interpolation's is: the rescale fixes `q` (its remainder is range-checked), `r` is `x -
/// 2^b·q`, and this table only holds `r` in `[0, 2^b)`.
pub(crate) fn split_exp_fraction(exp: Func, b: u32) -> Func {
    Func { lo: 0, hi: (1i64 << b) - 1, ..exp }
}

/// `a[i] * (1 / b[j])` for the index pairs, rescaled to the activation scale: division by a
/// computed tensor.
pub(crate) fn divide(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, pairs: Vec<(u32, u32)>, cx: &NodeCx) -> TensorId {
    let b = lw.rescale_to_activation(b);
    let (lo, hi) = activation_domain(lw);
    let recip = Func::new(FuncKind::Reciprocal, lw.scale(b), recip_scale(lw), lo, hi);
    let r = lookup(lw, b, recip, cx);
    product(lw, a, r, pairs, cx)
}

/// `x` where `keep` is 1 and the minimum of `x`'s group where it is 0: the maximum of a group is
/// then a kept position's (when it has one), and every value stays within the group's own range
/// (a fixed floor would widen what calibration measures).
fn kept_or_group_min(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    keep: TensorId,
    windows: &[Vec<u32>],
    to_group: &[(u32, u32)],
    cx: &NodeCx,
) -> TensorId {
    use crate::ops::activation::negate;
    let (s, gshape) = (lw.scale(x), vec![windows.len()]);
    let minus_x = negate(lw, x, cx);
    let op = Op::MaxPool { input: minus_x, windows: windows.to_vec() };
    let minus_min = lw.emit(&cx.name, &cx.origin, op, gshape.clone(), s);
    let gcx = NodeCx { shape: gshape, ..cx.clone() };
    let min = negate(lw, minus_min, &gcx);
    let to_group = to_group.to_vec();
    let above = add_pairs(lw, x, min, to_group.clone(), -1, cx);
    let kept = crate::ops::logic::mul(lw, keep, above, cx);
    add_pairs(lw, kept, min, to_group, 1, cx)
}

/// `a[i] * b[j]` for the pairs, at `cx.shape`, rescaled to the activation scale.
pub(crate) fn product(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, pairs: Vec<(u32, u32)>, cx: &NodeCx) -> TensorId {
    let t = crate::ops::logic::mul_pairs(lw, a, b, pairs, cx);
    lw.rescale_to_activation(t)
}

/// `Softmax` / `LogSoftmax` over `axes`; of a masked sum (an attention mask) see `mask`.
fn softmax(lw: &mut Lowerer<'_>, axes: &[usize], kind: SoftmaxKind, cx: &NodeCx) -> Result<Value, CompileError> {
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("Softmax needs an operand"))?;
    let in_shape = lw.outlet_shape(x_outlet)?;
    let windows = groups(&in_shape, axes, cx)?;
    let x = lw.operand(x_outlet, cx)?;
    if let Some(mask) = lw.masks.get(&x).cloned() {
        return crate::ops::mask::masked_softmax(lw, x, &mask, &windows, kind, cx);
    }
    let x = lw.rescale_to_activation(x);
    Ok(Value::Tensor(softmax_of(lw, x, &windows, kind, None, cx)))
}

/// The softmax (or log-softmax) of `x` over `windows`, groups of its flat positions that
/// together cover it once (not necessarily of one size); `cx.shape` is `x`'s shape. With
/// `d = x - max(x)` per group, `softmax = exp(d) · (1 / Σ exp(d))` and
/// `log_softmax = d - ln(Σ exp(d))`. With `keep` (0/1 at scale 0, a mask decided at run time,
/// see `mask`; Softmax only), the maximum is taken over the kept positions (the others read
/// their group's minimum) and each `exp(d)` is multiplied by the keep: a position not kept adds
/// 0 to the sum and gets 0.
pub(crate) fn softmax_of(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    windows: &[Vec<u32>],
    kind: SoftmaxKind,
    keep: Option<TensorId>,
    cx: &NodeCx,
) -> TensorId {
    let s = lw.scale(x);
    let n = windows.iter().map(Vec::len).max().unwrap_or(1);
    let total: usize = lw.shape(x).iter().product();
    let mut group_of = vec![0u32; total];
    for (g, w) in windows.iter().enumerate() {
        for &i in w {
            group_of[i as usize] = g as u32;
        }
    }
    let to_group: Vec<(u32, u32)> = identity(lw, x).into_iter().map(|i| (i, group_of[i as usize])).collect();
    let x = match keep {
        Some(k) => kept_or_group_min(lw, x, k, windows, &to_group, cx),
        None => x,
    };
    let gshape = vec![windows.len()];
    let gcx = NodeCx { shape: gshape.clone(), ..cx.clone() };
    let m = if n > 1 {
        lw.emit(&cx.name, &cx.origin, Op::MaxPool { input: x, windows: windows.to_vec() }, gshape.clone(), s)
    } else if windows.iter().enumerate().all(|(g, w)| w.first() == Some(&(g as u32))) {
        x
    } else {
        // groups of one, not in position order (a masked softmax's kept positions): a free gather
        let indices = windows.iter().filter_map(|w| w.first().copied()).collect();
        lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices }, gshape.clone(), s)
    };
    let d = add_pairs(lw, x, m, to_group.clone(), -1, cx);
    let (lo, _) = activation_domain(lw);
    // exp at scale 2S, so that the sum of n terms carries n rounding errors of 2^-2S, not 2^-S;
    // with two limbs the interpolated exp is range-checked, so at most 2^(R-2) for exp(0) = 1
    let e_scale = if lw.args.range_limbs > 1 { (2 * s).min(lw.args.range_bits().saturating_sub(2)) } else { 2 * s };
    let e = lookup(lw, d, Func::new(FuncKind::Exp, s, e_scale, 2 * lo + 1, 0), cx);
    let e = match keep {
        Some(k) => crate::ops::logic::mul(lw, e, k, cx),
        None => e,
    };
    let rows = windows.iter().map(|w| LinearRow { terms: w.iter().map(|&i| (i, 0)).collect(), bias: None }).collect();
    let sum = Op::Linear(Linear { input: e, weights: vec![1], rows });
    let sum = lw.emit(&cx.name, &cx.origin, sum, gshape.clone(), e_scale);
    let mut sum = lw.rescale_by(sum, e_scale.saturating_sub(s));
    if let Some(k) = keep {
        // a group the input hides entirely sums to 0: add 1 there (its terms are all 0, so its
        // probabilities are 0, as ONNX's Attention specifies for a fully masked row)
        let rows = windows.iter().map(|w| LinearRow { terms: w.iter().map(|&i| (i, 0)).collect(), bias: None });
        let count = Op::Linear(Linear { input: k, weights: vec![1], rows: rows.collect() });
        let count = lw.emit(&cx.name, &cx.origin, count, gshape.clone(), 0);
        let any = crate::ops::logic::step(lw, count, &gcx);
        let none = crate::ops::logic::not(lw, any, &gcx);
        sum = add(lw, sum, none, 1, &gcx);
    }
    // the maximum's term is exactly exp(0) = 2^e_scale, so the sum lies in [2^s, n·2^s] at scale
    // s (under a run-time mask, a group hidden entirely holds 1 from the line above)
    let (lo, hi) = (1i64 << s, (n as i64) << s);
    match kind {
        SoftmaxKind::Softmax => {
            let r = lookup(lw, sum, Func::new(FuncKind::Reciprocal, s, recip_scale(lw), lo, hi), &gcx);
            // the product needs exp at scale S only (it is rounded to S anyway), and a 2S-scale
            // value of 1 would not pass the range check of the rescale after the product
            let e_s = lw.rescale_by(e, e_scale.saturating_sub(s));
            product(lw, e_s, r, to_group, cx)
        }
        SoftmaxKind::LogSoftmax => {
            let l = lookup(lw, sum, Func::new(FuncKind::Log, s, s, lo, hi), &gcx);
            add_pairs(lw, d, l, to_group, -1, cx)
        }
    }
}
