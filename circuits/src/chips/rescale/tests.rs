//! Rescale rows: exact round-half-up quotients, and every off-by-one or out-of-range witness
//! caught by the lookups (the main gate alone cannot tell `(q, r)` from `(q+1, r-d)`).

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;

use crate::chips::testing::{
    assert_fails, consts, copy, gate, known, lookup, poke, poke_fr, run, run_fr, Script, BITS,
};
use crate::layout::Assigner;
use crate::model::ModelConfig;

/// Constant `x` on row 1, its rescale by `2^shift` on row 2 (q in a1, r in a2).
fn script(x: i64, shift: u32) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[x])?;
        let q = cfg.rescale_chip().rescale(asg, c[0], known(x).map(|_| x), shift)?;
        Ok(vec![q])
    })
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
    // 37/8: q = 5, r = 1. q = 6, r = -7 satisfies the gate; r >= 0 fails
    assert_fails(run(script(37, 3), vec![poke(1, 2, 6), poke(2, 2, -7)], &[6]), vec![lookup("rescale r lower", 2)]);
}

#[test]
fn rejects_a_quotient_one_too_low() {
    // q = 4, r = 9 satisfies the gate; r < d fails
    assert_fails(run(script(37, 3), vec![poke(1, 2, 4), poke(2, 2, 9)], &[4]), vec![lookup("rescale r upper", 2)]);
}

#[test]
fn rejects_a_quotient_off_by_one_for_negative_inputs() {
    // -37/8: q = -5, r = 7
    assert_fails(run(script(-37, 3), vec![poke(1, 2, -4), poke(2, 2, -1)], &[-4]), vec![lookup("rescale r lower", 2)]);
    assert_fails(run(script(-37, 3), vec![poke(1, 2, -6), poke(2, 2, 15)], &[-6]), vec![lookup("rescale r upper", 2)]);
}

#[test]
fn rejects_a_nonzero_remainder_without_a_shift() {
    // shift 0: q = x exactly; q = 8, r = 1 satisfies the gate but not r < 1
    assert_fails(run(script(9, 0), vec![poke(1, 2, 8), poke(2, 2, 1)], &[8]), vec![lookup("rescale r upper", 2)]);
}

#[test]
fn rejects_a_remainder_far_out_of_range() {
    // q = 5 - 2^40, r = 1 + 2^43: the gate holds in the field, both remainder lookups fail
    // and so does the quotient's range check
    let q = 5 - (1i64 << 40);
    let r = 1 + (1i64 << 43);
    assert_fails(
        run(script(37, 3), vec![poke(1, 2, q), poke(2, 2, r)], &[q]),
        vec![lookup("rescale r lower", 2), lookup("rescale r upper", 2), lookup("rescale q range", 2)],
    );
}

#[test]
fn rejects_a_quotient_outside_the_table() {
    // 2000/8 = 250 >= H = 32: the honest witness has no valid quotient
    assert_fails(run(script(2000, 3), vec![], &[250]), vec![lookup("rescale q range", 2)]);
}

#[test]
fn rejects_a_wrong_remainder() {
    assert_fails(run(script(37, 3), vec![poke(2, 2, 2)], &[5]), vec![gate("rescale", 2)]);
}

#[test]
fn rejects_an_input_that_is_not_the_operand() {
    // the row rescales 45 (q = 6, r = 1) instead of the constant 37
    assert_fails(run(script(37, 3), vec![poke(0, 2, 45), poke(1, 2, 6)], &[6]), vec![copy(0, 2), copy(2, 1)]);
}

#[test]
fn rejects_a_quotient_that_wraps_around_the_field() {
    // 37/8: q = 5, r = 1. The prover shifts q by k/8 (k = 1, -1, -6 keep r - k in [0, 8)) computed mod p (a field element near p/2
    // or beyond) and r by -k, so that q'*8 + r' = q*8 + r (mod p): the main gate holds in the
    // field. Only the quotient's range check sees that q' is not a small integer.
    let inv8 = Fr::from(8).invert().expect("8 is invertible mod p");
    for k in [1i64, -1, -6] {
        let shift = inv8 * crate::field::field_from_i64(k);
        let q = Fr::from(5) + shift;
        let r = crate::field::field_from_i64(1 - k);
        assert_eq!(q * Fr::from(8) + r, Fr::from(37 + 4), "the wrapped pair satisfies the gate");
        assert_fails(
            run_fr(script(37, 3), vec![poke_fr(1, 2, q), poke_fr(2, 2, r)], vec![q]),
            vec![lookup("rescale q range", 2)],
        );
    }
    // and a remainder that wraps (q' = q + 1, r' = r - 8 read mod p) fails the remainder's
    // lower bound, whatever the quotient's range check says
    assert_fails(run(script(37, 3), vec![poke(1, 2, 6), poke(2, 2, -7)], &[6]), vec![lookup("rescale r lower", 2)]);
}
