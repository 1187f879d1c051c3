//! The algebraic checks of an imported `.ptau` and the reordering of snarkjs's Lagrange bases.
//!
//! Both checks are random linear combinations whose coefficients come from a hash of every
//! point read (Fiat-Shamir): a wrong point passes with probability about `2^k / r`.

use halo2_proofs::arithmetic::best_multiexp;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_proofs::halo2curves::ff::{BatchInvert, Field, FromUniformBytes, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::pairing::Engine;
use sha2::{Digest, Sha512};

/// Points combined per multi-scalar multiplication (bounds the coefficient vectors).
const CHUNK: usize = 1 << 16;

/// A scalar drawn from the hash of everything read (`seed`) and a label.
fn challenge(seed: &[u8; 64], label: &[u8]) -> Fr {
    let mut h = Sha512::new();
    h.update(seed);
    h.update(label);
    Fr::from_uniform_bytes(&h.finalize().into())
}

/// Whether `g[i+1] = tau g[i]` for every `i`, with `tau` the one in `s_g2 = tau g2`: with
/// `A = sum rho^i g[i]` and `B = sum rho^i g[i+1]` (`i < n-1`), `e(B, g2) = e(A, s_g2)`.
pub(super) fn successive_powers(g: &[G1Affine], g2: &G2Affine, s_g2: &G2Affine, seed: &[u8; 64]) -> bool {
    let rho = challenge(seed, b"successive powers");
    let pairs = g.len().saturating_sub(1);
    let (mut a, mut b) = (G1::identity(), G1::identity());
    let mut rho_i = Fr::ONE;
    for start in (0..pairs).step_by(CHUNK) {
        let end = (start + CHUNK).min(pairs);
        let coeffs: Vec<Fr> = (start..end)
            .map(|_| {
                let c = rho_i;
                rho_i *= rho;
                c
            })
            .collect();
        a += best_multiexp(&coeffs, &g[start..end]);
        b += best_multiexp(&coeffs, &g[start + 1..end + 1]);
    }
    Bn256::pairing(&b.to_affine(), g2) == Bn256::pairing(&a.to_affine(), s_g2)
}

/// Whether `l` is the Lagrange basis of `g` over halo2's size-`2^k` domain (generator `w`):
/// for `p(X) = sum_{j<n} z^j X^j` with a random `z`, committing to `p` through either basis
/// gives `[p(tau)] G1`: `sum_j z^j g[j] = sum_i p(w^i) l[i]`, where
/// `p(w^i) = (1 - z^n) / (1 - z w^i)` because `(z w^i)^n = z^n`.
pub(super) fn is_lagrange_basis_of(l: &[G1Affine], g: &[G1Affine], k: u32, seed: &[u8; 64]) -> bool {
    let n = 1usize << k;
    if l.len() != n || g.len() != n {
        return false;
    }
    let z = challenge(seed, b"lagrange basis");
    let w = halo2_root(k);
    let numerator = Fr::ONE - z.pow_vartime([n as u64]);
    let (mut lhs, mut rhs) = (G1::identity(), G1::identity());
    let (mut z_j, mut w_i) = (Fr::ONE, Fr::ONE);
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let mut powers = Vec::with_capacity(end - start);
        let mut evals = Vec::with_capacity(end - start);
        for _ in start..end {
            powers.push(z_j);
            z_j *= z;
            evals.push(Fr::ONE - z * w_i);
            w_i *= w;
        }
        // a zero denominator (z = w^-i, probability n / r) stays zero and fails the check
        evals.iter_mut().batch_invert();
        evals.iter_mut().for_each(|e| *e *= numerator);
        lhs += best_multiexp(&powers, &g[start..end]);
        rhs += best_multiexp(&evals, &l[start..end]);
    }
    lhs == rhs
}

