//! The Poseidon chip: circomlib's Poseidon (`t = 5`, see [`crate::poseidon`]) and the tensor
//! commitment chained from it, on columns of its own.
//!
//! Only circuits with a `hashed` visibility have these columns (`CircuitParams::hashes`): advice
//! `s0..s4` (the state, equality on) and `w0..w4` (work cells), fixed `c0..c7`, and three
//! selectors. One permutation takes 29 rows of its own row counter (the model's lanes are not
//! touched): 4 full-round rows, 20 rows of three partial rounds each, 4 full-round rows, and the
//! output row holding the permuted state. A commitment of `n` values takes
//! `ceil((n + 1) / 3)` permutations ([`commitment_rows`]).
//!
//! Every gate has degree at most 4 (selector included), under the circuit's degree 5, so the
//! chip never widens the extended domain; the price is the squares kept as witnesses.
//! - `poseidon full` (`q_full`): `w_j = (s_j + c_j)^2` and
//!   `s_i[next] = sum_j M_ij * w_j^2 * (s_j + c_j)`, i.e. `M * (s + c)^5`.
//! - `poseidon partial` (`q_part`), three partial rounds `r, r+1, r+2` in one row:
//!   `w0 = (s0 + c0)^2` (so `Y1 = w0^2 (s0 + c0)` is round r's S-box), `w1 = X1(s, Y1) + c1`
//!   (round r+1's S-box input), `w2 = w1^2`, `Y2 = w2^2 w1`, `w3 = X2(s, Y1, Y2) + c2`,
//!   `w4 = w3^2`, `Y3 = w4^2 w3`, and `s_i[next] = N_i(s, Y1, Y2, Y3) + c_{3+i}`. Every other
//!   element of a partial round is affine, so `X1`, `X2` and `N_i` are fixed linear forms of the
//!   MDS matrix alone and every round constant of the three rounds folds into `c1..c7`
//!   ([`partial_forms`]).
//! - `poseidon input` (`q_in`, on a permutation's first row): `s0 = 0` (circomlib's capacity
//!   element) and `c6 * (s1 - c7) = 0`, which pins the chain's start `d_0 = c7` on a
//!   commitment's first permutation (`c6 = 1`); on the others `s1` is copy-constrained to the
//!   previous output row's `s0`, and `s2..s4` to the committed cells; padding past the end (and
//!   the params' salt) to the row's `s0`, so to 0.

use halo2_proofs::circuit::{Cell, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Advice, Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::layout::Assigner;
use crate::poseidon::{constants, mix, permutations, pow5, FULL_ROUNDS, PARTIAL_ROUNDS, RATE, WIDTH};

/// Advice columns of the chip (`s0..s4`, then `w0..w4`).
pub const POSEIDON_ADVICE: usize = 2 * WIDTH;
/// Rows of one permutation (its output row included).
pub(crate) const ROWS_PER_PERMUTATION: usize = FULL_ROUNDS + PARTIAL_ROUNDS / 3 + 1;
const HALF_FULL: usize = FULL_ROUNDS / 2;

/// Rows a commitment of `n` values (its salt not counted) takes.
pub fn commitment_rows(n: usize) -> usize {
    permutations(n) * ROWS_PER_PERMUTATION
}

/// An affine form over the partial row's variables `s0..s4, Y1, Y2, Y3`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Affine {
    pub(crate) coef: [Fr; 8],
    pub(crate) k: Fr,
}

impl Affine {
    fn var(i: usize) -> Self {
        let mut coef = [Fr::ZERO; 8];
        coef[i] = Fr::ONE;
        Self { coef, k: Fr::ZERO }
    }

    fn plus(mut self, k: Fr) -> Self {
        self.k += k;
        self
    }

    #[cfg(test)]
    fn eval(&self, vars: &[Fr; 8]) -> Fr {
        self.coef.iter().zip(vars).map(|(c, v)| *c * v).sum::<Fr>() + self.k
    }
}

fn mix_affine(state: &[Affine; WIDTH]) -> [Affine; WIDTH] {
    let m = &constants().mds;
    std::array::from_fn(|i| {
        let mut out = Affine { coef: [Fr::ZERO; 8], k: Fr::ZERO };
        for (j, a) in state.iter().enumerate() {
            for (o, c) in out.coef.iter_mut().zip(&a.coef) {
                *o += m[i][j] * c;
            }
            out.k += m[i][j] * a.k;
        }
        out
    })
}

