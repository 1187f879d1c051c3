//! Two-limb range checks (`range_limbs = 2`): ReLU, running maximum and plain range checks of
//! values in `[-2^(2B-1), 2^(2B-1))` with the same `2^B`-row table as one-limb checks
//! (`B = lookup_bits`, `H = 2^(B-1)`). They replace `chips/relu_max.rs` in such a circuit.
//!
//! A checked value `d` is split as `d = hi*2^B + lo` with `lo` in `[0, 2^B)` and `hi` in
//! `[-H, H)`. Then `d < 0` exactly when `hi < 0`, so the high limb's sign, which the table holds
//! beside it (`t_out = [v < 0]` in a two-limb circuit), gives the ReLU.
//!
//! Rows (lane columns `a0..a4`):
//! - RANGE row (a ReLU, or a range check whose output is unused): `a1 = x` (the checked value,
//!   `d = x`), `a2 = y`, `a3 = n`, `a4 = lo`; `a0` unused.
//!   Gate `wide relu`: `q_relu * (a2 - (1 - a3)*a1) = 0`.
//! - MAX row: `a0 = m` (running max), `a1 = v`, `a2 = max(m, v)`, `a3 = n`, `a4 = lo`, checking
//!   `d = v - m`. Gate `wide max`: `q_max * (a2 - a0 - (1 - a3)*(a1 - a0)) = 0`.
//! - Lookup `wide hi`: `(q_relu*(a1 - a4)/2^B + q_max*(a1 - a0 - a4)/2^B, (q_relu + q_max)*a3)` in
//!   `(t_in, t_out)`: the high limb `hi = (d - lo)/2^B` and its sign `n`.
//! - The low limb goes through the lane's `rescale r` lookup (`chips/rescale.rs`), which these
//!   rows' selectors also enable: `a4 - H` in `t_in`, i.e. `lo` in `[0, 2H)`.
//!
//! Soundness: `wide hi` makes `hi = (d - lo)/2^B` an integer in `[-H, H)` and `n = [hi < 0]`
//! (`t_in` holds each value once); the low-limb lookup makes `lo` an integer in `[0, 2^B)`. So
//! `d = hi*2^B + lo` is an integer in `[-2^(2B-1), 2^(2B-1))`, and `d < 0` iff `hi < 0` iff
//! `n = 1`. The gates then give `y = (1 - n)*x = max(x, 0)` and `a2 = m + max(v - m, 0) =
//! max(m, v)`. An in-range `d` has exactly one split (Euclidean division), so each row has
//! exactly one witness; an out-of-range `d` has none.

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::table::TableConfig;
use super::{LaneColumns, Valued};
use crate::field::{field_from_i128, field_from_i64};
use crate::layout::{Assigner, JobKind};

/// One lane's two-limb gates and high-limb lookup.
#[derive(Clone, Debug)]
pub(crate) struct WideConfig {
    cols: LaneColumns,
    /// RANGE rows; the lane's `rescale r` lookup checks their low limb.
    pub(crate) q_relu: Selector,
    /// MAX rows; the lane's `rescale r` lookup checks their low limb.
    pub(crate) q_max: Selector,
    /// `lookup_bits`.
    bits: u32,
}

