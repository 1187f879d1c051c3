//! Exact division of integers by a divisor computed at run time (or a constant that differs
//! per element): ONNX's integer `Div` (rounded toward zero) and `Mod` (the remainder with the
//! dividend's sign, which tract's `Rem` is; `Mod`'s other form adds a sign fix-up of its own).
//!
//! With `a = sa·|a|`, `b = sb·|b|` (`sa`, `sb` = ±1 from exact comparisons):
//! 1. a candidate `q = floor(|a| · round(2^t / |b|) / 2^t)` from a reciprocal table at output
//!    scale `t = min(R, 61 - R)` (`R` the checked range's bits), off by at most one for `R <= 30`;
//! 2. two correction rounds, each `q += [r >= |b|] - [r < 0]` with `r = |a| - q·|b|`;
//! 3. an assertion that `0 <= r < |b|`: `min(v, 0)` of `r` and of `|b| - 1 - r` must be in a
//!    one-row table holding only 0 (the lookup checks its input's domain);
//! 4. `quotient = sa·sb·q`, `remainder = sa·r`.
//!
//! Every step is an existing op. The assertion makes the result exact or a failure: a candidate
//! the corrections cannot mend, or a zero divisor (which the reciprocal table, over `[1, 2^(R-1))`,
//! does not hold), fails at witness time naming the node, never a wrong quotient. Cost: about
//! 40 rows per element.

use zkonnx_ir::{Func, FuncKind, Op, TensorId};

use crate::lower::{Lowerer, NodeCx};
use crate::ops::activation::add_pairs;
use crate::ops::activation::{add, relu};
use crate::ops::logic::{add_const, floor_shift, gather_at, mul, not, read_at, step};
use crate::ops::nonlinear::activation_domain;
use crate::CompileError;

/// The quotient and the remainder of the node's two operands, broadcast to its output: integers
/// (`integer`) at scale 0, or fixed-point values read as integers at their common scale (the
/// remainder, `C`'s `fmod`, is then at that scale; the quotient is an integer either way).
pub(crate) fn of_operands(
    lw: &mut Lowerer<'_>,
    integer: bool,
    cx: &NodeCx,
) -> Result<(TensorId, TensorId, u32), CompileError> {
    let [a, b] = cx.inputs[..] else { return Err(cx.shape_err("a division needs two operands")) };
    let (ma, mb) = (cx.broadcast_from(&lw.outlet_shape(a)?)?, cx.broadcast_from(&lw.outlet_shape(b)?)?);
    let mut t = [lw.operand(a, cx)?, lw.operand(b, cx)?];
    for x in &mut t {
        *x = if integer { lw.rescale_to_integer(*x) } else { lw.rescale_to_activation(*x) };
    }
    let scale = lw.scale(t[0]);
    if lw.scale(t[1]) != scale {
        return Err(cx.unsupported("a division of operands at different scales"));
    }
    let ta = gather_at(lw, t[0], &ma, cx);
    let tb = gather_at(lw, t[1], &mb, cx);
    let (ta, tb) = (read_at(lw, ta, 0, cx), read_at(lw, tb, 0, cx));
    let (q, r) = divide_exactly(lw, ta, tb, cx);
    Ok((q, read_at(lw, r, scale, cx), scale))
}

/// Correction rounds after the candidate quotient.
const CORRECTIONS: usize = 2;

/// The quotient (toward zero) and the remainder (with `a`'s sign) of `a / b`, element by
/// element: both operands and both results hold integers at scale 0 with `cx.shape`.
pub(crate) fn divide_exactly(lw: &mut Lowerer<'_>, a: TensorId, b: TensorId, cx: &NodeCx) -> (TensorId, TensorId) {
    let (sa, sb) = (sign(lw, a, cx), sign(lw, b, cx));
    let (abs_a, abs_b) = (mul(lw, sa, a, cx), mul(lw, sb, b, cx));
    // |a|·(2^t/|b|) < 2^(R-1+t) must stay below the interpreter's 2^62
    let bits = lw.args.range_bits().clamp(2, 40);
    let t = bits.min(61 - bits);
    let (_, hi) = activation_domain(lw);
    let recip = Func::new(FuncKind::Reciprocal, 0, t, 1, hi);
    let inv = lw.emit(&cx.name, &cx.origin, Op::Lookup { input: abs_b, func: recip }, cx.shape.clone(), t);
    // floor(|a|·inv / 2^t)
    let scaled = mul(lw, abs_a, inv, cx);
    let mut q = floor_shift(lw, scaled, t, cx);
    let mut r = remainder_of(lw, abs_a, q, abs_b, cx);
    for _ in 0..CORRECTIONS {
        let less_b = add(lw, r, abs_b, -1, cx);
        let at_least_b = add_const(lw, less_b, 1, cx);
        let over = step(lw, at_least_b, cx);
        let minus_r = crate::ops::activation::negate(lw, r, cx);
        let under = step(lw, minus_r, cx);
        let d = add(lw, over, under, -1, cx);
        q = add(lw, q, d, 1, cx);
        r = remainder_of(lw, abs_a, q, abs_b, cx);
    }
    // 0 <= r and r <= |b| - 1, or the witness fails here; the zeros join r so they stay
    let room = add(lw, abs_b, r, -1, cx);
    let room = add_const(lw, room, -1, cx);
    let (z0, z1) = (assert_nonnegative(lw, r, cx), assert_nonnegative(lw, room, cx));
    let r = add(lw, r, z0, 1, cx);
    let r = add(lw, r, z1, 1, cx);
    let signs = mul(lw, sa, sb, cx);
    (mul(lw, signs, q, cx), mul(lw, sa, r, cx))
}

