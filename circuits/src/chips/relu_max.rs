//! ReLU and running maximum through one two-column lookup into `(t_in, t_out)`.
//!
//! - lookup `relu/max`: `((q_relu + q_max)*a1 - q_max*a0, (q_relu + q_max)*a2)` in
//!   `(t_in, t_out)`;
//! - gate `max`: `q_max * (a3 - a0 - a2) = 0`.
//!
//! A ReLU row holds `a1 = x`, `a2 = relu(x)` (the output): the lookup pins `a2 = max(x, 0)` and
//! range-checks `x` to `[-H, H)`. A ReLU row is also how every model input is range-checked
//! (its `a1` is the input cell and its `a2` is discarded), so no input can be a huge field
//! element. A MAX row holds `a0 = m` (running max), `a1 = v`, `a2 = relu(v - m)`,
//! `a3 = m + relu(v - m) = max(m, v)`, with `v - m` range-checked. `a0` is deliberately
//! unconstrained padding on ReLU rows (`q_max = 0` there), and so is `a3`.

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

use super::table::TableConfig;
use super::{LaneColumns, Valued};
use crate::field::{field_from_i128, field_from_i64};
use crate::layout::{Assigner, JobKind};

/// One lane's relu/max lookup and gate.
#[derive(Clone, Debug)]
pub(crate) struct ReluMaxConfig {
    cols: LaneColumns,
    q_relu: Selector,
    q_max: Selector,
}

impl ReluMaxConfig {
    /// `q_rescale` is the lane's rescale selector: its rows' `(a1, a3) = (q, relu(q))` go
    /// through this lookup too, which range-checks the quotient (see `chips/rescale.rs`).
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fr>,
        cols: LaneColumns,
        table: &TableConfig,
        q_rescale: Selector,
    ) -> Self {
        let q_relu = meta.complex_selector();
        let q_max = meta.complex_selector();
        let [a0, a1, a2, a3] = [0, 1, 2, 3].map(|i| cols.a[i]);
        meta.lookup("relu/max", |m| {
            let (qr, qm, qs) = (m.query_selector(q_relu), m.query_selector(q_max), m.query_selector(q_rescale));
            let [x0, x1, x2, x3] = [a0, a1, a2, a3].map(|c| m.query_advice(c, Rotation::cur()));
            let on = qr + qm.clone();
            // at most one selector is on in a row (one job a row)
            let input = (on.clone() + qs.clone()) * x1 - qm * x0;
            vec![(input, table.t_in), (on * x2 + qs * x3, table.t_out)]
        });
        meta.create_gate("max", |m| {
            let qm = m.query_selector(q_max);
            let [x0, x2, x3] = [a0, a2, a3].map(|c| m.query_advice(c, Rotation::cur()));
            vec![qm * (x3 - x0 - x2)]
        });
        Self { cols, q_relu, q_max }
    }
}

/// Lays out ReLU and MAX rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReluMaxChip<'a> {
    lanes: &'a [ReluMaxConfig],
}

impl<'a> ReluMaxChip<'a> {
    pub(crate) fn new(lanes: &'a [ReluMaxConfig]) -> Self {
        Self { lanes }
    }

    /// A ReLU row. With `x = Some(cell)` the row's input is copy-constrained to it; with
    /// `None` the row's `a1` is a fresh cell (a model input being range-checked). Returns
    /// `(input cell, output cell)`.
    pub(crate) fn relu(&self, asg: &mut Assigner<'_>, x: Option<Cell>, xv: Value<i64>) -> Result<(Cell, Cell), Error> {
        let kind = if x.is_some() { JobKind::Relu } else { JobKind::InputRange };
        let (lane, row) = asg.alloc(kind, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let a = cfg.cols.a;
        asg.enable(&cfg.q_relu, row)?;
        asg.advice(a[0], row, Value::known(Fr::ZERO));
        let input = asg.advice(a[1], row, xv.map(field_from_i64));
        if let Some(src) = x {
            asg.copy(input, src);
        }
        let out = asg.advice(a[2], row, xv.map(|v| field_from_i64(v.max(0))));
        asg.advice(a[3], row, Value::known(Fr::ZERO));
        Ok((input, out))
    }

    /// `max(m, v)` as a MAX row; returns the new maximum's cell and value.
    pub(crate) fn max(&self, asg: &mut Assigner<'_>, m: Valued, v: Valued) -> Result<Valued, Error> {
        let (lane, row) = asg.alloc(JobKind::Max, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let a = cfg.cols.a;
        asg.enable(&cfg.q_max, row)?;
        let mc = asg.advice(a[0], row, m.1.map(field_from_i64));
        asg.copy(mc, m.0);
        let vc = asg.advice(a[1], row, v.1.map(field_from_i64));
        asg.copy(vc, v.0);
        let diff = m.1.zip(v.1).map(|(m, v)| (i128::from(v) - i128::from(m)).max(0));
        asg.advice(a[2], row, diff.map(field_from_i128));
        let new = m.1.zip(v.1).map(|(m, v)| m.max(v));
        Ok((asg.advice(a[3], row, new.map(field_from_i64)), new))
    }
}

#[cfg(test)]
mod tests;
