//! The row allocator and the one-region assigner every chip writes through.
//!
//! The whole model lives in one halo2 region (halo2-axiom's floor planner starts every region at
//! row 0, so a single region with our own allocator is the only sound way to share columns). The
//! region is split into `lanes` lanes; a job (a dot-product chain, a rescale row, ...) asks the
//! [`Allocator`] for `n` contiguous rows and gets them in the lane whose next free row is lowest
//! (the lowest lane index on ties), among the lanes with lookups if the job needs one. Job sizes
//! depend only on the graph and the params, never on witness values, so keygen and proving lay
//! out identically.
//!
//! The [`Assigner`] runs in two modes with the same code path: with a halo2 region (synthesis)
//! and without one (a dry run that only counts rows, used by [`crate::rows_needed`]).
//!
//! Test hooks (only with `cfg(test)` or the `testing` feature, never in a default build): forced
//! witness values ([`Tamper`]) and a record of every job and advice cell of a dry run, which the
//! mutation harness (`crate::mutation`) walks.

use halo2_proofs::circuit::{Cell, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, Error, Fixed, Selector};

/// First row any lane hands out. Row 0 stays empty so that no gate querying `Rotation::prev()`
/// (the dot chains) is ever enabled on row 0, whose previous row is a blinding row.
pub(crate) const FIRST_ROW: usize = 1;

/// What a layout job is: the gate its rows enable and, where one gate serves two purposes, which.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum JobKind {
    /// A `dot fixed` chain (weights in fixed columns).
    DotFixed,
    /// A `dot private` chain (weights witnessed).
    DotPrivate,
    /// An `arith` row computing a product or a weighted sum.
    Arith,
    /// An `arith` row pinning a constant (`Op::Const`, or the pinned 0 and 1 of private params).
    Constant,
    /// A `rescale` row.
    Rescale,
    /// A ReLU row of `Op::Relu`.
    Relu,
    /// A MAX row of `Op::MaxPool`.
    Max,
    /// The ReLU row that range-checks a model input (its `a1` is the input cell).
    InputRange,
    /// A function lookup row of `Op::Lookup`.
    Lookup,
    /// A two-limb `rescale` row (its quotient is checked by a `WideRange` row).
    WideRescale,
    /// A two-limb RANGE row of `Op::Relu`.
    WideRelu,
    /// A two-limb MAX row of `Op::MaxPool`.
    WideMax,
    /// A two-limb RANGE row that only range-checks: a model input, or a rescale's quotient.
    WideRange,
    /// One Poseidon permutation of a commitment (`hashed` visibility), on the chip's own
    /// columns (`chips/poseidon.rs`), not in a lane.
    Poseidon,
}

impl JobKind {
    /// Every kind, in declaration order.
    pub const ALL: [JobKind; 14] = [
        JobKind::DotFixed,
        JobKind::DotPrivate,
        JobKind::Arith,
        JobKind::Constant,
        JobKind::Rescale,
        JobKind::Relu,
        JobKind::Max,
        JobKind::InputRange,
        JobKind::Lookup,
        JobKind::WideRescale,
        JobKind::WideRelu,
        JobKind::WideMax,
        JobKind::WideRange,
        JobKind::Poseidon,
    ];

    /// Whether the job's rows use a lookup argument (a range check, a rescale remainder or a
    /// function lookup), so that it must go to a lane that has them.
    pub fn uses_lookups(self) -> bool {
        !matches!(
            self,
            JobKind::DotFixed | JobKind::DotPrivate | JobKind::Arith | JobKind::Constant | JobKind::Poseidon
        )
    }

    /// A short lower-case name (`dot fixed`, `input range`, ...).
    pub fn name(self) -> &'static str {
        match self {
            JobKind::DotFixed => "dot fixed",
            JobKind::DotPrivate => "dot private",
            JobKind::Arith => "arith",
            JobKind::Constant => "constant",
            JobKind::Rescale => "rescale",
            JobKind::Relu => "relu",
            JobKind::Max => "max",
            JobKind::InputRange => "input range",
            JobKind::Lookup => "lookup",
            JobKind::WideRescale => "wide rescale",
            JobKind::WideRelu => "wide relu",
            JobKind::WideMax => "wide max",
            JobKind::WideRange => "wide range",
            JobKind::Poseidon => "poseidon",
        }
    }
}

