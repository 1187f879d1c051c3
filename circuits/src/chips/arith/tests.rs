//! Arith rows: products, weighted sums and pinned constants; tampered results caught.

use std::sync::Arc;

use super::Operand;
use crate::chips::testing::{assert_fails, consts, copy, gate, instance, known, poke, run, Script};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::model::ModelConfig;

/// Row 1: 6, row 2: -4 (constants); row 3: 6 * -4; row 4: 2*6 - 3*(-4).
fn script() -> Arc<Script> {
    Arc::new(|cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &[6, -4])?;
        let (l, r) = (Operand { cell: c[0], value: known(6) }, Operand { cell: c[1], value: known(-4) });
        let chip = cfg.arith_chip();
        let mul = chip.mul(asg, l, r)?;
        let add = chip.add(asg, l, r, field_from_i64(2), field_from_i64(-3))?;
        Ok(vec![c[0], mul, add])
    })
}

#[test]
fn computes_products_sums_and_constants() {
    assert_eq!(run(script(), vec![], &[6, -24, 24]), Ok(()));
}

#[test]
fn rejects_a_wrong_product() {
    assert_fails(run(script(), vec![poke(2, 3, -23)], &[6, -23, 24]), vec![gate("arith", 3)]);
}

#[test]
fn rejects_a_wrong_sum() {
    assert_fails(run(script(), vec![poke(2, 4, 0)], &[6, -24, 0]), vec![gate("arith", 4)]);
}

#[test]
fn rejects_a_constant_that_is_not_the_fixed_value() {
    // the prover claims the constant 6 is 7 everywhere it is used: the constant row's gate fails
    assert_fails(
        run(
            script(),
            vec![poke(2, 1, 7), poke(0, 3, 7), poke(2, 3, -28), poke(0, 4, 7), poke(2, 4, 26)],
            &[7, -28, 26],
        ),
        vec![gate("arith", 1)],
    );
}

#[test]
fn rejects_an_operand_that_is_not_the_input() {
    // the product row reads 5 instead of 6 (and outputs -20 consistently): only the copy breaks
    assert_fails(run(script(), vec![poke(0, 3, 5), poke(2, 3, -20)], &[6, -20, 24]), vec![copy(0, 3), copy(0, 4)]);
}

#[test]
fn rejects_a_wrong_public_value() {
    assert_fails(run(script(), vec![], &[6, -24, 25]), vec![copy(2, 4), instance(2)]);
}
