//! Comparisons, boolean logic, `Where`, `Sign`, `Floor`, `Ceil` and `Cast`, all exact integer
//! compositions of ReLU, add, multiply and rescale (no new constraints):
//!
//! - on integers, `[d >= 1] = relu(d) - relu(d - 1)`, so with `d = a - b` at a common scale,
//!   `Greater` is `[d >= 1]`, `GreaterOrEqual` is `[d + 1 >= 1]`, `Less`/`LessOrEqual` swap
//!   the operands and `Equal` is `[d >= 0] + [d <= 0] - 1`: a comparison of the *quantized*
//!   values, whose result is 0 or 1 at scale 0;
//! - on 0/1 values, `And` = `a*b`, `Or` = `a + b - a*b`, `Xor` = `a + b - 2ab`, `Not` = `1 - a`;
//! - `Where(c, x, y)` = `y + c * (x - y)`;
//! - `Sign(x)` = `[x >= 1] - [-x >= 1]`;
//! - at scale `s`, `Floor(x)` = `rescale(x - 2^(s-1), s)` and `Ceil(x)` =
//!   `rescale(x + 2^(s-1) - 1, s)` (the rescale rounds half up), at scale 0;
//! - `Cast` between booleans and floats, from a boolean to any integer type, between float types,
//!   from an integer to a float or a wider integer, between integers and tract's TDim (an i64),
//!   to its own type, or of an arg-max index to any integer type that holds the axis length,
//!   keeps the values.
//!
//! `Round` (half to even) is a table lookup (see `nonlinear`): the circuit's rescale rounds half up.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::logic::Iff;
use zkonnx_ir::{Arith, ArithKind, Op, TensorId};

