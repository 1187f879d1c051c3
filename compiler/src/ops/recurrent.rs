//! Recurrent nets (ONNX `RNN`, `GRU`, `LSTM`), unrolled over the sequence.
//!
//! tract imports each as a `Scan`: a loop whose body computes one time step from the step's
//! slice of the input and the carried state (`h`, and `c` for an LSTM). A circuit has no loops,
//! so the body is lowered once per step, with its inputs bound to that step's slice, the
//! weights and the previous step's state; the per-step outputs are stacked along the scan axis
//! (a free `Select`) and the last state becomes `Y_h` / `Y_c`. The cost is the body's, times
//! the sequence length.
//!
//! tract fuses an LSTM step's gate activations and cell update into one `LstmEpilogue`; it is
//! lowered here as ONNX defines it: with the pre-activations `p = [i, o, f, c]`,
//! `C = σ(f)·C₋₁ + σ(i)·tanh(c)` and `H = σ(o)·tanh(C)` (sigmoid and tanh by table lookup, the
//! two products of the cell update summed before one rescale). A GRU with
//! `linear_before_reset` (PyTorch's) becomes a `GruEpilogue` per step, or, over four steps or
//! more, one whole-sequence `GruSeq`, unrolled here the same way: with `xh = x·Wᵀ + Wb` and
//! `rh = h·Rᵀ + Rb` (gate order z, r, h), `z = σ(xh_z + rh_z)`, `r = σ(xh_r + rh_r)`,
//! `n = tanh(xh_n + r·rh_n)` and `H = n + z·(H₋₁ - n)`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::gru_cell::GruEpilogue;
use tract_onnx::tract_core::ops::gru_seq::GruSeq;
use tract_onnx::tract_core::ops::lstm_cell::LstmEpilogue;
use tract_onnx::tract_core::ops::scan::{InputMapping, Scan};
use zkonnx_ir::{Func, FuncKind, Op, TensorId};

use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::activation::{add, add_pairs};
use crate::ops::linear::{PendingLinear, RowF};
use crate::ops::logic::mul_pairs;
use crate::ops::movement::{concat_picks, strided_map};
use crate::ops::nonlinear::{activation_domain, lookup, product};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "LSTM",
        family: "recurrent",
        forms: "unrolled per step; forward or bidirectional, either layout, peepholes; sigmoid and tanh lookups",
        limits: "",
    },
    OpSupport {
        op: "GRU",
        family: "recurrent",
        forms: "unrolled per step; linear_before_reset as fused cells (GruSeq from 4 steps), else tract's step body",
        limits: "GruSeq with W, R or B computed at run time (NonConstant)",
    },
    OpSupport {
        op: "RNN",
        family: "recurrent",
        forms: "unrolled per step (tract's step body: matmuls, adds, a tanh lookup); forward or bidirectional",
        limits: "",
    },
];

/// Lowers the multi-output ops of the family; `Ok(None)` for any other op.
pub(crate) fn lower_multi<'a>(
    lw: &mut Lowerer<'a>,
    node: &'a TypedNode,
    cx: &NodeCx,
) -> Result<Option<Vec<Value>>, CompileError> {
    if let Some(scan) = node.op_as::<Scan>() {
        return unroll(lw, scan, node, cx).map(Some);
    }
    if let Some(op) = node.op_as::<LstmEpilogue>() {
        return lstm_cell(lw, op.hidden, cx).map(Some);
    }
    if let Some(op) = node.op_as::<GruSeq>() {
        return gru_seq(lw, op, node, cx).map(Some);
    }
    if let Some(op) = node.op_as::<GruEpilogue>() {
        let [xh, rh, h] = cx.inputs[..] else { return Err(cx.shape_err("a GRU cell needs three inputs")) };
        let batch = lw.outlet_shape(h)?.iter().product::<usize>() / op.hidden.max(1);
        let (xh, rh, h) = (lw.operand(xh, cx)?, lw.operand(rh, cx)?, lw.operand(h, cx)?);
        return Ok(Some(vec![Value::Tensor(gru_cell(lw, [xh, rh, h], batch, op.hidden, cx))]));
    }
    Ok(None)
}

