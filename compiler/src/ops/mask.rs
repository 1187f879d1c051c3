//! Additive attention masks: `Softmax(scores + M)` where the constant `M` holds -inf (or a
//! finite value far below the activation range: `torch.finfo(float32).min`, BERT's `-10000`)
//! at the positions a query may not see, as PyTorch, Hugging Face exports and ONNX's own
//! `Attention` function write causal and padding masks.
//!
//! No fixed-point value is -inf, and `finfo.min` overflows every range zkonnx checks, so such a
//! sum cannot be an activation. It need not be: `exp` of a hidden position is 0 (to far below
//! any precision proved here), so the Softmax is the softmax of the kept positions, with 0 at
//! the hidden ones. The Add emits the sum with 0 in place of each hidden term and records which
//! positions are hidden ([`Mask`]); the Softmax gathers the kept positions, takes their softmax
//! group by group and scatters it back with exact zeros. Nothing else may read a masked sum
//! (the hidden terms would read as 0 where the model has -inf): [`Lowerer::run`] refuses a
//! model where anything does, naming both nodes.
//!
//! A mask computed at run time (`Where(mask, 0, -inf)` of a boolean input, or `masked_fill` as
//! `Where(mask, scores, -inf)`) hides positions the input decides: the masked sum then carries a
//! 0/1 *keep* tensor (the condition, held to 0/1 by `[c >= 1]`), and the Softmax multiplies each
//! `exp` by it, so a hidden position contributes exactly 0 to the sum and gets exactly 0. Its
//! maximum is taken over the kept positions (a hidden one reads its group's minimum), so the sum
//! keeps its precision whatever a hidden score is; a group whose every
//! position the input hides gives zeros, like one hidden throughout by -inf (its sum of 0 has 1
//! added, counted from the keep).
//!
//! "Far below": `x + m` with `m ≤ 2·lo - 64` (`lo` the lowest activation) makes the scores'
//! shift `x + m - max ≤ m + (hi - lo) < -64`, and `exp(-64) < 2^-92`; `m` must also be at most
//! -10000, so that a model's ordinary constants (a quantization's zero point) are not masks. A group whose every
//! position is hidden has no float softmax (NaN for -inf; for finite values the float softmax
//! would ignore a uniform shift): a group hidden entirely by -inf gives 0, the value ONNX's
//! `Attention` specifies for a fully masked row; one hidden entirely by finite values is refused.

use tract_onnx::prelude::OutletId;
use tract_onnx::tract_core::ops::nn::SoftmaxKind;
use zkonnx_ir::{Arith, ArithKind, Func, FuncKind, Linear, LinearRow, Op, TensorId};

use crate::lower::{ConstVal, Hidden, Lowerer, Mask, NodeCx, Value};
use crate::ops::logic;
use crate::CompileError;

/// The largest finite value read as a mask: BERT's `-10000`; `finfo(float16).min`, `-1e9` and
/// `finfo(float32).min` lie below.
const MASK_FAR: f64 = -1e4;

/// What adding `sign · v` does to a position (see the module doc).
pub(crate) fn hidden_by(lw: &Lowerer<'_>, v: f64, sign: i64) -> Hidden {
    let (lo, _) = crate::ops::nonlinear::activation_domain(lw);
    // and never above MASK_FAR: a model's own constants (a zero point of 200) are not masks
    let far = (2.0 * lo as f64 / f64::from(1u32 << lw.args.input_scale.min(31)) - 64.0).min(MASK_FAR);
    let v = v * sign as f64;
    if v == f64::NEG_INFINITY {
        Hidden::NegInf
    } else if v.is_finite() && v <= far {
        Hidden::Far
    } else {
        Hidden::No
    }
}

/// Whether `outlet` holds a masked sum (see [`Mask`]).
pub(crate) fn is_masked(lw: &Lowerer<'_>, outlet: OutletId) -> Result<bool, CompileError> {
    Ok(matches!(lw.value(outlet)?, Value::Tensor(t) if lw.masks.contains_key(t)))
}