use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::activation::{add, add_pairs, identity, negate, relu};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Less",
        family: "logic",
        forms: "of the quantized values at a common scale, broadcasting: exact 0/1 from ReLU steps",
        limits: "",
    },
    OpSupport {
        op: "Greater",
        family: "logic",
        forms: "of the quantized values at a common scale, broadcasting: exact 0/1 from ReLU steps",
        limits: "",
    },
    OpSupport {
        op: "LessOrEqual",
        family: "logic",
        forms: "of the quantized values at a common scale, broadcasting: exact 0/1 from ReLU steps",
        limits: "",
    },
    OpSupport {
        op: "GreaterOrEqual",
        family: "logic",
        forms: "of the quantized values at a common scale, broadcasting: exact 0/1 from ReLU steps",
        limits: "",
    },
    OpSupport {
        op: "Equal",
        family: "logic",
        forms: "of the quantized values at a common scale, broadcasting: exact 0/1 from ReLU steps",
        limits: "",
    },
    OpSupport { op: "Not", family: "logic", forms: "1 - a on a 0/1 tensor: exact", limits: "" },
    OpSupport {
        op: "IsNaN",
        family: "logic",
        forms: "of a computed tensor: false throughout (no fixed-point value is NaN; a softmax row masked \
                throughout fails at proving time instead), a constant",
        limits: "",
    },
    OpSupport {
        op: "IsInf",
        family: "logic",
        forms: "of a computed tensor: false throughout (no fixed-point value is infinite), a constant",
        limits: "",
    },
    OpSupport { op: "And", family: "logic", forms: "a*b on 0/1 tensors, broadcasting: exact", limits: "" },
    OpSupport { op: "Or", family: "logic", forms: "a + b - ab on 0/1 tensors, broadcasting: exact", limits: "" },
    OpSupport { op: "Xor", family: "logic", forms: "a + b - 2ab on 0/1 tensors, broadcasting: exact", limits: "" },
    OpSupport {
        op: "Where",
        family: "logic",
        forms: "y + c*(x - y), broadcasting; x and y computed or constant: exact",
        limits: "",
    },
    OpSupport { op: "Sign", family: "logic", forms: "[x >= 1] - [-x >= 1] on the quantized value: exact", limits: "" },
    OpSupport {
        op: "Floor",
        family: "logic",
        forms: "a rescale to scale 0 after an offset: exact on the quantized value",
        limits: "",
    },
    OpSupport {
        op: "Ceil",
        family: "logic",
        forms: "a rescale to scale 0 after an offset: exact on the quantized value",
        limits: "",
    },
    OpSupport {
        op: "Cast",
        family: "logic",
        forms: "a copy: bool/float to float, bool to int, int widening or to float, int/TDim, arg-max index to int, \
                float holding integers (an int cast, Round/Floor/Ceil, clamps and sums of them) to int; int to bool \
                as x != 0 (exact comparisons)",
        limits: "float to int or bool, int to a narrower int (UnsupportedAttribute)",
    },
    OpSupport {
        op: "CastLike",
        family: "logic",
        forms: "tract's Cast to the second input's type: as Cast",
        limits: "as Cast",
    },
    OpSupport {
        op: "QuantizeLinear",
        family: "logic",
        forms:
            "rewritten at load to Cast(clamp(Round(x / s) + zp)) to uint8/int8/uint16/int16; per-tensor or per-axis \
                (declared rank); computed scale",
        limits: "blocked quantization, 4-bit and float8 types (UnsupportedAttribute)",
    },
    OpSupport {
        op: "DequantizeLinear",
        family: "logic",
        forms: "rewritten at load to (q - zp) * s; per-tensor or per-axis (declared rank)",
        limits: "blocked quantization, 4-bit and float8 types",
    },
    OpSupport {
        op: "DynamicQuantizeLinear",
        family: "logic",
        forms: "rewritten at load: scale and zero point from the input's min and max, then QuantizeLinear to uint8",
        limits: "",
    },
    OpSupport {
        op: "PRelu",
        family: "logic",
        forms: "x < 0 ? slope*x : x as an exact comparison and Where; slope constant or computed",
        limits: "",
    },
];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(op) = node.op_as::<TypedBinOp>() {
        let name = op.0.name();
        if !["Eq", "NE", "LT", "GT", "LTE", "GTE", "And", "Or", "Xor"].contains(&name) {
            return Ok(None);
        }
        if let Some(v) = against_infinity(lw, name, cx) {
            return Ok(Some(v));
        }
        let (a, b) = two_operands(lw, cx)?;
        let t = match name {
            "GT" => greater(lw, a, b, 0, cx),
            "GTE" => greater(lw, a, b, 1, cx),
            "LT" => greater(lw, b, a, 0, cx),
            "LTE" => greater(lw, b, a, 1, cx),
            "Eq" | "NE" => {
                let (ge, le) = (greater(lw, a, b, 1, cx), greater(lw, b, a, 1, cx));
                let both = add(lw, ge, le, 1, cx);
                let eq = add_const(lw, both, -1, cx);
                if name == "Eq" {
                    eq
                } else {
                    not(lw, eq, cx)
                }
            }
            "And" => mul(lw, a, b, cx),
            _ => {
                // Or: a + b - ab; Xor: a + b - 2ab
                let (sum, prod) = (add(lw, a, b, 1, cx), mul(lw, a, b, cx));
                add(lw, sum, prod, if name == "Or" { -1 } else { -2 }, cx)
            }
        };
        return Ok(Some(Value::Tensor(t)));
    }
    if node.op_as::<Iff>().is_some() {
        return where_(lw, cx).map(Some);
    }
    if let Some(op) = node.op_as::<Cast>() {
        let from = lw.model.outlet_fact(cx.inputs[0]).map_err(|e| CompileError::tract("reading a Cast", e))?.datum_type;
        let keeps = |d: DatumType| d == DatumType::Bool || d.is_float();
        // integers (scale 0) keep their values as floats or as wider integers
        let widens =
            from.is_integer() && (op.to.is_float() || (op.to.is_integer() && op.to.size_of() >= from.size_of()));
        let same = from == op.to;
        // a boolean is 0 or 1 at scale 0, which every integer type holds; tract's symbolic integer
        // (TDim, which decluttering makes of some int64 casts) is an i64
        let bool_to_int = from == DatumType::Bool && (op.to.is_integer() || op.to == DatumType::TDim);
        let dims = (from.is_integer() && op.to == DatumType::TDim)
            || (from == DatumType::TDim && (op.to.is_float() || op.to == DatumType::I64));
        // an arg-max index narrowed to a type that holds every index it can take
        let fits = |n: usize| op.to.is_integer() && (n as f64) < 2f64.powi(8 * op.to.size_of() as i32 - 1);
        let narrows = crate::ops::tree::index_bound(lw.model, cx.inputs[0]).is_some_and(fits);
        // a float tensor that holds integers (an integer cast to float and reshaped, e.g.
        // skl2onnx's class labels; a Round, Floor or Ceil, clamped or offset by integers, e.g. a
        // QuantizeLinear) truncates to itself
        if from.is_float() && (op.to.is_integer() || op.to == DatumType::TDim) && integer_valued(lw, cx.inputs[0], 8) {
            let x = lw.operand(cx.inputs[0], cx)?;
            return Ok(Some(Value::Tensor(lw.rescale_to_integer(x))));
        }
        if from.is_integer() && op.to == DatumType::Bool {
            // x != 0 for an integer x (at scale 0): [x >= 1] + [-x >= 1]
            let x = lw.operand(cx.inputs[0], cx)?;
            let x = lw.rescale_to_integer(x);
            let minus_x = negate(lw, x, cx);
            let (pos, neg) = (step(lw, x, cx), step(lw, minus_x, cx));
            return Ok(Some(Value::Tensor(add(lw, pos, neg, 1, cx))));
        }
        if !same
            && !bool_to_int
            && !dims
            && !widens
            && !narrows
            && (!(keeps(from) && keeps(op.to)) || (from.is_float() && op.to == DatumType::Bool))
        {
            return Err(cx.unsupported(format!("Cast from {from:?} to {:?}", op.to)));
        }
        return crate::ops::shape::gather(lw, cx.inputs[0], None, cx).map(Some);
    }
    let Some(op) = node.op_as::<ElementWiseOp>() else { return Ok(None) };
    let name = op.0.name();
    if ["IsNan", "IsInf"].contains(&name.as_ref()) {
        // a computed tensor is fixed point, never NaN or infinite (a constant one tract folds);
        // a masked sum is -inf at its hidden positions in float
        if crate::ops::mask::is_masked(lw, cx.inputs[0])? {
            return Err(cx.unsupported(format!("{name} of a sum with an attention mask (-inf where it hides)")));
        }
        let data = vec![0.0; cx.shape.iter().product()];
        return Ok(Some(Value::Const(ConstVal { shape: cx.shape.clone(), data })));
    }
    if !["Not", "Sign", "Floor", "Ceil"].contains(&name.as_ref()) {
        return Ok(None);
    }
    let x = lw.operand(cx.inputs[0], cx)?;
    let t = match name.as_ref() {
        "Not" => not(lw, x, cx),
        "Sign" => {
            let minus_x = negate(lw, x, cx);
            let (pos, neg) = (step(lw, x, cx), step(lw, minus_x, cx));
            add(lw, pos, neg, -1, cx)
        }
        floor_or_ceil => {
            let s = lw.scale(x);
            if s == 0 {
                return Ok(Some(Value::Tensor(x)));
            }
            if floor_or_ceil == "Floor" {
                return Ok(Some(Value::Tensor(floor_shift(lw, x, s, cx))));
            }
            // ceil(x) = floor((x + 2^s - 1) / 2^s): the rescale of x + 2^(s-1) - 1
            let shifted = add_const(lw, x, (1i64 << (s - 1)) - 1, cx);
            lw.rescale_by(shifted, s)
        }
    };
    Ok(Some(Value::Tensor(t)))
}

