//! The reference verifier: the Solidity that snark-verifier 0.2 generates for a verifying key.
//!
//! It unrolls every column and query into straight-line code with the verifying key baked in,
//! so it is exact but grows with the circuit's width (about 3.8 KB of runtime code per 3
//! advice columns and 2 lookups) and stops fitting the EIP-170 limit at roughly 14 advice
//! columns. zkonnx keeps it as the independent oracle its own verifiers are tested against.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier::loader::evm::EvmLoader;
use snark_verifier::pcs::kzg::{Bdfg21, KzgAs, KzgDecidingKey, LimbsEncoding};
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier::system::halo2::{compile, Config};
use snark_verifier::verifier::plonk::PlonkVerifier;
use snark_verifier::verifier::SnarkVerifier;

use crate::ContractError;

/// SHPLONK (BDFG21) over KZG, as zkonnx proves.
type Shplonk = PlonkVerifier<KzgAs<Bn256, Bdfg21>>;
/// The same for proofs carrying an accumulator in their public values.
type Accumulating = PlonkVerifier<KzgAs<Bn256, Bdfg21>, LimbsEncoding<ACCUMULATOR_LIMB_COUNT, ACCUMULATOR_LIMB_BITS>>;

/// Solidity source of snark-verifier's verifier (contract `Halo2Verifier`) for `vk` with
/// `num_instances` public values in one instance column. `srs` must have the key's `k`
/// (reduce it first). The source needs solc 0.8.19 with the optimizer off.
pub fn reference_verifier(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String, ContractError> {
    generate(srs, vk, num_instances, None)
}

/// Public values of an aggregation proof's KZG accumulator (two points, two coordinates,
/// `ACCUMULATOR_LIMB_COUNT` limbs of `ACCUMULATOR_LIMB_BITS` bits each): its first ones.
pub const ACCUMULATOR_VALUES: usize = 4 * ACCUMULATOR_LIMB_COUNT;
/// Limbs per accumulator coordinate (snark-verifier-sdk's encoding).
pub const ACCUMULATOR_LIMB_COUNT: usize = 3;
/// Bits per accumulator limb.
pub const ACCUMULATOR_LIMB_BITS: usize = 88;

/// [`reference_verifier`] for an aggregation proof, whose first [`ACCUMULATOR_VALUES`] public
/// values are a KZG accumulator: the verifier decodes it and folds it into its own pairing
/// check, so one call checks the aggregation and every proof it verified.
pub fn reference_aggregation_verifier(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<String, ContractError> {
    if num_instances < ACCUMULATOR_VALUES {
        return Err(ContractError::Generate {
            reason: format!("{num_instances} public values cannot hold an accumulator of {ACCUMULATOR_VALUES}"),
        });
    }
    generate(srs, vk, num_instances, Some((0..ACCUMULATOR_VALUES).map(|i| (0, i)).collect()))
}

fn generate(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
    accumulator: Option<Vec<(usize, usize)>>,
) -> Result<String, ContractError> {
    let with_accumulator = accumulator.is_some();
    let generate = || -> Result<String, String> {
        let config = Config::kzg().with_num_instance(vec![num_instances]).with_accumulator_indices(accumulator);
        let protocol = compile(srs, vk, config);
        let dk: KzgDecidingKey<Bn256> = (srs.get_g()[0], srs.g2(), srs.s_g2()).into();
        let loader = EvmLoader::new::<Fq, Fr>();
        let protocol = protocol.loaded(&loader);
        let mut transcript = EvmTranscript::<_, Rc<EvmLoader>, _, _>::new(&loader);
        let instances = transcript.load_instances(vec![num_instances]);
        if with_accumulator {
            let proof =
                Accumulating::read_proof(&dk, &protocol, &instances, &mut transcript).map_err(|e| format!("{e:?}"))?;
            Accumulating::verify(&dk, &protocol, &instances, &proof).map_err(|e| format!("{e:?}"))?;
        } else {
            let proof =
                Shplonk::read_proof(&dk, &protocol, &instances, &mut transcript).map_err(|e| format!("{e:?}"))?;
            Shplonk::verify(&dk, &protocol, &instances, &proof).map_err(|e| format!("{e:?}"))?;
        }
        Ok(loader.solidity_code())
    };
    match catch_unwind(AssertUnwindSafe(generate)) {
        Ok(Ok(code)) => Ok(code),
        Ok(Err(reason)) => Err(ContractError::Generate { reason }),
        Err(_) => Err(ContractError::Generate { reason: "snark-verifier panicked on this verifying key".into() }),
    }
}

/// How [`EvmVerifierArtifact`](crate::EvmVerifierArtifact)s name this generator.
pub const REFERENCE_GENERATOR: &str = "snark-verifier 0.2.7 (unrolled reference)";
/// The contract name in the reference source.
pub const REFERENCE_CONTRACT: &str = "Halo2Verifier";
