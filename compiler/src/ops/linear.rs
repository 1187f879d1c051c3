//! Linear ops: `EinSum` (Gemm, MatMul), `Conv`, `SumPool` (AveragePool), `Reduce<Sum>`
//! (GlobalAveragePool), and the folding of constant scales and shifts (BatchNorm, Gemm's
//! alpha and beta, GlobalAveragePool's division) into them.
//!
//! A linear op is first built in float as a [`PendingLinear`]. It is quantized only when a
//! consumer needs an IR tensor: weights at the param scale `P`, biases at `in_scale + P`,
//! then a `Rescale` back to the activation scale.

use std::collections::HashMap;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, SumPool};
use tract_onnx::tract_core::ops::einsum::EinSum;
use zkonnx_ir::quant::quantize;
use zkonnx_ir::{Linear, LinearRow, Op, TensorId};

use crate::index::{for_each_coord, strides};
use crate::lower::{check_size, saturating_product, ConstVal, Lowerer, NodeCx, Value, MAX_LINEAR_TERMS};
use crate::ops::pool::geometry;
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Gemm",
        family: "linear",
        forms: "transA/transB, alpha, beta, C; constant B (or A) as weights, or both computed (IR MatMul)",
        limits: "more than 2^28 multiply-add terms (TooLarge)",
    },
    OpSupport {
        op: "MatMul",
        family: "linear",
        forms: "any rank, batch broadcasting; a constant operand as weights, or both computed (IR MatMul, attention)",
        limits: "more than 2^28 multiply-add terms (TooLarge)",
    },
    OpSupport {
        op: "Einsum",
        family: "linear",
        forms: "two operands, any expression: one constant (a linear map) or both computed (IR MatMul)",
        limits: "one or three or more operands (UnsupportedAttribute); more than 2^28 terms (TooLarge)",
    },
    OpSupport {
        op: "Conv",
        family: "linear",
        forms: "1-D to 3-D NCHW, constant OIHW weights and bias; any stride, dilation, padding, auto_pad, group",
        limits: "computed weights or bias (NonConstant); more than 2^28 multiply-add terms (TooLarge)",
    },
    OpSupport {
        op: "QLinearMatMul",
        family: "linear",
        forms: "rewritten at load: QuantizeLinear(MatMul(DequantizeLinear(a), DequantizeLinear(b))), per-column b",
        limits: "as MatMul and QuantizeLinear",
    },
    OpSupport {
        op: "MatMulInteger",
        family: "linear",
        forms: "rewritten at load: MatMul(a - a_zp, b - b_zp) on int32, scalar zero points",
        limits: "zero points per row or column (UnsupportedAttribute)",
    },
    OpSupport {
        op: "CausalConvWithState",
        family: "linear",
        forms: "rewritten at load: a depthwise Conv after past_state (or zeros), optional bias, SiLU/Swish; \
                present_state",
        limits: "computed weights; the present_state of a kernel of size 1 (UnsupportedAttribute)",
    },
    OpSupport {
        op: "AveragePool",
        family: "linear",
        forms: "any stride, dilation, padding, ceil_mode, count_include_pad: a linear map with weights 1/count",
        limits: "more than 2^28 multiply-add terms (TooLarge)",
    },
];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(v) = einsum_dynamic(lw, node, cx)? {
        return Ok(Some(v));
    }
    let pending = if let Some(op) = node.op_as::<EinSum>() {
        einsum(lw, op, cx)?
    } else if let Some(op) = node.op_as::<Conv>() {
        conv(lw, op, cx)?
    } else if let Some(op) = node.op_as::<SumPool>() {
        sum_pool(lw, op, cx)?
    } else if let Some(p) = crate::ops::deconv::lower(lw, node, cx)? {
        p
    } else {
        return Ok(None);
    };
    Ok(Some(Value::Pending(Box::new(pending))))
}

/// One output element of a [`PendingLinear`].
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RowF {
    /// `(input index, weight index)`.
    pub(crate) terms: Vec<(u32, u32)>,
    /// Index into the biases.
    pub(crate) bias: Option<u32>,
}

