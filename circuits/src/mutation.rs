//! The witness mutation harness (only with `cfg(test)` or the `testing` feature): evidence that
//! every witness cell the layout assigns is pinned by some gate, lookup or copy constraint.
//!
//! A recording dry run of the layout ([`assigned_cells`]) lists every advice cell of every
//! job's rows (assigned or not) with its [`JobKind`], lane, column and honest value. [`run`]
//! samples cells of every kind, forces a wrong value into each (honest `+1`, `-1`, `+2^40`)
//! through [`ModelCircuit::with_overrides`] and expects MockProver to reject it; it also adds 1
//! to every public instance value. Cells that are free *by design* are listed in
//! [`UNCONSTRAINED`] with the reason, keyed by job kind and column (and, for two entries, a
//! condition on the copy constraints and the row's values); the harness skips exactly those as
//! soundness targets, and mutates a sample of them expecting MockProver to *accept*, so an entry
//! that is broader than the truth shows up too.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use halo2_proofs::circuit::Cell;
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Any, Column, ConstraintSystem, Error};
use zkonnx_ir::{Graph, Trace};

use crate::layout::{Assigner, Tamper};
use crate::model::{self, ModelConfig};
use crate::poseidon::Salts;
use crate::{public_instances_salted, CircuitError, CircuitParams, JobKind, ModelCircuit};

/// A witness value forced into advice column `a{column}` of `lane` at absolute `row`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Override {
    /// The lane.
    pub lane: usize,
    /// The advice column within the lane (`0..5`).
    pub column: usize,
    /// The absolute row.
    pub row: usize,
    /// The value synthesis writes instead of the honest one.
    pub value: Fr,
}

/// The overrides as the assigner's tamper list; an override naming a column the config does
/// not have is a synthesis error.
pub(crate) fn tamper(cfg: &ModelConfig, overrides: &[Override]) -> Result<Vec<Tamper>, Error> {
    overrides
        .iter()
        .map(|o| {
            let column = *lane_columns(cfg, o.lane).get(o.column).ok_or(Error::Synthesis)?;
            Ok(Tamper { column, row: o.row, value: o.value })
        })
        .collect()
}

/// The advice columns of `lane`: a lane's `a0..a4`, or, for lane `lanes` of a circuit with the
/// Poseidon chip, its `s0..s4, w0..w4`.
pub(crate) fn lane_columns(cfg: &ModelConfig, lane: usize) -> Vec<Column<Advice>> {
    match cfg.lanes.get(lane) {
        Some(l) => l.a.to_vec(),
        None if lane == cfg.lanes.len() => {
            cfg.poseidon.as_ref().map(|p| p.s.iter().chain(&p.w).copied().collect()).unwrap_or_default()
        }
        None => vec![],
    }
}

/// One advice cell of a job's rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssignedCellInfo {
    /// The job the row belongs to.
    pub kind: JobKind,
    /// The lane.
    pub lane: usize,
    /// The advice column within the lane (`0..5`).
    pub column: usize,
    /// The absolute row.
    pub row: usize,
    /// Whether the layout assigns the cell (an unassigned cell holds 0).
    pub assigned: bool,
    /// The honest value (`None` for an unassigned cell or without a trace).
    pub value: Option<Fr>,
    /// Whether the cell is in a copy constraint (to another cell or to the instance column).
    pub copied: bool,
}

/// Every advice cell of every job's rows, in layout order: a recording dry run of the same
/// layout synthesis runs. With a trace, assigned cells carry their honest values.
pub fn assigned_cells(
    graph: &Graph,
    params: &CircuitParams,
    trace: Option<&Trace>,
) -> Result<Vec<AssignedCellInfo>, CircuitError> {
    assigned_cells_salted(graph, params, trace, &Salts::default())
}

