//! ReLU and MAX rows: correct outputs; a negative ReLU output, a wrong maximum, a value outside
//! the table and a broken copy are all caught.

use std::sync::Arc;

use crate::chips::testing::{assert_fails, consts, copy, gate, known, lookup, poke, run, Script, BITS};
use crate::layout::Assigner;
use crate::model::ModelConfig;

/// Row 1: x (constant); row 2: relu(x) (x in a1, out in a2).
fn relu_script(x: i64) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[x])?;
        let (_, out) = cfg.range_chip().relu(asg, Some(c[0]), known(x).map(|_| x))?;
        Ok(vec![out])
    })
}

/// Rows 1, 2: m, v (constants); row 3: max(m, v) (a0 = m, a1 = v, a2 = relu(v-m), a3 = max).
fn max_script(m: i64, v: i64) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[m, v])?;
        let wit = |x: i64| known(x).map(|_| x);
        let (out, _) = cfg.range_chip().max(asg, (c[0], wit(m)), (c[1], wit(v)))?;
        Ok(vec![out])
    })
}

const H: i64 = 1 << (BITS - 1);

#[test]
fn relu_clamps_negatives() {
    for x in [-H, -5, -1, 0, 1, 7, H - 1] {
        assert_eq!(run(relu_script(x), vec![], &[x.max(0)]), Ok(()), "x = {x}");
    }
}

#[test]
fn relu_rejects_returning_the_negative() {
    assert_fails(run(relu_script(-5), vec![poke(2, 2, -5)], &[-5]), vec![lookup("relu/max", 2)]);
}

#[test]
fn relu_rejects_a_wrong_positive_output() {
    assert_fails(run(relu_script(7), vec![poke(2, 2, 6)], &[6]), vec![lookup("relu/max", 2)]);
    assert_fails(run(relu_script(-5), vec![poke(2, 2, 1)], &[1]), vec![lookup("relu/max", 2)]);
}

#[test]
fn relu_rejects_inputs_outside_the_table() {
    assert_fails(run(relu_script(H), vec![], &[H]), vec![lookup("relu/max", 2)]);
    assert_fails(run(relu_script(-H - 1), vec![], &[0]), vec![lookup("relu/max", 2)]);
    assert_fails(run(relu_script(1 << 40), vec![], &[1 << 40]), vec![lookup("relu/max", 2)]);
}

#[test]
fn relu_rejects_an_input_that_is_not_the_operand() {
    assert_fails(run(relu_script(7), vec![poke(1, 2, 8), poke(2, 2, 8)], &[8]), vec![copy(1, 2), copy(2, 1)]);
}

#[test]
fn max_takes_the_larger() {
    for (m, v) in [(3, 9), (9, 3), (-4, -4), (-H / 2, H / 2 - 1), (H / 2 - 1, -H / 2), (-H, -1)] {
        assert_eq!(run(max_script(m, v), vec![], &[m.max(v)]), Ok(()), "max({m}, {v})");
    }
}

#[test]
fn max_rejects_the_smaller() {
    // claims max(3, 9) = 3 while keeping relu(9 - 3) = 6: the max gate fails
    assert_fails(run(max_script(3, 9), vec![poke(3, 3, 3)], &[3]), vec![gate("max", 3)]);
    // and with relu(9 - 3) claimed 0 to satisfy the gate, the lookup fails
    assert_fails(run(max_script(3, 9), vec![poke(2, 3, 0), poke(3, 3, 3)], &[3]), vec![lookup("relu/max", 3)]);
}

#[test]
fn max_rejects_more_than_the_maximum() {
    assert_fails(run(max_script(3, 9), vec![poke(2, 3, 7), poke(3, 3, 10)], &[10]), vec![lookup("relu/max", 3)]);
}

#[test]
fn max_rejects_a_difference_outside_the_table() {
    // 2H apart: no valid witness even for the honest prover
    assert_fails(run(max_script(-H, H), vec![], &[H]), vec![lookup("relu/max", 3)]);
}

#[test]
fn max_rejects_an_operand_that_is_not_the_input() {
    // the row compares 3 with 12 instead of 9 (and outputs 12 consistently)
    assert_fails(
        run(max_script(3, 9), vec![poke(1, 3, 12), poke(2, 3, 9), poke(3, 3, 12)], &[12]),
        vec![copy(1, 3), copy(2, 2)],
    );
}