/// A linear map of one IR tensor, with float weights that may still absorb a following
/// per-element constant scale or shift.
#[derive(Clone, Debug)]
pub(crate) struct PendingLinear {
    pub(crate) input: TensorId,
    /// Output shape (the ONNX shape).
    pub(crate) shape: Vec<usize>,
    pub(crate) weights: Vec<f64>,
    pub(crate) biases: Vec<f64>,
    pub(crate) rows: Vec<RowF>,
    pub(crate) name: String,
    pub(crate) origin: String,
}

/// Deduplicates float parameters by value.
#[derive(Default)]
struct Interner {
    slots: HashMap<u64, u32>,
    values: Vec<f64>,
}

impl Interner {
    fn add(&mut self, v: f64) -> u32 {
        let v = if v == 0.0 { 0.0 } else { v }; // one slot for +0 and -0
        *self.slots.entry(v.to_bits()).or_insert_with(|| {
            self.values.push(v);
            (self.values.len() - 1) as u32
        })
    }
}

impl PendingLinear {
    /// A new map of `input` producing `shape`, labelled with the node it comes from.
    pub(crate) fn new(input: TensorId, shape: Vec<usize>, cx: &NodeCx) -> Self {
        PendingLinear {
            input,
            shape,
            weights: vec![],
            biases: vec![],
            rows: vec![],
            name: cx.name.clone(),
            origin: cx.origin.clone(),
        }
    }

    /// Multiplies output element `o` by `factor(o)`.
    pub(crate) fn scale_rows(&mut self, factor: impl Fn(usize) -> f64) {
        let (mut w, mut b) = (Interner::default(), Interner::default());
        for (o, row) in self.rows.iter_mut().enumerate() {
            let f = factor(o);
            for term in &mut row.terms {
                term.1 = w.add(self.weights[term.1 as usize] * f);
            }
            row.bias = row.bias.map(|i| b.add(self.biases[i as usize] * f));
        }
        self.weights = w.values;
        self.biases = b.values;
    }

    /// Adds `addend(o)` to output element `o`.
    pub(crate) fn shift_rows(&mut self, addend: impl Fn(usize) -> f64) {
        let mut b = Interner::default();
        for (o, row) in self.rows.iter_mut().enumerate() {
            let old = row.bias.map_or(0.0, |i| self.biases[i as usize]);
            let new = old + addend(o);
            row.bias = if row.bias.is_none() && new == 0.0 { None } else { Some(b.add(new)) };
        }
        self.biases = b.values;
    }

    /// Selects output elements: row `o` of the result is row `indices[o]`.
    pub(crate) fn gather(&self, indices: &[u32], shape: Vec<usize>) -> Self {
        let rows = indices.iter().map(|&i| self.rows[i as usize].clone()).collect();
        PendingLinear { rows, shape, ..self.clone() }
    }

    /// Quantizes and emits the op (weights at `P`, biases at `in_scale + P`), followed by a
    /// rescale to the activation scale.
    pub(crate) fn materialize(&self, lw: &mut Lowerer<'_>) -> TensorId {
        let p = lw.args.param_scale;
        let scale = lw.scale(self.input) + p;
        let mut weights: Vec<i64> = self.weights.iter().map(|&w| quantize(w, p)).collect();
        let offset = weights.len() as u32;
        weights.extend(self.biases.iter().map(|&b| quantize(b, scale)));
        let rows =
            self.rows.iter().map(|r| LinearRow { terms: r.terms.clone(), bias: r.bias.map(|b| b + offset) }).collect();
        let op = Op::Linear(Linear { input: self.input, weights, rows });
        let t = lw.emit(&self.name, &self.origin, op, self.shape.clone(), scale);
        lw.rescale_to_activation(t)
    }
}

/// The constant operand of a linear op, or a `NonConstant` error naming it.
fn constant(lw: &Lowerer<'_>, outlet: Option<&OutletId>, cx: &NodeCx, what: &str) -> Result<ConstVal, CompileError> {
    outlet.and_then(|o| lw.const_of(*o)).cloned().ok_or_else(|| cx.non_constant(what))
}