/// The partial row's forms `(X1, X2, N)` for the round constants `rc` of its three rounds.
pub(crate) fn partial_forms(rc: [&[Fr; WIDTH]; 3]) -> (Affine, Affine, [Affine; WIDTH]) {
    let mut state: [Affine; WIDTH] = std::array::from_fn(Affine::var);
    let mut inputs = [Affine::var(0); 2];
    for (round, rc) in rc.iter().enumerate() {
        let mut a: [Affine; WIDTH] = std::array::from_fn(|j| state[j].plus(rc[j]));
        if round > 0 {
            inputs[round - 1] = a[0];
        }
        // the S-box output of this round is the variable Y_{round+1}
        a[0] = Affine::var(WIDTH + round);
        state = mix_affine(&a);
    }
    (inputs[0], inputs[1], state)
}

/// Which round a permutation's row `i` (`0..28`) computes: `(first round, full)`.
fn row_round(i: usize) -> (usize, bool) {
    let partial_rows = PARTIAL_ROUNDS / 3;
    if i < HALF_FULL {
        (i, true)
    } else if i < HALF_FULL + partial_rows {
        (HALF_FULL + 3 * (i - HALF_FULL), false)
    } else {
        (HALF_FULL + PARTIAL_ROUNDS + (i - HALF_FULL - partial_rows), true)
    }
}

/// The chip's fixed values of every round row of a permutation, computed once.
fn fixed_rows() -> &'static [[Fr; 8]] {
    static ROWS: std::sync::OnceLock<Vec<[Fr; 8]>> = std::sync::OnceLock::new();
    ROWS.get_or_init(|| (0..ROWS_PER_PERMUTATION - 1).map(row_fixed).collect())
}

/// The chip's fixed values of a round row: `c0..c7`.
fn row_fixed(i: usize) -> [Fr; 8] {
    let rc = &constants().rc;
    let (r, full) = row_round(i);
    let mut c = [Fr::ZERO; 8];
    if full {
        c[..WIDTH].copy_from_slice(&rc[r]);
    } else {
        let (x1, x2, n) = partial_forms([&rc[r], &rc[r + 1], &rc[r + 2]]);
        c[0] = rc[r][0];
        c[1] = x1.k;
        c[2] = x2.k;
        for (ci, ni) in c[3..].iter_mut().zip(&n) {
            *ci = ni.k;
        }
    }
    c
}

/// The witness of a round row from its state, by the rounds' definition (not by the gate's
/// forms, so that MockProver checks one against the other): `(w, next state)`.
fn row_witness(i: usize, s: &[Fr; WIDTH]) -> ([Fr; WIDTH], [Fr; WIDTH]) {
    let c = constants();
    let (r, full) = row_round(i);
    let mut w = [Fr::ZERO; WIDTH];
    if full {
        let a: [Fr; WIDTH] = std::array::from_fn(|j| s[j] + c.rc[r][j]);
        for (wj, aj) in w.iter_mut().zip(&a) {
            *wj = aj.square();
        }
        return (w, mix(&c.mds, &a.map(pow5)));
    }
    let mut state = *s;
    for round in 0..3 {
        let mut a: [Fr; WIDTH] = std::array::from_fn(|j| state[j] + c.rc[r + round][j]);
        // w0 = a0^2 of the first round; (w1, w2) and (w3, w4) = (a0, a0^2) of the next two
        if round == 0 {
            w[0] = a[0].square();
        } else {
            w[2 * round - 1] = a[0];
            w[2 * round] = a[0].square();
        }
        a[0] = pow5(a[0]);
        state = mix(&c.mds, &a);
    }
    (w, state)
}

/// The chip's columns and selectors.
#[derive(Clone, Debug)]
pub(crate) struct PoseidonConfig {
    pub(crate) s: [Column<Advice>; WIDTH],
    pub(crate) w: [Column<Advice>; WIDTH],
    c: [Column<Fixed>; 8],
    q_in: Selector,
    q_full: Selector,
    q_part: Selector,
}