/// `c` with its hidden values (added with `sign`) replaced by 0.
fn without_hidden(lw: &Lowerer<'_>, c: &ConstVal, sign: i64) -> ConstVal {
    let data = c.data.iter().map(|&v| if hidden_by(lw, v, sign) == Hidden::No { v } else { 0.0 }).collect();
    ConstVal { shape: c.shape.clone(), data }
}

/// `x + sign · c` where the constant `c` masks some positions, or `x` is itself a masked sum
/// (see the module doc): the sum with the hidden terms left out, recorded as masked. Call it
/// when either holds.
pub(crate) fn masked_add(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    c: &ConstVal,
    (mx, mc): (&[u32], &[u32]),
    sign: i64,
    cx: &NodeCx,
) -> TensorId {
    let x_mask = lw.masks.get(&x).cloned();
    let hidden: Vec<Hidden> = mc
        .iter()
        .enumerate()
        .map(|(o, &i)| {
            let from_x = x_mask.as_ref().map_or(Hidden::No, |m| m.hidden[mx[o] as usize]);
            either(from_x, hidden_by(lw, c.data[i as usize], sign))
        })
        .collect();
    let kept = without_hidden(lw, c, sign);
    let scale = lw.scale(x);
    let k = lw.const_tensor(&kept, scale, &cx.name, &cx.origin);
    let pairs = mx.iter().copied().zip(mc.iter().copied()).collect();
    let op = Op::Arith(Arith { a: x, b: k, pairs, kind: ArithKind::Add { ca: 1, cb: sign } });
    let t = lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale);
    let keep = x_mask.as_ref().and_then(|m| m.keep).map(|k| logic::gather_at(lw, k, mx, cx));
    let node = x_mask.map_or_else(|| cx.name.clone(), |m| m.node);
    carry(lw, t, Mask { hidden, keep, node, op: cx.origin.clone() });
    t
}

/// The mask of `a + sign · b` (by `pairs`, one per output) where `a` or `b` is a masked sum:
/// -inf plus anything finite is -inf. `None` when neither is; an error for a masked `b`
/// subtracted (that would be +inf).
pub(crate) fn sum_mask(
    lw: &mut Lowerer<'_>,
    (a, b): (TensorId, TensorId),
    pairs: &[(u32, u32)],
    sign: i64,
    cx: &NodeCx,
) -> Result<Option<Mask>, CompileError> {
    let (ma, mb) = (lw.masks.get(&a).cloned(), lw.masks.get(&b).cloned());
    if ma.is_none() && mb.is_none() {
        return Ok(None);
    }
    if let (Some(m), true) = (&mb, sign < 0) {
        let what = format!(
            "subtracting the additive mask added by node `{}` (it would add +inf, or a value far above the range)",
            m.node
        );
        return Err(cx.unsupported(what));
    }
    let at = |m: &Option<Mask>, i: u32| m.as_ref().map_or(Hidden::No, |m| m.hidden[i as usize]);
    let hidden = pairs.iter().map(|&(i, j)| either(at(&ma, i), at(&mb, j))).collect();
    let (ia, ib): (Vec<u32>, Vec<u32>) = pairs.iter().copied().unzip();
    let ka = ma.as_ref().and_then(|m| m.keep).map(|k| logic::gather_at(lw, k, &ia, cx));
    let kb = mb.as_ref().and_then(|m| m.keep).map(|k| logic::gather_at(lw, k, &ib, cx));
    let keep = match (ka, kb) {
        (Some(a), Some(b)) => Some(logic::mul(lw, a, b, cx)),
        (k, None) | (None, k) => k,
    };
    let node = ma.or(mb).map_or_else(|| cx.name.clone(), |m| m.node);
    Ok(Some(Mask { hidden, keep, node, op: cx.origin.clone() }))
}