/// One axis of an einsum expression, with its positions in the data operand, the weight
/// operand and the output.
struct EinAxis {
    size: usize,
    data: Vec<usize>,
    weight: Vec<usize>,
    out: Vec<usize>,
}

/// `EinSum` with one constant operand (Gemm and MatMul after `into_typed`, e.g.
/// `mk,nk->mn`, `amk,kn->amn`).
fn einsum(lw: &mut Lowerer<'_>, op: &EinSum, cx: &NodeCx) -> Result<PendingLinear, CompileError> {
    if op.q_params.is_some() || cx.inputs.len() != 2 {
        return Err(cx.unsupported("a quantized or non-binary einsum"));
    }
    let (data_slot, w) = match (lw.const_of(cx.inputs[0]), lw.const_of(cx.inputs[1])) {
        (_, Some(w)) => (0, w.clone()),
        (Some(w), None) => (1, w.clone()),
        (None, None) => return Err(cx.non_constant("the second operand of MatMul/Gemm (the weights)")),
    };
    let x_shape = lw.outlet_shape(cx.inputs[data_slot])?;
    let x = lw.operand(cx.inputs[data_slot], cx)?;
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    p.weights = w.data.clone();
    // `einsum_terms` takes the shapes in operand order
    let shapes: [&[usize]; 2] = if data_slot == 0 { [&x_shape, &w.shape] } else { [&w.shape, &x_shape] };
    p.rows = einsum_terms(op, shapes, data_slot, cx)?.into_iter().map(|terms| RowF { terms, bias: None }).collect();
    Ok(p)
}

/// `EinSum` of two computed tensors (attention's `Q·Kᵀ`, `scores·V`): an IR `MatMul` at scale
/// `sa + sb`, rescaled to the activation scale. `None` when an operand is constant.
fn einsum_dynamic(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let Some(op) = node.op_as::<EinSum>() else { return Ok(None) };
    if cx.inputs.len() != 2 || lw.const_of(cx.inputs[0]).is_some() || lw.const_of(cx.inputs[1]).is_some() {
        return Ok(None);
    }
    if op.q_params.is_some() {
        return Err(cx.unsupported("a quantized einsum"));
    }
    let (sa, sb) = (lw.outlet_shape(cx.inputs[0])?, lw.outlet_shape(cx.inputs[1])?);
    let rows = einsum_terms(op, [&sa, &sb], 0, cx)?;
    let (a, b) = (lw.operand(cx.inputs[0], cx)?, lw.operand(cx.inputs[1], cx)?);
    let scale = lw.scale(a) + lw.scale(b);
    let t = lw.emit(&cx.name, &cx.origin, Op::MatMul { a, b, rows }, cx.shape.clone(), scale);
    Ok(Some(Value::Tensor(lw.rescale_to_activation(t))))
}

