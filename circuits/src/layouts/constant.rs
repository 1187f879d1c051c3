//! `Op::Const`: each value is pinned by an arith constant row (`a2 = f3 = c`), so the value is
//! part of the verifying key.

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;

use super::Ctx;
use crate::field::field_from_i64;
use crate::layout::Assigner;

/// Lays out a constant tensor.
pub(crate) fn constant(cx: &Ctx<'_>, asg: &mut Assigner<'_>, values: &[i64]) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.arith_chip();
    values.iter().map(|&v| chip.constant(asg, field_from_i64(v))).collect()
}
