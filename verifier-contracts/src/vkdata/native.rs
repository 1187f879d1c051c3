//! The data verifier, natively: the algorithm of the Solidity verifier in Rust, step for step,
//! over the same [`VkData`]. It is the debugging twin of the contract and lets a key's data be
//! checked against real proofs before anything is deployed.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Prepared, G1};
use halo2_proofs::halo2curves::ff::{BatchInvert, Field};
use halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_proofs::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_proofs::transcript::{EncodedChallenge, Transcript, TranscriptRead};
use sha3::{Digest, Keccak256};
use zkonnx_verifier::transcript::{
    fr_from_be_mod_r, fr_to_be, point_from_be, point_to_be, KeccakChallenge, KeccakTranscript,
};

use super::{op, op_len, src, VkData, COMMIT_QUOTIENT, COMMIT_WITNESS};
use crate::ContractError;

fn reject(reason: impl Into<String>) -> ContractError {
    ContractError::Rejected { reason: reason.into() }
}

/// What the transcript yields.
struct Read {
    witnesses: Vec<G1Affine>,
    challenges: Vec<Fr>,
    chunks: Vec<G1Affine>,
    z: Fr,
    evals: Vec<Fr>,
    mu: Fr,
    gamma: Fr,
    w: G1Affine,
    z_prime: Fr,
    w_prime: G1Affine,
}

fn read_transcript(vk: &VkData, instances: &[Fr], proof: &[u8]) -> Result<Read, ContractError> {
    if instances.len() != usize::from(vk.num_instance) {
        return Err(reject(format!("{} public values, the key has {}", instances.len(), vk.num_instance)));
    }
    if proof.len() != vk.proof_len() {
        return Err(reject(format!("{} proof bytes, the key's proofs have {}", proof.len(), vk.proof_len())));
    }
    let io = |e: std::io::Error| reject(e.to_string());
    let mut t = KeccakTranscript::new(proof);
    let squeeze = |t: &mut KeccakTranscript<&[u8]>| -> Fr {
        let c: KeccakChallenge = Transcript::<G1Affine, KeccakChallenge>::squeeze_challenge(t);
        c.get_scalar()
    };
    Transcript::<G1Affine, _>::common_scalar(&mut t, vk.initial_state).map_err(io)?;
    for v in instances {
        Transcript::<G1Affine, _>::common_scalar(&mut t, *v).map_err(io)?;
    }
    let (mut witnesses, mut challenges) = (vec![], vec![]);
    for &(nw, nc) in &vk.phases {
        for _ in 0..nw {
            witnesses.push(t.read_point().map_err(io)?);
        }
        for _ in 0..nc {
            challenges.push(squeeze(&mut t));
        }
    }
    let chunks = (0..vk.num_chunks).map(|_| t.read_point().map_err(io)).collect::<Result<Vec<_>, _>>()?;
    let z = squeeze(&mut t);
    let evals = (0..vk.num_evals).map(|_| t.read_scalar().map_err(io)).collect::<Result<Vec<_>, _>>()?;
    let mu = squeeze(&mut t);
    let gamma = squeeze(&mut t);
    let w = t.read_point().map_err(io)?;
    let z_prime = squeeze(&mut t);
    let w_prime = t.read_point().map_err(io)?;
    Ok(Read { witnesses, challenges, chunks, z, evals, mu, gamma, w, z_prime, w_prime })
}

/// `L_i(z)` for every entry of the Lagrange list, and `1 / (zⁿ − 1)`.
fn lagranges(vk: &VkData, z: Fr, zn_minus_one: Fr) -> (Vec<Fr>, Fr) {
    let mut points = vec![];
    for &(e, len) in &vk.lagrange_runs {
        let mut w = vk.omega.pow_vartime([u64::from(e)]);
        for _ in 0..len {
            points.push(w);
            w *= vk.omega;
        }
    }
    let mut denoms: Vec<Fr> = points.iter().map(|w| z - w).chain([zn_minus_one]).collect();
    denoms.batch_invert();
    let numer = zn_minus_one * vk.n_inv;
    let ls = points.iter().zip(&denoms).map(|(w, d)| numer * w * d).collect();
    (ls, denoms[denoms.len() - 1])
}

