//! Two-limb rows (table `[-32, 32)`, checked range `[-2048, 2048)`): correct ReLU, maxima and
//! rescales; every forged split (a wrong sign, a low limb out of `[0, 64)`, a high limb that is
//! not an integer or is out of the table), a wrong output, a value out of range and a broken
//! copy caught, each by the exact constraint that should catch it.

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

use crate::chips::testing::{
    assert_fails, consts, copy, known, poke, poke_fr, run_wide, wide_gate, wide_lookup, Script, BITS,
};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::model::ModelConfig;

/// Smallest and largest checked values.
const LO: i64 = -(1 << (2 * BITS - 1));
const HI: i64 = (1 << (2 * BITS - 1)) - 1;
/// `2^B`.
const BASE: i64 = 1 << BITS;

fn wit(x: i64) -> halo2_proofs::circuit::Value<i64> {
    known(x).map(|_| x)
}

/// Row 1: x (constant); row 2: the RANGE row (a1 = x, a2 = relu(x), a3 = n, a4 = lo).
fn relu_script(x: i64) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[x])?;
        let (_, out) = cfg.range_chip().relu(asg, Some(c[0]), wit(x))?;
        Ok(vec![out])
    })
}

/// Rows 1, 2: m, v; row 3: the MAX row (a0 = m, a1 = v, a2 = max, a3 = n, a4 = lo of v - m).
fn max_script(m: i64, v: i64) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[m, v])?;
        let (out, _) = cfg.range_chip().max(asg, (c[0], wit(m)), (c[1], wit(v)))?;
        Ok(vec![out])
    })
}

/// Row 1: x; then its rescale by `2^shift` (one rescale row, or a floor row and a rescale row
/// when `shift > BITS`) and the RANGE row checking the quotient.
fn rescale_script(x: i64, shift: u32) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[x])?;
        Ok(vec![cfg.rescale_chip().rescale(asg, c[0], wit(x), shift)?])
    })
}

/// The RANGE row's cells for a forged split `x = hi*2^B + lo` (any `hi`, `lo`), output `y`.
fn forge_range(row: usize, n: i64, lo: i64, y: i64) -> Vec<crate::chips::testing::Poke> {
    vec![poke(3, row, n), poke(4, row, lo), poke(2, row, y)]
}

#[test]
fn relu_is_exact_over_the_whole_range() {
    for x in [LO, LO + 1, -BASE - 1, -BASE, -33, -32, -1, 0, 1, 31, 32, BASE - 1, BASE, HI - 1, HI] {
        assert_eq!(run_wide(relu_script(x), vec![], &[x.max(0)]), Ok(()), "x = {x}");
    }
}

#[test]
fn relu_rejects_values_outside_the_range() {
    for x in [HI + 1, LO - 1, 1 << 40, -(1 << 40)] {
        assert_fails(run_wide(relu_script(x), vec![], &[x.max(0)]), vec![wide_lookup("wide hi", 2)]);
    }
}

#[test]
fn relu_rejects_a_wrong_output() {
    assert_fails(run_wide(relu_script(7), vec![poke(2, 2, 6)], &[6]), vec![wide_gate("wide relu", 2)]);
    assert_fails(run_wide(relu_script(-5), vec![poke(2, 2, 1)], &[1]), vec![wide_gate("wide relu", 2)]);
}

#[test]
fn relu_rejects_a_flipped_sign() {
    // 5 = 0*64 + 5: claiming hi < 0 (n = 1, so y = 0) is not a table row
    assert_fails(run_wide(relu_script(5), forge_range(2, 1, 5, 0), &[0]), vec![wide_lookup("wide hi", 2)]);
    // -5 = -1*64 + 59: claiming n = 0 (y = -5)
    assert_fails(run_wide(relu_script(-5), forge_range(2, 0, 59, -5), &[-5]), vec![wide_lookup("wide hi", 2)]);
}

#[test]
fn relu_rejects_a_low_limb_outside_its_range() {
    // 5 = -1*64 + 69: a negative high limb (y = 0) is reachable only with lo = 69 >= 64
    assert_fails(run_wide(relu_script(5), forge_range(2, 1, 69, 0), &[0]), vec![wide_lookup("rescale r", 2)]);
    // -5 = 0*64 + (-5): a non-negative high limb needs lo = -5 < 0
    assert_fails(run_wide(relu_script(-5), forge_range(2, 0, -5, -5), &[-5]), vec![wide_lookup("rescale r", 2)]);
    // 2100 = 31*64 + 116: an out-of-range value with its high limb pulled into the table
    assert_fails(run_wide(relu_script(2100), forge_range(2, 0, 116, 2100), &[2100]), vec![wide_lookup("rescale r", 2)]);
}

#[test]
fn relu_rejects_a_high_limb_that_is_not_an_integer() {
    // lo = 4: hi = (5 - 4)/64 is a field element far from every table value
    assert_fails(run_wide(relu_script(5), forge_range(2, 0, 4, 5), &[5]), vec![wide_lookup("wide hi", 2)]);
    // a sign that is not a bit
    assert_fails(run_wide(relu_script(5), forge_range(2, 2, 5, -5), &[-5]), vec![wide_lookup("wide hi", 2)]);
}