/// The scan's outer outputs, after lowering the body once per iteration.
fn unroll<'a>(
    lw: &mut Lowerer<'a>,
    scan: &'a Scan,
    node: &'a TypedNode,
    cx: &NodeCx,
) -> Result<Vec<Value>, CompileError> {
    if scan.skip != 0 {
        return Err(cx.unsupported("a loop that skips its first iterations"));
    }
    if cx.inputs.len() != scan.input_mapping.len() {
        return Err(cx.shape_err("the loop's inputs do not match its input mapping"));
    }
    let mut iterations = None;
    for (&outlet, mapping) in cx.inputs.iter().zip(&scan.input_mapping) {
        if let InputMapping::Scan(info) = mapping {
            let len = *lw.outlet_shape(outlet)?.get(info.axis).ok_or_else(|| cx.shape_err("scan axis out of range"))?;
            let chunk = info.chunk.unsigned_abs();
            if chunk == 0 || len % chunk != 0 {
                return Err(cx.unsupported(format!("a scan of {len} steps in chunks of {chunk}")));
            }
            iterations = Some(len / chunk);
        }
    }
    let iterations = iterations.ok_or_else(|| cx.unsupported("a loop with no scanned input"))?;
    // the state, initialised from the outer inputs (as IR tensors: a constant initial state
    // would otherwise meet a constant weight in the body's first product)
    let mut state = Vec::new();
    for (&outlet, mapping) in cx.inputs.iter().zip(&scan.input_mapping) {
        if mapping.is_state() {
            state.push(Value::Tensor(lw.operand(outlet, cx)?));
        }
    }
    // a computed full input (not a constant weight) is materialized once, not once per step
    let mut full = Vec::with_capacity(cx.inputs.len());
    for (&outlet, mapping) in cx.inputs.iter().zip(&scan.input_mapping) {
        full.push(match (mapping, lw.const_of(outlet)) {
            (InputMapping::Full, Some(_)) => Some(lw.value(outlet)?.clone()),
            (InputMapping::Full, None) => Some(Value::Tensor(lw.operand(outlet, cx)?)),
            _ => None,
        });
    }
    let n_states = state.len();
    let state_outputs = scan.output_mapping.iter().filter(|m| m.state).count();
    if state_outputs != n_states || scan.output_mapping.iter().take(n_states).any(|m| !m.state) {
        return Err(cx.unsupported("a loop whose state outputs do not lead its outputs"));
    }
    let label = (cx.name.clone(), cx.origin.clone());
    let mut steps: Vec<Vec<TensorId>> = vec![Vec::with_capacity(iterations); scan.output_mapping.len()];
    let mut last: Vec<Option<Value>> = vec![None; scan.output_mapping.len()];
    for i in 0..iterations {
        let mut bound = Vec::with_capacity(cx.inputs.len());
        let mut next_state = state.iter();
        for ((&outlet, mapping), full) in cx.inputs.iter().zip(&scan.input_mapping).zip(&full) {
            bound.push(match mapping {
                InputMapping::Full => full.clone().ok_or_else(|| cx.shape_err("loop input"))?,
                InputMapping::State => next_state.next().cloned().ok_or_else(|| cx.shape_err("loop state"))?,
                InputMapping::Scan(info) => Value::Tensor(step_slice(lw, outlet, info.axis, info.chunk, i, cx)?),
            });
        }
        let outputs = lw.lower_body(&scan.body, bound, label.clone())?;
        if outputs.len() != scan.output_mapping.len() {
            return Err(cx.shape_err("the loop body's outputs do not match its output mapping"));
        }
        for (k, (v, mapping)) in outputs.into_iter().zip(&scan.output_mapping).enumerate() {
            if mapping.scan.is_some() {
                steps[k].push(body_tensor(lw, &v, cx)?);
            }
            last[k] = Some(v);
        }
        state = last[..n_states].iter().flatten().cloned().collect();
    }
    let mut outer: Vec<Option<Value>> = vec![None; node.outputs.len()];
    for (k, mapping) in scan.output_mapping.iter().enumerate() {
        if let Some((slot, info)) = mapping.scan {
            let mut parts = std::mem::take(&mut steps[k]);
            if info.chunk < 0 {
                parts.reverse(); // a backward scan wrote the last position first
            }
            outer[slot] = Some(stack(lw, parts, OutletId::new(node.id, slot), info.axis, cx)?);
        }
        if let Some(slot) = mapping.last_value_slot {
            outer[slot] = last[k].clone();
        }
    }
    outer
        .into_iter()
        .enumerate()
        .map(|(slot, v)| v.ok_or_else(|| cx.unsupported(format!("loop output {slot} has no mapping"))))
        .collect()
}