impl PoseidonConfig {
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let s = super::equality_advice(meta);
        let w = [(); WIDTH].map(|_| meta.advice_column());
        let c = [(); 8].map(|_| meta.fixed_column());
        let (q_in, q_full, q_part) = (meta.selector(), meta.selector(), meta.selector());
        let mds = constants().mds;
        let zero = [Fr::ZERO; WIDTH];
        let (x1, x2, n) = partial_forms([&zero, &zero, &zero]);
        meta.create_gate("poseidon input", |m| {
            let q = m.query_selector(q_in);
            let [s0, s1] = [0, 1].map(|j| m.query_advice(s[j], Rotation::cur()));
            let [c6, c7] = [6, 7].map(|j| m.query_fixed(c[j], Rotation::cur()));
            vec![q.clone() * s0, q * c6 * (s1 - c7)]
        });
        meta.create_gate("poseidon full", |m| {
            let q = m.query_selector(q_full);
            let cur: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(s[j], Rotation::cur()));
            let next: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(s[j], Rotation::next()));
            let wv: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(w[j], Rotation::cur()));
            let a: [Expression<Fr>; WIDTH] =
                std::array::from_fn(|j| cur[j].clone() + m.query_fixed(c[j], Rotation::cur()));
            let sbox: Vec<Expression<Fr>> = (0..WIDTH).map(|j| wv[j].clone() * wv[j].clone() * a[j].clone()).collect();
            let squares = (0..WIDTH).map(|j| q.clone() * (wv[j].clone() - a[j].clone() * a[j].clone()));
            let mixes = (0..WIDTH).map(|i| {
                let sum = (0..WIDTH).fold(Expression::Constant(Fr::ZERO), |acc, j| {
                    acc + Expression::Constant(mds[i][j]) * sbox[j].clone()
                });
                q.clone() * (next[i].clone() - sum)
            });
            squares.chain(mixes).collect::<Vec<_>>()
        });
        meta.create_gate("poseidon partial", |m| {
            let q = m.query_selector(q_part);
            let cur: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(s[j], Rotation::cur()));
            let next: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(s[j], Rotation::next()));
            let wv: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| m.query_advice(w[j], Rotation::cur()));
            let cv: [Expression<Fr>; 8] = std::array::from_fn(|j| m.query_fixed(c[j], Rotation::cur()));
            let a0 = cur[0].clone() + cv[0].clone();
            let y1 = wv[0].clone() * wv[0].clone() * a0.clone();
            let y2 = wv[2].clone() * wv[2].clone() * wv[1].clone();
            let y3 = wv[4].clone() * wv[4].clone() * wv[3].clone();
            let vars: Vec<Expression<Fr>> = cur.iter().cloned().chain([y1, y2, y3]).collect();
            let form = |f: &Affine, k: Expression<Fr>| {
                f.coef.iter().zip(&vars).fold(k, |acc, (c, v)| {
                    if *c == Fr::ZERO {
                        acc
                    } else {
                        acc + Expression::Constant(*c) * v.clone()
                    }
                })
            };
            let mut out = vec![
                q.clone() * (wv[0].clone() - a0.clone() * a0),
                q.clone() * (wv[1].clone() - form(&x1, cv[1].clone())),
                q.clone() * (wv[2].clone() - wv[1].clone() * wv[1].clone()),
                q.clone() * (wv[3].clone() - form(&x2, cv[2].clone())),
                q.clone() * (wv[4].clone() - wv[3].clone() * wv[3].clone()),
            ];
            out.extend((0..WIDTH).map(|i| q.clone() * (next[i].clone() - form(&n[i], cv[3 + i].clone()))));
            out
        });
        Self { s, w, c, q_in, q_full, q_part }
    }
}

/// What an element's cell is tied to.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// Nothing: a value that lives only here (an input's salt, a hashed weight), bound by the
    /// digest alone.
    Free,
    /// The cell that holds it elsewhere (copy-constrained).
    Copy(Cell),
    /// Zero (copy-constrained to the row's `s0`, which `poseidon input` pins to 0): padding, and
    /// the params' salt.
    Zero,
}

/// An element to commit: what its cell is tied to, and its value.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Element {
    pub(crate) source: Source,
    pub(crate) value: Value<Fr>,
}

impl Element {
    pub(crate) fn free(value: Value<Fr>) -> Self {
        Self { source: Source::Free, value }
    }

    pub(crate) fn copy(cell: Cell, value: Value<Fr>) -> Self {
        Self { source: Source::Copy(cell), value }
    }