#[test]
fn relu_rejects_an_input_that_is_not_the_operand() {
    let pokes = vec![poke(1, 2, 8), poke(2, 2, 8), poke(4, 2, 8)];
    assert_fails(run_wide(relu_script(7), pokes, &[8]), vec![copy(1, 2), copy(2, 1)]);
}

#[test]
fn max_is_exact() {
    for (m, v) in [(3, 100), (100, 3), (-2000, -1990), (5, 5), (-1000, 1000), (1000, -1000), (0, HI), (LO + 1, 0)] {
        assert_eq!(run_wide(max_script(m, v), vec![], &[m.max(v)]), Ok(()), "max({m}, {v})");
    }
}

#[test]
fn max_rejects_a_wrong_output() {
    assert_fails(run_wide(max_script(3, 100), vec![poke(2, 3, 99)], &[99]), vec![wide_gate("wide max", 3)]);
    assert_fails(run_wide(max_script(100, 3), vec![poke(2, 3, 3)], &[3]), vec![wide_gate("wide max", 3)]);
}

#[test]
fn max_rejects_a_flipped_sign() {
    // v - m = 97 = 1*64 + 33: n = 1 would give max = m
    assert_fails(
        run_wide(max_script(3, 100), vec![poke(3, 3, 1), poke(2, 3, 3)], &[3]),
        vec![wide_lookup("wide hi", 3)],
    );
    // v - m = 97 = -1*64 + 161: a low limb out of range
    let pokes = vec![poke(3, 3, 1), poke(4, 3, 161), poke(2, 3, 3)];
    assert_fails(run_wide(max_script(3, 100), pokes, &[3]), vec![wide_lookup("rescale r", 3)]);
}

#[test]
fn max_rejects_a_difference_outside_the_range() {
    assert_fails(run_wide(max_script(-1500, 1500), vec![], &[1500]), vec![wide_lookup("wide hi", 3)]);
}

#[test]
fn rescale_matches_the_interpreter_up_to_twice_the_table_bits() {
    for (x, shift) in [
        (37, 3),
        (-37, 3),
        (100_000, BITS),
        (-100_000, BITS),
        (1_000_000, 9),
        (-1_000_000, 9),
        (4_194_303, 2 * BITS),
        (-4_194_304, 2 * BITS),
        (2048, 7),
        (2047, 7),
        (-1, 12),
        (0, 8),
    ] {
        let (q, _) = zkonnx_ir::quant::rescale(i128::from(x), shift);
        assert_eq!(run_wide(rescale_script(x, shift), vec![], &[q as i64]), Ok(()), "x = {x}, shift = {shift}");
    }
}

#[test]
fn rescale_rejects_a_quotient_outside_the_range() {
    // 2^21 / 2^9 = 4096: the rows are consistent, the RANGE row (row 4) is not
    assert_fails(run_wide(rescale_script(1 << 21, 9), vec![], &[4096]), vec![wide_lookup("wide hi", 4)]);
    // one row: 2^18 / 2^6 = 4096
    assert_fails(run_wide(rescale_script(1 << 18, 6), vec![], &[4096]), vec![wide_lookup("wide hi", 3)]);
}

#[test]
fn rescale_rejects_a_forged_floor_row() {
    // 1_000_000 / 2^3 = 125000 r 0 on the floor row (row 2, c = 2^3); u + 1 with r = -8 satisfies
    // its gate and is carried into the rounding row (row 3) consistently: the remainder lookup
    // of the floor row objects
    let (u, q) = (125_001i64, zkonnx_ir::quant::rescale(125_001, BITS).0 as i64);
    let (q3, r3) = zkonnx_ir::quant::rescale(i128::from(u), BITS);
    let pokes = vec![
        poke(1, 2, u),
        poke(2, 2, -8),
        poke(4, 2, -64),
        poke(0, 3, u),
        poke(1, 3, q3 as i64),
        poke(2, 3, r3 as i64),
        poke(4, 3, r3 as i64),
        poke(1, 4, q),
        poke(2, 4, q),
        poke(4, 4, q.rem_euclid(BASE)),
        poke(3, 4, i64::from(q < 0)),
    ];
    assert_fails(run_wide(rescale_script(1_000_000, 9), pokes, &[q]), vec![wide_lookup("rescale r", 2)]);
}

#[test]
fn rescale_rejects_a_quotient_that_wraps_the_field() {
    // 37/8 = 5 r 1 (row 2); q = 5 + 1/8 (a field element) with r = 0 satisfies the gate, and the
    // RANGE row (row 3) copies it: its high limb is no table value
    let q = field_from_i64(5) + Fr::from(8).invert().unwrap_or(Fr::ZERO);
    let pokes = vec![poke_fr(1, 2, q), poke(2, 2, 0), poke(4, 2, 0), poke_fr(1, 3, q), poke_fr(2, 3, q)];
    let got = run_wide(rescale_script(37, 3), pokes, &[5]);
    let Err(fails) = got else { panic!("a wrapped quotient verified") };
    assert!(fails.contains(&wide_lookup("wide hi", 3)), "{fails:#?}");
}
