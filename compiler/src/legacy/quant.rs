//! Quantized ONNX ops (the QDQ form quantization tools write, and the QLinear/Integer ops) as
//! float ops on the integers they hold, which the circuit computes exactly:
//!
//! - `QuantizeLinear(x, s, zp)` = `Cast(clamp(Round(x / s) + zp, lo, hi))`, `[lo, hi]` the range
//!   of the output type (zp's, `output_dtype`, or uint8); `Round` is half to even, as ONNX says;
//! - `DequantizeLinear(q, s, zp)` = `(q - zp) · s`;
//! - `DynamicQuantizeLinear(x)`: `s = (max(x, 0) - min(x, 0)) / 255`, `zp = clamp(Round(-min / s),
//!   0, 255)`, then as `QuantizeLinear` to uint8;
//! - `QLinearMatMul` = `QuantizeLinear(MatMul(DequantizeLinear(a), DequantizeLinear(b)))`;
//! - `MatMulInteger(a, b, a_zp, b_zp)` = `MatMul(a - a_zp, b - b_zp)` on int32.
//!
//! A per-axis scale or zero point (1-D, along `axis`) is reshaped to broadcast against a tensor
//! of declared rank; blocked quantization (`block_size`) is refused.

use super::{int_attr, Emit};
use crate::CompileError;

/// ONNX's `TensorProto.DataType` codes used here.
const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const UINT16: i32 = 4;
const INT16: i32 = 5;
const INT32: i32 = 6;

/// The values an integer type holds.
fn range(dtype: i32) -> Option<(f32, f32)> {
    match dtype {
        UINT8 => Some((0.0, 255.0)),
        INT8 => Some((-128.0, 127.0)),
        UINT16 => Some((0.0, 65535.0)),
        INT16 => Some((-32768.0, 32767.0)),
        _ => None,
    }
}

/// A scale or zero point `p` shaped to broadcast against `x`: as it is when a scalar (or of one
/// element) or when it runs along the last axis (`axis` `None`: QLinearMatMul's per-column `b`);
/// a 1-D `p` along the node's `axis` of `x` reshaped to `[n, 1, ..., 1]`.
fn along_axis(e: &mut Emit<'_>, p: &str, x: &str, by_axis: bool) -> Result<String, CompileError> {
    let per_tensor = match e.declared_rank(p) {
        Some(0) => true,
        Some(1) => e.declared_dim(p, 0) == Some(1),
        _ => false,
    };
    if per_tensor || !by_axis {
        return Ok(p.to_string());
    }
    // a scale of unknown rank may be a scalar or per axis: `[-1, 1, ..., 1]` suits both; an
    // axis outside the input holds for a scalar only
    let known = e.declared_rank(p).is_some();
    let Some(rank) = e.declared_rank(x) else {
        return if known {
            Err(e.unsupported("a per-axis scale for an input of undeclared rank"))
        } else {
            Ok(p.into())
        };
    };
    let axis = e.int("axis").unwrap_or(1);
    let axis = if axis < 0 { axis + rank as i64 } else { axis };
    if !(0..rank as i64).contains(&axis) {
        return if known { Err(e.unsupported(&format!("axis {axis} of a rank-{rank} input"))) } else { Ok(p.into()) };
    }
    let mut shape = vec![-1];
    shape.extend(std::iter::repeat_n(1, rank - 1 - axis as usize));
    let shape = e.ints(&shape);
    Ok(e.op("Reshape", &[p, &shape], vec![]))
}

fn refuse_blocks(e: &Emit<'_>) -> Result<(), CompileError> {
    match e.int("block_size") {
        Some(b) if b > 0 => Err(e.unsupported("blocked quantization (block_size)")),
        _ => Ok(()),
    }
}

/// `(q - zp) · s` as floats of the scale's type (per axis: see [`along_axis`]).
fn dequantize(e: &mut Emit<'_>, q: &str, (s, zp): (&str, Option<&str>), by_axis: bool) -> Result<String, CompileError> {
    let to = i64::from(e.elem_type(s).unwrap_or(FLOAT));
    let mut v = e.op("Cast", &[q], vec![int_attr("to", to)]);
    if let Some(zp) = zp {
        let zp = along_axis(e, zp, q, by_axis)?;
        let zp = e.op("Cast", &[&zp], vec![int_attr("to", to)]);
        v = e.op("Sub", &[&v, &zp], vec![]);
    }
    let s = along_axis(e, s, q, by_axis)?;
    Ok(e.op("Mul", &[&v, &s], vec![]))
}

/// `clamp(Round(x / s) + zp, lo, hi)` cast to `dtype`, written to output `out`.
fn quantize_to(
    e: &mut Emit<'_>,
    x: &str,
    (s, zp): (&str, Option<&str>),
    dtype: i32,
    out: usize,
) -> Result<(), CompileError> {
    let (lo, hi) = range(dtype).ok_or_else(|| e.unsupported(&format!("quantizing to the type {dtype}")))?;
    let s = along_axis(e, s, x, true)?;
    let q = e.op("Div", &[x, &s], vec![]);
    let mut q = e.op("Round", &[&q], vec![]);
    if let Some(zp) = zp {
        let zp = along_axis(e, zp, x, true)?;
        let to = i64::from(e.elem_type(x).unwrap_or(FLOAT));
        let zp = e.op("Cast", &[&zp], vec![int_attr("to", to)]);
        q = e.op("Add", &[&q, &zp], vec![]);
    }
    let clamped = clamp(e, &q, lo, hi);
    e.op_to_output(out, "Cast", &[&clamped], vec![int_attr("to", i64::from(dtype))]);
    Ok(())
}

