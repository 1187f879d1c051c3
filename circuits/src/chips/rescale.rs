//! Round-half-up division by `d = 2^shift`, exactly as [`zkonnx_ir::quant::rescale`].
//!
//! Row: `a0 = x` (copied from its producer), `a1 = q` (the output), `a2 = r`;
//! `f0 = d/2` (0 when `shift = 0`), `f1 = d`.
//! - gate `rescale`: `x + f0 - q*f1 - r = 0`;
//! - lookup `rescale r lower`: `r - H` in the table, so `0 <= r < 2H`;
//! - lookup `rescale r upper`: `r + H - d` in the table, so `r < d` (given `r >= 0`; this needs
//!   `d <= 2H`, i.e. `shift <= lookup_bits`);
//! - lookup `rescale q range`: `q` in the table, so `-H <= q < H`.
//!
//! Uniqueness: `q*d + r` ranges over `[-H*d, H*d)`, an interval of `2H*d <= 2^48` integers, far
//! shorter than the field, so at most one `(q, r)` hits `x + d/2` modulo `p`. That pair is the
//! integer floor division, i.e. `q = floor((x + d/2) / d)`.

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;
use zkonnx_ir::quant::rescale;

use super::table::TableConfig;
use super::LaneColumns;
use crate::field::field_from_i128;
use crate::layout::{Assigner, JobKind};

/// One lane's rescale gate and lookups.
#[derive(Clone, Debug)]
pub(crate) struct RescaleConfig {
    cols: LaneColumns,
    q: Selector,
}

impl RescaleConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns, table: &TableConfig) -> Self {
        let q = meta.complex_selector();
        let [a0, a1, a2] = [cols.a[0], cols.a[1], cols.a[2]];
        let [f0, f1] = [cols.f[0], cols.f[1]];
        let half = Expression::Constant(Fr::from(1u64 << (table.bits - 1)));
        meta.create_gate("rescale", |m| {
            let s = m.query_selector(q);
            let x = m.query_advice(a0, Rotation::cur());
            let quo = m.query_advice(a1, Rotation::cur());
            let r = m.query_advice(a2, Rotation::cur());
            let [h, d] = [f0, f1].map(|c| m.query_fixed(c, Rotation::cur()));
            vec![s * (x + h - quo * d - r)]
        });
        let h = half.clone();
        meta.lookup("rescale r lower", |m| {
            let s = m.query_selector(q);
            let r = m.query_advice(a2, Rotation::cur());
            vec![(s * (r - h), table.t_in)]
        });
        meta.lookup("rescale r upper", |m| {
            let s = m.query_selector(q);
            let r = m.query_advice(a2, Rotation::cur());
            let d = m.query_fixed(f1, Rotation::cur());
            vec![(s * (r + half - d), table.t_in)]
        });
        meta.lookup("rescale q range", |m| {
            let s = m.query_selector(q);
            vec![(s * m.query_advice(a1, Rotation::cur()), table.t_in)]
        });
        Self { cols, q }
    }
}

/// Lays out rescale rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RescaleChip<'a> {
    lanes: &'a [RescaleConfig],
}

impl<'a> RescaleChip<'a> {
    pub(crate) fn new(lanes: &'a [RescaleConfig]) -> Self {
        Self { lanes }
    }

    /// `round_half_up(x / 2^shift)`; the caller checks `shift <= lookup_bits`.
    pub(crate) fn rescale(&self, asg: &mut Assigner<'_>, x: Cell, xv: Value<i64>, shift: u32) -> Result<Cell, Error> {
        let (lane, row) = asg.alloc(JobKind::Rescale, 1);
        let cfg = &self.lanes[lane];
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        asg.enable(&cfg.q, row)?;
        let d = 1u64 << shift;
        asg.fixed(f[0], row, if shift == 0 { Fr::ZERO } else { Fr::from(d / 2) });
        asg.fixed(f[1], row, Fr::from(d));
        let qr = xv.map(|x| rescale(i128::from(x), shift));
        let xc = asg.advice(a[0], row, xv.map(|x| field_from_i128(i128::from(x))));
        asg.copy(xc, x);
        let out = asg.advice(a[1], row, qr.map(|(q, _)| field_from_i128(q)));
        asg.advice(a[2], row, qr.map(|(_, r)| field_from_i128(r)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