/// [`assigned_cells`] of a circuit whose hashed inputs and outputs have `salts`.
pub fn assigned_cells_salted(
    graph: &Graph,
    params: &CircuitParams,
    trace: Option<&Trace>,
    salts: &Salts,
) -> Result<Vec<AssignedCellInfo>, CircuitError> {
    model::check_graph(graph, params)?;
    let mut cs = ConstraintSystem::default();
    let cfg = ModelConfig::configure(&mut cs, params);
    let mut asg = Assigner::dry(crate::model::lane_plan(&cfg, graph, params)?);
    asg.start_record();
    let laid = model::lay_out(&cfg, graph, params, trace, salts, &mut asg)
        .map_err(|e| CircuitError::Layout { reason: format!("{e:?}") })?;
    let rec = asg.take_record();
    let width = |lane: usize| lane_columns(&cfg, lane);
    let pos: HashMap<Column<Any>, (usize, usize)> = (0..=cfg.lanes.len())
        .flat_map(|l| width(l).into_iter().enumerate().map(move |(c, a)| (Column::<Any>::from(a), (l, c))))
        .collect();
    let key = |cell: &Cell| pos.get(&cell.column).map(|&(l, c)| (l, c, cell.row_offset));
    let mut copied: HashSet<(usize, usize, usize)> =
        rec.copies.iter().flat_map(|(a, b)| [key(a), key(b)]).flatten().collect();
    copied.extend(laid.public_cells(graph, params).iter().filter_map(&key));
    let values: HashMap<(usize, usize, usize), Option<Fr>> = rec
        .cells
        .iter()
        .filter_map(|(col, row, v)| Some((key(&Cell { row_offset: *row, column: (*col).into() })?, *v)))
        .collect();
    let mut out = Vec::new();
    for &(kind, lane, start, rows) in &rec.jobs {
        let columns = width(lane).len();
        for row in start..start + rows {
            for column in 0..columns {
                let k = (lane, column, row);
                let value = values.get(&k).copied();
                out.push(AssignedCellInfo {
                    kind,
                    lane,
                    column,
                    row,
                    assigned: value.is_some(),
                    value: value.flatten(),
                    copied: copied.contains(&k),
                });
            }
        }
    }
    Ok(out)
}

/// When an [`Unconstrained`] entry applies to a cell of its kind and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum When {
    /// Always.
    Always,
    /// The cell is in no copy constraint.
    Uncopied,
    /// The layout leaves the cell unassigned (it holds 0 in an honest witness).
    Unassigned,
    /// The cell is in no copy constraint and advice column `partner` of its row holds 0.
    UncopiedTimesZero {
        /// The column the cell is multiplied with.
        partner: usize,
    },
}

/// A cell that is deliberately unconstrained, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unconstrained {
    /// The job kind.
    pub kind: JobKind,
    /// The advice column within the lane.
    pub column: usize,
    /// The condition under which the cell is free.
    pub when: When,
    /// Why no constraint needs it.
    pub reason: &'static str,
}

const fn free(kind: JobKind, column: usize, when: When, reason: &'static str) -> Unconstrained {
    Unconstrained { kind, column, when, reason }
}

const UNUSED: &str = "column unused by the row's gate and lookups; never assigned";
const DOT_PAD: &str = "padding slot of a fixed-weight dot row: its weight f_c is 0 (verifying key), copied nowhere";
const PRIV_W: &str = "private weight times an x of 0, used nowhere else (padding slots, whose x is pinned to 0, \
                      or a single-use weight meeting a zero activation): private weights are existential";
const CONST_OP: &str = "operand slot of a constant row: f0 = f1 = f2 = 0, only f3 decides a2";
const MAX_ONLY: &str = "read only by the max gate and the max part of the lookup, both off on a ReLU row";
const WIDE_A0: &str = "read only by the two-limb max gate and the max part of the high-limb lookup, both off on a \
                       RANGE row";
const POSEIDON_OUT: &str = "the work cells w0..w4 of a permutation's output row, the only row they are left \
                            unassigned on: no gate is on at that row";
const UNCOPIED: When = When::Uncopied;
const ALWAYS: When = When::Always;