/// How the lanes are split: the first `lookup_lanes` of `lanes` carry the lookup arguments, and
/// `lookup_rows` rows of lookup jobs are still to come (counted by a first walk of the graph; 0
/// when every lane has lookups, where it changes nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LanePlan {
    pub(crate) lanes: usize,
    pub(crate) lookup_lanes: usize,
    pub(crate) lookup_rows: usize,
}

impl LanePlan {
    /// `lanes` lanes, all with lookups.
    #[cfg(test)]
    pub(crate) fn uniform(lanes: usize) -> Self {
        Self { lanes, lookup_lanes: lanes, lookup_rows: 0 }
    }
}

/// Per-lane bump allocator.
///
/// A job that needs a lookup ([`JobKind::uses_lookups`]) goes to the least-filled lookup lane.
/// Any other job goes to the least-filled lane of all, where a lookup lane counts as filled by
/// its share of the lookup rows still to come: the lookup jobs of a layer come after its dot
/// products, and without that reserve the dot products would fill the lookup lanes first.
#[derive(Clone, Debug)]
pub(crate) struct Allocator {
    next: Vec<usize>,
    lookup_lanes: usize,
    /// Rows of lookup jobs not yet allocated.
    reserve: usize,
    /// Rows allocated so far to jobs with lookups and to the others.
    counted: [usize; 2],
    /// Next free row of the Poseidon chip's columns.
    poseidon_next: usize,
}

impl Allocator {
    pub(crate) fn new(plan: LanePlan) -> Self {
        let lanes = plan.lanes.max(1);
        let lookup_lanes = plan.lookup_lanes.clamp(1, lanes);
        let reserve = if lookup_lanes < lanes { plan.lookup_rows } else { 0 };
        Self { next: vec![FIRST_ROW; lanes], lookup_lanes, reserve, counted: [0, 0], poseidon_next: FIRST_ROW }
    }

    /// `rows` contiguous rows for a job with or without lookups: returns `(lane, first row)`.
    pub(crate) fn alloc(&mut self, rows: usize, lookup: bool) -> (usize, usize) {
        let (candidates, held) =
            if lookup { (self.lookup_lanes, 0) } else { (self.next.len(), self.reserve.div_ceil(self.lookup_lanes)) };
        let fill = |i: usize| self.next[i] + if i < self.lookup_lanes { held } else { 0 };
        let mut lane = 0;
        for i in 1..candidates {
            if fill(i) < fill(lane) {
                lane = i;
            }
        }
        let row = self.next[lane];
        self.next[lane] += rows;
        if lookup {
            self.reserve = self.reserve.saturating_sub(rows);
        }
        self.counted[usize::from(!lookup)] += rows;
        (lane, row)
    }

    /// `rows` contiguous rows of the Poseidon chip's columns: returns the first.
    pub(crate) fn alloc_poseidon(&mut self, rows: usize) -> usize {
        let row = self.poseidon_next;
        self.poseidon_next += rows;
        row
    }

    /// Rows used by the fullest lane or the Poseidon columns (including the empty row 0).
    pub(crate) fn rows_used(&self) -> usize {
        self.next.iter().copied().max().unwrap_or(FIRST_ROW).max(self.poseidon_next)
    }

    /// Lanes (the Poseidon chip's columns count as lane `lanes()` in records).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn lanes(&self) -> usize {
        self.next.len()
    }

    /// Rows allocated so far to jobs with lookups and to the others.
    pub(crate) fn counted(&self) -> [usize; 2] {
        self.counted
    }
}

/// A witness value forced into a cell by a test, whatever the layout computed. A cell the
/// layout leaves unassigned is assigned the value by [`Assigner::assign_leftover_tamper`].
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Debug)]
pub(crate) struct Tamper {
    pub(crate) column: Column<Advice>,
    pub(crate) row: usize,
    pub(crate) value: Fr,
}