/// `Where(c, x, y)` where one branch is a constant that hides positions (-inf, or far below the
/// activation range): the Where with those values as 0, masked where it picks them. A constant
/// condition hides the positions it picks; a computed one hides what the input decides, which
/// needs the branch hidden throughout (`Where(mask, 0, -inf)`, `Where(mask, scores, -inf)`).
/// `None` for any other Where.
pub(crate) fn masked_where(lw: &mut Lowerer<'_>, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let hides = |lw: &Lowerer<'_>, k: usize| {
        lw.const_of(cx.inputs[1 + k]).filter(|c| c.data.iter().any(|&v| hidden_by(lw, v, 1) != Hidden::No)).cloned()
    };
    let (slot, c) = match (hides(lw, 0), hides(lw, 1)) {
        (Some(c), None) => (0, c),
        (None, Some(c)) => (1, c),
        _ => return Ok(None),
    };
    let mc = cx.broadcast_from(&c.shape)?;
    let (hidden, keep, c_held) = match lw.const_of(cx.inputs[0]).cloned() {
        Some(cond) => {
            // slot 0 (x) is picked where the condition holds, slot 1 (y) where it does not
            let mcond = cx.broadcast_from(&cond.shape)?;
            let picks = |o: usize| (cond.data[mcond[o] as usize] != 0.0) == (slot == 0);
            let hidden = (0..mc.len())
                .map(|o| if picks(o) { hidden_by(lw, c.data[mc[o] as usize], 1) } else { Hidden::No })
                .collect();
            (hidden, None, logic::where_condition(lw, false, cx)?)
        }
        None => {
            if c.data.iter().any(|&v| hidden_by(lw, v, 1) == Hidden::No) {
                return Ok(None);
            }
            let cond = logic::where_condition(lw, true, cx)?;
            let keep = if slot == 1 { cond } else { logic::not(lw, cond, cx) };
            (vec![Hidden::No; mc.len()], Some(keep), cond)
        }
    };
    let kept = without_hidden(lw, &c, 1);
    let t = logic::where_with(lw, c_held, Some((slot, &kept)), cx)?;
    lw.masks.insert(t, Mask { hidden, keep, node: cx.name.clone(), op: cx.origin.clone() });
    Ok(Some(Value::Tensor(t)))
}

/// `t · c` where the constant `c` is uniform and so far below the activation range that `c`
/// times the smallest nonzero `t` still is (`(1 - attention_mask) * finfo.min`, older Hugging
/// Face exports): a mask the input decides, hiding where `t > 0` and keeping where `t = 0`; a
/// `t < 0` (which would add +inf) fails at proving time, a lookup into the one-row table {0}.
/// `None` for any other product.
pub(crate) fn masked_product(
    lw: &mut Lowerer<'_>,
    x: OutletId,
    c: &ConstVal,
    mx: &[u32],
    cx: &NodeCx,
) -> Result<Option<TensorId>, CompileError> {
    let Some(&first) = c.data.first() else { return Ok(None) };
    if !first.is_finite() || c.data.iter().any(|&v| v != first) || hidden_by(lw, first, 1) == Hidden::No {
        return Ok(None);
    }
    // a fraction of finfo.min is still far, but a fraction that rounds to 0 would be kept: only
    // integers (0 or at least 1 in magnitude) are told apart exactly
    if !logic::integer_valued(lw, x, 8) {
        return Ok(None);
    }
    let t = lw.operand(x, cx)?;
    let smallest = first / f64::from(1u32 << lw.scale(t).min(31));
    if hidden_by(lw, smallest, 1) == Hidden::No {
        return Ok(None);
    }
    let t = logic::gather_at(lw, t, mx, cx);
    let minus_t = crate::ops::activation::negate(lw, t, cx);
    let (positive, negative) = (logic::step(lw, t, cx), logic::step(lw, minus_t, cx));
    // [t < 0] looked up in a table holding only 0: 0 when t >= 0, else no witness; added to the
    // keep (it is 0), so that the lookup stays in the circuit wherever the keep is used
    let zero_only = Func::new(FuncKind::Quotient, 0, 0, 0, 0).with_alpha(1.0);
    let zero = crate::ops::nonlinear::lookup(lw, negative, zero_only, cx);
    let kept = logic::not(lw, positive, cx);
    let keep = crate::ops::activation::add(lw, kept, zero, 1, cx);
    let zeros = ConstVal { shape: cx.shape.clone(), data: vec![0.0; cx.shape.iter().product()] };
    let v = lw.const_tensor(&zeros, lw.args.input_scale, &cx.name, &cx.origin);
    let hidden = vec![Hidden::No; zeros.data.len()];
    lw.masks.insert(v, Mask { hidden, keep: Some(keep), node: cx.name.clone(), op: cx.origin.clone() });
    Ok(Some(v))
}

