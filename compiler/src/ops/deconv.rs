//! `ConvTranspose` (tract's `Deconv`): a linear map with constant weights, like `Conv`, so it
//! becomes a [`PendingLinear`] and costs the same dot-product rows as the convolution it
//! transposes.
//!
//! Input pixel `x` of channel `g·ig + i` scatters `W[o, i, k]` into output pixel
//! `y = x·stride + k·dilation - pad_before` of every channel `o` of group `g` (tract's kernel is
//! OIHW with the groups merged into `O`); each output element's row is the sum of what lands
//! on it, plus the channel's bias.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Deconv, KernelFormat};

use crate::index::{for_each_coord, strides};
use crate::lower::{check_size, saturating_product, Lowerer, NodeCx, MAX_LINEAR_TERMS};
use crate::ops::linear::{per_channel_bias, PendingLinear, RowF};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[OpSupport {
    op: "ConvTranspose",
    family: "deconv",
    forms: "constant OIHW weights and bias; any rank, stride, dilation, padding, group, output_padding",
    limits: "computed weights or bias (NonConstant); more than 2^28 multiply-add terms (TooLarge)",
}];

/// Lowers `Deconv`; `Ok(None)` for any other op.
pub(crate) fn lower(
    lw: &mut Lowerer<'_>,
    node: &TypedNode,
    cx: &NodeCx,
) -> Result<Option<PendingLinear>, CompileError> {
    let Some(op) = node.op_as::<Deconv>() else { return Ok(None) };
    if op.kernel_format != KernelFormat::OIHW || cx.inputs.len() != 3 {
        return Err(cx.unsupported("a ConvTranspose with a non-OIHW kernel"));
    }
    let constant = |i: usize, what: &str| lw.const_of(cx.inputs[i]).cloned().ok_or_else(|| cx.non_constant(what));
    let (kernel, bias) = (constant(1, "the ConvTranspose weights")?, constant(2, "the ConvTranspose bias")?);
    let x_shape = lw.outlet_shape(cx.inputs[0])?;
    let rank = op.pool_spec.kernel_shape.len();
    if x_shape.len() != rank + 2 || cx.shape.len() != rank + 2 || kernel.shape.len() != rank + 2 {
        return Err(cx.shape_err(format!("input {x_shape:?}, kernel {:?}, output {:?}", kernel.shape, cx.shape)));
    }
    let (batch, c_in, c_out, group) = (x_shape[0], x_shape[1], cx.shape[1], op.group.max(1));
    let (ig, og) = (c_in / group, c_out / group);
    let k_spatial = &kernel.shape[2..];
    if c_in % group != 0 || c_out % group != 0 || kernel.shape[0] != c_out || kernel.shape[1] != ig {
        return Err(cx.shape_err(format!("kernel {:?} for {c_in} -> {c_out} channels", kernel.shape)));
    }
    let (in_sp, out_sp) = (&x_shape[2..], &cx.shape[2..]);
    let (st, dil) = (op.pool_spec.strides(), op.pool_spec.dilations());
    let padded = op
        .pool_spec
        .padding
        .compute_for_deconv(in_sp, k_spatial, &dil, &st, &op.adjustments)
        .map_err(|e| cx.shape_err(format!("padding: {e}")))?;
    let pad: Vec<i64> = padded.iter().map(|p| p.pad_before as i64).collect();
    let (in_len, out_len, k_len) =
        (in_sp.iter().product::<usize>(), out_sp.iter().product::<usize>(), k_spatial.iter().product::<usize>());
    let total = saturating_product([batch, c_out, in_len, ig, k_len]);
    check_size(&cx.name, "the op's multiply-add terms", total, MAX_LINEAR_TERMS)?;
    // where each (input pixel, kernel tap) lands, if inside the output
    let out_strides = strides(out_sp);
    let mut landings: Vec<(usize, usize, usize)> = Vec::new(); // (input pixel, tap, output pixel)
    for_each_coord(in_sp, |xi, xc| {
        for_each_coord(k_spatial, |ki, kc| {
            let mut y = 0usize;
            for d in 0..rank {
                let pos = xc[d] as i64 * st[d] as i64 + kc[d] as i64 * dil[d] as i64 - pad[d];
                if pos < 0 || pos >= out_sp[d] as i64 {
                    return;
                }
                y += pos as usize * out_strides[d];
            }
            landings.push((xi, ki, y));
        });
    });
    let mut rows = vec![RowF { terms: vec![], bias: None }; batch * c_out * out_len];
    for n in 0..batch {
        for o in 0..c_out {
            let g = o / og;
            for i in 0..ig {
                let plane = (n * c_in + g * ig + i) * in_len;
                let w0 = (o * ig + i) * k_len;
                for &(xi, ki, y) in &landings {
                    rows[(n * c_out + o) * out_len + y].terms.push(((plane + xi) as u32, (w0 + ki) as u32));
                }
            }
        }
    }
    let per_channel = per_channel_bias(bias, c_out, cx)?;
    let x = lw.operand(cx.inputs[0], cx)?;
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    p.weights = kernel.data;
    p.rows = rows;
    p.shift_rows(|row| per_channel[(row / out_len) % c_out]);
    Ok(Some(p))
}
