//! Segment proofs: a segment's circuit proved with the Poseidon transcript that the aggregation
//! circuit replays in-circuit (the Keccak transcript of single proofs would cost far more
//! constraints to replay), and verified natively the same way.

use std::cell::Cell;
use std::io::Read;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, verify_proof, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use rand::rngs::OsRng;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::NativeLoader;
use zkonnx_circuits::{public_instances_salted, ModelCircuit, Salts};
use zkonnx_ir::{Graph, Trace};
use zkonnx_prover::Keys;

use crate::srs::fit;
use crate::AggregationError;

/// A proof made with the Poseidon transcript, with the public values it proves: a segment's, or
/// an inner aggregation node's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoseidonProof {
    /// The public values, in instance order.
    #[serde(with = "crate::hexfr::vec")]
    pub instances: Vec<Fr>,
    /// The proof bytes.
    #[serde(with = "crate::hexfr::bytes")]
    pub proof: Vec<u8>,
}

/// Proves one segment's inference (the segment's graph, its interpreter trace and the salts of
/// its boundaries) with the Poseidon transcript.
pub fn prove_segment(
    srs: &ParamsKZG<Bn256>,
    keys: &Keys,
    graph: Arc<Graph>,
    trace: Arc<Trace>,
    salts: &Salts,
) -> Result<PoseidonProof, AggregationError> {
    let k = keys.params.k;
    keys.check_srs(std::path::Path::new("the segment's proving key"), srs)?;
    let srs = fit(srs, k)?;
    let instances = public_instances_salted(&graph, &keys.params, &trace, salts);
    let circuit = ModelCircuit::with_witness(graph, keys.params.clone(), trace).with_salts(salts.clone());
    circuit.check()?;
    let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        srs.as_ref(),
        &keys.pk,
        &[circuit],
        &[&[&instances]],
        OsRng,
        &mut transcript,
    )
    .map_err(|e| AggregationError::Halo2 { phase: "proving the segment", k, reason: format!("{e:?}") })?;
    Ok(PoseidonProof { instances, proof: transcript.finalize() })
}

/// A reader that counts what it has handed out (to refuse bytes after a proof).
struct Counting<'a> {
    bytes: &'a [u8],
    read: Rc<Cell<usize>>,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.read.get();
        let rest = self.bytes.get(at..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.read.set(at + n);
        Ok(n)
    }
}

/// Verifies a Poseidon-transcript proof natively against `vk` (a segment's or an inner
/// aggregation node's; the latter's accumulator is checked by whoever aggregates it, or by
/// [`crate::verify_accumulator`]). Never panics on malformed bytes.
pub fn verify_poseidon_proof(
    srs: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &PoseidonProof,
) -> Result<(), AggregationError> {
    let params = zkonnx_verifier::srs::verifier_params(srs, vk.get_domain().k())?;
    let params = &params;
    let read = Rc::new(Cell::new(0));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let reader = Counting { bytes: &proof.proof, read: Rc::clone(&read) };
        let mut transcript = PoseidonTranscript::<NativeLoader, _>::from_spec(reader, POSEIDON_SPEC.clone());
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, SingleStrategy<'_, Bn256>>(
            params,
            vk,
            SingleStrategy::new(params),
            &[&[&proof.instances]],
            &mut transcript,
        )
    }));
    match outcome {
        Ok(Ok(())) if read.get() == proof.proof.len() => Ok(()),
        Ok(Ok(())) => Err(AggregationError::Rejected {
            reason: format!("{} bytes follow the proof", proof.proof.len().saturating_sub(read.get())),
        }),
        Ok(Err(e)) => Err(AggregationError::Rejected { reason: format!("{e:?}") }),
        Err(_) => Err(AggregationError::Rejected { reason: "malformed proof".into() }),
    }
}
