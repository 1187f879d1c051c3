//! Calldata of a verifier call: the public values as 32-byte big-endian words (canonical field
//! elements, in instance order), then the proof bytes exactly as the prover wrote them.
//!
//! This is the layout snark-verifier's generated verifiers read (no function selector: the
//! call goes to the contract's fallback), and the one the proof's Keccak transcript already
//! uses, so no re-encoding of the proof is needed.

use halo2_proofs::halo2curves::bn256::Fr;
use zkonnx_verifier::transcript::fr_to_be;

/// `instances || proof` as the verifier contracts expect it.
pub fn encode_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * instances.len() + proof.len());
    for v in instances {
        out.extend_from_slice(&fr_to_be(v));
    }
    out.extend_from_slice(proof);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;

    #[test]
    fn words_are_big_endian_and_negatives_are_field_elements() {
        let data = encode_calldata(&[Fr::from(258), -Fr::ONE], &[0xaa, 0xbb]);
        assert_eq!(data.len(), 66);
        assert_eq!(&data[30..32], &[1, 2]);
        assert!(data[..30].iter().all(|&b| b == 0));
        // -1 is r - 1: r = 0x30644e72...f0000001
        assert_eq!(&data[32..36], &[0x30, 0x64, 0x4e, 0x72]);
        assert_eq!(data[63], 0x00);
        assert_eq!(&data[64..], &[0xaa, 0xbb]);
    }

    #[test]
    fn matches_snark_verifiers_layout() {
        let instances = [Fr::from(5), -Fr::from(7)];
        let proof = [1u8, 2, 3];
        let theirs = snark_verifier::loader::evm::encode_calldata(&[instances.to_vec()], &proof);
        assert_eq!(encode_calldata(&instances, &proof), theirs);
    }
}