/// For each output element of an einsum, its `(data index, other index)` products, where
/// `shapes[data_slot]` is the data operand's shape and the other shape the second operand's.
fn einsum_terms(
    op: &EinSum,
    shapes: [&[usize]; 2],
    data_slot: usize,
    cx: &NodeCx,
) -> Result<Vec<Vec<(u32, u32)>>, CompileError> {
    let (x_shape, w_shape) = (shapes[data_slot], shapes[1 - data_slot]);
    let mut axes = Vec::new();
    for axis in op.axes.iter_all_axes() {
        let pos = |slot: usize| axis.inputs.get(slot).cloned().unwrap_or_default().to_vec();
        let (data, weight) = (pos(data_slot), pos(1 - data_slot));
        let out = axis.outputs.first().cloned().unwrap_or_default().to_vec();
        let dims = data
            .iter()
            .map(|&p| x_shape.get(p))
            .chain(weight.iter().map(|&p| w_shape.get(p)))
            .chain(out.iter().map(|&p| cx.shape.get(p)));
        let mut size = 1;
        for d in dims {
            let d = *d.ok_or_else(|| cx.shape_err(format!("einsum axis `{}` out of rank", axis.repr)))?;
            if d != 1 && size != 1 && d != size {
                return Err(cx.shape_err(format!("einsum axis `{}` has sizes {size} and {d}", axis.repr)));
            }
            size = size.max(d);
        }
        axes.push(EinAxis { size, data, weight, out });
    }
    let (xs, ws) = (strides(x_shape), strides(w_shape));
    let flat = |pos: &[usize], shape: &[usize], st: &[usize], v: usize| -> usize {
        pos.iter().map(|&p| if shape[p] == 1 { 0 } else { v * st[p] }).sum()
    };
    let contracted: Vec<usize> = (0..axes.len()).filter(|&a| axes[a].out.is_empty()).collect();
    let inner: Vec<usize> = contracted.iter().map(|&a| axes[a].size).collect();
    let total = saturating_product(cx.shape.iter().chain(&inner).copied());
    check_size(&cx.name, "the op's multiply-add terms", total, MAX_LINEAR_TERMS)?;
    let mut rows = Vec::with_capacity(cx.shape.iter().product());
    let mut vals = vec![0usize; axes.len()];
    for_each_coord(&cx.shape, |_, coord| {
        for (a, ax) in axes.iter().enumerate() {
            if let Some(&pos) = ax.out.first() {
                vals[a] = coord[pos];
            }
        }
        let mut terms = Vec::new();
        for_each_coord(&inner, |_, k| {
            for (&a, &v) in contracted.iter().zip(k) {
                vals[a] = v;
            }
            let (mut xi, mut wi) = (0, 0);
            for (ax, &v) in axes.iter().zip(&vals) {
                xi += flat(&ax.data, x_shape, &xs, v);
                wi += flat(&ax.weight, w_shape, &ws, v);
            }
            terms.push((xi as u32, wi as u32));
        });
        rows.push(terms);
    });
    Ok(rows)
}

/// 1-, 2- or 3-D convolution, NCHW / OIHW, any stride, dilation, padding and group.
fn conv(lw: &mut Lowerer<'_>, op: &Conv, cx: &NodeCx) -> Result<PendingLinear, CompileError> {
    if op.q_params.is_some() || op.kernel_fmt != KernelFormat::OIHW {
        return Err(cx.unsupported("a quantized or non-OIHW convolution"));
    }
    let kernel = constant(lw, cx.inputs.get(1), cx, "the Conv weights")?;
    let bias = match cx.inputs.get(2) {
        Some(_) => Some(constant(lw, cx.inputs.get(2), cx, "the Conv bias")?),
        None => None,
    };
    let x_shape = lw.outlet_shape(cx.inputs[0])?;
    let geo = geometry(&op.pool_spec, &x_shape, &cx.shape, cx)?;
    let (c_in, c_out, group) = (geo.channels, cx.shape[1], op.group.max(1));
    let (ig, og) = (c_in / group, c_out / group);
    let mut want_kernel = vec![c_out, ig];
    want_kernel.extend(&op.pool_spec.kernel_shape);
    if c_in % group != 0 || c_out % group != 0 || kernel.shape != want_kernel {
        return Err(cx.shape_err(format!("kernel shape {:?}, expected {want_kernel:?}", kernel.shape)));
    }
    let total = saturating_product([geo.batch, c_out, geo.taps.len(), ig, geo.kernel_len]);
    check_size(&cx.name, "the op's multiply-add terms", total, MAX_LINEAR_TERMS)?;
    let x = lw.operand(cx.inputs[0], cx)?;
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    p.weights = kernel.data;
    let per_channel = match bias {
        Some(b) => per_channel_bias(b, c_out, cx)?,
        None => vec![0.0; c_out],
    };
    for n in 0..geo.batch {
        for o in 0..c_out {
            let g = o / og;
            for taps in &geo.taps {
                let mut terms = Vec::new();
                for i in 0..ig {
                    let plane = ((n * c_in + g * ig + i) * geo.in_spatial) as u32;
                    let w0 = ((o * ig + i) * geo.kernel_len) as u32;
                    for (k, tap) in taps.iter().enumerate() {
                        if let Some(pos) = tap {
                            terms.push((plane + pos, w0 + k as u32));
                        }
                    }
                }
                p.rows.push(RowF { terms, bias: None });
            }
        }
    }
    let spatial = geo.taps.len();
    p.shift_rows(|row| per_channel[(row / spatial) % c_out]);
    Ok(p)
}

