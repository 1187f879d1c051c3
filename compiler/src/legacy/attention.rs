//! ONNX's `Attention` (opsets 23 to 25) as the ops it is defined by, which the compiler lowers
//! one by one (the masks through [`crate::ops::mask`]):
//!
//! 1. 3-D `Q`, `K`, `V` (`q_num_heads`, `kv_num_heads` given) are split into heads:
//!    `(B, S, H·D)` → `(B, H, S, D)`;
//! 2. `past_key`/`past_value` are concatenated before `K`/`V` along the sequence (the
//!    `present_*` outputs);
//! 3. the scores `Q·Kᵀ · scale` (default `1/√D`). Grouped-query heads (`Hq = G · Hkv`) need no
//!    copies of `K`: `Q` is reshaped to `(B, Hkv, G·Sq, D)`, so query head `h` meets key head
//!    `h / G`, and the product is reshaped back to `(B, Hq, Sq, T)`;
//! 4. `softcap · tanh(scores / softcap)` when `softcap > 0`;
//! 5. the bias, added: a float `attn_mask`, or `Where(mask, 0, -inf)` of a boolean one, and
//!    -inf where `is_causal` and the left/right windows hide a key (outside
//!    `p - left ≤ j ≤ p + right`, `p = i + offset`, `offset` the past length, read from
//!    `past_key`'s declared shape): a constant built from the shapes by `Trilu`. Adding, not selecting, lets the masks combine;
//! 6. `Softmax` over the keys (a row hidden entirely gives zeros, as the op specifies), then the
//!    product with `V`, grouped like the scores, and 3-D outputs merged back.
//!
//! `qk_matmul_output` is the scores after step 3, 4, 5 or 6 (`qk_matmul_output_mode` 0 to 3).
//! `softmax_precision` changes nothing here: the circuit computes in its own fixed point.
//! `nonpad_kv_seqlen` (the valid keys per batch, decided at run time) hides the keys from it on,
//! and sets the causal offset per batch (`n - Sq`), as a keep the input decides (see
//! [`padded_bias`]); it needs Q and K of declared lengths and no `past_key`.

use super::{int_attr, ints_attr, Emit};
use crate::CompileError;

/// ONNX's `TensorProto.DataType.BOOL`.
const BOOL: i64 = 9;
/// ONNX's `TensorProto.DataType.FLOAT`.
const FLOAT: i64 = 1;

