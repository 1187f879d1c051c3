//! Dot-product chains: `out = sum_t x_t * w_t + bias`, 4 terms a row with fixed weights or
//! 2 terms a row with witnessed (private) weights.
//!
//! Gates (each with its own selector, `f4` = 0 on a chain's first row and 1 after it):
//! - `dot fixed`:   `a4 = f4 * a4[prev] + a0*f0 + a1*f1 + a2*f2 + a3*f3 + f5`
//!   (`f5` is the bias on the first row, 0 elsewhere);
//! - `dot private`: `a4 = f4 * a4[prev] + a0*a1 + a2*a3`.
//!
//! The output is `a4` on the chain's last row. Every `x` operand is copy-constrained to its
//! producer's cell.
//!
//! Deliberately unconstrained padding: in a fixed-weight row, a slot without a term has weight
//! `f_c = 0` (a fixed, verifying-key value), so its advice `a_c` is multiplied by zero and
//! left free. In a private-weight row, a slot without a term has its `x` copy-constrained to
//! the pinned zero cell, so its (free) weight advice is multiplied by zero. A private weight
//! that is used more than once is copy-constrained to its first use (its canonical cell).

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::LaneColumns;
use crate::layout::{Assigner, JobKind};

/// Terms per fixed-weight row.
pub(crate) const FIXED_TERMS_PER_ROW: usize = 4;
/// Terms per private-weight row.
pub(crate) const PRIVATE_TERMS_PER_ROW: usize = 2;

/// One lane's dot gates.
#[derive(Clone, Debug)]
pub(crate) struct DotConfig {
    cols: LaneColumns,
    q_fixed: Selector,
    q_private: Selector,
}

/// A term with a fixed weight.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FixedTerm {
    pub(crate) x: Cell,
    pub(crate) xv: Value<Fr>,
    pub(crate) w: Fr,
}

/// A term with a witnessed weight; `w` indexes the op's weights (and its canonical cells).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PrivateTerm {
    pub(crate) x: Cell,
    pub(crate) xv: Value<Fr>,
    pub(crate) w: usize,
    pub(crate) wv: Value<Fr>,
}

impl DotConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, cols: LaneColumns) -> Self {
        let q_fixed = meta.selector();
        let q_private = meta.selector();
        meta.create_gate("dot fixed", |m| {
            let q = m.query_selector(q_fixed);
            let a = cols.a.map(|c| m.query_advice(c, Rotation::cur()));
            let f = cols.f.map(|c| m.query_fixed(c, Rotation::cur()));
            let prev = m.query_advice(cols.a[4], Rotation::prev());
            let mut rhs = f[4].clone() * prev + f[5].clone();
            for c in 0..FIXED_TERMS_PER_ROW {
                rhs = rhs + a[c].clone() * f[c].clone();
            }
            vec![q * (a[4].clone() - rhs)]
        });
        meta.create_gate("dot private", |m| {
            let q = m.query_selector(q_private);
            let a = cols.a.map(|c| m.query_advice(c, Rotation::cur()));
            let cont = m.query_fixed(cols.f[4], Rotation::cur());
            let prev = m.query_advice(cols.a[4], Rotation::prev());
            let rhs: Expression<Fr> = cont * prev + a[0].clone() * a[1].clone() + a[2].clone() * a[3].clone();
            vec![q * (a[4].clone() - rhs)]
        });
        Self { cols, q_fixed, q_private }
    }
}

/// Lays out dot chains in the lane the allocator picks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DotChip<'a> {
    lanes: &'a [DotConfig],
}

/// Rows a chain of `n` terms takes at `per_row` terms a row (an empty chain still takes one).
pub(crate) fn chain_rows(n: usize, per_row: usize) -> usize {
    n.div_ceil(per_row).max(1)
}

impl<'a> DotChip<'a> {
    pub(crate) fn new(lanes: &'a [DotConfig]) -> Self {
        Self { lanes }
    }