/// Every deliberately unconstrained cell, by job kind and column. Everything else must be
/// pinned: [`run`] expects every mutation of any other cell to be rejected.
pub const UNCONSTRAINED: &[Unconstrained] = &[
    free(JobKind::DotFixed, 0, UNCOPIED, DOT_PAD),
    free(JobKind::DotFixed, 1, UNCOPIED, DOT_PAD),
    free(JobKind::DotFixed, 2, UNCOPIED, DOT_PAD),
    free(JobKind::DotFixed, 3, UNCOPIED, DOT_PAD),
    free(JobKind::DotPrivate, 1, When::UncopiedTimesZero { partner: 0 }, PRIV_W),
    free(JobKind::DotPrivate, 3, When::UncopiedTimesZero { partner: 2 }, PRIV_W),
    free(JobKind::Arith, 3, ALWAYS, UNUSED),
    free(JobKind::Arith, 4, ALWAYS, UNUSED),
    free(JobKind::Constant, 0, ALWAYS, CONST_OP),
    free(JobKind::Constant, 1, ALWAYS, CONST_OP),
    free(JobKind::Constant, 3, ALWAYS, UNUSED),
    free(JobKind::Constant, 4, ALWAYS, UNUSED),
    free(JobKind::Relu, 0, ALWAYS, MAX_ONLY),
    free(JobKind::Relu, 3, ALWAYS, MAX_ONLY),
    free(JobKind::Relu, 4, ALWAYS, UNUSED),
    free(JobKind::InputRange, 0, ALWAYS, MAX_ONLY),
    free(JobKind::InputRange, 3, ALWAYS, MAX_ONLY),
    free(JobKind::InputRange, 4, ALWAYS, UNUSED),
    free(JobKind::Max, 4, ALWAYS, UNUSED),
    free(JobKind::Lookup, 2, ALWAYS, UNUSED),
    free(JobKind::Lookup, 3, ALWAYS, UNUSED),
    free(JobKind::Lookup, 4, ALWAYS, UNUSED),
    free(JobKind::WideRescale, 3, ALWAYS, UNUSED),
    free(JobKind::WideRelu, 0, ALWAYS, WIDE_A0),
    free(JobKind::WideRange, 0, ALWAYS, WIDE_A0),
    free(JobKind::Poseidon, 5, When::Unassigned, POSEIDON_OUT),
    free(JobKind::Poseidon, 6, When::Unassigned, POSEIDON_OUT),
    free(JobKind::Poseidon, 7, When::Unassigned, POSEIDON_OUT),
    free(JobKind::Poseidon, 8, When::Unassigned, POSEIDON_OUT),
    free(JobKind::Poseidon, 9, When::Unassigned, POSEIDON_OUT),
];

/// The [`UNCONSTRAINED`] entry covering `cell`, if any; `row_value(column)` is the honest
/// value of another advice column of the same lane and row.
pub fn unconstrained(
    cell: &AssignedCellInfo,
    row_value: impl Fn(usize) -> Option<Fr>,
) -> Option<&'static Unconstrained> {
    UNCONSTRAINED.iter().find(|u| {
        u.kind == cell.kind
            && u.column == cell.column
            && match u.when {
                When::Always => true,
                When::Uncopied => !cell.copied,
                When::Unassigned => !cell.assigned,
                When::UncopiedTimesZero { partner } => !cell.copied && row_value(partner) == Some(Fr::ZERO),
            }
    })
}

/// Mutation counts of one job kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KindStats {
    /// Cells of this kind in the layout.
    pub cells: usize,
    /// Of those, cells covered by [`UNCONSTRAINED`].
    pub allowed: usize,
    /// Mutations of constrained cells tried.
    pub tried: usize,
    /// Of those, rejected by MockProver.
    pub caught: usize,
    /// Mutations of allow-listed cells tried.
    pub allowed_tried: usize,
    /// Of those, accepted by MockProver (the cell is as free as the allow-list says).
    pub allowed_free: usize,
}

/// A mutation with an unexpected verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Surprise {
    /// The cell.
    pub cell: AssignedCellInfo,
    /// The value forced into it.
    pub value: Fr,
}

