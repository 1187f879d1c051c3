//! Key generation, witness generation and proving.

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, ProvingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::transcript::TranscriptWriterBuffer;
use rand::rngs::OsRng;
use zkonnx_circuits::{public_instances_salted, CircuitParams, ModelCircuit, Salts};
use zkonnx_ir::{Graph, Settings, Trace, Visibility};
use zkonnx_verifier::keys::{read_pk, KeyMeta};
use zkonnx_verifier::srs::SrsRecord;
use zkonnx_verifier::transcript::{KeccakChallenge, KeccakTranscript};
use zkonnx_verifier::{read_json, CompiledModel, ProofArtifact, Witness};

use crate::srs::reduce_srs;
use crate::ProverError;

/// A proving key (which holds the verifying key) with the circuit parameters it was made for.
#[derive(Debug)]
pub struct Keys {
    pub pk: ProvingKey<G1Affine>,
    pub params: CircuitParams,
    /// The SRS the keys were made with (an empty hash when the key file did not record one).
    pub srs: SrsRecord,
}

impl Keys {
    /// The key files' metadata for the compiled model `model_hash`.
    pub fn meta(&self, model_hash: &str) -> KeyMeta {
        KeyMeta::new(self.params.clone(), model_hash, self.srs.clone())
    }

    /// Checks that `srs` is the SRS the keys were made with (when they record it); `path` names
    /// the key file in the error.
    pub fn check_srs(&self, path: &Path, srs: &ParamsKZG<Bn256>) -> Result<(), ProverError> {
        Ok(self.srs.check_same(path, &srs_record(srs))?)
    }
}

/// The record of `srs` that key files keep: its G2 hash and whether it is the development SRS.
pub fn srs_record(srs: &ParamsKZG<Bn256>) -> SrsRecord {
    SrsRecord::new(srs, crate::is_dev_srs(srs))
}

fn halo2_err(phase: &'static str, k: u32) -> impl Fn(halo2_proofs::plonk::Error) -> ProverError {
    move |e| ProverError::Halo2 { phase, k, reason: format!("{e:?}") }
}

/// Makes the SRS fit `k` exactly (halo2 needs `params.k() == k`).
fn fit_srs(srs: &ParamsKZG<Bn256>, k: u32) -> Result<std::borrow::Cow<'_, ParamsKZG<Bn256>>, ProverError> {
    if srs.k() == k {
        Ok(std::borrow::Cow::Borrowed(srs))
    } else if srs.k() > k {
        Ok(std::borrow::Cow::Owned(reduce_srs(srs, k)?))
    } else {
        Err(ProverError::SrsTooSmall { have: srs.k(), need: k })
    }
}

/// Generates the proving and verifying keys of `graph`'s circuit.
pub fn keygen(srs: &ParamsKZG<Bn256>, graph: Arc<Graph>, params: CircuitParams) -> Result<Keys, ProverError> {
    let k = params.k;
    let srs = fit_srs(srs, k)?;
    let circuit = ModelCircuit::new(graph, params.clone());
    let vk = keygen_vk(srs.as_ref(), &circuit).map_err(halo2_err("verifying-key generation", k))?;
    let pk = keygen_pk(srs.as_ref(), vk, &circuit).map_err(halo2_err("proving-key generation", k))?;
    Ok(Keys { pk, params, srs: srs_record(srs.as_ref()) })
}

/// Runs the reference interpreter on quantized inputs: the witness of one inference, with values
/// range-checked to `range_bits` ([`zkonnx_ir::RunArgs::range_bits`]).
pub fn witness(graph: &Graph, inputs: &[Vec<i64>], range_bits: u32) -> Result<Trace, ProverError> {
    Ok(zkonnx_ir::run(graph, inputs, range_bits)?)
}