/// A comparison of a computed tensor (finite, as every activation is) with a constant that is
/// -inf or +inf throughout (ONNX's `Attention` asks `max(mask) == -inf` for fully masked rows):
/// the same answer for every element, a constant; `None` for any other comparison.
fn against_infinity(lw: &Lowerer<'_>, name: &str, cx: &NodeCx) -> Option<Value> {
    let [a, b] = cx.inputs[..] else { return None };
    let (c, const_first) = match (lw.const_of(a), lw.const_of(b)) {
        (None, Some(c)) => (c, false),
        (Some(c), None) => (c, true),
        _ => return None,
    };
    // a masked sum is -inf at its hidden positions: compared as a tensor, its reader is refused
    if crate::ops::mask::is_masked(lw, if const_first { b } else { a }).unwrap_or(true) {
        return None;
    }
    let first = *c.data.first()?;
    if first.is_finite() || c.data.iter().any(|&v| v != first) {
        return None;
    }
    // `x op c` with `x` finite; a constant first operand swaps the order
    let name = match (name, const_first) {
        ("GT", true) => "LT",
        ("GTE", true) => "LTE",
        ("LT", true) => "GT",
        ("LTE", true) => "GTE",
        (n, _) => n,
    };
    let holds = match name {
        "Eq" => false,
        "NE" => true,
        "GT" | "GTE" => first < 0.0,
        "LT" | "LTE" => first > 0.0,
        _ => return None,
    };
    let data = vec![if holds { 1.0 } else { 0.0 }; cx.shape.iter().product()];
    Some(Value::Const(ConstVal { shape: cx.shape.clone(), data }))
}

