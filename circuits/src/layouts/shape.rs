//! `Op::Gather` and `Op::Select`: re-index their inputs' cells. No rows, no constraints: the
//! output cells *are* the input cells.

use halo2_proofs::circuit::Cell;
use zkonnx_ir::TensorId;

use super::Ctx;

/// The gathered cells.
pub(crate) fn gather(cx: &Ctx<'_>, input: TensorId, indices: &[u32]) -> Vec<Cell> {
    indices.iter().map(|&i| cx.cells[input][i as usize]).collect()
}

/// The selected cells: `picks[o] = (k, i)` is cell `i` of input `k`.
pub(crate) fn select(cx: &Ctx<'_>, inputs: &[TensorId], picks: &[(u32, u32)]) -> Vec<Cell> {
    picks.iter().map(|&(k, i)| cx.cells[inputs[k as usize]][i as usize]).collect()
}