/// Runs the numerator program (checked by [`super::stack_depth`] when the data was read).
pub(crate) fn numerator(vk: &VkData, slots: &[Fr], challenges: &[Fr], ls: &[Fr], z: Fr) -> Result<Fr, ContractError> {
    let p = &vk.program;
    let bad = || ContractError::VkData { reason: "malformed numerator program".into() };
    let mut temps: Vec<Option<Fr>> = vec![None; usize::from(vk.num_temps)];
    let index = |at: usize| -> Result<(u8, usize), ContractError> {
        let b = p.get(at + 1..at + 4).ok_or_else(bad)?;
        Ok((b[0], usize::from(u16::from_be_bytes([b[1], b[2]]))))
    };
    let operand = |at: usize, temps: &[Option<Fr>]| -> Result<Fr, ContractError> {
        let (source, i) = index(at)?;
        let v = match source {
            src::CONST => vk.consts.get(i).copied(),
            src::SLOT => slots.get(i).copied(),
            src::CHALLENGE => challenges.get(i).copied(),
            src::LAGRANGE => ls.get(i).copied(),
            src::IDENTITY => Some(z),
            src::TEMP => temps.get(i).copied().flatten(),
            _ => None,
        };
        v.ok_or_else(bad)
    };
    let mut stack: Vec<Fr> = Vec::with_capacity(usize::from(vk.max_stack));
    let mut at = 0;
    while at < p.len() {
        let code = p[at];
        if code == op::STORE {
            let (source, t) = index(at)?;
            let slot = temps.get_mut(t).filter(|_| source == src::TEMP).ok_or_else(bad)?;
            *slot = Some(*stack.last().ok_or_else(bad)?);
        } else if code == op::PUSH {
            stack.push(operand(at, &temps)?);
        } else {
            let top = stack.pop().ok_or_else(bad)?;
            let v = match code {
                op::ADDR => top + operand(at, &temps)?,
                op::MULR => top * operand(at, &temps)?,
                op::SUBR => top - operand(at, &temps)?,
                op::HORNERR => top * stack.last().ok_or_else(bad)? + operand(at, &temps)?,
                op::NEG => -top,
                op::ADD => stack.pop().ok_or_else(bad)? + top,
                op::MUL => stack.pop().ok_or_else(bad)? * top,
                op::SUB => stack.pop().ok_or_else(bad)? - top,
                op::HORNER => {
                    let acc = stack.pop().ok_or_else(bad)?;
                    acc * stack.last().ok_or_else(bad)? + top
                }
                op::NIP => {
                    stack.pop().ok_or_else(bad)?;
                    top
                }
                _ => return Err(bad()),
            };
            stack.push(v);
        }
        at += op_len(code);
    }
    match stack.as_slice() {
        [v] => Ok(*v),
        _ => Err(bad()),
    }
}

/// Verifies `proof` for `instances` against the key's data: `Ok` exactly when the Solidity
/// verifier holding the same data accepts.
pub fn verify(vk: &VkData, instances: &[Fr], proof: &[u8]) -> Result<(), ContractError> {
    // a VkData built in code (not read by from_bytes) gets the same index checks
    vk.check_indices()?;
    let r = read_transcript(vk, instances, proof)?;
    let zn = r.z.pow_vartime([1u64 << vk.k]);
    let (ls, zn1_inv) = lagranges(vk, r.z, zn - Fr::ONE);

    // evaluation slots: instances, the proof's evaluations, the quotient
    let mut slots: Vec<Fr> = vk
        .instance_queries
        .iter()
        .map(|&base| instances.iter().zip(&ls[usize::from(base)..]).map(|(v, l)| *v * l).sum())
        .collect();
    slots.extend_from_slice(&r.evals);
    slots.push(numerator(vk, &slots, &r.challenges, &ls, r.z)? * zn1_inv);

    // SHPLONK: one accumulated MSM for the left side of the pairing
    let max_shifts = vk.sets.iter().map(|s| s.rotations.len()).max().unwrap_or(1);
    let z_pow_km1: Vec<Fr> = (0..max_shifts.max(2)).map(|i| r.z.pow_vartime([i as u64])).collect();
    let mut lhs = G1::identity();
    let mut g_scalar = Fr::ZERO;
    let (mut gamma_pow, mut z_s1) = (Fr::ONE, None);
    for set in &vk.sets {
        let rots: Vec<Fr> = set.rotations.iter().map(|&i| vk.rotations[usize::from(i)]).collect();
        let z_s: Fr = rots.iter().map(|w| r.z_prime - r.z * w).product();
        let zk = z_pow_km1[rots.len() - 1];
        let mut weights: Vec<Fr> =
            rots.iter().zip(&set.ell).map(|(w, ell)| *ell * zk * (r.z_prime - *w * r.z)).collect();
        weights.batch_invert();
        let cc = match z_s1 {
            None => {
                z_s1 = Some(z_s);
                Fr::ONE
            }
            Some(first) => first * z_s.invert().unwrap_or(Fr::ZERO),
        };
        let r_coeff = cc * weights.iter().sum::<Fr>().invert().unwrap_or(Fr::ZERO);
        let mut mu_pow = Fr::ONE;
        for (c, poly_slots) in &set.polys {
            let r_eval: Fr =
                weights.iter().zip(poly_slots).map(|(wt, &s)| *wt * slots[usize::from(s)]).sum::<Fr>() * r_coeff;
            let coeff = gamma_pow * mu_pow * cc;
            match *c {
                COMMIT_QUOTIENT => {
                    let mut zn_pow = coeff;
                    for chunk in &r.chunks {
                        lhs += *chunk * zn_pow;
                        zn_pow *= zn;
                    }
                }
                c if c & COMMIT_WITNESS != 0 => lhs += r.witnesses[usize::from(c & !COMMIT_WITNESS)] * coeff,
                c => lhs += vk.preprocessed[usize::from(c)] * coeff,
            }
            g_scalar -= gamma_pow * mu_pow * r_eval;
            mu_pow *= r.mu;
        }
        gamma_pow *= r.gamma;
    }
    lhs += vk.g1 * g_scalar;
    lhs -= r.w * z_s1.unwrap_or(Fr::ZERO);
    lhs += r.w_prime * r.z_prime;
    let (lhs, rhs) = (lhs.to_affine(), r.w_prime);
    let (lhs, rhs) = if vk.accumulator { fold_accumulator(instances, lhs, rhs)? } else { (lhs, rhs) };
    let ok = Bn256::multi_miller_loop(&[(&lhs, &G2Prepared::from(vk.g2)), (&rhs, &G2Prepared::from(vk.neg_s_g2))])
        .final_exponentiation()
        .is_identity();
    if bool::from(ok) {
        Ok(())
    } else {
        Err(reject("the pairing check failed"))
    }
}

