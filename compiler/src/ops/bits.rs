//! `BitShift` of integers by constant amounts, exact, with ONNX's semantics: a left shift is a
//! product by `2^k` wrapped to the type's width (two's complement for signed types), a right
//! shift is a floor division by `2^k` (arithmetic for signed types), and an amount that is
//! negative or at least the width shifts everything out (0, or -1 for a negative value shifted
//! right).
//!
//! Every step is an existing op: a product by a constant tensor, and rescales, which are exact
//! floor divisions by powers of two (their remainders are range-checked). A shift amount
//! computed at run time would need a bit decomposition; real models hold it as a constant.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use zkonnx_ir::{Arith, ArithKind, Op, TensorId};

use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::activation::identity;
use crate::ops::logic::{floor_shift, gather_at, mul_pairs, read_at};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[OpSupport {
    op: "BitShift",
    family: "bits",
    forms: "integers by constant amounts (per element, broadcast): LEFT a product by 2^k wrapped to the type's width, \
            RIGHT an exact floor division by 2^k; amounts that are negative or at least the width shift everything out",
    limits:
        "an amount computed at run time (NonConstant); a 64-bit left shift that could overflow (UnsupportedAttribute)",
}];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let Some(op) = node.op_as::<TypedBinOp>() else { return Ok(None) };
    let left = match op.0.name() {
        "ShiftLeft" => true,
        "ShiftRight" => false,
        _ => return Ok(None),
    };
    let [x_outlet, k_outlet] = cx.inputs[..] else { return Err(cx.shape_err("BitShift needs two operands")) };
    let dt = node.outputs.first().map(|o| o.fact.datum_type).ok_or_else(|| cx.shape_err("BitShift has no output"))?;
    let width = 8 * dt.size_of() as u32;
    let k = lw.const_of(k_outlet).cloned().ok_or_else(|| cx.non_constant("the shift amount of BitShift"))?;
    let kmap = cx.broadcast_from(&k.shape)?;
    // `None`: the amount shifts every bit out
    let amounts: Vec<Option<u32>> = kmap
        .iter()
        .map(|&i| k.data[i as usize])
        .map(|v| (v >= 0.0 && v < f64::from(width)).then_some(v as u32))
        .collect();
    let xmap = cx.broadcast_from(&lw.outlet_shape(x_outlet)?)?;
    let x = lw.operand(x_outlet, cx)?;
    let x = lw.rescale_to_integer(x);
    let x = gather_at(lw, x, &xmap, cx);
    let bits = lw.args.range_bits().clamp(2, 62);
    let t = if left {
        shift_left(lw, x, &amounts, width, dt.is_signed(), bits, cx)?
    } else {
        shift_right(lw, x, &amounts, width.min(bits), cx)
    };
    Ok(Some(Value::Tensor(t)))
}

/// `x · 2^k` (0 where the amount is out of range), wrapped to `width` bits when the product can
/// leave the type (`|x| < 2^(bits-1)`, the checked range, bounds it).
fn shift_left(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    amounts: &[Option<u32>],
    width: u32,
    signed: bool,
    bits: u32,
    cx: &NodeCx,
) -> Result<TensorId, CompileError> {
    let factors = amounts.iter().map(|k| k.map_or(0, |k| 1i64 << k.min(62))).collect();
    let y = times(lw, x, factors, cx);
    let most = amounts.iter().flatten().max().copied().unwrap_or(0);
    // |y| < 2^(bits - 1 + most): no wrap when that fits the type
    let fits = if signed { bits + most < width + 1 } else { bits + most <= width };
    if fits {
        return Ok(y);
    }
    if width >= 63 {
        return Err(cx.unsupported("a left shift of a 64-bit integer whose result could overflow"));
    }
    // signed: y - 2^w·floor((y + 2^(w-1)) / 2^w); unsigned: y - 2^w·floor(y / 2^w)
    let q = if signed {
        let wide = read_at(lw, y, width, cx);
        lw.rescale_by(wide, width)
    } else {
        floor_shift(lw, y, width, cx)
    };
    let pairs = identity(lw, y).into_iter().map(|i| (i, i)).collect();
    let op = Op::Arith(Arith { a: y, b: q, pairs, kind: ArithKind::Add { ca: 1, cb: -(1i64 << width) } });
    Ok(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), 0))
}

/// `floor(x / 2^k)`, an amount out of range read as `cap` (`floor(x / 2^cap)` is then 0 or -1,
/// as `|x| < 2^(cap-1)` or the type's width bounds it). Amounts that differ are brought to the
/// largest, `K`, by a product by `2^(K-k)`, so one rescale by `K` divides every element.
fn shift_right(lw: &mut Lowerer<'_>, x: TensorId, amounts: &[Option<u32>], cap: u32, cx: &NodeCx) -> TensorId {
    let amounts: Vec<u32> = amounts.iter().map(|k| k.unwrap_or(cap).min(cap)).collect();
    let most = amounts.iter().max().copied().unwrap_or(0);
    if most == 0 {
        return x;
    }
    let y = if amounts.iter().all(|&k| k == most) {
        x
    } else {
        times(lw, x, amounts.iter().map(|&k| 1i64 << (most - k)).collect(), cx)
    };
    floor_shift(lw, y, most, cx)
}

/// `x · f` element by element for integer factors, at `x`'s scale (0).
fn times(lw: &mut Lowerer<'_>, x: TensorId, factors: Vec<i64>, cx: &NodeCx) -> TensorId {
    let k = lw.emit(&cx.name, &cx.origin, Op::Const { values: factors }, cx.shape.clone(), 0);
    let pairs = identity(lw, x).into_iter().map(|i| (i, i)).collect();
    mul_pairs(lw, x, k, pairs, cx)
}