/// `|a| - q·|b|`.
fn remainder_of(lw: &mut Lowerer<'_>, abs_a: TensorId, q: TensorId, abs_b: TensorId, cx: &NodeCx) -> TensorId {
    let qb = mul(lw, q, abs_b, cx);
    add(lw, abs_a, qb, -1, cx)
}

/// `1` where `x >= 1` (one unit at its scale), else `-1` (0 reads as negative: its product with
/// `x` is 0 either way).
pub(crate) fn sign(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let positive = step(lw, x, cx);
    let twice = add(lw, positive, positive, 1, cx);
    add_const(lw, twice, -1, cx)
}

/// 0, where `v >= 0`; otherwise the witness fails: `min(v, 0)` must lie in a table holding only 0.
fn assert_nonnegative(lw: &mut Lowerer<'_>, v: TensorId, cx: &NodeCx) -> TensorId {
    let r = relu(lw, v, cx);
    let below = add(lw, v, r, -1, cx);
    let zero_only = Func::new(FuncKind::Round, 0, 0, 0, 0);
    lw.emit(&cx.name, &cx.origin, Op::Lookup { input: below, func: zero_only }, cx.shape.clone(), 0)
}

/// Rows of layout per element of [`round_half_even`] (two rescales, a step, a product, sums).
const ROUND_ROWS_PER_ELEMENT: usize = 12;

/// Whether rounding `x` by rescales ([`round_half_even`]) is the cheaper form: its rows stay
/// within `2^(B+2)`, the size a function table may reach (interpolated tables are capped there;
/// a `Round` table, one row per input value over the calibrated domain, is often that size). A
/// table's size is only known after calibration narrows it, so this is an estimate: many
/// elements take the table, few the rescales.
pub(crate) fn round_by_rescale_is_cheaper(lw: &Lowerer<'_>, x: TensorId) -> bool {
    let elements: usize = lw.shape(x).iter().product();
    let table = 1usize << (lw.args.lookup_bits + 2).min(40);
    let (lo, hi) = activation_domain(lw);
    let domain = usize::try_from(hi - lo + 1).unwrap_or(usize::MAX);
    elements.saturating_mul(ROUND_ROWS_PER_ELEMENT) <= table.min(domain)
}

/// ONNX's `Round` (half to even) of `x` at scale `s`, as an integer at scale 0, with no table:
/// `q = floor((x + 2^(s-1)) / 2^s)` is the rescale (half up); the remainder
/// `x + 2^(s-1) - 2^s·q`, in `[0, 2^s)`, is 0 exactly at a tie, where an odd `q` (`q - 2·floor(q/2)`,
/// a second rescale) steps down by one. Exact, like the table it replaces.
pub(crate) fn round_half_even(lw: &mut Lowerer<'_>, x: TensorId, cx: &NodeCx) -> TensorId {
    let s = lw.scale(x);
    if s == 0 {
        return x;
    }
    let xcx = NodeCx { shape: lw.shape(x).to_vec(), ..cx.clone() };
    let q = lw.rescale_by(x, s);
    let below = add(lw, x, q, -1, &xcx);
    let rem = add_const(lw, below, 1i64 << (s - 1), &xcx);
    let above_zero = step(lw, rem, &xcx);
    let tie = not(lw, above_zero, &xcx);
    let half = floor_shift(lw, q, 1, &xcx);
    let pairs = (0..xcx.shape.iter().product::<usize>() as u32).map(|i| (i, i)).collect();
    let odd = add_pairs(lw, q, half, pairs, -2, &xcx);
    let down = mul(lw, tie, odd, &xcx);
    add(lw, q, down, -1, &xcx)
}
