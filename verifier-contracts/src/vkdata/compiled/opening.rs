//! The compiled verifier's multi-opening (SHPLONK's denominators, scalars and MSM) and the
//! final pairing.

use std::collections::BTreeMap;

use super::{bad, g2_be, one, Gen, Pt, ACC};
use crate::vkdata::asm::{add, mul, neg, o, X};
use crate::vkdata::COMMIT_QUOTIENT;
use crate::ContractError;

/// Per query set: `z_s = ∏ d_j`, and (two rotations or more) `P_j` and `S = Σ P_j`.
pub(super) struct SetPre {
    zs: usize,
    p: Vec<usize>,
    s: Option<usize>,
}

/// Each query set's `d_j = z' − ω^r_j z`, `z_s = ∏ d_j` and, with two rotations or more, the
/// weights `w_j = ell_j z^(ns−1) d_j`, `P_j = ∏_{i≠j} w_i` and `S = Σ P_j`; adds what SHPLONK
/// inverts (`z_s` after the first set, `S`) to `batch`.
pub(super) fn set_denominators(
    g: &mut Gen<'_>,
    zpow: &[X],
    batch: &mut Vec<usize>,
) -> Result<Vec<SetPre>, ContractError> {
    let vk = g.vk;
    let (z, zp) = (g.v.z, g.z_prime);
    let mut pre = vec![];
    for (s, set) in vk.sets.iter().enumerate() {
        let mut ds = vec![];
        for &ri in &set.rotations {
            let wr = *vk.rotations.get(usize::from(ri)).ok_or_else(|| bad(format!("rotation {ri}")))?;
            let d = g.var();
            g.a.set(d, &add(X::M(zp), mul(X::M(z), X::K(-wr))));
            ds.push(d);
        }
        let zs = if ds.len() == 1 {
            ds[0]
        } else {
            let v = g.var();
            let prod = ds[1..].iter().fold(X::M(ds[0]), |acc, &d| mul(acc, X::M(d)));
            g.a.set(v, &prod);
            v
        };
        if s > 0 {
            batch.push(zs);
        }
        let ns = ds.len();
        let (mut p, mut sv) = (vec![], None);
        if ns >= 2 {
            let mut w = vec![];
            for (j, &d) in ds.iter().enumerate() {
                let v = g.var();
                g.a.set(v, &mul(X::M(d), mul(X::K(set.ell[j]), zpow[ns - 1].clone())));
                w.push(v);
            }
            for j in 0..ns {
                if ns == 2 {
                    p.push(w[1 - j]);
                    continue;
                }
                let others: Vec<usize> = (0..ns).filter(|&i| i != j).map(|i| w[i]).collect();
                let v = g.var();
                let prod = others[1..].iter().fold(X::M(others[0]), |acc, &x| mul(acc, X::M(x)));
                g.a.set(v, &prod);
                p.push(v);
            }
            let v = g.var();
            let sum = p[1..].iter().fold(X::M(p[0]), |acc, &x| add(acc, X::M(x)));
            g.a.set(v, &sum);
            batch.push(v);
            sv = Some(v);
        }
        pre.push(SetPre { zs, p, s: sv });
    }
    Ok(pre)
}

/// SHPLONK: the scalar of G (Horner sums in μ within a set and in γ over the sets) and the MSM
/// of every commitment, then −z_s0 · W and z' · W'.
pub(super) fn shplonk(g: &mut Gen<'_>, pre: &[SetPre], inverses: &BTreeMap<usize, usize>) -> Result<(), ContractError> {
    let vk = g.vk;
    let (mu, gamma) = (g.mu, g.gamma);
    let zs0 = pre.first().map(|p| p.zs).ok_or_else(|| bad("no query sets".into()))?;
    let inv = |v: usize| X::M(inverses[&v]);
    let (gsum, e, coeff_var, gp, chunk_coeff) = (g.var(), g.var(), g.var(), g.var(), g.var());
    for (s, (set, pre)) in vk.sets.iter().zip(pre).enumerate().rev() {
        // cc = z_s0 / z_s, rc = cc / S (cc for one rotation)
        let cc = if s == 0 { one() } else { mul(X::M(zs0), inv(pre.zs)) };
        let rc = match pre.s {
            Some(sv) => mul(cc.clone(), inv(sv)),
            None => cc.clone(),
        };
        // E = Σ_t μ^t e_t, e_t = Σ_j P_j v_tj (v_t0 for one rotation), by Horner from the last
        for (t, (_, slots)) in set.polys.iter().enumerate().rev() {
            let mut et: Option<X> = None;
            for (j, &sl) in slots.iter().enumerate() {
                let v = g.v.slot(usize::from(sl))?;
                let term = match pre.p.get(j) {
                    Some(&pj) => mul(X::M(pj), v),
                    None => v,
                };
                et = Some(match et {
                    Some(acc) => add(acc, term),
                    None => term,
                });
            }
            let et = et.ok_or_else(|| bad("a polynomial without evaluations".into()))?;
            let x = if t + 1 == set.polys.len() { et } else { add(mul(X::M(e), X::M(mu)), et) };
            g.a.set(e, &x);
        }
        // G's sum = Σ_s γ^s rc_s E_s, by Horner from the last set
        let x =
            if s + 1 == vk.sets.len() { mul(rc, X::M(e)) } else { add(mul(X::M(gsum), X::M(gamma)), mul(rc, X::M(e))) };
        g.a.set(gsum, &x);
    }
    // the commitments: coefficient γ^s · cc_s · μ^t
    for (s, (set, pre)) in vk.sets.iter().zip(pre).enumerate() {
        let mut coeff = if s == 0 {
            one()
        } else {
            let gpow = if s == 1 { X::M(gamma) } else { mul(X::M(gp), X::M(gamma)) };
            g.a.set(gp, &gpow);
            g.a.set(coeff_var, &mul(mul(X::M(gp), X::M(zs0)), inv(pre.zs)));
            X::M(coeff_var)
        };
        for (t, (c, _)) in set.polys.iter().enumerate() {
            if *c == COMMIT_QUOTIENT {
                let mut k = coeff.clone();
                for i in 0..usize::from(vk.num_chunks) {
                    g.term(Pt::Calldata(g.at.chunks + 64 * i), &k);
                    if i + 1 < usize::from(vk.num_chunks) {
                        g.a.set(chunk_coeff, &mul(k, X::M(g.zn)));
                        k = X::M(chunk_coeff);
                    }
                }
            } else {
                let p = g.commitment(*c)?;
                g.term(p, &coeff);
            }
            if t + 1 < set.polys.len() {
                g.a.set(coeff_var, &mul(coeff, X::M(mu)));
                coeff = X::M(coeff_var);
            }
        }
    }
    g.term(Pt::Fixed(vk.g1), &neg(X::M(gsum)));
    g.term(Pt::Calldata(g.at.w), &neg(X::M(zs0)));
    g.term(Pt::Calldata(g.at.w_prime), &X::M(g.z_prime));
    Ok(())
}