/// What [`run`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MutationReport {
    /// Counts per job kind present in the layout.
    pub kinds: BTreeMap<JobKind, KindStats>,
    /// Public instance values mutated (each `+1`).
    pub instances_tried: usize,
    /// Of those, rejected.
    pub instances_caught: usize,
    /// Mutations of constrained cells MockProver accepted: soundness holes.
    pub escaped: Vec<Surprise>,
    /// Mutations of allow-listed cells MockProver rejected: allow-list entries broader than needed.
    pub allowed_but_pinned: Vec<Surprise>,
}

impl MutationReport {
    /// Mutations tried (cells and instances, not counting allow-listed cells).
    pub fn tried(&self) -> usize {
        self.kinds.values().map(|s| s.tried).sum::<usize>() + self.instances_tried
    }

    /// Mutations rejected.
    pub fn caught(&self) -> usize {
        self.kinds.values().map(|s| s.caught).sum::<usize>() + self.instances_caught
    }

    /// Every mutation of a constrained cell or an instance value was rejected, and every
    /// mutation of an allow-listed cell was accepted.
    pub fn all_as_expected(&self) -> bool {
        self.tried() == self.caught() && self.escaped.is_empty() && self.allowed_but_pinned.is_empty()
    }
}

impl fmt::Display for MutationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:<12} {:>7} {:>7} {:>6} {:>6} {:>9} {:>6}",
            "job kind", "cells", "allowed", "tried", "caught", "free-tried", "free"
        )?;
        for (kind, s) in &self.kinds {
            writeln!(
                f,
                "{:<12} {:>7} {:>7} {:>6} {:>6} {:>9} {:>6}",
                kind.name(),
                s.cells,
                s.allowed,
                s.tried,
                s.caught,
                s.allowed_tried,
                s.allowed_free
            )?;
        }
        writeln!(
            f,
            "{:<12} {:>7} {:>7} {:>6} {:>6}",
            "instance", self.instances_tried, 0, self.instances_tried, self.instances_caught
        )?;
        write!(f, "total: {} of {} mutations caught", self.caught(), self.tried())
    }
}

/// Why [`run`] could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MutationError {
    /// The circuit cannot be laid out.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// MockProver rejects the honest witness, so rejections of mutations would prove nothing.
    #[error("the honest witness does not verify: {failures}")]
    HonestRejected {
        /// MockProver's failures (or synthesis error), formatted.
        failures: String,
    },
}

/// The values added to a cell's honest value: `+1`, `-1` and `+2^40`.
pub fn deltas() -> [Fr; 3] {
    [Fr::ONE, -Fr::ONE, Fr::from(1u64 << 40)]
}

/// One MockProver run.
enum Trial {
    Cell { cell: AssignedCellInfo, value: Fr, expect_caught: bool },
    Instance(usize),
}

/// Samples up to `per_kind` constrained cells of every job kind (each mutated by every one of
/// [`deltas`]) and up to `per_kind` allow-listed cells (mutated by `+2^40`, expected to pass),
/// with a deterministic `seed`, and mutates every public instance value by `+1`. `params.k`
/// must fit the layout. MockProver runs on all available cores.
pub fn run(
    graph: &Graph,
    params: &CircuitParams,
    trace: &Trace,
    per_kind: usize,
    seed: u64,
) -> Result<MutationReport, MutationError> {
    run_salted(graph, params, trace, &Salts::default(), per_kind, seed)
}

