//! Round-half-up division by `d = 2^shift`, exactly as [`zkonnx_ir::quant::rescale`].
//!
//! Row: `a0 = x` (copied from its producer), `a1 = q` (the output), `a2 = r`, `a3 = relu(q)`,
//! `a4 = c*r`; `f0 = d/2` (0 when `shift = 0`), `f1 = d`, `f2 = c = 2H/d` (a power of two:
//! `d <= 2H`, i.e. `shift <= lookup_bits`, which the circuit checks before layout).
//! - gate `rescale`: `x + f0 - q*f1 - r = 0`;
//! - gate `rescale scaled r`: `a4 = r*f2`;
//! - lookup `rescale r`: `a4 - H` in the table, so `0 <= c*r < 2H`;
//! - `q` in the table, so `-H <= q < H`: the row's `(a1, a3)` goes through the lane's
//!   `relu/max` lookup (`chips/relu_max.rs`), which wants `a3 = relu(q)`. Sharing that
//!   argument instead of a lookup of its own saves a third of a lane's lookup commitments.
//!
//! Uniqueness, for any field element `x`: let `(q, r)` satisfy every constraint, with
//! `v = c*r` read as the integer in `[0, 2H)` the lookup found. Multiplying the main gate by
//! `c` gives `c*(x + f0) = 2H*q + v (mod p)`. For two solutions, `2H*(q1 - q2) = v2 - v1
//! (mod p)`, where both sides are integers of magnitude below `4H^2 <= 2^48`, far below `p`: so
//! the equality is over the integers, `|v2 - v1| < 2H` forces `q1 = q2`, then `v1 = v2` and
//! `r1 = r2` (`c` is invertible). The honest pair (`r` in `[0, d)`, so `v = c*r` in `[0, 2H)`)
//! satisfies everything, so it is the only one: `q = floor((x + d/2) / d)`.

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
    /// The rescale rows' selector; the lane's `relu/max` lookup range-checks their `q` with it.
    pub(crate) q: Selector,
    /// `lookup_bits`: the table spans `2H = 2^bits`.
    bits: u32,
}

impl RescaleConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns, table: &TableConfig) -> Self {
        let q = meta.complex_selector();
        let [a0, a1, a2, a4] = [cols.a[0], cols.a[1], cols.a[2], cols.a[4]];
        let [f0, f1, f2] = [cols.f[0], cols.f[1], cols.f[2]];
        let half = Expression::Constant(Fr::from(1u64 << (table.bits - 1)));
        meta.create_gate("rescale", |m| {
            let s = m.query_selector(q);
            let x = m.query_advice(a0, Rotation::cur());
            let quo = m.query_advice(a1, Rotation::cur());
            let r = m.query_advice(a2, Rotation::cur());
            let [h, d] = [f0, f1].map(|c| m.query_fixed(c, Rotation::cur()));
            vec![s * (x + h - quo * d - r)]
        });
        meta.create_gate("rescale scaled r", |m| {
            let s = m.query_selector(q);
            let r = m.query_advice(a2, Rotation::cur());
            let cr = m.query_advice(a4, Rotation::cur());
            vec![s * (cr - r * m.query_fixed(f2, Rotation::cur()))]
        });
        // degree 2 (selector times advice): a degree-3 input would raise the circuit's degree
        // to 6 and double the extended domain
        meta.lookup("rescale r", |m| {
            let s = m.query_selector(q);
            vec![(s * (m.query_advice(a4, Rotation::cur()) - half), table.t_in)]
        });
        Self { cols, q, bits: table.bits }
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
        // c = 2H/d = 2^(lookup_bits - shift); shift <= lookup_bits is checked before layout
        let c = 1i128 << cfg.bits.saturating_sub(shift);
        asg.fixed(f[2], row, field_from_i128(c));
        let qr = xv.map(|x| rescale(i128::from(x), shift));
        let xc = asg.advice(a[0], row, xv.map(|x| field_from_i128(i128::from(x))));
        asg.copy(xc, x);
        let out = asg.advice(a[1], row, qr.map(|(q, _)| field_from_i128(q)));
        asg.advice(a[2], row, qr.map(|(_, r)| field_from_i128(r)));
        asg.advice(a[3], row, qr.map(|(q, _)| field_from_i128(q.max(0))));
        asg.advice(a[4], row, qr.map(|(_, r)| field_from_i128(r * c)));
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
