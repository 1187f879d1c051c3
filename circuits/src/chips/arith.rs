//! Element-wise arithmetic and pinned constants, one row each.
//!
//! Gate `arith`: `a2 = f0*a0*a1 + f1*a0 + f2*a1 + f3`.
//! - Mul: `f0 = 1`, operands `a0`, `a1` copy-constrained to their producers.
//! - Add `ca*a + cb*b`: `f1 = ca`, `f2 = cb`.
//! - Constant `c`: `f3 = c` and `f0 = f1 = f2 = 0`, so `a2 = c` whatever `a0`, `a1` hold
//!   (they are deliberately unconstrained padding on constant rows).

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

use super::LaneColumns;
use crate::layout::{Assigner, JobKind};

/// One lane's arith gate.
#[derive(Clone, Debug)]
pub(crate) struct ArithConfig {
    cols: LaneColumns,
    q: Selector,
}

impl ArithConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns) -> Self {
        let q = meta.selector();
        meta.create_gate("arith", |m| {
            let s = m.query_selector(q);
            let [a0, a1, a2] = [0, 1, 2].map(|i| m.query_advice(cols.a[i], Rotation::cur()));
            let [f0, f1, f2, f3] = [0, 1, 2, 3].map(|i| m.query_fixed(cols.f[i], Rotation::cur()));
            vec![s * (f0 * a0.clone() * a1.clone() + f1 * a0 + f2 * a1 + f3 - a2)]
        });
        Self { cols, q }
    }
}

/// An operand: its producer's cell and its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Operand {
    pub(crate) cell: Cell,
    pub(crate) value: Value<Fr>,
}

/// Lays out arith rows.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArithChip<'a> {
    lanes: &'a [ArithConfig],
}

impl<'a> ArithChip<'a> {
    pub(crate) fn new(lanes: &'a [ArithConfig]) -> Self {
        Self { lanes }
    }

    /// One row of the gate with coefficients `[f0, f1, f2, f3]`; returns the `a2` cell.
    fn row(&self, asg: &mut Assigner<'_>, coef: [Fr; 4], x: Option<(Operand, Operand)>) -> Result<Cell, Error> {
        let kind = if x.is_some() { JobKind::Arith } else { JobKind::Constant };
        let (lane, row) = asg.alloc(kind, 1);
        let cfg = &self.lanes[lane];
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        asg.enable(&cfg.q, row)?;
        for (c, &v) in coef.iter().enumerate() {
            asg.fixed(f[c], row, v);
        }
        let out = match x {
            Some((l, r)) => {
                let lc = asg.advice(a[0], row, l.value);
                asg.copy(lc, l.cell);
                let rc = asg.advice(a[1], row, r.value);
                asg.copy(rc, r.cell);
                l.value.zip(r.value).map(|(p, q)| coef[0] * p * q + coef[1] * p + coef[2] * q + coef[3])
            }
            None => {
                asg.advice(a[0], row, Value::known(Fr::ZERO));
                asg.advice(a[1], row, Value::known(Fr::ZERO));
                Value::known(coef[3])
            }
        };
        Ok(asg.advice(a[2], row, out))
    }

    /// `l * r`.
    pub(crate) fn mul(&self, asg: &mut Assigner<'_>, l: Operand, r: Operand) -> Result<Cell, Error> {
        self.row(asg, [Fr::ONE, Fr::ZERO, Fr::ZERO, Fr::ZERO], Some((l, r)))
    }

    /// `ca * l + cb * r`.
    pub(crate) fn add(&self, asg: &mut Assigner<'_>, l: Operand, r: Operand, ca: Fr, cb: Fr) -> Result<Cell, Error> {
        self.row(asg, [Fr::ZERO, ca, cb, Fr::ZERO], Some((l, r)))
    }

    /// A cell pinned to the constant `c` (its value is part of the verifying key).
    pub(crate) fn constant(&self, asg: &mut Assigner<'_>, c: Fr) -> Result<Cell, Error> {
        self.row(asg, [Fr::ZERO, Fr::ZERO, Fr::ZERO, c], None)
    }
}

#[cfg(test)]
mod tests;
