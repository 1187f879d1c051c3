//! The development SRS from a known `tau`, by fixed-base multiplication.
//!
//! Every point of the SRS is a multiple of the one generator `G`: `[tau^i]G` and the Lagrange
//! basis `[L_i(tau)]G`. A table of `j * 2^(WINDOW * w) * G` for every window `w` and digit `j`
//! turns each multiplication into one mixed addition per window (22 for a 254-bit scalar),
//! instead of the ~380 doublings and additions of a generic multiplication.

use halo2_proofs::arithmetic::parallelize;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

/// Bits of scalar per table window.
const WINDOW: usize = 12;
/// Windows covering a 256-bit scalar.
const WINDOWS: usize = 256usize.div_ceil(WINDOW);

/// `table[w][j] = j * 2^(WINDOW * w) * G`.
struct Table(Vec<Vec<G1Affine>>);

impl Table {
    fn new(g: G1Affine) -> Self {
        let mut base = G1::from(g);
        let windows = (0..WINDOWS)
            .map(|_| {
                let mut row = vec![G1::identity(); 1 << WINDOW];
                for j in 1..row.len() {
                    row[j] = row[j - 1] + base;
                }
                let mut affine = vec![G1Affine::identity(); row.len()];
                G1::batch_normalize(&row, &mut affine);
                base = row[row.len() - 1] + base;
                affine
            })
            .collect();
        Self(windows)
    }

    fn mul(&self, s: &Fr) -> G1 {
        let repr = s.to_repr(); // little-endian
        let bit = |i: usize| i < 256 && (repr[i / 8] >> (i % 8)) & 1 == 1;
        let mut acc = G1::identity();
        for (w, row) in self.0.iter().enumerate() {
            let digit = (0..WINDOW).fold(0usize, |d, b| d | (usize::from(bit(w * WINDOW + b)) << b));
            if digit != 0 {
                acc += row[digit];
            }
        }
        acc
    }

    /// `[s_i]G` for every scalar, in parallel, as affine points.
    fn mul_all(&self, scalars: &[Fr]) -> Vec<G1Affine> {
        let mut out = vec![G1Affine::identity(); scalars.len()];
        parallelize(&mut out, |chunk, start| {
            let projective: Vec<G1> = scalars[start..start + chunk.len()].iter().map(|s| self.mul(s)).collect();
            G1::batch_normalize(&projective, chunk);
        });
        out
    }
}

/// The SRS of size `2^k` for secret `tau`: what halo2's `ParamsKZG::setup` computes for it.
pub(super) fn setup(k: u32, tau: Fr) -> ParamsKZG<Bn256> {
    let n = 1usize << k;
    let table = Table::new(G1Affine::generator());
    let mut powers = vec![Fr::ONE; n];
    parallelize(&mut powers, |chunk, start| {
        let mut cur = tau.pow_vartime([start as u64]);
        for p in chunk.iter_mut() {
            *p = cur;
            cur *= tau;
        }
    });
    let g = table.mul_all(&powers);
    // L_i(tau) = (tau^n - 1) / n * w^i / (tau - w^i), w the 2^k-th root of unity halo2 uses
    let mut omega = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        omega = omega.square();
    }
    let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ZERO);
    let multiplier = (tau.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let mut lagrange = vec![Fr::ZERO; n];
    parallelize(&mut lagrange, |chunk, start| {
        let mut w = omega.pow_vartime([start as u64]);
        let mut denominators: Vec<Fr> = Vec::with_capacity(chunk.len());
        let mut numerators: Vec<Fr> = Vec::with_capacity(chunk.len());
        for _ in 0..chunk.len() {
            numerators.push(multiplier * w);
            denominators.push(tau - w);
            w *= omega;
        }
        batch_invert(&mut denominators);
        for ((l, num), inv) in chunk.iter_mut().zip(numerators).zip(denominators) {
            *l = num * inv;
        }
    });
    let g_lagrange = table.mul_all(&lagrange);
    let g2 = G2Affine::generator();
    let s_g2 = (g2 * tau).to_affine();
    // `from_parts` only reads its arguments; a size-2 SRS is the cheapest receiver
    ParamsKZG::<Bn256>::setup(1, ChaCha20Rng::from_seed([0; 32])).from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

/// Inverts every element in place (Montgomery's trick; a zero stays zero, which `tau` being a
/// root of unity would need: probability 2^-226).
fn batch_invert(v: &mut [Fr]) {
    let mut prefix = Vec::with_capacity(v.len());
    let mut acc = Fr::ONE;
    for x in v.iter() {
        prefix.push(acc);
        if !bool::from(x.is_zero()) {
            acc *= x;
        }
    }
    let mut inv = acc.invert().unwrap_or(Fr::ZERO);
    for (x, p) in v.iter_mut().zip(prefix).rev() {
        if !bool::from(x.is_zero()) {
            let next = inv * *x;
            *x = inv * p;
            inv = next;
        }
    }
}
