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
//! With two-limb range checks (`range_limbs = 2`, `chips/wide.rs`) the lane has no relu/max
//! lookup: a rescale row's `a3` is unused and its quotient is range-checked to `2B` bits by a
//! RANGE row after it (in the uniqueness argument below, `|q| < 2^(2B-1)` keeps both sides
//! below `2^(3B+1) <= 2^73`, still far below `p`). A shift `B < s <= 2B` takes two rows: a floor
//! row `u = floor(x / 2^(s - B))` (`f0 = 0`) and a round-half-up row of `u` by `2^B`; since
//! `floor((floor(x/A) + c)/M) = floor((x + c*A)/(A*M))` for integers, that is exactly
//! `round_half_up(x / 2^s)`. The floor row's `u` is unique because the second row writes it as
//! `q*2^B + r - 2^(B-1)` with both range-checked, so it is a small integer too.
//!
//! The `rescale r` lookup also serves the two-limb RANGE and MAX rows' low limb (`a4 - H` in
//! `t_in` under their selectors, see `chips/wide.rs`).
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
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;
use zkonnx_ir::quant::rescale;

use super::table::TableConfig;
use super::wide::WideChip;
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
    /// `low_limbs`: the lane's two-limb row selectors, whose `a4` this lookup also checks.
    pub(crate) fn configure(
        meta: &mut ConstraintSystem<Fr>,
        cols: LaneColumns,
        table: &TableConfig,
        low_limbs: &[Selector],
    ) -> Self {
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
            let s = low_limbs.iter().fold(m.query_selector(q), |acc, &l| acc + m.query_selector(l));
            vec![(s * (m.query_advice(a4, Rotation::cur()) - half), table.t_in)]
        });
        Self { cols, q, bits: table.bits }
    }
}

/// Lays out rescale rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RescaleChip<'a> {
    lanes: &'a [RescaleConfig],
    /// The RANGE rows that check quotients in a two-limb circuit (`None` with one limb).
    wide: Option<WideChip<'a>>,
}

impl<'a> RescaleChip<'a> {
    pub(crate) fn new(lanes: &'a [RescaleConfig], wide: Option<WideChip<'a>>) -> Self {
        Self { lanes, wide }
    }

    /// `round_half_up(x / 2^shift)`; the caller checks `shift <= lookup_bits * range_limbs`.
    pub(crate) fn rescale(&self, asg: &mut Assigner<'_>, x: Cell, xv: Value<i64>, shift: u32) -> Result<Cell, Error> {
        let Some(wide) = self.wide else {
            return self.row(asg, (x, xv.map(i128::from)), shift, true, JobKind::Rescale).map(|(q, _)| q);
        };
        let bits = self.lanes.first().ok_or(Error::Synthesis)?.bits;
        let mut operand = (x, xv.map(i128::from));
        if shift > bits {
            operand = self.row(asg, operand, shift - bits, false, JobKind::WideRescale)?;
        }
        let (q, qv) = self.row(asg, operand, shift.min(bits), true, JobKind::WideRescale)?;
        let qv = qv.map(|q| i64::try_from(q).unwrap_or(i64::MAX));
        wide.relu(asg, Some(q), qv, JobKind::WideRange)?;
        Ok(q)
    }

    /// One rescale row: `round_half_up(x / 2^shift)` (`half_up`) or `floor(x / 2^shift)`, with
    /// `shift <= lookup_bits`; returns the quotient's cell and value.
    fn row(
        &self,
        asg: &mut Assigner<'_>,
        (x, xv): (Cell, Value<i128>),
        shift: u32,
        half_up: bool,
        kind: JobKind,
    ) -> Result<(Cell, Value<i128>), Error> {
        let (lane, row) = asg.alloc(kind, 1);
        let cfg = self.lanes.get(lane).ok_or(Error::Synthesis)?;
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        asg.enable(&cfg.q, row)?;
        let d = 1i128 << shift;
        let h = if half_up && shift > 0 { d / 2 } else { 0 };
        asg.fixed(f[0], row, field_from_i128(h));
        asg.fixed(f[1], row, field_from_i128(d));
        // c = 2H/d = 2^(lookup_bits - shift); shift <= lookup_bits is checked before layout
        let c = 1i128 << cfg.bits.saturating_sub(shift);
        asg.fixed(f[2], row, field_from_i128(c));
        let qr = xv.map(|x| if half_up { rescale(x, shift) } else { (x.div_euclid(d), x.rem_euclid(d)) });
        let xc = asg.advice(a[0], row, xv.map(field_from_i128));
        asg.copy(xc, x);
        let out = asg.advice(a[1], row, qr.map(|(q, _)| field_from_i128(q)));
        asg.advice(a[2], row, qr.map(|(_, r)| field_from_i128(r)));
        if self.wide.is_none() {
            // one limb: the relu/max lookup reads `(q, relu(q))` from (a1, a3)
            asg.advice(a[3], row, qr.map(|(q, _)| field_from_i128(q.max(0))));
        }
        asg.advice(a[4], row, qr.map(|(_, r)| field_from_i128(r * c)));
        Ok((out, qr.map(|(q, _)| q)))
    }
}

#[cfg(test)]
mod tests;