/// A convolution's bias as one value per output channel (a single value is broadcast).
pub(crate) fn per_channel_bias(bias: ConstVal, c_out: usize, cx: &NodeCx) -> Result<Vec<f64>, CompileError> {
    match bias.data.len() {
        1 => Ok(vec![bias.data[0]; c_out]),
        n if n == c_out => Ok(bias.data),
        n => Err(cx.shape_err(format!("bias of {n} values for {c_out} channels"))),
    }
}

/// AveragePool: weight `1/count` per tap, where `count` excludes padded taps unless
/// `count_include_pad` (ONNX semantics).
fn sum_pool(lw: &mut Lowerer<'_>, op: &SumPool, cx: &NodeCx) -> Result<PendingLinear, CompileError> {
    let x_shape = lw.outlet_shape(cx.inputs[0])?;
    let geo = geometry(&op.pool_spec, &x_shape, &cx.shape, cx)?;
    let total = saturating_product([geo.batch, geo.channels, geo.taps.len(), geo.kernel_len]);
    check_size(&cx.name, "the op's multiply-add terms", total, MAX_LINEAR_TERMS)?;
    let x = lw.operand(cx.inputs[0], cx)?;
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    let mut w = Interner::default();
    for plane in 0..geo.batch * geo.channels {
        for taps in &geo.taps {
            let valid: Vec<u32> = taps.iter().flatten().copied().collect();
            let count = if op.count_include_pad { geo.kernel_len } else { valid.len() };
            let weight = if op.normalize { 1.0 / count.max(1) as f64 } else { 1.0 };
            let wi = w.add(weight);
            let base = (plane * geo.in_spatial) as u32;
            p.rows.push(RowF { terms: valid.iter().map(|&v| (base + v, wi)).collect(), bias: None });
        }
    }
    p.weights = w.values;
    Ok(p)
}

/// `out[o] = factor(o) * x[map[o]]` as a pending linear op (a Mul or Div by a constant that
/// could not fold into a preceding linear op).
pub(crate) fn diagonal(x: TensorId, map: &[u32], factors: &[f64], cx: &NodeCx) -> PendingLinear {
    let mut p = PendingLinear::new(x, cx.shape.clone(), cx);
    let mut w = Interner::default();
    p.rows = map.iter().zip(factors).map(|(&i, &f)| RowF { terms: vec![(i, w.add(f))], bias: None }).collect();
    p.weights = w.values;
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cx() -> NodeCx {
        NodeCx { name: "n".into(), origin: "Gemm".into(), shape: vec![2], inputs: vec![] }
    }

    #[test]
    fn folding_scales_and_shifts_keeps_sharing() {
        let mut p = PendingLinear::new(0, vec![2], &cx());
        p.weights = vec![1.0, 2.0];
        p.rows = vec![RowF { terms: vec![(0, 0), (1, 1)], bias: None }, RowF { terms: vec![(0, 1)], bias: None }];
        p.shift_rows(|o| o as f64); // row 0 gets no bias, row 1 gets 1
        assert_eq!(p.rows[0].bias, None);
        p.scale_rows(|_| 3.0);
        assert_eq!(p.weights, vec![3.0, 6.0]);
        assert_eq!(p.rows[1].terms, vec![(0, 1)]);
        assert_eq!(p.biases, vec![3.0]);
        p.scale_rows(|o| if o == 0 { 1.0 } else { 0.5 });
        assert_eq!(p.weights, vec![3.0, 6.0]); // row 1's 6 * 0.5 = 3 reuses slot 0
        assert_eq!(p.rows[1].terms, vec![(0, 0)]);
        assert_eq!(p.biases, vec![1.5]);
    }
}