/// The two operands of a binary op broadcast to the output (gathered when needed); a constant
/// operand becomes an IR constant at the other operand's scale.
fn two_operands(lw: &mut Lowerer<'_>, cx: &NodeCx) -> Result<(TensorId, TensorId), CompileError> {
    if cx.inputs.len() != 2 {
        return Err(cx.shape_err("a binary op needs two operands"));
    }
    let (ca, cb) = (lw.const_of(cx.inputs[0]).is_some(), lw.const_of(cx.inputs[1]).is_some());
    // the computed operand first, so a constant can take its scale
    let order = if ca && !cb { [1, 0] } else { [0, 1] };
    let mut out = [0; 2];
    for k in order {
        let outlet = cx.inputs[k];
        let scale = if k == order[1] { lw.scale(out[order[0]]) } else { lw.args.input_scale };
        let t = lw.tensor(outlet, &cx.name, &cx.origin, scale)?;
        out[k] = broadcast(lw, t, &lw.outlet_shape(outlet)?, cx)?;
    }
    Ok((out[0], out[1]))
}

/// `t` (of ONNX shape `shape`) broadcast to the node's output shape.
fn broadcast(lw: &mut Lowerer<'_>, t: TensorId, shape: &[usize], cx: &NodeCx) -> Result<TensorId, CompileError> {
    let map = cx.broadcast_from(shape)?;
    Ok(gather_at(lw, t, &map, cx))
}

/// `t` read at `map` (one index per element of `cx.shape`), at `t`'s scale: `t` itself when
/// the map is the identity, else a free Gather.
pub(crate) fn gather_at(lw: &mut Lowerer<'_>, t: TensorId, map: &[u32], cx: &NodeCx) -> TensorId {
    if map.len() == lw.shape(t).iter().product::<usize>() && map.iter().enumerate().all(|(i, &j)| i as u32 == j) {
        return t;
    }
    let scale = lw.scale(t);
    lw.emit(&cx.name, &cx.origin, Op::Gather { input: t, indices: map.to_vec() }, cx.shape.clone(), scale)
}

/// The integers of `t` read at `scale` (a free Gather; `t` itself at its own scale), e.g. so a
/// rescale by `scale` divides them, or so values at a scale count as integer units.
pub(crate) fn read_at(lw: &mut Lowerer<'_>, t: TensorId, scale: u32, cx: &NodeCx) -> TensorId {
    if lw.scale(t) == scale {
        return t;
    }
    let indices = (0..lw.shape(t).iter().product::<usize>() as u32).collect();
    let shape = lw.shape(t).to_vec();
    lw.emit(&cx.name, &cx.origin, Op::Gather { input: t, indices }, shape, scale)
}

/// `floor(t / 2^k)` of the integer units of `t`, at `t`'s scale minus `k` (`t` is read at
/// scale `k` first where its own is lower): a rescale of `t - 2^(k-1)`, since the rescale rounds
/// half up. Exact; the rescale's remainder is range-checked. `k >= 1`.
pub(crate) fn floor_shift(lw: &mut Lowerer<'_>, t: TensorId, k: u32, cx: &NodeCx) -> TensorId {
    let t = if lw.scale(t) < k { read_at(lw, t, k, cx) } else { t };
    let shifted = add_const(lw, t, -(1i64 << (k - 1)), cx);
    lw.rescale_by(shifted, k)
}

