//! `Op::Input`: each element is the `a1` cell of a ReLU row, which range-checks it to the
//! table. Public inputs are additionally tied to the instance column by the model circuit.

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;
use zkonnx_ir::TensorId;

use super::Ctx;
use crate::layout::Assigner;

/// Lays out model input `node`; returns its (range-checked) cells.
pub(crate) fn input(cx: &Ctx<'_>, asg: &mut Assigner<'_>, node: TensorId) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.range_chip();
    (0..cx.graph.nodes[node].len()).map(|i| chip.relu(asg, None, cx.value(node, i)).map(|(input, _)| input)).collect()
}
