//! The chips: each owns a selector and its gates/lookups over a lane's shared columns.
//!
//! A lane is 5 advice columns `a0..a4` (equality enabled) and 6 fixed columns `f0..f5`. Every
//! chip in a lane reads those same columns with its own meaning; a row belongs to exactly one
//! job, so exactly one of the lane's selectors is on at any row, and every gate and lookup is
//! multiplied by its selector.

pub(crate) mod arith;
pub(crate) mod dot;
pub(crate) mod func;
pub(crate) mod poseidon;
pub(crate) mod relu_max;
pub(crate) mod rescale;
pub(crate) mod table;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod wide;

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Fixed};

use crate::layout::{Assigner, JobKind};
use relu_max::ReluMaxChip;
use wide::WideChip;

/// Advice columns per lane.
pub const ADVICE_PER_LANE: usize = 5;
/// Fixed columns per lane (not counting selectors).
pub const FIXED_PER_LANE: usize = 6;
/// Lookup arguments per lane: one for rescale's remainder (and, with two-limb range checks, every
/// low limb), one for relu/max (which also range-checks rescale's quotient) or, with two limbs,
/// for the high limb and its sign.
pub const LOOKUPS_PER_LANE: usize = 2;

/// The columns of one lane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneColumns {
    pub(crate) a: [Column<Advice>; ADVICE_PER_LANE],
    pub(crate) f: [Column<Fixed>; FIXED_PER_LANE],
}

/// `N` new advice columns with equality enabled (so their cells can be copy-constrained).
pub(crate) fn equality_advice<const N: usize>(meta: &mut ConstraintSystem<Fr>) -> [Column<Advice>; N] {
    let a = [(); N].map(|_| meta.advice_column());
    for &c in &a {
        meta.enable_equality(c);
    }
    a
}

impl LaneColumns {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let a = equality_advice(meta);
        let f = [(); FIXED_PER_LANE].map(|_| meta.fixed_column());
        Self { a, f }
    }
}

/// A cell with its witness value (unknown during keygen).
pub(crate) type Valued = (Cell, Value<i64>);

/// What range-checks values and computes ReLU and running maxima: one lookup per value
/// (`relu_max`) or two limbs (`wide`), by the circuit's `range_limbs`.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RangeChip<'a> {
    OneLimb(ReluMaxChip<'a>),
    TwoLimbs(WideChip<'a>),
}

impl RangeChip<'_> {
    /// `max(x, 0)`, range-checking `x`. With `x = None` the input is a fresh cell (a model input
    /// being range-checked). Returns `(input cell, output cell)`.
    pub(crate) fn relu(&self, asg: &mut Assigner<'_>, x: Option<Cell>, xv: Value<i64>) -> Result<(Cell, Cell), Error> {
        match self {
            RangeChip::OneLimb(c) => c.relu(asg, x, xv),
            RangeChip::TwoLimbs(c) => {
                let kind = if x.is_some() { JobKind::WideRelu } else { JobKind::WideRange };
                c.relu(asg, x, xv, kind)
            }
        }
    }

    /// `max(m, v)`, range-checking `v - m`; returns the new maximum's cell and value.
    pub(crate) fn max(&self, asg: &mut Assigner<'_>, m: Valued, v: Valued) -> Result<Valued, Error> {
        match self {
            RangeChip::OneLimb(c) => c.max(asg, m, v),
            RangeChip::TwoLimbs(c) => c.max(asg, m, v),
        }
    }
}