    pub(crate) fn zero() -> Self {
        Self { source: Source::Zero, value: Value::known(Fr::ZERO) }
    }
}

/// A laid-out commitment: the digest's cell, and the cell of every element in order.
#[derive(Clone, Debug)]
pub(crate) struct Committed {
    pub(crate) digest: Cell,
    pub(crate) elements: Vec<Cell>,
}

/// Lays out Poseidon commitments.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoseidonChip<'a> {
    cfg: &'a PoseidonConfig,
}

impl<'a> PoseidonChip<'a> {
    pub(crate) fn new(cfg: &'a PoseidonConfig) -> Self {
        Self { cfg }
    }

    /// The commitment of `elements` (the salt first, then the values; see
    /// [`crate::poseidon::commit`]).
    pub(crate) fn commit(&self, asg: &mut Assigner<'_>, elements: &[Element]) -> Result<Committed, Error> {
        let mut digest: Option<(Cell, Value<Fr>)> = None;
        let mut cells = Vec::with_capacity(elements.len());
        for chunk in elements.chunks(RATE) {
            let start = asg.alloc_poseidon(ROWS_PER_PERMUTATION);
            let mut state = self.input_row(asg, start, digest, elements.len(), chunk, &mut cells)?;
            for i in 0..ROWS_PER_PERMUTATION - 1 {
                let row = start + i;
                let (_, full) = row_round(i);
                asg.enable(if full { &self.cfg.q_full } else { &self.cfg.q_part }, row)?;
                // a full row uses c0..c4 (its c6 and c7 belong to `poseidon input`)
                let used = if full { WIDTH } else { 8 };
                for (col, v) in self.cfg.c.iter().zip(fixed_rows()[i]).take(used) {
                    asg.fixed(*col, row, v);
                }
                let step = state.map(|s| row_witness(i, &s));
                for j in 0..WIDTH {
                    asg.advice(self.cfg.w[j], row, step.map(|(w, _)| w[j]));
                }
                state = step.map(|(_, next)| next);
                let next: Vec<Cell> =
                    (0..WIDTH).map(|j| asg.advice(self.cfg.s[j], row + 1, state.map(|s| s[j]))).collect();
                if i == ROWS_PER_PERMUTATION - 2 {
                    // the output row: its s0 is the chain's next value
                    digest = Some((next[0], state.map(|s| s[0])));
                }
            }
        }
        let (digest, _) = digest.ok_or(Error::Synthesis)?;
        Ok(Committed { digest, elements: cells })
    }

    /// A permutation's first row: `s0 = 0`, `s1` the chain value, `s2..s4` the chunk (zeros
    /// past the end). Returns the row's state.
    fn input_row(
        &self,
        asg: &mut Assigner<'_>,
        row: usize,
        prev: Option<(Cell, Value<Fr>)>,
        len: usize,
        chunk: &[Element],
        cells: &mut Vec<Cell>,
    ) -> Result<Value<[Fr; WIDTH]>, Error> {
        let cfg = self.cfg;
        asg.enable(&cfg.q_in, row)?;
        let start = Fr::from(len as u64);
        let d = match prev {
            Some((cell, v)) => {
                let c = asg.advice(cfg.s[1], row, v);
                asg.copy(c, cell);
                v
            }
            None => {
                asg.fixed(cfg.c[6], row, Fr::ONE);
                asg.fixed(cfg.c[7], row, start);
                asg.advice(cfg.s[1], row, Value::known(start));
                Value::known(start)
            }
        };
        let zero = asg.advice(cfg.s[0], row, Value::known(Fr::ZERO));
        let mut state = d.map(|d| [Fr::ZERO, d, Fr::ZERO, Fr::ZERO, Fr::ZERO]);
        for j in 0..RATE {
            // past the chunk's end: zero padding
            let e = chunk.get(j).copied().unwrap_or_else(Element::zero);
            let c = asg.advice(cfg.s[2 + j], row, e.value);
            match e.source {
                Source::Free => {}
                Source::Copy(src) => asg.copy(c, src),
                Source::Zero => asg.copy(c, zero),
            }
            if j < chunk.len() {
                cells.push(c);
            }
            state = state.zip(e.value).map(|(mut s, v)| {
                s[2 + j] = v;
                s
            });
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests;
