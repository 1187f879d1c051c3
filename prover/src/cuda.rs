//! Proving on an NVIDIA GPU with Axiom's CUDA prover (`halo2-axiom-gpu`, feature `cuda`).
//!
//! It re-exports halo2-axiom's keys, circuit frontend and transcript, so the proving key, the circuit
//! and the Keccak transcript are ours unchanged, and the proof is checked by the same native and EVM
//! verifiers. Only the SRS type is its own (it caches device copies of the points): converted once
//! through halo2's raw serialization.

use halo2_axiom_gpu::plonk::create_proof as create_proof_gpu;
use halo2_axiom_gpu::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG as GpuParams};
use halo2_axiom_gpu::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::ProvingKey;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand::rngs::OsRng;
use zkonnx_circuits::ModelCircuit;
use zkonnx_verifier::transcript::{KeccakChallenge, KeccakTranscript};

use crate::ProverError;

fn gpu_params(srs: &ParamsKZG<Bn256>) -> Result<GpuParams<Bn256>, ProverError> {
    let k = srs.k();
    let err =
        |e: std::io::Error| ProverError::Halo2 { phase: "SRS transfer to the GPU prover", k, reason: e.to_string() };
    let mut bytes = Vec::new();
    srs.write_custom(&mut bytes, SerdeFormat::RawBytesUnchecked).map_err(err)?;
    GpuParams::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytesUnchecked).map_err(err)
}

pub(crate) fn create_proof(
    srs: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: ModelCircuit,
    instances: &[Fr],
    transcript: &mut KeccakTranscript<Vec<u8>>,
) -> Result<(), ProverError> {
    let k = srs.k();
    let params = gpu_params(srs)?;
    create_proof_gpu::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, KeccakChallenge, _, _, _>(
        &params,
        pk,
        &[circuit],
        &[&[instances]],
        OsRng,
        transcript,
    )
    .map_err(|e| ProverError::Halo2 { phase: "proving on the GPU", k, reason: e.to_string() })
}