/// snark-verifier's decision over the proof's own accumulator and the one in its public values:
/// `c = keccak256(lhs ‖ rhs ‖ lhs_acc ‖ rhs_acc) mod r` (points as big-endian `x, y` words),
/// then `(lhs + c·lhs_acc, rhs + c·rhs_acc)`, whose pairing check stands for both.
pub(crate) fn fold_accumulator(
    instances: &[Fr],
    lhs: G1Affine,
    rhs: G1Affine,
) -> Result<(G1Affine, G1Affine), ContractError> {
    let [acc_l, acc_r] = decode_accumulator(instances)?;
    let mut buf = Vec::with_capacity(256);
    for p in [lhs, rhs, acc_l, acc_r] {
        buf.extend_from_slice(&point_to_be(&p));
    }
    let hash: [u8; 32] = Keccak256::digest(&buf).into();
    let c = fr_from_be_mod_r(&hash);
    Ok(((lhs + acc_l * c).to_affine(), (rhs + acc_r * c).to_affine()))
}

/// The accumulator's two points from the first public values: each coordinate in
/// `ACCUMULATOR_LIMB_COUNT` little-endian limbs of `ACCUMULATOR_LIMB_BITS` bits (the last
/// limb only as wide as 256 bits allow), below the base field's modulus, on the curve.
pub(crate) fn decode_accumulator(instances: &[Fr]) -> Result<[G1Affine; 2], ContractError> {
    use crate::reference::{ACCUMULATOR_LIMB_BITS as BITS, ACCUMULATOR_LIMB_COUNT as LIMBS, ACCUMULATOR_VALUES};
    let limbs =
        instances.get(..ACCUMULATOR_VALUES).ok_or_else(|| reject("too few public values for an accumulator"))?;
    let coordinate = |c: usize| -> Result<[u8; 32], ContractError> {
        let mut value = [0u8; 32]; // big-endian
        for (i, limb) in limbs[c * LIMBS..(c + 1) * LIMBS].iter().enumerate() {
            let shift = i * BITS;
            let width = BITS.min(256 - shift);
            let be = fr_to_be(limb);
            // the limb's bits at or above `width` must be zero
            let bits = (0..256).filter(|&b| be[31 - b / 8] >> (b % 8) & 1 == 1).max();
            if bits.is_some_and(|top| top >= width) {
                return Err(reject(format!("accumulator limb {} exceeds {width} bits", c * LIMBS + i)));
            }
            for b in 0..width {
                if be[31 - b / 8] >> (b % 8) & 1 == 1 {
                    let at = b + shift;
                    value[31 - at / 8] |= 1 << (at % 8);
                }
            }
        }
        Ok(value)
    };
    let point = |i: usize| -> Result<G1Affine, ContractError> {
        let mut be = [0u8; 64];
        be[..32].copy_from_slice(&coordinate(2 * i)?);
        be[32..].copy_from_slice(&coordinate(2 * i + 1)?);
        point_from_be(&be).map_err(|e| reject(format!("accumulator point {i}: {e}")))
    };
    Ok([point(0)?, point(1)?])
}
