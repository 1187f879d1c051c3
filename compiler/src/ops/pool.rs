//! Pooling geometry (shared with Conv and AveragePool) and `MaxPool`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;
use zkonnx_ir::Op;

use crate::index::for_each_coord;
use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "MaxPool",
        family: "pool",
        forms: "NCHW, any spatial rank: strides, dilations, pads, auto_pad, ceil_mode; the padding never wins",
        limits: "the Indices output; a window lying entirely in the padding (shape error)",
    },
    OpSupport {
        op: "LpPool",
        family: "pool",
        forms: "rewritten at load to (k * AveragePool(|x|^p), pads counted)^(1/p), each op in its own family",
        limits: "p below 1, dilations, no kernel_shape (UnsupportedAttribute)",
    },
    OpSupport {
        op: "LRN",
        family: "pool",
        forms: "rewritten at load to x · (bias + alpha/size · S)^-beta, S a Conv of ones over the channels' squares",
        limits: "an input of undeclared rank (UnsupportedAttribute)",
    },
];

/// Lowers `MaxPool`; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let Some(op) = node.op_as::<MaxPool>() else { return Ok(None) };
    if op.with_index_outputs.is_some() {
        return Err(cx.unsupported("MaxPool's indices output"));
    }
    let x_shape = lw.outlet_shape(cx.inputs[0])?;
    let geo = geometry(&op.pool_spec, &x_shape, &cx.shape, cx)?;
    let x = lw.operand(cx.inputs[0], cx)?;
    let mut windows = Vec::with_capacity(geo.batch * geo.channels * geo.taps.len());
    for plane in 0..geo.batch * geo.channels {
        let base = (plane * geo.in_spatial) as u32;
        for taps in &geo.taps {
            // padded positions are skipped: ONNX pads MaxPool with -inf
            let w: Vec<u32> = taps.iter().flatten().map(|&p| base + p).collect();
            if w.is_empty() {
                return Err(cx.shape_err("a pooling window lies entirely in the padding"));
            }
            windows.push(w);
        }
    }
    let scale = lw.scale(x);
    let t = lw.emit(&cx.name, &cx.origin, Op::MaxPool { input: x, windows }, cx.shape.clone(), scale);
    Ok(Some(Value::Tensor(t)))
}

/// Where each window of a pooling or convolution op reads, for an NCHW input.
#[derive(Debug)]
pub(crate) struct Geometry {
    pub(crate) batch: usize,
    pub(crate) channels: usize,
    /// Elements in one input plane (`H * W`).
    pub(crate) in_spatial: usize,
    /// Taps per window (the kernel's spatial size).
    pub(crate) kernel_len: usize,
    /// For each output position (row-major over the output plane), for each kernel tap
    /// (row-major over the kernel), the input plane offset it reads, or `None` in the padding.
    pub(crate) taps: Vec<Vec<Option<u32>>>,
}

/// Resolves padding (explicit, `SAME_UPPER`/`SAME_LOWER`, ceil mode) with tract's own rules
/// and lists every window's taps.
pub(crate) fn geometry(
    spec: &PoolSpec,
    in_shape: &[usize],
    out_shape: &[usize],
    cx: &NodeCx,
) -> Result<Geometry, CompileError> {
    if spec.data_format != DataFormat::NCHW {
        return Err(cx.unsupported(format!("data format {:?}", spec.data_format)));
    }
    let hw = spec.kernel_shape.len();
    if in_shape.len() != hw + 2 || out_shape.len() != hw + 2 {
        return Err(cx.shape_err(format!("input {in_shape:?} does not match a {hw}-D kernel")));
    }
    let in_hw = &in_shape[2..];
    let computed = spec.computed_padding(in_hw);
    let (strides, dilations) = (spec.strides(), spec.dilations());
    let out_hw: Vec<usize> = computed.iter().map(|c| c.convoluted).collect();
    if out_hw != out_shape[2..] {
        return Err(cx.shape_err(format!("computed output {out_hw:?}, tract says {out_shape:?}")));
    }
    let mut taps = Vec::with_capacity(out_hw.iter().product());
    for_each_coord(&out_hw, |_, o| {
        let mut window = Vec::with_capacity(spec.kernel_shape.iter().product());
        for_each_coord(&spec.kernel_shape, |_, k| {
            let mut flat = 0usize;
            let mut inside = true;
            for d in 0..hw {
                let pos = (o[d] * strides[d] + k[d] * dilations[d]) as isize - computed[d].pad_before as isize;
                if pos < 0 || pos as usize >= in_hw[d] {
                    inside = false;
                    break;
                }
                flat = flat * in_hw[d] + pos as usize;
            }
            window.push(inside.then_some(flat as u32));
        });
        taps.push(window);
    });
    Ok(Geometry {
        batch: in_shape[0],
        channels: in_shape[1],
        in_spatial: in_hw.iter().product(),
        kernel_len: spec.kernel_shape.iter().product(),
        taps,
    })
}