/// What a recording dry run saw: every job, every advice assignment and every copy.
#[cfg(any(test, feature = "testing"))]
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    /// `(kind, lane, first row, rows)` per job.
    pub(crate) jobs: Vec<(JobKind, usize, usize, usize)>,
    /// `(column, row, value)` per assigned advice cell (value `None` without a witness).
    pub(crate) cells: Vec<(Column<Advice>, usize, Option<Fr>)>,
    /// Every `constrain_equal` pair.
    pub(crate) copies: Vec<(Cell, Cell)>,
}

/// The test hooks of an [`Assigner`].
#[cfg(any(test, feature = "testing"))]
#[derive(Debug, Default)]
struct Hooks {
    tamper: Vec<Tamper>,
    applied: Vec<bool>,
    record: Option<Record>,
}

/// Writes cells into the model region (or, in a dry run, only hands out rows and cell names).
pub(crate) struct Assigner<'r> {
    region: Option<Region<'r, Fr>>,
    alloc: Allocator,
    /// With [`Assigner::record_marks`]: the lane rows allocated so far, after each node.
    marks: Option<Vec<usize>>,
    #[cfg(any(test, feature = "testing"))]
    hooks: Hooks,
}

impl std::fmt::Debug for Assigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Assigner").field("dry", &self.region.is_none()).field("alloc", &self.alloc).finish()
    }
}

impl<'r> Assigner<'r> {
    /// An assigner writing into `region`.
    pub(crate) fn new(region: Region<'r, Fr>, plan: LanePlan) -> Self {
        Self {
            region: Some(region),
            alloc: Allocator::new(plan),
            marks: None,
            #[cfg(any(test, feature = "testing"))]
            hooks: Hooks::default(),
        }
    }

    /// An assigner that only allocates rows.
    pub(crate) fn dry(plan: LanePlan) -> Self {
        Self {
            region: None,
            alloc: Allocator::new(plan),
            marks: None,
            #[cfg(any(test, feature = "testing"))]
            hooks: Hooks::default(),
        }
    }

