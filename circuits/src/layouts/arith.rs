//! `Op::Arith`: one arith row per output element, operands copy-constrained to their producers.

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;
use zkonnx_ir::{Arith, ArithKind};

use super::Ctx;
use crate::chips::arith::Operand;
use crate::field::field_from_i64;
use crate::layout::Assigner;

/// Lays out an element-wise `a ∘ b`.
pub(crate) fn arith(cx: &Ctx<'_>, asg: &mut Assigner<'_>, op: &Arith) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.arith_chip();
    let operand = |t: usize, i: u32| Operand {
        cell: cx.cells[t][i as usize],
        value: cx.value(t, i as usize).map(field_from_i64),
    };
    op.pairs
        .iter()
        .map(|&(i, j)| {
            let (l, r) = (operand(op.a, i), operand(op.b, j));
            match op.kind {
                ArithKind::Add { ca, cb } => chip.add(asg, l, r, field_from_i64(ca), field_from_i64(cb)),
                ArithKind::Mul => chip.mul(asg, l, r),
            }
        })
        .collect()
}
