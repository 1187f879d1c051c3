//! Native verification of zkonnx proofs.

use std::panic::{catch_unwind, AssertUnwindSafe};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{verify_proof, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::TranscriptReadBuffer;
use zkonnx_ir::Settings;

use crate::srs::verifier_params;
use crate::transcript::{KeccakChallenge, KeccakTranscript};
use crate::{ProofArtifact, VerifyError};

/// Checks `proof` against `vk` and the public values `instances`.
/// Never panics on malformed proofs: every failure is an `Err`.
pub fn verify_proof_bytes(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
) -> Result<(), VerifyError> {
    let k = vk.get_domain().k();
    let params = verifier_params(srs, k)?;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut transcript = KeccakTranscript::init(proof);
        let verdict = verify_proof::<
            KZGCommitmentScheme<Bn256>,
            VerifierSHPLONK<'_, Bn256>,
            KeccakChallenge,
            _,
            SingleStrategy<'_, Bn256>,
        >(&params, vk, SingleStrategy::new(&params), &[&[instances]], &mut transcript);
        (verdict, transcript.unread())
    }));
    match outcome {
        // a proof is exactly its transcript: bytes after it would make proofs malleable
        Ok((Ok(()), 0)) => Ok(()),
        Ok((Ok(()), extra)) => Err(VerifyError::Rejected { reason: format!("{extra} bytes follow the proof") }),
        Ok((Err(e), _)) => Err(VerifyError::Rejected { reason: format!("{e:?}") }),
        Err(_) => Err(VerifyError::Rejected { reason: "malformed proof".into() }),
    }
}

/// Verifies a proof artifact under `settings`, checking first that the key, the settings and
/// the proof describe the same circuit.
pub fn verify_artifact(
    settings: &Settings,
    vk: &VerifyingKey<G1Affine>,
    srs: &ParamsKZG<Bn256>,
    proof: &ProofArtifact,
) -> Result<(), VerifyError> {
    let vk_k = vk.get_domain().k();
    if vk_k != settings.run_args.logrows {
        return Err(VerifyError::KeyMismatch { vk_k, settings_k: settings.run_args.logrows });
    }
    let instances = proof.instances()?;
    let expected = settings.num_instances();
    if instances.len() != expected {
        return Err(VerifyError::InstanceCount { expected, got: instances.len() });
    }
    verify_proof_bytes(srs, vk, &instances, &proof.proof_bytes()?)
}
