//! Dot chains: correct sums, and tampered accumulators, operands and weights caught.

use std::sync::Arc;

use super::{FixedTerm, PrivateTerm};
use crate::chips::testing::{assert_fails, consts, copy, gate, instance, known, poke, run, Script};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::model::ModelConfig;

const X: [i64; 5] = [3, -5, 7, 2, 11];
const W: [i64; 5] = [2, 3, -1, 4, 5];
const BIAS: i64 = 10;
/// 6 - 15 - 7 + 8 + 55 + 10
const FIXED_OUT: i64 = 57;

/// Constants on rows 1..=5, the chain on rows 6 (4 terms) and 7 (1 term + 3 padding slots).
fn fixed_script(expose: bool) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let x = consts(cfg, asg, &X)?;
        let terms: Vec<FixedTerm> =
            (0..5).map(|i| FixedTerm { x: x[i], xv: known(X[i]), w: field_from_i64(W[i]) }).collect();
        let out = cfg.dot_chip().fixed(asg, &terms, field_from_i64(BIAS))?;
        Ok(if expose { vec![out] } else { vec![] })
    })
}

#[test]
fn fixed_chain_computes_the_dot_product() {
    assert_eq!(run(fixed_script(true), vec![], &[FIXED_OUT]), Ok(()));
}

#[test]
fn fixed_chain_rejects_a_wrong_partial_sum() {
    // the first row's accumulator is wrong: its own gate and the next row's (which reads it) fail
    assert_fails(run(fixed_script(false), vec![poke(4, 6, -7)], &[]), vec![gate("dot fixed", 6), gate("dot fixed", 7)]);
}

#[test]
fn fixed_chain_rejects_a_wrong_output() {
    assert_fails(
        run(fixed_script(true), vec![poke(4, 7, FIXED_OUT + 1)], &[FIXED_OUT + 1]),
        vec![gate("dot fixed", 7)],
    );
}

#[test]
fn fixed_chain_rejects_a_wrong_public_output() {
    assert_fails(run(fixed_script(true), vec![], &[FIXED_OUT + 1]), vec![copy(4, 7), instance(0)]);
}

#[test]
fn fixed_chain_rejects_operands_that_are_not_the_inputs() {
    // x0: 3 -> 4 (+2) and x2: 7 -> 9 (-2) keep every gate satisfied; only the copies break
    assert_fails(
        run(fixed_script(true), vec![poke(0, 6, 4), poke(2, 6, 9)], &[FIXED_OUT]),
        vec![copy(0, 6), copy(2, 6), copy(2, 1), copy(2, 3)],
    );
}

#[test]
fn fixed_chain_padding_slots_are_inert() {
    // padding has weight 0 in the verifying key: any x there changes nothing
    assert_eq!(run(fixed_script(true), vec![poke(1, 7, 12345), poke(3, 7, -9)], &[FIXED_OUT]), Ok(()));
}

/// x = [3, -5, 7], weights [2, 3, 10]; terms (x0,w0) (x1,w1) (x2,w0) (one,w2) = 6 - 15 + 14 + 10.
const PRIV_OUT: i64 = 15;

/// Rows 1..=3 x, row 4 zero, row 5 one, chain rows 6 and 7 (with `bias`), or 6 and 7 with
/// a padding slot on row 7 (without).
fn private_script(bias: bool, expose: bool) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let x = consts(cfg, asg, &X[..3])?;
        let pinned = consts(cfg, asg, &[0, 1])?;
        let wv = [2, 3, 10];
        let mut terms: Vec<PrivateTerm> = [(0, 0), (1, 1), (2, 0)]
            .iter()
            .map(|&(i, w)| PrivateTerm { x: x[i], xv: known(X[i]), w, wv: known(wv[w]) })
            .collect();
        if bias {
            terms.push(PrivateTerm { x: pinned[1], xv: known(1), w: 2, wv: known(10) });
        }
        let mut canonical = vec![None; 3];
        let out = cfg.dot_chip().private(asg, &terms, pinned[0], &mut canonical)?;
        Ok(if expose { vec![out] } else { vec![] })
    })
}

#[test]
fn private_chain_computes_the_dot_product() {
    assert_eq!(run(private_script(true, true), vec![], &[PRIV_OUT]), Ok(()));
    assert_eq!(run(private_script(false, true), vec![], &[PRIV_OUT - 10]), Ok(()));
}

#[test]
fn private_chain_rejects_a_wrong_product() {
    assert_fails(
        run(private_script(true, false), vec![poke(4, 6, -8)], &[]),
        vec![gate("dot private", 6), gate("dot private", 7)],
    );
}

#[test]
fn private_chain_rejects_a_reused_weight_that_disagrees() {
    // the second use of w0 (row 7, a1) becomes 3 (+7 to the sum); the bias weight's only use
    // absorbs -7 so every gate holds; only the copy to w0's canonical cell breaks
    assert_fails(
        run(private_script(true, true), vec![poke(1, 7, 3), poke(3, 7, 3)], &[PRIV_OUT]),
        vec![copy(1, 7), copy(1, 6)],
    );
}

#[test]
fn private_chain_padding_is_pinned_to_zero() {
    // without the bias, row 7's second slot is padding: x there must be the zero cell
    assert_fails(
        run(
            private_script(false, true),
            vec![poke(2, 7, 1), poke(3, 7, 5), poke(4, 7, PRIV_OUT - 10 + 5)],
            &[PRIV_OUT - 5],
        ),
        vec![copy(2, 7), copy(2, 4)],
    );
}
