//! `Op::Lookup`: one function-lookup row per element (see `chips::func`).

use halo2_proofs::circuit::Cell;
use halo2_proofs::plonk::Error;
use zkonnx_ir::{Func, TensorId};

use super::Ctx;
use crate::layout::Assigner;

/// Lays out `func(x)` element-wise. The function's table tag is its position among the graph's
/// distinct functions, plus one.
pub(crate) fn lookup(cx: &Ctx<'_>, asg: &mut Assigner<'_>, input: TensorId, func: &Func) -> Result<Vec<Cell>, Error> {
    // `check_graph` guarantees the function table exists when the graph has lookups
    let chip = cx.cfg.func_chip().ok_or(Error::Synthesis)?;
    let tag = cx.funcs.iter().position(|f| f == func).ok_or(Error::Synthesis)? as u64 + 1;
    (0..cx.cells[input].len())
        .map(|i| {
            let xv = cx.value(input, i);
            chip.lookup(asg, tag, cx.cells[input][i], xv, xv.map(|x| func.eval(x)))
        })
        .collect()
}