/// With an accumulator in the public values (an aggregation proof's): decodes it and folds it
/// into the proof's own pair, as snark-verifier's verifier does (see
/// `native::fold_accumulator`): `ACC += c·lhs_acc` in place, and returns where `W' + c·rhs_acc`
/// is (else `None`: the right side is `W'` itself).
fn fold_accumulator(g: &mut Gen<'_>) -> Option<usize> {
    use crate::reference::{ACCUMULATOR_LIMB_BITS as BITS, ACCUMULATOR_LIMB_COUNT as LIMBS};
    if !g.vk.accumulator {
        return None;
    }
    // the hash's input: ACC, W', then the accumulator's lhs and rhs, decoded from the limbs
    let h = g.vars(8);
    for i in 0..2 {
        g.a.set(h + 32 * i, &X::M(ACC + 32 * i));
    }
    g.a.push(64);
    g.a.push(g.at.w_prime);
    g.a.push(h + 64);
    g.a.op(o::CALLDATACOPY);
    for c in 0..4 {
        for i in 0..LIMBS {
            let width = BITS.min(256 - i * BITS);
            // the limb must fit its width: limb >> width == 0
            g.a.emit(&X::C(32 * (c * LIMBS + i)));
            g.a.push(width);
            g.a.op(o::SHR);
            g.a.op(o::ISZERO);
            g.a.fail_unless();
            g.a.emit(&X::C(32 * (c * LIMBS + i)));
            if i > 0 {
                g.a.push(i * BITS);
                g.a.op(o::SHL);
                g.a.op(o::ADD);
            }
        }
        g.a.push(h + 128 + 32 * c);
        g.a.op(o::MSTORE);
    }
    // c = keccak256(ACC ‖ W' ‖ lhs_acc ‖ rhs_acc) mod r
    let (m, right) = (g.vars(3), g.vars(4));
    g.a.r();
    g.a.push(256);
    g.a.push(h);
    g.a.op(o::KECCAK256);
    g.a.op(o::MOD);
    g.a.push(m + 64);
    g.a.op(o::MSTORE);
    // ACC += c·lhs_acc (ecMul into PT, then ecAdd of ACC and PT)
    for i in 0..2 {
        g.a.set(m + 32 * i, &X::M(h + 128 + 32 * i));
    }
    g.a.staticcall(7, m, 0x60, super::PT, 0x40);
    g.a.staticcall(6, ACC, 0x80, ACC, 0x40);
    // right = W' + c·rhs_acc
    for i in 0..2 {
        g.a.set(m + 32 * i, &X::M(h + 192 + 32 * i));
        g.a.set(right + 32 * i, &X::M(h + 64 + 32 * i));
    }
    g.a.staticcall(7, m, 0x60, right + 64, 0x40);
    g.a.staticcall(6, right, 0x80, right, 0x40);
    Some(right)
}

/// `e(acc, g2) · e(W', −s·g2) == 1` (with an accumulator, of the folded pair), then return the
/// word 1.
pub(super) fn pairing(g: &mut Gen<'_>) {
    let right = fold_accumulator(g);
    let vk = g.vk;
    let (block, out) = (g.vars(12), g.var());
    for i in 0..2 {
        g.a.set(block + 32 * i, &X::M(ACC + 32 * i));
    }
    for (base, p) in [(block + 0x40, &vk.g2), (block + 0x100, &vk.neg_s_g2)] {
        for (i, word) in g2_be(p).chunks(32).enumerate() {
            g.a.push_be(word);
            g.a.push(base + 32 * i);
            g.a.op(o::MSTORE);
        }
    }
    match right {
        Some(right) => {
            for i in 0..2 {
                g.a.set(block + 0xc0 + 32 * i, &X::M(right + 32 * i));
            }
        }
        None => {
            g.a.push(64);
            g.a.push(g.at.w_prime);
            g.a.push(block + 0xc0);
            g.a.op(o::CALLDATACOPY);
        }
    }
    g.a.staticcall(8, block, 0x180, out, 0x20);
    g.a.push(1);
    g.a.emit(&X::M(out));
    g.a.op(o::EQ);
    g.a.fail_unless();
    g.a.push(1);
    g.a.push(0);
    g.a.op(o::MSTORE);
    g.a.push(32);
    g.a.push(0);
    g.a.op(o::RETURN);
}
