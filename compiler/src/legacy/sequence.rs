//! Sequence-model ops as the ops that define them:
//!
//! - `RotaryEmbedding(x, cos_cache, sin_cache, position_ids?)` (opset 23): in the layout
//!   `(B, S, H, D)` (a 4-D `x` is transposed to it, a 3-D one split into `num_heads`), the first
//!   `rotary_embedding_dim` features (all by default) are split in halves, or into even and odd
//!   features when `interleaved`, and rotated: `(c·x1 - s·x2, s·x1 + c·x2)` with `c`, `s` the
//!   caches gathered at the run-time `position_ids` (or the caches themselves, `(B, S, ·)`, without
//!   them); the other features pass through;
//! - `CausalConvWithState(x, weight, bias?, past_state?)` (opset 27): a depthwise Conv
//!   (`group = C`) of `x` after the past state (or `k - 1` zeros), optionally SiLU; the present
//!   state is the last `k - 1` positions. The weight must be a constant (its `k` sets the pads).

use super::{int_attr, ints_attr, Emit};
use crate::CompileError;

/// Replaces `RotaryEmbedding` in `e`.
pub(super) fn rotary_embedding(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(x), Some(cos), Some(sin)) = (e.input(0), e.input(1), e.input(2)) else {
        return Err(e.unsupported("fewer than three inputs"));
    };
    let heads = e.int("num_heads").filter(|&h| h > 0);
    let four_d = match (e.declared_rank(&x), heads) {
        (Some(4), _) => true,
        (Some(3), Some(_)) | (None, Some(_)) => false,
        (None, None) => true,
        _ => return Err(e.unsupported("an input that is neither 4-D nor 3-D with num_heads")),
    };
    // (B, S, H, D)
    let x = if four_d {
        e.op("Transpose", &[&x], vec![ints_attr("perm", &[0, 2, 1, 3])])
    } else {
        let shape = e.ints(&[0, 0, heads.unwrap_or(1), -1]);
        e.op("Reshape", &[&x, &shape], vec![])
    };
    let last = e.ints(&[3]);
    let end = e.ints(&[i64::MAX]);
    let (rotated, passed) = match e.int("rotary_embedding_dim").filter(|&d| d > 0) {
        Some(d) => {
            let (zero, dim) = (e.ints(&[0]), e.ints(&[d]));
            (e.op("Slice", &[&x, &zero, &dim, &last], vec![]), Some(e.op("Slice", &[&x, &dim, &end, &last], vec![])))
        }
        None => (x, None),
    };
    let gathered = |e: &mut Emit<'_>, cache: &str| {
        let c = match e.input(3) {
            Some(ids) => e.op("Gather", &[cache, &ids], vec![int_attr("axis", 0)]),
            None => cache.to_string(),
        };
        let axis = e.ints(&[2]);
        e.op("Unsqueeze", &[&c, &axis], vec![])
    };
    let (c, s) = (gathered(e, &cos), gathered(e, &sin));
    let interleaved = e.int("interleaved").unwrap_or(0) != 0;
    let (x1, x2) = if interleaved {
        let (zero, one, two) = (e.ints(&[0]), e.ints(&[1]), e.ints(&[2]));
        (
            e.op("Slice", &[&rotated, &zero, &end, &last, &two], vec![]),
            e.op("Slice", &[&rotated, &one, &end, &last, &two], vec![]),
        )
    } else {
        halves(e, &rotated)
    };
    let (c1, s2) = (e.op("Mul", &[&c, &x1], vec![]), e.op("Mul", &[&s, &x2], vec![]));
    let real = e.op("Sub", &[&c1, &s2], vec![]);
    let (s1, c2) = (e.op("Mul", &[&s, &x1], vec![]), e.op("Mul", &[&c, &x2], vec![]));
    let imag = e.op("Add", &[&s1, &c2], vec![]);
    let mut y = if interleaved {
        let axis = e.ints(&[-1]);
        let (r, i) = (e.op("Unsqueeze", &[&real, &axis], vec![]), e.op("Unsqueeze", &[&imag, &axis], vec![]));
        let pairs = e.op("Concat", &[&r, &i], vec![int_attr("axis", -1)]);
        let shape = e.ints(&[0, 0, 0, -1]);
        e.op("Reshape", &[&pairs, &shape], vec![])
    } else {
        e.op("Concat", &[&real, &imag], vec![int_attr("axis", 3)])
    };
    if let Some(p) = passed {
        y = e.op("Concat", &[&y, &p], vec![int_attr("axis", 3)]);
    }
    if four_d {
        e.op_to_output(0, "Transpose", &[&y], vec![ints_attr("perm", &[0, 2, 1, 3])]);
    } else {
        let shape = e.ints(&[0, 0, -1]);
        e.op_to_output(0, "Reshape", &[&y, &shape], vec![]);
    }
    Ok(())
}

/// The two halves of `x` along its last axis (of size `2h`): `x[..., :h]`, `x[..., h:]`.
fn halves(e: &mut Emit<'_>, x: &str) -> (String, String) {
    // h from the shape: Shape(x)[3] / 2
    let size = e.shape(x, 3, 4);
    let two = e.ints(&[2]);
    let half = e.op("Div", &[&size, &two], vec![]);
    let (zero, end, last) = (e.ints(&[0]), e.ints(&[i64::MAX]), e.ints(&[3]));
    (e.op("Slice", &[x, &zero, &half, &last], vec![]), e.op("Slice", &[x, &half, &end, &last], vec![]))
}

/// Replaces `CausalConvWithState` in `e`.
pub(super) fn causal_conv(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let (Some(x), Some(w)) = (e.input(0), e.input(1)) else { return Err(e.unsupported("no input or weight")) };
    let dims = e.initializer(&w).map(|t| t.dims.clone()).ok_or_else(|| e.unsupported("a computed weight"))?;
    let &[channels, 1, k] = dims.as_slice() else {
        return Err(e.unsupported("a weight not shaped (channels, 1, k)"));
    };
    let activation = e.string("activation").unwrap_or_else(|| "none".into());
    if !["none", "silu", "swish"].contains(&activation.as_str()) {
        return Err(e.unsupported(&format!("activation `{activation}`")));
    }
    let padded = match (e.input(3), k > 1) {
        (Some(past), true) => e.op("Concat", &[&past, &x], vec![int_attr("axis", 2)]),
        (None, true) => {
            let pads = e.ints(&[0, 0, k - 1, 0, 0, 0]);
            e.op("Pad", &[&x, &pads], vec![])
        }
        (_, false) => x,
    };
    let mut conv_in = vec![padded.clone(), w];
    conv_in.extend(e.input(2));
    let refs: Vec<&str> = conv_in.iter().map(String::as_str).collect();
    let attrs = vec![int_attr("group", channels), ints_attr("kernel_shape", &[k])];
    if activation == "none" {
        e.op_to_output(0, "Conv", &refs, attrs);
    } else {
        let y = e.op("Conv", &refs, attrs);
        let gate = e.op("Sigmoid", &[&y], vec![]);
        e.op_to_output(0, "Mul", &[&y, &gate], vec![]);
    }
    if e.output(1).is_some() {
        if k == 1 {
            return Err(e.unsupported("the present_state of a kernel of size 1 (an empty tensor)"));
        }
        let (start, end, axis) = (e.ints(&[1 - k]), e.ints(&[i64::MAX]), e.ints(&[2]));
        e.op_to_output(1, "Slice", &[&padded, &start, &end, &axis], vec![]);
    }
    Ok(())
}