/// Iteration `i`'s chunk of the scanned input along `axis` (from the end for a negative chunk).
fn step_slice(
    lw: &mut Lowerer<'_>,
    outlet: OutletId,
    axis: usize,
    chunk: isize,
    i: usize,
    cx: &NodeCx,
) -> Result<TensorId, CompileError> {
    let shape = lw.outlet_shape(outlet)?;
    let x = lw.operand(outlet, cx)?;
    let c = chunk.unsigned_abs();
    let start = if chunk > 0 { i * c } else { shape[axis] - (i + 1) * c };
    let mut out_shape = shape.clone();
    out_shape[axis] = c;
    let mut ranges = vec![(0i64, 1i64); shape.len()];
    ranges[axis] = (start as i64, 1);
    let indices =
        strided_map(&shape, &ranges, &out_shape).ok_or_else(|| cx.shape_err("a scan step outside its input"))?;
    let scale = lw.scale(x);
    Ok(lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices }, out_shape, scale))
}

/// A body output as an IR tensor (constants at the activation scale).
fn body_tensor(lw: &mut Lowerer<'_>, v: &Value, cx: &NodeCx) -> Result<TensorId, CompileError> {
    Ok(match v {
        Value::Tensor(t) => *t,
        Value::Pending(p) => p.materialize(lw),
        Value::Const(c) => lw.const_tensor(c, lw.args.input_scale, &cx.name, &cx.origin),
    })
}

/// The per-step outputs stacked along `axis` into the outer output `outlet`.
fn stack(
    lw: &mut Lowerer<'_>,
    parts: Vec<TensorId>,
    outlet: OutletId,
    axis: usize,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let out_shape = lw.outlet_shape(outlet)?;
    let mut shapes = Vec::with_capacity(parts.len());
    for &t in &parts {
        // a step's IR tensor may be an alias of another shape: its ONNX shape is the outer
        // output's with the scan axis cut to one chunk
        let len: usize = lw.shape(t).iter().product();
        let mut s = out_shape.clone();
        let rest: usize = out_shape.iter().enumerate().filter(|&(d, _)| d != axis).map(|(_, &n)| n).product();
        s[axis] = len.checked_div(rest).unwrap_or(0);
        shapes.push(s);
    }
    let picks = concat_picks(&shapes, axis, &out_shape)
        .ok_or_else(|| cx.shape_err(format!("loop steps {shapes:?} do not stack into {out_shape:?}")))?;
    let scale = parts.first().map_or(lw.args.input_scale, |&t| lw.scale(t));
    if parts.iter().any(|&t| lw.scale(t) != scale) {
        return Err(cx.unsupported("loop steps at different scales"));
    }
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, Op::Select { inputs: parts, picks }, out_shape, scale)))
}