/// Replaces the `Attention` node in `e`.
pub(super) fn rewrite(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(q), Some(k), Some(v)) = (e.input(0), e.input(1), e.input(2)) else {
        return Err(e.unsupported("an Attention without Q, K and V"));
    };
    let (past_k, past_v) = (e.input(4), e.input(5));
    // the valid keys' count per batch, with the sequence lengths it is compared with
    let nonpad = match e.input(6) {
        Some(n) => {
            let four_d = e.int("q_num_heads").is_none();
            let axis = if four_d { 2 } else { 1 };
            match (past_k.is_some(), e.declared_dim(&q, axis), e.declared_dim(&k, axis)) {
                (false, Some(sq), Some(t)) => Some((n, sq, t)),
                (true, ..) => return Err(e.unsupported("nonpad_kv_seqlen with past_key")),
                _ => return Err(e.unsupported("nonpad_kv_seqlen with Q or K of undeclared sequence length")),
            }
        }
        None => None,
    };
    if past_k.is_some() != past_v.is_some() {
        return Err(e.unsupported("past_key without past_value, or the reverse"));
    }
    let mode = e.int("qk_matmul_output_mode").unwrap_or(0);
    if !(0..=3).contains(&mode) {
        return Err(e.unsupported(&format!("qk_matmul_output_mode {mode}")));
    }
    let heads = head_counts(e)?;
    // 1. heads
    let (q, k, v) = match heads {
        Some((hq, hkv)) => (split_heads(e, &q, hq), split_heads(e, &k, hkv), split_heads(e, &v, hkv)),
        None => (q, k, v),
    };
    // 2. the cache
    let (k, v) = match (&past_k, &past_v) {
        (Some(pk), Some(pv)) => {
            let concat = |e: &mut Emit<'_>, a: &str, b: &str| e.op("Concat", &[a, b], vec![int_attr("axis", 2)]);
            (concat(e, pk, &k), concat(e, pv, &v))
        }
        _ => (k, v),
    };
    e.op_to_output(1, "Identity", &[&k], vec![]);
    e.op_to_output(2, "Identity", &[&v], vec![]);
    // 3. scores, grouped by key head
    let zero = e.ints(&[0]);
    let minus_one = e.ints(&[-1]);
    let kv_heads = e.shape(&k, 1, 2);
    let grouped = e.op("Concat", &[&zero, &kv_heads, &minus_one, &zero], vec![int_attr("axis", 0)]);
    let q_heads_rows = e.shape(&q, 1, 3);
    let ungrouped = e.op("Concat", &[&zero, &q_heads_rows, &minus_one], vec![int_attr("axis", 0)]);
    let qg = e.op("Reshape", &[&q, &grouped], vec![]);
    let kt = e.op("Transpose", &[&k], vec![ints_attr("perm", &[0, 1, 3, 2])]);
    let raw = e.op("MatMul", &[&qg, &kt], vec![]);
    let raw = e.op("Reshape", &[&raw, &ungrouped], vec![]);
    let scale = match e.float("scale") {
        Some(s) => e.scalar(s),
        None => {
            let d = e.shape(&q, 3, 4);
            let d = e.op("Cast", &[&d], vec![int_attr("to", FLOAT)]);
            let root = e.op("Sqrt", &[&d], vec![]);
            e.op("Reciprocal", &[&root], vec![])
        }
    };
    let mut scores = e.op("Mul", &[&raw, &scale], vec![]);
    let mut stages = vec![scores.clone()];
    // 4. soft cap
    if let Some(cap) = e.float("softcap").filter(|c| *c > 0.0) {
        let inv = e.scalar(1.0 / cap);
        let cap = e.scalar(cap);
        let x = e.op("Mul", &[&scores, &inv], vec![]);
        let t = e.op("Tanh", &[&x], vec![]);
        scores = e.op("Mul", &[&t, &cap], vec![]);
    }
    stages.push(scores.clone());
    // 5. the bias
    scores = match nonpad {
        Some(n) => padded_bias(e, scores, n),
        None => bias(e, scores, &q, &k, past_k.as_deref())?,
    };
    stages.push(scores.clone());
    // 6. softmax and values
    let probs = e.op("Softmax", &[&scores], vec![int_attr("axis", -1)]);
    stages.push(probs.clone());
    let pg = e.op("Reshape", &[&probs, &grouped], vec![]);
    let y = e.op("MatMul", &[&pg, &v], vec![]);
    let stage = stages[mode as usize].clone();
    e.op_to_output(3, "Identity", &[&stage], vec![]);
    match heads {
        Some(_) => {
            let y = e.op("Reshape", &[&y, &ungrouped], vec![]);
            let y = e.op("Transpose", &[&y], vec![ints_attr("perm", &[0, 2, 1, 3])]);
            let merged = e.ints(&[0, 0, -1]);
            e.op_to_output(0, "Reshape", &[&y, &merged], vec![]);
        }
        None => e.op_to_output(0, "Reshape", &[&y, &ungrouped], vec![]),
    }
    Ok(())
}

/// The error for head counts that are not two positive multiples.
pub(super) const HEADS: &str = "q_num_heads and kv_num_heads other than two positive multiples";

/// The `q_num_heads` and `kv_num_heads` attributes (3-D inputs), `None` where both are absent
/// (4-D inputs), refused where one is missing or `q_num_heads` is not a positive multiple of
/// `kv_num_heads`. Shared with `LinearAttention`, which requires them.
pub(super) fn head_counts(e: &Emit<'_>) -> Result<Option<(i64, i64)>, CompileError> {
    match (e.int("q_num_heads"), e.int("kv_num_heads")) {
        (Some(hq), Some(hkv)) if hq > 0 && hkv > 0 && hq % hkv == 0 => Ok(Some((hq, hkv))),
        (None, None) => Ok(None),
        _ => Err(e.unsupported(HEADS)),
    }
}

/// `(B, S, H·D)` → `(B, H, S, D)`.
pub(super) fn split_heads(e: &mut Emit<'_>, x: &str, heads: i64) -> String {
    let shape = e.ints(&[0, 0, heads, -1]);
    let x = e.op("Reshape", &[x, &shape], vec![]);
    e.op("Transpose", &[&x], vec![ints_attr("perm", &[0, 2, 1, 3])])
}