/// What computes the proof. Both make the same proof format, checked by the same verifiers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Backend {
    /// halo2-axiom on the CPU (all cores).
    #[default]
    Cpu,
    /// Axiom's CUDA prover (halo2-axiom-gpu) on the first NVIDIA GPU: feature `cuda`, only in the
    /// separately built `zkonnx-gpu` binary (`gpu-prover/`), since linking it aborts without a GPU.
    #[cfg(feature = "cuda")]
    Cuda,
}

/// Proves one inference (with the salts of its hashed inputs and outputs). Returns the proof
/// bytes and the public values it proves.
pub fn prove(
    srs: &ParamsKZG<Bn256>,
    keys: &Keys,
    graph: Arc<Graph>,
    trace: Arc<Trace>,
    salts: &Salts,
    backend: Backend,
) -> Result<(Vec<u8>, Vec<Fr>), ProverError> {
    let k = keys.params.k;
    keys.check_srs(Path::new("the proving key"), srs)?;
    let srs = fit_srs(srs, k)?;
    let instances = public_instances_salted(&graph, &keys.params, &trace, salts);
    let circuit = ModelCircuit::with_witness(graph, keys.params.clone(), trace).with_salts(salts.clone());
    let mut transcript = KeccakTranscript::<Vec<u8>>::init(Vec::new());
    match backend {
        Backend::Cpu => {
            create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, KeccakChallenge, _, _, _>(
                srs.as_ref(),
                &keys.pk,
                &[circuit],
                &[&[&instances]],
                OsRng,
                &mut transcript,
            )
            .map_err(halo2_err("proving", k))?;
        }
        #[cfg(feature = "cuda")]
        Backend::Cuda => crate::cuda::create_proof(srs.as_ref(), &keys.pk, circuit, &instances, &mut transcript)?,
    }
    Ok((transcript.finalize(), instances))
}

/// Reads the proving key (checked against the compiled model's settings) and the witness: what
/// [`prove_witness`] needs besides the model and the SRS.
pub fn read_keys_and_witness(
    compiled: &CompiledModel,
    pk: &Path,
    witness: &Path,
) -> Result<(Keys, Witness), ProverError> {
    let (pk_key, meta) = read_pk(pk)?;
    meta.check_for(pk, &compiled.settings)?;
    let witness: Witness = read_json(witness)?;
    Ok((Keys { pk: pk_key, params: meta.params, srs: meta.srs }, witness))
}

/// Recomputes the trace from the witness's inputs (its outputs must agree) and proves it: the proof
/// artifact `zkonnx verify` and the EVM verifier check.
pub fn prove_witness(
    compiled: &CompiledModel,
    keys: &Keys,
    srs: &ParamsKZG<Bn256>,
    witness: &Witness,
    backend: Backend,
) -> Result<ProofArtifact, ProverError> {
    prove_witness_of(&compiled.settings, Arc::new(compiled.graph.clone()), keys, srs, witness, backend)
}

/// [`prove_witness`] for a graph already shared (a prover that keeps it across proofs does not
/// copy it per proof), with the settings it was compiled under.
pub fn prove_witness_of(
    settings: &Settings,
    graph: Arc<Graph>,
    keys: &Keys,
    srs: &ParamsKZG<Bn256>,
    witness: &Witness,
    backend: Backend,
) -> Result<ProofArtifact, ProverError> {
    let run_args = &settings.run_args;
    let trace = crate::witness(&graph, &witness.inputs, run_args.range_bits())?;
    let outputs = trace.outputs(&graph);
    if let Some(output) = (0..outputs.len()).find(|&i| witness.outputs.get(i) != Some(&outputs[i])) {
        return Err(ProverError::WitnessMismatch { output });
    }
    let salts = witness.salts()?;
    let (proof, instances) = prove(srs, keys, graph, Arc::new(trace), &salts, backend)?;
    let public_outputs =
        if run_args.output_visibility == Visibility::Public { witness.output_floats.clone() } else { vec![] };
    let artifact =
        ProofArtifact::new(run_args.logrows, &instances, &proof, public_outputs, settings.model.model_hash.clone());
    Ok(artifact.with_hashed(settings.hashed_values()))
}