/// One LSTM cell update: `(H, C)` from the gate pre-activations `[B, 4h]` (order i, o, f, c)
/// and the previous cell state `[B, h]`.
fn lstm_cell(lw: &mut Lowerer<'_>, hidden: usize, cx: &NodeCx) -> Result<Vec<Value>, CompileError> {
    let [pre, c_prev] = cx.inputs[..] else { return Err(cx.shape_err("an LSTM cell needs two inputs")) };
    let pre_shape = lw.outlet_shape(pre)?;
    let batch: usize = pre_shape.iter().rev().skip(1).product();
    if pre_shape.last() != Some(&(4 * hidden)) || lw.outlet_shape(c_prev)?.iter().product::<usize>() != batch * hidden {
        return Err(cx.shape_err(format!("an LSTM cell of {hidden} units cannot read {pre_shape:?}")));
    }
    let p = lw.operand(pre, cx)?;
    let p = lw.rescale_to_activation(p);
    let c0 = lw.operand(c_prev, cx)?;
    let c0 = lw.rescale_to_activation(c0);
    let s = lw.scale(p);
    let (lo, hi) = activation_domain(lw);
    // σ on the i, o, f pre-activations and tanh on c (a Gather is a free copy)
    let part = |lw: &mut Lowerer<'_>, from: usize, to: usize| {
        let indices = (0..batch).flat_map(|b| (b * 4 * hidden + from..b * 4 * hidden + to).map(|k| k as u32)).collect();
        lw.emit(&cx.name, &cx.origin, Op::Gather { input: p, indices }, vec![batch, to - from], s)
    };
    let (ifo, g) = (part(lw, 0, 3 * hidden), part(lw, 3 * hidden, 4 * hidden));
    let gates = lookup(lw, ifo, Func::new(FuncKind::Sigmoid, s, s, lo, hi), cx);
    let tanh_g = lookup(lw, g, Func::new(FuncKind::Tanh, s, s, lo, hi), cx);
    let gate = |b: usize, k: usize, j: usize| (b * 3 * hidden + k * hidden + j) as u32;
    let hcx = NodeCx { shape: vec![batch, hidden], ..cx.clone() };
    let cells = (0..batch * hidden).map(|k| (k / hidden, k % hidden));
    // C = σ(f)·C₋₁ + σ(i)·tanh(c), both products at 2S, one rescale
    let f_c: Vec<_> = cells.clone().map(|(b, j)| (gate(b, 2, j), (b * hidden + j) as u32)).collect();
    let fc = mul_pairs(lw, gates, c0, f_c, &hcx);
    let i_c: Vec<_> = cells.clone().map(|(b, j)| (gate(b, 0, j), (b * hidden + j) as u32)).collect();
    let ic = mul_pairs(lw, gates, tanh_g, i_c, &hcx);
    let sum = add(lw, fc, ic, 1, &hcx);
    let c = lw.rescale_to_activation(sum);
    // H = σ(o)·tanh(C)
    let tanh_c = lookup(lw, c, Func::new(FuncKind::Tanh, s, s, lo, hi), &hcx);
    let o_c: Vec<_> = cells.map(|(b, j)| (gate(b, 1, j), (b * hidden + j) as u32)).collect();
    let h = product(lw, gates, tanh_c, o_c, &hcx);
    Ok(vec![Value::Tensor(h), Value::Tensor(c)])
}

/// tract's whole-sequence GRU (inputs `x [B, T, I]`, `W`, `R`, the bias if any, `h0 [B, 1, h]`;
/// outputs `Y [B, T, h]` and `Y_h [B, 1, h]`), one cell per step.
fn gru_seq(lw: &mut Lowerer<'_>, op: &GruSeq, node: &TypedNode, cx: &NodeCx) -> Result<Vec<Value>, CompileError> {
    if op.projected {
        return Err(cx.unsupported("a GRU whose input product was projected out"));
    }
    let h = op.hidden;
    let need = 4 + usize::from(op.has_bias);
    if cx.inputs.len() != need || node.outputs.len() != 2 {
        return Err(cx.shape_err(format!("a GRU sequence needs {need} inputs and 2 outputs")));
    }
    let x_shape = lw.outlet_shape(cx.inputs[0])?;
    let [batch, steps, input] = x_shape[..] else { return Err(cx.shape_err(format!("GRU input {x_shape:?}"))) };
    let weight = |lw: &Lowerer<'_>, k: usize, what: &str| {
        lw.const_of(cx.inputs[k]).map(|c| c.data.clone()).ok_or_else(|| cx.non_constant(format!("the GRU's {what}")))
    };
    let (w, r) = (weight(lw, 1, "W")?, weight(lw, 2, "R")?);
    let b = if op.has_bias { weight(lw, 3, "bias")? } else { vec![0.0; 6 * h] };
    if w.len() != 3 * h * input || r.len() != 3 * h * h || b.len() != 6 * h {
        return Err(cx.shape_err(format!("GRU weights for {h} units and {input} inputs")));
    }
    let x = lw.operand(cx.inputs[0], cx)?;
    let mut state = lw.operand(cx.inputs[need - 1], cx)?;
    let mut ys = Vec::with_capacity(steps);
    for i in 0..steps {
        let t = if op.chunk < 0 { steps - 1 - i } else { i };
        let xh = gate_products(lw, x, &w, &b[..3 * h], [batch, input, 3 * h], |bi, k| (bi * steps + t) * input + k, cx);
        let rh = gate_products(lw, state, &r, &b[3 * h..], [batch, h, 3 * h], |bi, k| bi * h + k, cx);
        state = gru_cell(lw, [xh, rh, state], batch, h, cx);
        ys.push(state);
    }
    if op.chunk < 0 {
        ys.reverse();
    }
    let y = if op.emit_y {
        stack(lw, ys, OutletId::new(node.id, 0), 1, cx)?
    } else {
        Value::Const(ConstVal { shape: vec![batch, 0, h], data: vec![] }) // nothing reads it
    };
    Ok(vec![y, Value::Tensor(state)])
}