    /// `sum x_t * w_t + bias` with weights in fixed columns; returns the output cell.
    pub(crate) fn fixed(&self, asg: &mut Assigner<'_>, terms: &[FixedTerm], bias: Fr) -> Result<Cell, Error> {
        let rows = chain_rows(terms.len(), FIXED_TERMS_PER_ROW);
        let (lane, start) = asg.alloc(JobKind::DotFixed, rows);
        let cfg = &self.lanes[lane];
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        let mut acc = Value::known(Fr::ZERO);
        let mut out = None;
        for r in 0..rows {
            let row = start + r;
            asg.enable(&cfg.q_fixed, row)?;
            let first = r == 0;
            asg.fixed(f[4], row, if first { Fr::ZERO } else { Fr::ONE });
            let b = if first { bias } else { Fr::ZERO };
            asg.fixed(f[5], row, b);
            acc = acc.map(|v| if first { b } else { v + b });
            for c in 0..FIXED_TERMS_PER_ROW {
                match terms.get(r * FIXED_TERMS_PER_ROW + c) {
                    Some(t) => {
                        asg.fixed(f[c], row, t.w);
                        let cell = asg.advice(a[c], row, t.xv);
                        asg.copy(cell, t.x);
                        acc = acc.zip(t.xv).map(|(s, x)| s + x * t.w);
                    }
                    None => {
                        // padding: weight 0, x free (see the module doc)
                        asg.fixed(f[c], row, Fr::ZERO);
                        asg.advice(a[c], row, Value::known(Fr::ZERO));
                    }
                }
            }
            out = Some(asg.advice(a[4], row, acc));
        }
        Ok(out.unwrap_or(Cell { row_offset: start, column: a[4].into() }))
    }

    /// `sum x_t * w_t` with witnessed weights (a bias is a term `one * b`); returns the output
    /// cell. `canonical[w]` is weight `w`'s first cell: set here on first use, and every later
    /// use (in this chain or another) is copy-constrained to it. `zero` must be pinned to 0.
    pub(crate) fn private(
        &self,
        asg: &mut Assigner<'_>,
        terms: &[PrivateTerm],
        zero: Cell,
        canonical: &mut [Option<Cell>],
    ) -> Result<Cell, Error> {
        let rows = chain_rows(terms.len(), PRIVATE_TERMS_PER_ROW);
        let (lane, start) = asg.alloc(JobKind::DotPrivate, rows);
        let cfg = &self.lanes[lane];
        let (a, f) = (cfg.cols.a, cfg.cols.f);
        let mut acc = Value::known(Fr::ZERO);
        let mut out = None;
        for r in 0..rows {
            let row = start + r;
            asg.enable(&cfg.q_private, row)?;
            asg.fixed(f[4], row, if r == 0 { Fr::ZERO } else { Fr::ONE });
            for s in 0..PRIVATE_TERMS_PER_ROW {
                let (xc, wc) = (a[2 * s], a[2 * s + 1]);
                match terms.get(r * PRIVATE_TERMS_PER_ROW + s) {
                    Some(t) => {
                        let x = asg.advice(xc, row, t.xv);
                        asg.copy(x, t.x);
                        let w = asg.advice(wc, row, t.wv);
                        match canonical.get(t.w).copied() {
                            Some(Some(canon)) => asg.copy(w, canon),
                            Some(None) => canonical[t.w] = Some(w),
                            None => return Err(Error::Synthesis), // weight index out of range
                        }
                        acc = acc.zip(t.xv).zip(t.wv).map(|((s, x), w)| s + x * w);
                    }
                    None => {
                        // padding: x pinned to zero, weight free (see the module doc)
                        let x = asg.advice(xc, row, Value::known(Fr::ZERO));
                        asg.copy(x, zero);
                        asg.advice(wc, row, Value::known(Fr::ZERO));
                    }
                }
            }
            out = Some(asg.advice(a[4], row, acc));
        }
        Ok(out.unwrap_or(Cell { row_offset: start, column: a[4].into() }))
    }
}

#[cfg(test)]
mod tests;
