//! `Op::Rescale`: one rescale row per element (quotient and remainder range-checked).

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;
use zkonnx_ir::TensorId;

use super::Ctx;
use crate::layout::Assigner;

/// Lays out `round_half_up(x / 2^shift)` element-wise.
pub(crate) fn rescale(cx: &Ctx<'_>, asg: &mut Assigner<'_>, input: TensorId, shift: u32) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.rescale_chip();
    (0..cx.cells[input].len()).map(|i| chip.rescale(asg, cx.cells[input][i], cx.value(input, i), shift)).collect()
}
