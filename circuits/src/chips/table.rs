//! The signed range table shared by every lane: `(t_in, t_out)` for every `v` in `[-H, H)`,
//! `H = 2^(lookup_bits - 1)`, where `t_out` is `max(v, 0)` with one-limb range checks (the
//! relu/max lookup, `chips/relu_max.rs`) and `[v < 0]` (0 or 1) with two-limb ones (the high
//! limb's sign, `chips/wide.rs`).
//!
//! Every lookup input in this crate is multiplied by its selector, so a disabled row looks up
//! `(0, 0)`, which is in the table either way. The table's padding rows repeat its first row
//! (halo2 fills unassigned table rows with the value at offset 0), which is also a valid entry.

use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, TableColumn};

use crate::field::field_from_i64;

/// The two table columns.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TableConfig {
    /// `v` for every `v` in `[-H, H)`.
    pub(crate) t_in: TableColumn,
    /// `max(v, 0)` beside each `v` (one limb), or `[v < 0]` (two limbs).
    pub(crate) t_out: TableColumn,
    /// `lookup_bits`.
    pub(crate) bits: u32,
    /// Whether `t_out` holds signs (two-limb range checks).
    pub(crate) wide: bool,
}

impl TableConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, bits: u32, wide: bool) -> Self {
        Self { t_in: meta.lookup_table_column(), t_out: meta.lookup_table_column(), bits, wide }
    }

    /// Rows the table occupies.
    pub(crate) fn rows(bits: u32) -> usize {
        1usize << bits
    }

    /// Fills the table (2^bits rows).
    pub(crate) fn load(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        let half = 1i64 << (self.bits - 1);
        let out = |v: i64| if self.wide { i64::from(v < 0) } else { v.max(0) };
        layouter.assign_table(
            || "range table",
            |mut table| {
                for (row, v) in (-half..half).enumerate() {
                    table.assign_cell(|| "t_in", self.t_in, row, || Value::known(field_from_i64(v)))?;
                    table.assign_cell(|| "t_out", self.t_out, row, || Value::known(field_from_i64(out(v))))?;
                }
                Ok(())
            },
        )
    }
}
