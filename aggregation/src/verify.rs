//! Native verification of an aggregated proof: the root proof itself (halo2's verifier with the
//! EVM's Keccak transcript) and the pairing check of the KZG accumulator it carries, into which
//! every proof below it was folded.

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G2Affine, G2Prepared, Gt};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::pairing::{MillerLoopResult, MultiMillerLoop};
use halo2_proofs::halo2curves::CurveAffine;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::BITS;

use crate::node::ACCUMULATOR_LIMBS;
use crate::AggregationError;

/// Verifies the root proof `proof` of an aggregation against `vk` and its public values
/// `instances` (the accumulator's limbs first). Never panics on malformed input.
pub fn verify_aggregated(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> Result<(), AggregationError> {
    let limbs = instances.get(..ACCUMULATOR_LIMBS).ok_or_else(|| AggregationError::Rejected {
        reason: format!("{} public values, fewer than the accumulator's {ACCUMULATOR_LIMBS}", instances.len()),
    })?;
    zkonnx_verifier::verify_proof_bytes(srs, vk, instances, proof)
        .map_err(|e| AggregationError::Rejected { reason: format!("the aggregation proof: {e}") })?;
    verify_accumulator(srs.g2(), srs.s_g2(), limbs)
}

/// The pairing check of an accumulator given as limbs (`lhs.x, lhs.y, rhs.x, rhs.y`, each in
/// little-endian limbs of `BITS` bits): `e(lhs, g2) = e(rhs, [tau]g2)`.
pub fn verify_accumulator(g2: G2Affine, s_g2: G2Affine, limbs: &[Fr]) -> Result<(), AggregationError> {
    let [lhs, rhs] = decode_accumulator(limbs)?;
    let minus_s_g2 = -s_g2;
    let terms = [(&lhs, &G2Prepared::from(g2)), (&rhs, &G2Prepared::from(minus_s_g2))];
    let result: Gt = Bn256::multi_miller_loop(&terms).final_exponentiation();
    if bool::from(halo2_proofs::halo2curves::group::Group::is_identity(&result)) {
        Ok(())
    } else {
        Err(AggregationError::Rejected { reason: "the accumulator fails its pairing check".into() })
    }
}

/// The accumulator's two points from its limbs: every limb below `2^BITS`, every coordinate a
/// canonical base-field element, every point on the curve.
pub fn decode_accumulator(limbs: &[Fr]) -> Result<[G1Affine; 2], AggregationError> {
    let bad = |reason: String| AggregationError::Rejected { reason: format!("accumulator: {reason}") };
    if limbs.len() != ACCUMULATOR_LIMBS {
        return Err(bad(format!("{} limbs, expected {ACCUMULATOR_LIMBS}", limbs.len())));
    }
    let per = ACCUMULATOR_LIMBS / 4;
    let coordinate = |c: usize| -> Result<Fq, AggregationError> {
        let mut le = [0u8; 32];
        for (i, limb) in limbs[c * per..(c + 1) * per].iter().enumerate() {
            let bytes = limb.to_repr();
            let width = BITS / 8;
            if bytes[width..].iter().any(|&b| b != 0) {
                return Err(bad(format!("limb {} of coordinate {c} exceeds {BITS} bits", i)));
            }
            for (j, &b) in bytes[..width].iter().enumerate() {
                match le.get_mut(i * width + j) {
                    Some(slot) => *slot = b,
                    None if b == 0 => {}
                    None => return Err(bad(format!("coordinate {c} exceeds 256 bits"))),
                }
            }
        }
        Option::from(Fq::from_repr(le))
            .ok_or_else(|| bad(format!("coordinate {c} is not below the base field modulus")))
    };
    let point = |i: usize| -> Result<G1Affine, AggregationError> {
        let (x, y) = (coordinate(2 * i)?, coordinate(2 * i + 1)?);
        Option::from(G1Affine::from_xy(x, y)).ok_or_else(|| bad(format!("point {i} is not on the curve")))
    };
    Ok([point(0)?, point(1)?])
}