/// `min(max(q, lo), hi)` of a float tensor.
fn clamp(e: &mut Emit<'_>, q: &str, lo: f32, hi: f32) -> String {
    let (lo, hi) = (e.scalar(lo), e.scalar(hi));
    let q = e.op("Max", &[q, &lo], vec![]);
    e.op("Min", &[&q, &hi], vec![])
}

/// Replaces `QuantizeLinear` in `e`.
pub(super) fn quantize_linear(e: &mut Emit<'_>) -> Result<(), CompileError> {
    refuse_blocks(e)?;
    let (Some(x), Some(s)) = (e.input(0), e.input(1)) else { return Err(e.unsupported("no input or scale")) };
    let zp = e.input(2);
    let dtype = match &zp {
        Some(zp) => e.elem_type(zp),
        None => e.int("output_dtype").filter(|&d| d > 0).map(|d| d as i32),
    }
    .unwrap_or(UINT8);
    quantize_to(e, &x, (&s, zp.as_deref()), dtype, 0)
}

/// Replaces `DequantizeLinear` in `e`.
pub(super) fn dequantize_linear(e: &mut Emit<'_>) -> Result<(), CompileError> {
    refuse_blocks(e)?;
    let (Some(q), Some(s)) = (e.input(0), e.input(1)) else { return Err(e.unsupported("no input or scale")) };
    let zp = e.input(2);
    let v = dequantize(e, &q, (&s, zp.as_deref()), true)?;
    e.op_to_output(0, "Identity", &[&v], vec![]);
    Ok(())
}

/// Replaces `DynamicQuantizeLinear` in `e`.
pub(super) fn dynamic_quantize_linear(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    let zero = e.scalar(0.0);
    let keepdims = || vec![int_attr("keepdims", 0)];
    let lo = e.op("ReduceMin", &[&x], keepdims());
    let lo = e.op("Min", &[&lo, &zero], vec![]);
    let hi = e.op("ReduceMax", &[&x], keepdims());
    let hi = e.op("Max", &[&hi, &zero], vec![]);
    let span = e.op("Sub", &[&hi, &lo], vec![]);
    let levels = e.scalar(255.0);
    let s = e.op("Div", &[&span, &levels], vec![]);
    let minus_lo = e.op("Neg", &[&lo], vec![]);
    let zp = e.op("Div", &[&minus_lo, &s], vec![]);
    let zp = e.op("Round", &[&zp], vec![]);
    let zp = clamp(e, &zp, 0.0, 255.0);
    e.op_to_output(1, "Identity", &[&s], vec![]);
    e.op_to_output(2, "Cast", &[&zp], vec![int_attr("to", i64::from(UINT8))]);
    let q = e.op("Div", &[&x, &s], vec![]);
    let q = e.op("Round", &[&q], vec![]);
    let q = e.op("Add", &[&q, &zp], vec![]);
    let clamped = clamp(e, &q, 0.0, 255.0);
    e.op_to_output(0, "Cast", &[&clamped], vec![int_attr("to", i64::from(UINT8))]);
    Ok(())
}

/// Replaces `QLinearMatMul` in `e`.
pub(super) fn qlinear_matmul(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let inputs: Vec<Option<String>> = (0..8).map(|i| e.input(i)).collect();
    let [Some(a), Some(a_s), Some(a_zp), Some(b), Some(b_s), Some(b_zp), Some(y_s), Some(y_zp)] = inputs.as_slice()
    else {
        return Err(e.unsupported("fewer than eight inputs"));
    };
    let a = dequantize(e, a, (a_s, Some(a_zp)), false)?;
    let b = dequantize(e, b, (b_s, Some(b_zp)), false)?;
    let y = e.op("MatMul", &[&a, &b], vec![]);
    let dtype = e.elem_type(y_zp).unwrap_or(UINT8);
    quantize_to(e, &y, (y_s, Some(y_zp)), dtype, 0)
}

/// Replaces `MatMulInteger` in `e`.
pub(super) fn matmul_integer(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(a), Some(b)) = (e.input(0), e.input(1)) else { return Err(e.unsupported("fewer than two inputs")) };
    let operand = |e: &mut Emit<'_>, x: &str, zp: Option<String>| -> Result<String, CompileError> {
        let v = e.op("Cast", &[x], vec![int_attr("to", i64::from(INT32))]);
        let Some(zp) = zp else { return Ok(v) };
        if !matches!(e.declared_rank(&zp), Some(0)) && e.declared_dim(&zp, 0) != Some(1) {
            return Err(e.unsupported("a zero point per row or column"));
        }
        let zp = e.op("Cast", &[&zp], vec![int_attr("to", i64::from(INT32))]);
        Ok(e.op("Sub", &[&v, &zp], vec![]))
    };
    let (za, zb) = (e.input(2), e.input(3));
    let a = operand(e, &a, za)?;
    let b = operand(e, &b, zb)?;
    e.op_to_output(0, "MatMul", &[&a, &b], vec![]);
    Ok(())
}