/// `[a - b + offset >= 1]` (offset 0: `a > b`; 1: `a >= b`) as 0/1 at scale 0.
fn greater(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, offset: i64, cx: &NodeCx) -> TensorId {
    let d = add(lw, a, b, -1, cx);
    let d = if offset == 0 { d } else { add_const(lw, d, offset, cx) };
    step(lw, d, cx)
}

/// `[d >= 1]` for integers `d`: `relu(d) - relu(d - 1)`, as 0/1 at scale 0.
pub(crate) fn step(lw: &mut Lowerer<'_>, d: TensorId, cx: &NodeCx) -> TensorId {
    let d1 = add_const(lw, d, -1, cx);
    let (r, r1) = (relu(lw, d, cx), relu(lw, d1, cx));
    let step = add(lw, r, r1, -1, cx);
    relabel(lw, step, 0)
}

/// `1 - x` for a 0/1 tensor.
pub(crate) fn not(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let one = constant(lw, 1, 0, cx);
    let pairs = identity(lw, x).into_iter().map(|i| (0, i)).collect();
    add_pairs(lw, one, x, pairs, -1, cx)
}

/// Element-wise product, at the sum of the scales.
pub(crate) fn mul(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, cx: &NodeCx) -> TensorId {
    let pairs = identity(lw, a).into_iter().map(|i| (i, i)).collect();
    mul_pairs(lw, a, b, pairs, cx)
}

/// `a[i] * b[j]` for the index pairs, at `cx.shape` and the sum of the scales.
pub(crate) fn mul_pairs(
    lw: &mut Lowerer<'_>,
    a: TensorId,
    b: TensorId,
    pairs: Vec<(u32, u32)>,
    cx: &NodeCx,
) -> TensorId {
    let scale = lw.scale(a) + lw.scale(b);
    lw.emit(&cx.name, &cx.origin, Op::Arith(Arith { a, b, pairs, kind: ArithKind::Mul }), cx.shape.clone(), scale)
}

/// `x + units` (integer units at x's scale).
pub(crate) fn add_const(lw: &mut Lowerer<'_>, x: TensorId, units: i64, cx: &NodeCx) -> TensorId {
    let k = constant(lw, units, lw.scale(x), cx);
    let pairs = identity(lw, x).into_iter().map(|i| (i, 0)).collect();
    add_pairs(lw, x, k, pairs, 1, cx)
}

/// A one-element IR constant holding the integer `units` at `scale`.
fn constant(lw: &mut Lowerer<'_>, units: i64, scale: u32, cx: &NodeCx) -> TensorId {
    lw.emit(&cx.name, &cx.origin, Op::Const { values: vec![units] }, vec![1], scale)
}

/// The same integers read at another scale (a 0/1 result is at scale 0 whatever its inputs').
pub(crate) fn relabel(lw: &mut Lowerer<'_>, t: TensorId, scale: u32) -> TensorId {
    lw.graph.nodes[t].scale = scale;
    t
}

/// `Where(c, x, y)` = `y + c * (x - y)`; with a branch of -inf, an attention mask (see `mask`).
fn where_(lw: &mut Lowerer<'_>, cx: &NodeCx) -> Result<Value, CompileError> {
    if cx.inputs.len() != 3 {
        return Err(cx.shape_err("Where needs a condition and two values"));
    }
    if let Some(v) = crate::ops::mask::masked_where(lw, cx)? {
        return Ok(v);
    }
    let c = where_condition(lw, false, cx)?;
    where_with(lw, c, None, cx).map(Value::Tensor)
}

/// `Where` of the node's branches by the condition `c` (from [`where_condition`]), except that
/// branch `k` (0: x, 1: y) of `replace` takes the given constant instead of its own value.
pub(crate) fn where_with(
    lw: &mut Lowerer<'_>,
    c: TensorId,
    replace: Option<(usize, &ConstVal)>,
    cx: &NodeCx,
) -> Result<TensorId, CompileError> {
    let mut xy = [0; 2];
    let computed = cx.inputs[1..].iter().position(|&o| lw.const_of(o).is_none());
    let scale = match computed {
        Some(k) => {
            let t = lw.operand(cx.inputs[1 + k], cx)?;
            lw.scale(t)
        }
        None => lw.args.input_scale,
    };
    for (k, (slot, &outlet)) in xy.iter_mut().zip(&cx.inputs[1..]).enumerate() {
        let t = match replace {
            Some((r, c)) if r == k => lw.const_tensor(c, scale, &cx.name, &cx.origin),
            _ => lw.tensor(outlet, &cx.name, &cx.origin, scale)?,
        };
        *slot = broadcast(lw, t, &lw.outlet_shape(outlet)?, cx)?;
    }
    let d = add(lw, xy[0], xy[1], -1, cx);
    let m = mul(lw, c, d, cx);
    Ok(add(lw, xy[1], m, 1, cx))
}