/// [`run`] on a circuit whose hashed inputs and outputs have `salts` (a segment of a split
/// model, whose boundaries are salted).
pub fn run_salted(
    graph: &Graph,
    params: &CircuitParams,
    trace: &Trace,
    salts: &Salts,
    per_kind: usize,
    seed: u64,
) -> Result<MutationReport, MutationError> {
    let cells = assigned_cells_salted(graph, params, Some(trace), salts)?;
    let circuit = ModelCircuit::with_witness(Arc::new(graph.clone()), params.clone(), Arc::new(trace.clone()))
        .with_salts(salts.clone());
    circuit.check()?;
    let instances = public_instances_salted(graph, params, trace, salts);
    if let Err(failures) = mock(&circuit, params.k, &[], instances.clone()) {
        return Err(MutationError::HonestRejected { failures });
    }
    let by_key: HashMap<(usize, usize, usize), Option<Fr>> =
        cells.iter().map(|c| ((c.lane, c.column, c.row), c.value)).collect();
    let mut report = MutationReport::default();
    let mut pools: BTreeMap<JobKind, (Vec<AssignedCellInfo>, Vec<AssignedCellInfo>)> = BTreeMap::new();
    for c in &cells {
        let stats = report.kinds.entry(c.kind).or_default();
        stats.cells += 1;
        let pool = pools.entry(c.kind).or_default();
        if unconstrained(c, |col| by_key.get(&(c.lane, col, c.row)).copied().flatten()).is_some() {
            stats.allowed += 1;
            pool.1.push(*c);
        } else {
            pool.0.push(*c);
        }
    }
    let mut rng = SplitMix(seed);
    let mut trials = Vec::new();
    for (pinned, free) in pools.values_mut() {
        for c in rng.sample(pinned, per_kind) {
            let honest = c.value.unwrap_or(Fr::ZERO);
            trials.extend(deltas().map(|d| Trial::Cell { cell: c, value: honest + d, expect_caught: true }));
        }
        for c in rng.sample(free, per_kind) {
            let value = c.value.unwrap_or(Fr::ZERO) + Fr::from(1u64 << 40);
            trials.push(Trial::Cell { cell: c, value, expect_caught: false });
        }
    }
    trials.extend((0..instances.len()).map(Trial::Instance));
    let verdicts = run_parallel(&trials, |t| match t {
        Trial::Cell { cell, value, .. } => {
            let o = Override { lane: cell.lane, column: cell.column, row: cell.row, value: *value };
            mock(&circuit, params.k, &[o], instances.clone()).is_err()
        }
        Trial::Instance(i) => {
            let mut wrong = instances.clone();
            wrong[*i] += Fr::ONE;
            mock(&circuit, params.k, &[], wrong).is_err()
        }
    });
    for (t, caught) in trials.iter().zip(verdicts) {
        match *t {
            Trial::Cell { cell, value, expect_caught } => {
                let s = report.kinds.entry(cell.kind).or_default();
                if expect_caught {
                    s.tried += 1;
                    s.caught += usize::from(caught);
                    if !caught {
                        report.escaped.push(Surprise { cell, value });
                    }
                } else {
                    s.allowed_tried += 1;
                    s.allowed_free += usize::from(!caught);
                    if caught {
                        report.allowed_but_pinned.push(Surprise { cell, value });
                    }
                }
            }
            Trial::Instance(_) => {
                report.instances_tried += 1;
                report.instances_caught += usize::from(caught);
            }
        }
    }
    Ok(report)
}

/// MockProver's verdict on `circuit` with `overrides`; a synthesis error counts as a rejection.
fn mock(circuit: &ModelCircuit, k: u32, overrides: &[Override], instances: Vec<Fr>) -> Result<(), String> {
    let circuit = circuit.clone().with_overrides(overrides.to_vec());
    match MockProver::run(k, &circuit, vec![instances]) {
        Ok(prover) => prover.verify().map_err(|f| format!("{f:?}")),
        Err(e) => Err(format!("synthesis: {e:?}")),
    }
}

/// `f` over `items` on every available core, results in order.
fn run_parallel<T: Sync>(items: &[T], f: impl Fn(&T) -> bool + Sync) -> Vec<bool> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let out = Mutex::new(vec![false; items.len()]);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let v = f(item);
                if let Ok(mut out) = out.lock() {
                    out[i] = v;
                }
            });
        }
    });
    out.into_inner().unwrap_or_default()
}

/// A tiny deterministic generator (splitmix64), enough to pick samples reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Up to `n` distinct elements of `pool` (a partial Fisher-Yates shuffle of it).
    fn sample<T: Copy>(&mut self, pool: &mut [T], n: usize) -> Vec<T> {
        let n = n.min(pool.len());
        for i in 0..n {
            let j = i + (self.next() % (pool.len() - i) as u64) as usize;
            pool.swap(i, j);
        }
        pool[..n].to_vec()
    }
}

#[cfg(test)]
mod tests;
