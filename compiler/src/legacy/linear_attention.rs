//! ONNX's `LinearAttention` (opset 26) as the recurrence that defines it, unrolled over the
//! tokens (the sequence length must be declared; a circuit's shapes are fixed anyway).
//!
//! Q, K, V `(B, T, H·D)` are split into heads `(B, H, T, D)`; the state `S` `(B, Hkv, dk, dv)`
//! starts at `past_state` or 0, and for each token `t`:
//! - `gated`, `gated_delta`: `S = S · exp(g_t)` (per head, or per key dimension);
//! - `delta`, `gated_delta`: `v_t = beta_t · (v_t - k_t·S)`;
//! - `S = S + k_tᵀ·v_t`;
//! - `o_t = scale · q_t·S`, the query heads grouped by key head (`h = kv·G + g`), so the state is
//!   never copied per query head.
//!
//! The outputs are the `o_t` merged back to `(B, T, Hq·dv)` and the last state
//! (`present_state`). `chunk_size` is a hint with no effect on the result.

use super::{int_attr, ints_attr, Emit};
use crate::CompileError;

/// Replaces the `LinearAttention` node in `e`.
pub(super) fn rewrite(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(q), Some(k), Some(v)) = (e.input(0), e.input(1), e.input(2)) else {
        return Err(e.unsupported("a LinearAttention without query, key and value"));
    };
    let (past, decay, beta) = (e.input(3), e.input(4), e.input(5));
    let rule = e.string("update_rule").unwrap_or_else(|| "gated_delta".into());
    let (gating, delta) = match rule.as_str() {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => return Err(e.unsupported(&format!("update_rule {other}"))),
    };
    if gating != decay.is_some() || delta != beta.is_some() {
        return Err(e.unsupported(&format!("update_rule {rule} with decay or beta missing or extra")));
    }
    let Some((hq, hkv)) = super::attention::head_counts(e)? else {
        return Err(e.unsupported(super::attention::HEADS));
    };
    let dims = |e: &Emit<'_>, x: &str| -> Option<[i64; 3]> {
        Some([e.declared_dim(x, 0)?, e.declared_dim(x, 1)?, e.declared_dim(x, 2)?])
    };
    let (Some([batch, tokens, qd]), Some([_, _, kd]), Some([_, _, vd])) = (dims(e, &q), dims(e, &k), dims(e, &v))
    else {
        return Err(e.unsupported("query, key or value of undeclared dimensions"));
    };
    let (dk, dv) = (qd / hq, vd / hkv);
    if dk * hq != qd || dk * hkv != kd || dv * hkv != vd {
        return Err(e.unsupported("head sizes that do not divide the query, key or value"));
    }
    let (q4, k4, v4) = (
        super::attention::split_heads(e, &q, hq),
        super::attention::split_heads(e, &k, hkv),
        super::attention::split_heads(e, &v, hkv),
    );
    let gates = match &decay {
        Some(g) => Some(gates(e, g, hkv, dk)?),
        None => None,
    };
    // (B, T, Hb) -> (B, Hb, T, 1)
    let betas = beta.map(|b| {
        let shape = e.ints(&[0, 0, -1, 1]);
        let b = e.op("Reshape", &[&b, &shape], vec![]);
        e.op("Transpose", &[&b], vec![ints_attr("perm", &[0, 2, 1, 3])])
    });
    let scale = e.float("scale").filter(|s| *s != 0.0).unwrap_or(1.0 / (dk as f32).sqrt());
    let scale = e.scalar(scale);
    let mut state = match past {
        Some(p) => p,
        None => {
            let n = (batch * hkv * dk * dv) as usize;
            e.floats(&[batch, hkv, dk, dv], vec![0.0; n])
        }
    };
    let grouped = e.ints(&[0, hkv, hq / hkv, dk]);
    let ungrouped = e.ints(&[0, hq, 1, dv]);
    let swap = ints_attr("perm", &[0, 1, 3, 2]);
    let mut outputs = Vec::with_capacity(tokens as usize);
    for t in 0..tokens {
        let (start, end, axis) = (e.ints(&[t]), e.ints(&[t + 1]), e.ints(&[2]));
        let at = |e: &mut Emit<'_>, x: &str| e.op("Slice", &[x, &start, &end, &axis], vec![]);
        let (qt, kt, mut vt) = (at(e, &q4), at(e, &k4), at(e, &v4));
        if let Some(g) = &gates {
            let gt = at(e, g);
            let column = e.op("Transpose", &[&gt], vec![swap.clone()]);
            state = e.op("Mul", &[&state, &column], vec![]);
        }
        if let Some(b) = &betas {
            let bt = at(e, b);
            let retrieved = e.op("MatMul", &[&kt, &state], vec![]);
            let diff = e.op("Sub", &[&vt, &retrieved], vec![]);
            vt = e.op("Mul", &[&bt, &diff], vec![]);
        }
        let column = e.op("Transpose", &[&kt], vec![swap.clone()]);
        let write = e.op("MatMul", &[&column, &vt], vec![]);
        state = e.op("Add", &[&state, &write], vec![]);
        let qg = e.op("Reshape", &[&qt, &grouped], vec![]);
        let read = e.op("MatMul", &[&qg, &state], vec![]);
        let read = e.op("Reshape", &[&read, &ungrouped], vec![]);
        outputs.push(e.op("Mul", &[&read, &scale], vec![]));
    }
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    let y = e.op("Concat", &refs, vec![int_attr("axis", 2)]);
    let y = e.op("Transpose", &[&y], vec![ints_attr("perm", &[0, 2, 1, 3])]);
    let merged = e.ints(&[0, 0, -1]);
    e.op_to_output(0, "Reshape", &[&y, &merged], vec![]);
    e.op_to_output(1, "Identity", &[&state], vec![]);
    Ok(())
}

/// `exp(decay)` as `(B, Hkv, T, 1)` (one gate per head) or `(B, Hkv, T, dk)` (per key dimension).
fn gates(e: &mut Emit<'_>, decay: &str, hkv: i64, dk: i64) -> Result<String, CompileError> {
    let split = match e.declared_dim(decay, 2) {
        Some(d) if d == hkv => {
            let shape = e.ints(&[0, 0, hkv, 1]);
            let g = e.op("Reshape", &[decay, &shape], vec![]);
            e.op("Transpose", &[&g], vec![ints_attr("perm", &[0, 2, 1, 3])])
        }
        Some(d) if d == hkv * dk => super::attention::split_heads(e, decay, hkv),
        _ => return Err(e.unsupported("a decay whose last dimension is neither kv_num_heads nor kv_num_heads·d_k")),
    };
    Ok(e.op("Exp", &[&split], vec![]))
}