/// `out[b, g] = Σ_k v[at(b, k)] · m[g, k] + bias[g]` for `dims = [batch, k, gates]`, rescaled to
/// the activation scale.
fn gate_products(
    lw: &mut Lowerer<'_>,
    v: TensorId,
    m: &[f64],
    bias: &[f64],
    dims: [usize; 3],
    at: impl Fn(usize, usize) -> usize,
    cx: &NodeCx,
) -> TensorId {
    let [batch, k, gates] = dims;
    let mut p = PendingLinear::new(v, vec![batch, gates], cx);
    p.weights = m.to_vec();
    p.biases = bias.to_vec();
    for bi in 0..batch {
        for g in 0..gates {
            let terms = (0..k).map(|j| (at(bi, j) as u32, (g * k + j) as u32)).collect();
            p.rows.push(RowF { terms, bias: Some(g as u32) });
        }
    }
    p.materialize(lw)
}

/// One GRU cell (`linear_before_reset`): the new hidden state `[B, h]` from `xh` and `rh`
/// (`[B, 3h]`, gates z, r, h) and the previous state.
fn gru_cell(lw: &mut Lowerer<'_>, [xh, rh, prev]: [TensorId; 3], batch: usize, h: usize, cx: &NodeCx) -> TensorId {
    let (xh, rh, prev) = (lw.rescale_to_activation(xh), lw.rescale_to_activation(rh), lw.rescale_to_activation(prev));
    let s = lw.scale(xh);
    let (lo, hi) = activation_domain(lw);
    let at = |b: usize, gate: usize, j: usize| (b * 3 * h + gate * h + j) as u32;
    let cells = || (0..batch * h).map(|k| (k / h, k % h));
    let zr_cx = NodeCx { shape: vec![batch, 2 * h], ..cx.clone() };
    let hcx = NodeCx { shape: vec![batch, h], ..cx.clone() };
    // z and r: σ(xh + rh) on the first two gates
    let zr_pairs =
        (0..batch * 2 * h).map(|k| (k / (2 * h), k % (2 * h))).map(|(b, j)| (at(b, 0, j), at(b, 0, j))).collect();
    let zr = add_pairs(lw, xh, rh, zr_pairs, 1, &zr_cx);
    let zr = lookup(lw, zr, Func::new(FuncKind::Sigmoid, s, s, lo, hi), &zr_cx);
    let zr_at = |b: usize, gate: usize, j: usize| (b * 2 * h + gate * h + j) as u32;
    // n = tanh(xh_n + r·rh_n)
    let r_rh = product(lw, zr, rh, cells().map(|(b, j)| (zr_at(b, 1, j), at(b, 2, j))).collect(), &hcx);
    let n0 = add_pairs(lw, xh, r_rh, cells().map(|(b, j)| (at(b, 2, j), (b * h + j) as u32)).collect(), 1, &hcx);
    let n = lookup(lw, n0, Func::new(FuncKind::Tanh, s, s, lo, hi), &hcx);
    // H = n + z·(H₋₁ - n)
    let d = add(lw, prev, n, -1, &hcx);
    let zd = product(lw, zr, d, cells().map(|(b, j)| (zr_at(b, 0, j), (b * h + j) as u32)).collect(), &hcx);
    add(lw, n, zd, 1, &hcx)
}
