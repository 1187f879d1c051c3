//! The row allocator and the one-region assigner every chip writes through.
//!
//! The whole model lives in one halo2 region (halo2-axiom's floor planner starts every region at
//! row 0, so a single region with our own allocator is the only sound way to share columns). The
//! region is split into `lanes` lanes; a job (a dot-product chain, a rescale row, ...) asks the
//! [`Allocator`] for `n` contiguous rows and gets them in the lane whose next free row is lowest
//! (the lowest lane index on ties). Job sizes depend only on the graph and the params, never on
//! witness values, so keygen and proving lay out identically.
//!
//! The [`Assigner`] runs in two modes with the same code path: with a halo2 region (synthesis)
//! and without one (a dry run that only counts rows, used by [`crate::rows_needed`]).

use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, Error, Fixed, Selector};

/// First row any lane hands out. Row 0 stays empty so that no gate querying `Rotation::prev()`
/// (the dot chains) is ever enabled on row 0, whose previous row is a blinding row.
pub(crate) const FIRST_ROW: usize = 1;

/// Per-lane bump allocator.
#[derive(Clone, Debug)]
pub(crate) struct Allocator {
    next: Vec<usize>,
}

impl Allocator {
    pub(crate) fn new(lanes: usize) -> Self {
        Self { next: vec![FIRST_ROW; lanes.max(1)] }
    }

    /// `rows` contiguous rows in the least-filled lane: returns `(lane, first row)`.
    pub(crate) fn alloc(&mut self, rows: usize) -> (usize, usize) {
        let mut lane = 0;
        for (i, &n) in self.next.iter().enumerate() {
            if n < self.next[lane] {
                lane = i;
            }
        }
        let row = self.next[lane];
        self.next[lane] += rows;
        (lane, row)
    }

    /// Rows used by the fullest lane (including the empty row 0).
    pub(crate) fn rows_used(&self) -> usize {
        self.next.iter().copied().max().unwrap_or(FIRST_ROW)
    }
}

/// A witness value forced into a cell by a test, whatever the layout computed.
#[cfg(test)]
#[derive(Clone, Debug)]
pub(crate) struct Tamper {
    pub(crate) column: Column<Advice>,
    pub(crate) row: usize,
    pub(crate) value: Fr,
}

/// Writes cells into the model region (or, in a dry run, only hands out rows and cell names).
pub(crate) struct Assigner<'r> {
    region: Option<Region<'r, Fr>>,
    alloc: Allocator,
    #[cfg(test)]
    tamper: Vec<Tamper>,
}

impl std::fmt::Debug for Assigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assigner").field("dry", &self.region.is_none()).field("alloc", &self.alloc).finish()
    }
}

impl<'r> Assigner<'r> {
    /// An assigner writing into `region`.
    pub(crate) fn new(region: Region<'r, Fr>, lanes: usize) -> Self {
        Self {
            region: Some(region),
            alloc: Allocator::new(lanes),
            #[cfg(test)]
            tamper: vec![],
        }
    }

    /// An assigner that only allocates rows.
    pub(crate) fn dry(lanes: usize) -> Self {
        Self {
            region: None,
            alloc: Allocator::new(lanes),
            #[cfg(test)]
            tamper: vec![],
        }
    }

    /// Test hook: these advice values replace whatever the layout assigns to those cells.
    #[cfg(test)]
    pub(crate) fn set_tamper(&mut self, tamper: Vec<Tamper>) {
        self.tamper = tamper;
    }

    pub(crate) fn alloc(&mut self, rows: usize) -> (usize, usize) {
        self.alloc.alloc(rows)
    }

    pub(crate) fn rows_used(&self) -> usize {
        self.alloc.rows_used()
    }

    /// Assigns an advice cell and returns it.
    pub(crate) fn advice(&mut self, column: Column<Advice>, row: usize, value: Value<Fr>) -> Cell {
        #[cfg(test)]
        let value = match self.tamper.iter().find(|t| t.column == column && t.row == row) {
            Some(t) => Value::known(t.value),
            None => value,
        };
        match self.region.as_mut() {
            Some(region) => region.assign_advice(column, row, value).cell(),
            None => Cell { row_offset: row, column: column.into() },
        }
    }

    /// Assigns a fixed cell.
    pub(crate) fn fixed(&mut self, column: Column<Fixed>, row: usize, value: Fr) {
        if let Some(region) = self.region.as_mut() {
            region.assign_fixed(column, row, value);
        }
    }

    /// Turns `selector` on at `row`.
    pub(crate) fn enable(&mut self, selector: &Selector, row: usize) -> Result<(), Error> {
        match self.region.as_mut() {
            Some(region) => selector.enable(region, row),
            None => Ok(()),
        }
    }

    /// Constrains two cells to hold the same value.
    pub(crate) fn copy(&mut self, a: Cell, b: Cell) {
        if let Some(region) = self.region.as_mut() {
            region.constrain_equal(a, b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_go_to_the_least_filled_lane() {
        let mut a = Allocator::new(3);
        assert_eq!(a.alloc(5), (0, 1));
        assert_eq!(a.alloc(2), (1, 1));
        assert_eq!(a.alloc(1), (2, 1));
        assert_eq!(a.alloc(1), (2, 2));
        assert_eq!(a.alloc(1), (1, 3));
        assert_eq!(a.rows_used(), 6);
    }
}