/// `(r - 1) / 2^k` as little-endian limbs, `r` BN254's scalar field modulus (`k <= 28`).
fn order_over_two_pow(k: u32) -> [u64; 4] {
    let bytes = (-Fr::ONE).to_repr();
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&bytes.as_ref()[8 * i..8 * i + 8]);
        *limb = u64::from_le_bytes(w);
    }
    if k == 0 {
        return limbs;
    }
    let mut out = [0u64; 4];
    for i in 0..4 {
        let high = limbs.get(i + 1).map_or(0, |h| h << (64 - k));
        out[i] = (limbs[i] >> k) | high;
    }
    out
}

/// The generator of the size-`2^k` domain halo2 uses (`g_to_lagrange`, `EvaluationDomain`):
/// `Fr::ROOT_OF_UNITY` squared `28 - k` times.
pub(super) fn halo2_root(k: u32) -> Fr {
    (k..Fr::S).fold(Fr::ROOT_OF_UNITY, |w, _| w.square())
}

/// The generator of the size-`2^k` domain snarkjs uses: ffjavascript takes
/// `nqr^((r-1) / 2^k)` with `nqr` the smallest quadratic non-residue, 5 for BN254's `Fr`.
pub(super) fn snarkjs_root(k: u32) -> Fr {
    Fr::from(5).pow_vartime(order_over_two_pow(k))
}

/// The odd `a` with `snarkjs_root(k) = halo2_root(k)^a` (both generate the one cyclic group of
/// order `2^k`), bit by bit: with the bits below `b` removed, the `2^(k-1-b)`-th power of what
/// is left is `-1` exactly when bit `b` is set.
fn root_exponent(k: u32) -> u64 {
    let n = 1u64 << k;
    let w_s = snarkjs_root(k);
    let w_h_inv = halo2_root(k).pow_vartime([n - 1]);
    let mut a = 0u64;
    for b in 0..k {
        let rest = w_s * w_h_inv.pow_vartime([a]);
        if rest.pow_vartime([1u64 << (k - 1 - b)]) != Fr::ONE {
            a |= 1 << b;
        }
    }
    a
}

/// snarkjs's size-`2^k` Lagrange basis (`L'_i` is 1 at `snarkjs_root^i`) in halo2's order
/// (`L_m` is 1 at `halo2_root^m`): `L'_i = L_(a i mod 2^k)`.
pub(super) fn snarkjs_to_halo2_order(l: Vec<G1Affine>, k: u32) -> Vec<G1Affine> {
    let mask = (1u64 << k) - 1;
    let a = root_exponent(k);
    let mut out = vec![G1Affine::identity(); l.len()];
    for (i, p) in l.into_iter().enumerate() {
        if let Some(slot) = out.get_mut((a.wrapping_mul(i as u64) & mask) as usize) {
            *slot = p;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_the_ones_halo2_and_snarkjs_use_and_the_exponent_maps_one_to_the_other() {
        // halo2curves documents its 2^28-th root as 7^((r-1)/2^28)
        assert_eq!(Fr::from(7).pow_vartime(order_over_two_pow(28)), Fr::ROOT_OF_UNITY);
        // ffjavascript's bn128 Fr.w[28], printed by node
        let w28 = "2a3c09f0a58a7e8500e0a7eb8ef62abc402d111e41112ed49bd61b6e725b19f0";
        let mut repr = [0u8; 32];
        for (i, b) in repr.iter_mut().enumerate() {
            *b = u8::from_str_radix(&w28[62 - 2 * i..64 - 2 * i], 16).unwrap();
        }
        assert_eq!(snarkjs_root(28), Fr::from_repr(repr).unwrap());
        for k in 1..=28 {
            let a = root_exponent(k);
            assert_eq!(a % 2, 1, "k = {k}");
            assert_eq!(halo2_root(k).pow_vartime([a]), snarkjs_root(k), "k = {k}");
            assert_eq!(halo2_root(k).pow_vartime([1u64 << (k - 1)]), -Fr::ONE, "k = {k}: not primitive");
        }
    }
}