/// Records `t`, just emitted from masked operands (and allowed to read them), as a masked sum.
pub(crate) fn carry(lw: &mut Lowerer<'_>, t: TensorId, mask: Mask) {
    lw.mask_readers.insert(t);
    lw.masks.insert(t, mask);
}

/// What a sum hides where each of two terms hides `a` and `b`.
fn either(a: Hidden, b: Hidden) -> Hidden {
    match (a, b) {
        (Hidden::NegInf, _) | (_, Hidden::NegInf) => Hidden::NegInf,
        (Hidden::Far, _) | (_, Hidden::Far) => Hidden::Far,
        _ => Hidden::No,
    }
}

/// The Softmax over `windows` (groups of flat positions) of a masked sum `x`: the positions
/// the constant part of the mask hides are left out (and get 0); the rest go through
/// [`crate::ops::nonlinear::softmax_of`] with the run-time keep, if any.
pub(crate) fn masked_softmax(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    mask: &Mask,
    windows: &[Vec<u32>],
    kind: SoftmaxKind,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    if kind == SoftmaxKind::LogSoftmax {
        let what = "the log of a softmax of masked positions (LogSoftmax, or Log of Softmax: a hidden position's \
                    log-probability is -inf)";
        return Err(cx.unsupported(what));
    }
    let hidden = &mask.hidden;
    let kept: Vec<u32> = (0..hidden.len() as u32).filter(|&i| hidden[i as usize] == Hidden::No).collect();
    let mut pos = vec![None; hidden.len()];
    for (k, &i) in kept.iter().enumerate() {
        pos[i as usize] = Some(k as u32);
    }
    let mut kept_windows = Vec::with_capacity(windows.len());
    for w in windows {
        let group: Vec<u32> = w.iter().filter_map(|&i| pos[i as usize]).collect();
        if group.is_empty() {
            if w.iter().any(|&i| hidden[i as usize] == Hidden::Far) {
                let what = format!(
                    "a Softmax group every position of which the mask added by node `{}` hides with a finite value \
                     (the float softmax would ignore that uniform shift)",
                    mask.node
                );
                return Err(cx.unsupported(what));
            }
            continue; // hidden by -inf throughout: 0, as ONNX's Attention specifies
        }
        kept_windows.push(group);
    }
    if kept.is_empty() {
        let data = vec![0.0; hidden.len()];
        return Ok(Value::Const(ConstVal { shape: cx.shape.clone(), data }));
    }
    let (s, shape) = (lw.scale(x), vec![kept.len()]);
    let g = lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices: kept.clone() }, shape.clone(), s);
    lw.mask_readers.insert(g);
    let g = lw.rescale_to_activation(g);
    let kcx = NodeCx { shape, ..cx.clone() };
    let keep = mask.keep.map(|k| logic::gather_at(lw, k, &kept, &kcx));
    let y = crate::ops::nonlinear::softmax_of(lw, g, &kept_windows, kind, keep, &kcx);
    // back to the full shape: a kept position reads its probability, a hidden one is 0
    let rows = pos.iter().map(|p| LinearRow { terms: p.map(|k| (k, 0)).into_iter().collect(), bias: None }).collect();
    let out_scale = lw.scale(y);
    let op = Op::Linear(Linear { input: y, weights: vec![1], rows });
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), out_scale)))
}
