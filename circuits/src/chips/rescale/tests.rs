//! Rescale rows: exact round-half-up quotients, and every off-by-one or out-of-range witness
//! caught (the main gate alone cannot tell `(q, r)` from `(q+1, r-d)`).

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;

use crate::chips::testing::{
    assert_fails, consts, copy, gate, known, lookup, poke, poke_fr, run, run_fr, Poke, Script, BITS,
};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::model::ModelConfig;

/// Constant `x` on row 1, its rescale by `2^shift` on row 2 (q in a1, r in a2, relu(q) in a3,
/// c*r in a4).
fn script(x: i64, shift: u32) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[x])?;
        let q = cfg.rescale_chip().rescale(asg, c[0], known(x).map(|_| x), shift)?;
        Ok(vec![q])
    })
}

/// `c = 2H/d` for a shift.
fn scale(shift: u32) -> i64 {
    1 << (BITS - shift)
}

/// A forged `(q, r)` on row 2 with the row's other cells made consistent with it (`a3 =
/// relu(q)`, `a4 = c*r`), so only the range checks can object.
fn forge(q: i64, r: i64, shift: u32) -> Vec<Poke> {
    vec![poke(1, 2, q), poke(2, 2, r), poke(3, 2, q.max(0)), poke(4, 2, r * scale(shift))]
}

#[test]
fn matches_the_interpreter_rounding() {
    for (x, shift) in [
        (37, 3),
        (-37, 3),
        (36, 3),
        (-36, 3),
        (4, 3),
        (-4, 3),
        (5, 1),
        (-5, 1),
        (9, 0),
        (-32, 0),
        (100, BITS),
        (-2047, BITS),
        (0, 2),
    ] {
        let (q, _) = zkonnx_ir::quant::rescale(i128::from(x), shift);
        assert_eq!(run(script(x, shift), vec![], &[q as i64]), Ok(()), "x = {x}, shift = {shift}");
    }
}

#[test]
fn rejects_a_quotient_one_too_high() {
    // 37/8: q = 5, r = 1. q = 6, r = -7 satisfies the gate; c*r >= 0 fails
    assert_fails(run(script(37, 3), forge(6, -7, 3), &[6]), vec![lookup("rescale r", 2)]);
}

#[test]
fn rejects_a_quotient_one_too_low() {
    // q = 4, r = 9 satisfies the gate; c*r < 2H (r < d) fails
    assert_fails(run(script(37, 3), forge(4, 9, 3), &[4]), vec![lookup("rescale r", 2)]);
}

#[test]
fn rejects_a_quotient_off_by_one_for_negative_inputs() {
    // -37/8: q = -5, r = 7
    assert_fails(run(script(-37, 3), forge(-4, -1, 3), &[-4]), vec![lookup("rescale r", 2)]);
    assert_fails(run(script(-37, 3), forge(-6, 15, 3), &[-6]), vec![lookup("rescale r", 2)]);
}

#[test]
fn rejects_a_nonzero_remainder_without_a_shift() {
    // shift 0: q = x exactly; q = 8, r = 1 satisfies the gate but not c*r = 2H*r < 2H
    assert_fails(run(script(9, 0), forge(8, 1, 0), &[8]), vec![lookup("rescale r", 2)]);
}

#[test]
fn rejects_a_remainder_far_out_of_range() {
    // q = 5 - 2^40, r = 1 + 2^43: the gate holds in the field; the remainder's lookup fails and
    // so does the quotient's range check
    let q = 5 - (1i64 << 40);
    let r = 1 + (1i64 << 43);
    assert_fails(run(script(37, 3), forge(q, r, 3), &[q]), vec![lookup("rescale r", 2), lookup("relu/max", 2)]);
}

#[test]
fn rejects_a_quotient_outside_the_table() {
    // 2000/8 = 250 >= H = 32: the honest witness has no valid quotient
    assert_fails(run(script(2000, 3), vec![], &[250]), vec![lookup("relu/max", 2)]);
}

#[test]
fn rejects_a_wrong_remainder() {
    assert_fails(run(script(37, 3), vec![poke(2, 2, 2), poke(4, 2, 2 * scale(3))], &[5]), vec![gate("rescale", 2)]);
}

#[test]
fn rejects_a_scaled_remainder_that_is_not_c_times_r() {
    // a4 = c*r + 1 is still in the table, but not c*r
    assert_fails(run(script(37, 3), vec![poke(4, 2, scale(3) + 1)], &[5]), vec![gate("rescale scaled r", 2)]);
}

#[test]
fn rejects_a_wrong_relu_of_the_quotient() {
    // (q, relu(q)) must be a table row: (5, 4) is not
    assert_fails(run(script(37, 3), vec![poke(3, 2, 4)], &[5]), vec![lookup("relu/max", 2)]);
}

#[test]
fn rejects_an_input_that_is_not_the_operand() {
    // the row rescales 45 (q = 6, r = 1) instead of the constant 37
    let mut pokes = vec![poke(0, 2, 45)];
    pokes.extend(forge(6, 1, 3));
    assert_fails(run(script(37, 3), pokes, &[6]), vec![copy(0, 2), copy(2, 1)]);
}

#[test]
fn rejects_a_remainder_whose_scaled_value_is_in_range_but_not_a_multiple_of_c() {
    // c*r = 1 in the table, so r = 1/c mod p, a huge field element; the gate then forces
    // q = (37 + 4 - r)/8 mod p, which the quotient's range check refuses
    let c = Fr::from(scale(3) as u64);
    let r = c.invert().expect("c is invertible mod p");
    let q = (Fr::from(41) - r) * Fr::from(8).invert().expect("8 is invertible mod p");
    let pokes = vec![poke_fr(1, 2, q), poke_fr(2, 2, r), poke(3, 2, 0), poke(4, 2, 1)];
    assert_fails(run_fr(script(37, 3), pokes, vec![q]), vec![lookup("relu/max", 2)]);
}

#[test]
fn rejects_a_quotient_that_wraps_around_the_field() {
    // 37/8: q = 5, r = 1. The prover shifts q by k/8 (k = 1, -1, -6 keep r - k in [0, 8)) computed mod p (a field element near p/2
    // or beyond) and r by -k, so that q'*8 + r' = q*8 + r (mod p): the main gate holds in the
    // field and c*r' is in the table. Only the quotient's range check sees that q' is not a
    // small integer.
    let inv8 = Fr::from(8).invert().expect("8 is invertible mod p");
    for k in [1i64, -1, -6] {
        let q = Fr::from(5) + inv8 * field_from_i64(k);
        let r = 1 - k;
        assert_eq!(q * Fr::from(8) + field_from_i64(r), Fr::from(37 + 4), "the wrapped pair satisfies the gate");
        let pokes = vec![poke_fr(1, 2, q), poke(2, 2, r), poke(3, 2, 0), poke(4, 2, r * scale(3))];
        assert_fails(run_fr(script(37, 3), pokes, vec![q]), vec![lookup("relu/max", 2)]);
    }
    // and a remainder that wraps (q' = q + 1, r' = r - 8 read mod p) fails the remainder's
    // range, whatever the quotient's range check says
    assert_fails(run(script(37, 3), forge(6, -7, 3), &[6]), vec![lookup("rescale r", 2)]);
}
