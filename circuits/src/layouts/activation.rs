//! `Op::Relu` (one ReLU row per element) and `Op::MaxPool` (a chain of MAX rows per window;
//! a window of one element is just that element's cell).

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;
use zkonnx_ir::TensorId;

use super::Ctx;
use crate::layout::Assigner;

/// Lays out `max(x, 0)` element-wise.
pub(crate) fn relu(cx: &Ctx<'_>, asg: &mut Assigner<'_>, input: TensorId) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.range_chip();
    (0..cx.cells[input].len())
        .map(|i| chip.relu(asg, Some(cx.cells[input][i]), cx.value(input, i)).map(|(_, out)| out))
        .collect()
}

/// Lays out the maximum of each window.
pub(crate) fn max_pool(
    cx: &Ctx<'_>,
    asg: &mut Assigner<'_>,
    input: TensorId,
    windows: &[Vec<u32>],
) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.range_chip();
    let operand = |i: u32| (cx.cells[input][i as usize], cx.value(input, i as usize));
    windows
        .iter()
        .map(|w| {
            let Some((&first, rest)) = w.split_first() else {
                return Err(Error::Synthesis); // rejected by `Graph::validate`
            };
            let mut acc = operand(first);
            for &i in rest {
                acc = chip.max(asg, acc, operand(i))?;
            }
            Ok(acc.0)
        })
        .collect()
}
