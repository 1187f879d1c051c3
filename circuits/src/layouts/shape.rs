//! `Op::Gather`: re-indexes the input's cells. No rows, no constraints: the output cells *are*
//! the input cells.

use halo2_proofs::circuit::Cell;
use zkonnx_ir::TensorId;

use super::Ctx;

/// The gathered cells.
pub(crate) fn gather(cx: &Ctx<'_>, input: TensorId, indices: &[u32]) -> Vec<Cell> {
    indices.iter().map(|&i| cx.cells[input][i as usize]).collect()
}