/// Adds the mask input (as [`bias`]) and hides the keys from `nonpad_kv_seqlen` on, and with
/// `is_causal` and the windows those outside `p - left ≤ j ≤ p + right` for `p = i + offset`,
/// where the offset `n - Sq` is per batch: a keep the input decides, `Where(keep, 0, -inf)`.
/// `(n, Sq, T)`: the lengths' tensor and the declared query and key lengths.
fn padded_bias(e: &mut Emit<'_>, mut scores: String, (n, sq, t): (String, i64, i64)) -> String {
    if let Some(mask) = e.input(3) {
        scores = add_mask(e, scores, mask);
    }
    let n = e.op("Cast", &[&n], vec![int_attr("to", FLOAT)]);
    let per_batch = e.ints(&[-1, 1, 1, 1]);
    let n = e.op("Reshape", &[&n, &per_batch], vec![]);
    let j = e.floats(&[1, 1, 1, t], (0..t).map(|j| j as f32).collect());
    let j_minus_i = e.floats(&[1, 1, sq, t], (0..sq).flat_map(|i| (0..t).map(move |j| (j - i) as f32)).collect());
    let mut keep = e.op("Less", &[&j, &n], vec![]);
    let bound = |e: &mut Emit<'_>, keep: String, shift: i64, op: &str| {
        let shift = e.scalar((shift - sq) as f32);
        let limit = e.op("Add", &[&n, &shift], vec![]);
        let within = e.op(op, &[&j_minus_i, &limit], vec![]);
        e.op("And", &[&keep, &within], vec![])
    };
    if e.int("is_causal").unwrap_or(0) != 0 {
        keep = bound(e, keep, 0, "LessOrEqual");
    }
    if let Some(r) = e.int("right_window_size").filter(|&w| w >= 0) {
        keep = bound(e, keep, r, "LessOrEqual");
    }
    if let Some(l) = e.int("left_window_size").filter(|&w| w >= 0) {
        keep = bound(e, keep, -l, "GreaterOrEqual");
    }
    let (zero, minus_inf) = (e.scalar(0.0), e.scalar(f32::NEG_INFINITY));
    let bias = e.op("Where", &[&keep, &zero, &minus_inf], vec![]);
    e.op("Add", &[&scores, &bias], vec![])
}

/// `scores + mask` for a float mask, `scores + Where(mask, 0, -inf)` for a boolean one.
fn add_mask(e: &mut Emit<'_>, scores: String, mask: String) -> String {
    let bias = if e.elem_type(&mask) == Some(BOOL as i32) {
        let (zero, minus_inf) = (e.scalar(0.0), e.scalar(f32::NEG_INFINITY));
        e.op("Where", &[&mask, &zero, &minus_inf], vec![])
    } else {
        mask
    };
    e.op("Add", &[&scores, &bias], vec![])
}

/// Adds the float mask, hides what a boolean mask, `is_causal` and the windows hide.
fn bias(e: &mut Emit<'_>, mut scores: String, q: &str, k: &str, past: Option<&str>) -> Result<String, CompileError> {
    let minus_inf = e.scalar(f32::NEG_INFINITY);
    if let Some(mask) = e.input(3) {
        scores = add_mask(e, scores, mask);
    }
    let causal = e.int("is_causal").unwrap_or(0) != 0;
    let left = e.int("left_window_size").filter(|&w| w >= 0);
    let right = e.int("right_window_size").filter(|&w| w >= 0);
    if !causal && left.is_none() && right.is_none() {
        return Ok(scores);
    }
    // (Sq, T) ones, then Trilu keeps j - i <= k (lower) or j - i >= k (upper)
    let rows = e.shape(q, 2, 3);
    let cols = e.shape(k, 2, 3);
    let size = e.op("Concat", &[&rows, &cols], vec![int_attr("axis", 0)]);
    let one = e.scalar(1.0);
    let mut kept = e.op("Expand", &[&one, &size], vec![]);
    // the past length, from the declared shape of past_key (a model input: the KV cache)
    let offset = match past {
        Some(p) => match e.declared_dim(p, 2) {
            Some(len) => len,
            None => return Err(e.unsupported("is_causal or a window with a past_key of undeclared length")),
        },
        None => 0,
    };
    let band = |e: &mut Emit<'_>, kept: String, shift: i64, upper: i64| {
        let diagonal = e.int_scalar(offset + shift);
        e.op("Trilu", &[&kept, &diagonal], vec![int_attr("upper", upper)])
    };
    if causal {
        kept = band(e, kept, 0, 0);
    }
    if let Some(r) = right {
        kept = band(e, kept, r, 0);
    }
    if let Some(l) = left {
        kept = band(e, kept, -l, 1);
    }
    let keep = e.op("Cast", &[&kept], vec![int_attr("to", BOOL)]);
    let zero = e.scalar(0.0);
    let bias = e.op("Where", &[&keep, &zero, &minus_inf], vec![]);
    Ok(e.op("Add", &[&scores, &bias], vec![]))
}