/// The condition of the node's `Where` at scale 0, broadcast to its output. A boolean model
/// input is held to 0/1 by `[c >= 1]` (nothing else holds it; a comparison's output is 0/1 by
/// construction); with `held`, any condition is (a mask's keep must be 0/1 whatever feeds it).
pub(crate) fn where_condition(lw: &mut Lowerer<'_>, held: bool, cx: &NodeCx) -> Result<TensorId, CompileError> {
    let c_outlet = cx.inputs[0];
    let c = lw.tensor(c_outlet, &cx.name, &cx.origin, 0)?;
    let c = if held || matches!(lw.graph.nodes[c].op, Op::Input { .. }) {
        // held at its own shape (a mask broadcast over heads), before the broadcast
        step(lw, c, &NodeCx { shape: lw.shape(c).to_vec(), ..cx.clone() })
    } else {
        c
    };
    broadcast(lw, c, &lw.outlet_shape(c_outlet)?, cx)
}

/// Whether `outlet` holds integers: [`integral`], a Round, Floor or Ceil, or a sum,
/// difference, product, maximum or minimum of such tensors and of constants holding integers
/// (`1 - attention_mask`, a clamp), or such a tensor moved (an axis added, a broadcast).
pub(crate) fn integer_valued(lw: &Lowerer<'_>, outlet: OutletId, depth: u32) -> bool {
    if let Some(c) = lw.const_of(outlet) {
        return c.data.iter().all(|v| v.fract() == 0.0);
    }
    if integral(lw.model, outlet) {
        return true;
    }
    let node = lw.model.node(outlet.node);
    let rounds = ["RoundHalfToEven", "Round", "Floor", "Ceil"];
    if node.op_as::<ElementWiseOp>().is_some_and(|op| rounds.contains(&op.0.name().as_ref())) {
        return true;
    }
    // moved (an axis added, a broadcast) without arithmetic, or cast between float types (a
    // float of any width holds an integer as an integer)
    let moves = node.op_as::<tract_onnx::tract_core::ops::change_axes::AxisOp>().is_some()
        || node.op_as::<tract_onnx::tract_core::ops::array::MultiBroadcastTo>().is_some()
        || node.op_as::<Cast>().is_some();
    if moves {
        return depth > 0 && node.inputs.first().is_some_and(|&i| integer_valued(lw, i, depth - 1));
    }
    let arithmetic =
        node.op_as::<TypedBinOp>().is_some_and(|op| ["Add", "Sub", "Mul", "Max", "Min"].contains(&op.0.name()));
    depth > 0 && arithmetic && node.inputs.iter().all(|&i| integer_valued(lw, i, depth - 1))
}

/// Whether `outlet` holds integers: an integer or boolean tensor, or one cast to float and moved
/// (reshaped, transposed, broadcast) without arithmetic.
fn integral(model: &TypedModel, mut outlet: OutletId) -> bool {
    use tract_onnx::tract_core::ops::array::MultiBroadcastTo;
    use tract_onnx::tract_core::ops::change_axes::AxisOp;
    for _ in 0..64 {
        let Ok(fact) = model.outlet_fact(outlet) else { return false };
        if fact.datum_type.is_integer() || fact.datum_type == DatumType::Bool {
            return true;
        }
        let node = model.node(outlet.node);
        let moves = node.op_as::<Cast>().is_some()
            || node.op_as::<AxisOp>().is_some()
            || node.op_as::<MultiBroadcastTo>().is_some();
        match node.inputs.first() {
            Some(&input) if moves => outlet = input,
            _ => return false,
        }
    }
    false
}
