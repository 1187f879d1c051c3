//! Function lookups (`Op::Lookup`): `y = f(x)` by one lookup into a tagged table.
//!
//! Only circuits whose graph has a lookup node have these columns (`CircuitParams::function_table`).
//!
//! - table `(t_tag, t_x, t_y)`: row 0 is `(0, 0, 0)`; then, for the graph's `n`-th distinct
//!   function `f` (tag `n + 1`, see [`zkonnx_ir::Graph::funcs`]), one row `(n + 1, x, f(x))` for
//!   every `x` of its domain `[lo, hi]`. Padding rows repeat row 0.
//! - lookup `func`: `(q*f0, q*a0, q*a1)` in `(t_tag, t_x, t_y)`; a row holds `f0 = tag` (fixed),
//!   `a0 = x` (copied from its producer) and `a1 = y` (the output).
//!
//! Soundness: the tag is fixed, so a prover cannot pick another function's row; `(x, y)` must be
//! a row of that function, which both range-checks `x` to the domain and pins `y = f(x)` (a
//! function has one row per `x`). A disabled row looks up `(0, 0, 0)`, which is in the table.
//! Why a table (and not a decomposition): see [`zkonnx_ir::func`].

use halo2_proofs::circuit::{Cell, Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector, TableColumn};
use halo2_proofs::poly::Rotation;
use zkonnx_ir::Func;

use super::LaneColumns;
use crate::field::field_from_i64;
use crate::layout::{Assigner, JobKind};

/// The shared tagged table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FuncTableConfig {
    t_tag: TableColumn,
    t_x: TableColumn,
    t_y: TableColumn,
}

impl FuncTableConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        Self { t_tag: meta.lookup_table_column(), t_x: meta.lookup_table_column(), t_y: meta.lookup_table_column() }
    }

    /// Rows the table of `funcs` occupies (row 0 included); `None` if a domain is invalid.
    pub(crate) fn rows(funcs: &[Func]) -> Option<usize> {
        funcs.iter().try_fold(1usize, |acc, f| acc.checked_add(usize::try_from(f.table_rows()?).ok()?))
    }

    /// Fills the table for `funcs` (the graph's distinct functions, in tag order).
    pub(crate) fn load(&self, layouter: &mut impl Layouter<Fr>, funcs: &[Func]) -> Result<(), Error> {
        layouter.assign_table(
            || "function table",
            |mut table| {
                let mut row = 0;
                let mut put = |tag: u64, x: i64, y: i64| -> Result<(), Error> {
                    table.assign_cell(|| "t_tag", self.t_tag, row, || Value::known(Fr::from(tag)))?;
                    table.assign_cell(|| "t_x", self.t_x, row, || Value::known(field_from_i64(x)))?;
                    table.assign_cell(|| "t_y", self.t_y, row, || Value::known(field_from_i64(y)))?;
                    row += 1;
                    Ok(())
                };
                put(0, 0, 0)?;
                for (n, f) in funcs.iter().enumerate() {
                    for x in f.lo..=f.hi {
                        put(n as u64 + 1, x, f.eval(x))?;
                    }
                }
                Ok(())
            },
        )
    }
}

/// One lane's function lookup.
#[derive(Clone, Debug)]
pub(crate) struct FuncConfig {
    cols: LaneColumns,
    q: Selector,
}

impl FuncConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns, table: &FuncTableConfig) -> Self {
        let q = meta.complex_selector();
        meta.lookup("func", |m| {
            let s = m.query_selector(q);
            let tag = m.query_fixed(cols.f[0], Rotation::cur());
            let x = m.query_advice(cols.a[0], Rotation::cur());
            let y = m.query_advice(cols.a[1], Rotation::cur());
            vec![(s.clone() * tag, table.t_tag), (s.clone() * x, table.t_x), (s * y, table.t_y)]
        });
        Self { cols, q }
    }
}

/// Lays out lookup rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FuncChip<'a> {
    lanes: &'a [FuncConfig],
}

impl<'a> FuncChip<'a> {
    pub(crate) fn new(lanes: &'a [FuncConfig]) -> Self {
        Self { lanes }
    }

    /// `y = f(x)` for the function with table tag `tag`; `y` is the witness value the caller
    /// computed (`Func::eval`). Returns the output cell.
    pub(crate) fn lookup(
        &self,
        asg: &mut Assigner<'_>,
        tag: u64,
        x: Cell,
        xv: Value<i64>,
        yv: Value<i64>,
    ) -> Result<Cell, Error> {
        let (lane, row) = asg.alloc(JobKind::Lookup, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        asg.enable(&cfg.q, row)?;
        asg.fixed(f[0], row, Fr::from(tag));
        let xc = asg.advice(a[0], row, xv.map(field_from_i64));
        asg.copy(xc, x);
        Ok(asg.advice(a[1], row, yv.map(field_from_i64)))
    }
}

#[cfg(test)]
mod tests;