impl WideConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns, table: &TableConfig) -> Self {
        let q_relu = meta.complex_selector();
        let q_max = meta.complex_selector();
        let [a0, a1, a2, a3, a4] = cols.a;
        let one = Expression::Constant(Fr::ONE);
        // 2^-B: `hi = (d - lo) * 2^-B` is degree 1, so the lookup inputs stay degree 2
        let inv = Expression::Constant(Fr::from(1u64 << table.bits).invert().unwrap_or(Fr::ZERO));
        meta.create_gate("wide relu", |m| {
            let s = m.query_selector(q_relu);
            let [x, y, n] = [a1, a2, a3].map(|c| m.query_advice(c, Rotation::cur()));
            vec![s * (y - (one.clone() - n) * x)]
        });
        meta.create_gate("wide max", |m| {
            let s = m.query_selector(q_max);
            let [mx, v, out, n] = [a0, a1, a2, a3].map(|c| m.query_advice(c, Rotation::cur()));
            vec![s * (out - mx.clone() - (one.clone() - n) * (v - mx))]
        });
        meta.lookup("wide hi", |m| {
            let (sr, sm) = (m.query_selector(q_relu), m.query_selector(q_max));
            let [x0, x1, x3, x4] = [a0, a1, a3, a4].map(|c| m.query_advice(c, Rotation::cur()));
            let hi = sr.clone() * (x1.clone() - x4.clone()) * inv.clone() + sm.clone() * (x1 - x0 - x4) * inv;
            vec![(hi, table.t_in), ((sr + sm) * x3, table.t_out)]
        });
        Self { cols, q_relu, q_max, bits: table.bits }
    }
}

/// `(hi, lo, n)` of `d`: `d = hi*2^bits + lo`, `0 <= lo < 2^bits`, `n = [hi < 0]`.
fn split(d: i128, bits: u32) -> (i128, i128, i128) {
    let base = 1i128 << bits;
    let hi = d.div_euclid(base);
    (hi, d.rem_euclid(base), i128::from(hi < 0))
}

/// Lays out RANGE and MAX rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct WideChip<'a> {
    lanes: &'a [WideConfig],
}

impl<'a> WideChip<'a> {
    pub(crate) fn new(lanes: &'a [WideConfig]) -> Self {
        Self { lanes }
    }

    /// A RANGE row of job `kind`: `x` range-checked, `max(x, 0)` computed. With `x = Some(cell)`
    /// the row's input is copy-constrained to it; with `None` it is a fresh cell (a model input
    /// being range-checked). Returns `(input cell, output cell)`.
    pub(crate) fn relu(
        &self,
        asg: &mut Assigner<'_>,
        x: Option<Cell>,
        xv: Value<i64>,
        kind: JobKind,
    ) -> Result<(Cell, Cell), Error> {
        let (lane, row) = asg.alloc(kind, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let a = cfg.cols.a;
        asg.enable(&cfg.q_relu, row)?;
        let parts = xv.map(|x| split(i128::from(x), cfg.bits));
        let input = asg.advice(a[1], row, xv.map(field_from_i64));
        if let Some(src) = x {
            asg.copy(input, src);
        }
        let out = asg.advice(a[2], row, xv.map(|v| field_from_i64(v.max(0))));
        asg.advice(a[3], row, parts.map(|(_, _, n)| field_from_i128(n)));
        asg.advice(a[4], row, parts.map(|(_, lo, _)| field_from_i128(lo)));
        Ok((input, out))
    }

    /// `max(m, v)` as a MAX row; returns the new maximum's cell and value.
    pub(crate) fn max(&self, asg: &mut Assigner<'_>, m: Valued, v: Valued) -> Result<Valued, Error> {
        let (lane, row) = asg.alloc(JobKind::WideMax, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let a = cfg.cols.a;
        asg.enable(&cfg.q_max, row)?;
        let mc = asg.advice(a[0], row, m.1.map(field_from_i64));
        asg.copy(mc, m.0);
        let vc = asg.advice(a[1], row, v.1.map(field_from_i64));
        asg.copy(vc, v.0);
        let parts = m.1.zip(v.1).map(|(m, v)| split(i128::from(v) - i128::from(m), cfg.bits));
        let new = m.1.zip(v.1).map(|(m, v)| m.max(v));
        let out = asg.advice(a[2], row, new.map(field_from_i64));
        asg.advice(a[3], row, parts.map(|(_, _, n)| field_from_i128(n)));
        asg.advice(a[4], row, parts.map(|(_, lo, _)| field_from_i128(lo)));
        Ok((out, new))
    }
}

#[cfg(test)]
mod tests;