    /// Test hook: these advice values replace whatever the layout assigns to those cells.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn set_tamper(&mut self, tamper: Vec<Tamper>) {
        self.hooks.applied = vec![false; tamper.len()];
        self.hooks.tamper = tamper;
    }

    /// Test hook: assigns the tampered cells the layout did not assign (unused columns of a
    /// job's rows), so that they can be mutated too. Call after the layout, in the same region.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn assign_leftover_tamper(&mut self) {
        let left: Vec<Tamper> = self
            .hooks
            .tamper
            .iter()
            .zip(&self.hooks.applied)
            .filter(|(_, &done)| !done)
            .map(|(t, _)| t.clone())
            .collect();
        for t in left {
            self.advice(t.column, t.row, Value::known(t.value));
        }
    }

    /// Test hook: from now on, record jobs, advice cells and copies (see [`Record`]).
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn start_record(&mut self) {
        self.hooks.record = Some(Record::default());
    }

    /// Test hook: what was recorded since [`Assigner::start_record`].
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn take_record(&mut self) -> Record {
        self.hooks.record.take().unwrap_or_default()
    }

    /// `rows` contiguous rows for a job of `kind`: returns `(lane, first row)`, in a lookup lane
    /// when the kind uses lookups.
    pub(crate) fn alloc(&mut self, kind: JobKind, rows: usize) -> (usize, usize) {
        let (lane, row) = self.alloc.alloc(rows, kind.uses_lookups());
        #[cfg(any(test, feature = "testing"))]
        if let Some(rec) = self.hooks.record.as_mut() {
            rec.jobs.push((kind, lane, row, rows));
        }
        (lane, row)
    }

    /// `rows` contiguous rows of the Poseidon chip's columns (recorded as lane `lanes`): returns
    /// the first.
    pub(crate) fn alloc_poseidon(&mut self, rows: usize) -> usize {
        let row = self.alloc.alloc_poseidon(rows);
        #[cfg(any(test, feature = "testing"))]
        if let Some(rec) = self.hooks.record.as_mut() {
            rec.jobs.push((JobKind::Poseidon, self.alloc.lanes(), row, rows));
        }
        row
    }

    pub(crate) fn rows_used(&self) -> usize {
        self.alloc.rows_used()
    }

    /// From now on, [`Assigner::mark`] records the lane rows allocated so far.
    pub(crate) fn record_marks(&mut self) {
        self.marks = Some(vec![]);
    }

    /// After a node: records the lane rows allocated so far (with [`Assigner::record_marks`]).
    pub(crate) fn mark(&mut self) {
        let [lookup, other] = self.alloc.counted();
        if let Some(m) = self.marks.as_mut() {
            m.push(lookup + other);
        }
    }

    /// The marks recorded.
    pub(crate) fn take_marks(&mut self) -> Vec<usize> {
        self.marks.take().unwrap_or_default()
    }

    /// Rows allocated so far to jobs with lookups and to the others.
    pub(crate) fn counted(&self) -> [usize; 2] {
        self.alloc.counted()
    }

    /// Assigns an advice cell and returns it.
    pub(crate) fn advice(&mut self, column: Column<Advice>, row: usize, value: Value<Fr>) -> Cell {
        #[cfg(any(test, feature = "testing"))]
        let value = self.hooked(column, row, value);
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

    /// Applies a tampered value and records the assignment.
    #[cfg(any(test, feature = "testing"))]
    fn hooked(&mut self, column: Column<Advice>, row: usize, value: Value<Fr>) -> Value<Fr> {
        let hooks = &mut self.hooks;
        let value = match hooks.tamper.iter().position(|t| t.column == column && t.row == row) {
            Some(i) => {
                hooks.applied[i] = true;
                Value::known(hooks.tamper[i].value)
            }
            None => value,
        };
        if let Some(rec) = hooks.record.as_mut() {
            let mut known = None;
            let _ = value.map(|v| known = Some(v));
            rec.cells.push((column, row, known));
        }
        value
    }

    /// Constrains two cells to hold the same value.
    pub(crate) fn copy(&mut self, a: Cell, b: Cell) {
        #[cfg(any(test, feature = "testing"))]
        if let Some(rec) = self.hooks.record.as_mut() {
            rec.copies.push((a, b));
        }
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
        let mut a = Allocator::new(LanePlan::uniform(3));
        assert_eq!(a.alloc(5, false), (0, 1));
        assert_eq!(a.alloc(2, true), (1, 1));
        assert_eq!(a.alloc(1, false), (2, 1));
        assert_eq!(a.alloc(1, true), (2, 2));
        assert_eq!(a.alloc(1, false), (1, 3));
        assert_eq!(a.rows_used(), 6);
        assert_eq!(a.counted(), [3, 7]);
    }

    #[test]
    fn lookup_jobs_stay_in_the_lookup_lanes_which_keep_room_for_them() {
        // lanes 0 and 1 of 4 have lookups; 6 lookup rows are still to come
        let mut a = Allocator::new(LanePlan { lanes: 4, lookup_lanes: 2, lookup_rows: 6 });
        // the lookup lanes count as 3 rows fuller: other jobs go to lanes 2 and 3 first
        assert_eq!(a.alloc(2, false), (2, 1));
        assert_eq!(a.alloc(2, false), (3, 1));
        assert_eq!(a.alloc(2, false), (2, 3));
        assert_eq!(a.alloc(2, false), (3, 3));
        // lane 0 holds 1 + 3 reserved = 4 < 5 (lanes 2 and 3)
        assert_eq!(a.alloc(1, false), (0, 1));
        let lookups: Vec<_> = (0..6).map(|_| a.alloc(1, true)).collect();
        assert_eq!(lookups, [(1, 1), (0, 2), (1, 2), (0, 3), (1, 3), (0, 4)]);
        // nothing reserved any more: lane 1 (4) is the least filled
        assert_eq!(a.alloc(1, false), (1, 4));
        assert_eq!(a.rows_used(), 5);
        assert_eq!(a.counted(), [6, 10]);
    }
}
