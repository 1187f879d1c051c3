//! Proving an aggregation node.

use halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_proofs::plonk::create_proof;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::ProverSHPLONK;
use halo2_proofs::transcript::TranscriptWriterBuffer;
use rand::rngs::OsRng;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::NativeLoader;
use zkonnx_verifier::transcript::{KeccakChallenge, KeccakTranscript};

use crate::circuit::NodeCircuit;
use crate::keys::NodeKeys;
use crate::node::{build, instances, Child};
use crate::segment::{verify_poseidon_proof, PoseidonProof};
use crate::srs::fit;
use crate::AggregationError;

/// An aggregation node's proof: Poseidon-transcript for inner nodes (their parent verifies them
/// in-circuit), Keccak for the root (the EVM verifies it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeProof {
    pub instances: Vec<Fr>,
    pub proof: Vec<u8>,
}

impl From<NodeProof> for PoseidonProof {
    fn from(p: NodeProof) -> Self {
        PoseidonProof { instances: p.instances, proof: p.proof }
    }
}

/// Proves the node `keys` belong to over its children's `proofs` (each checked natively first,
/// with its verifying key: a bad child proof is an error naming it, not a failed aggregation).
pub fn prove_node(
    srs: &ParamsKZG<Bn256>,
    keys: &NodeKeys,
    children: &[(Child, &halo2_proofs::plonk::VerifyingKey<halo2_proofs::halo2curves::bn256::G1Affine>)],
    proofs: &[PoseidonProof],
) -> Result<NodeProof, AggregationError> {
    keys.check_children(std::path::Path::new("the aggregation proving key"), children)?;
    for (j, ((_, vk), p)) in children.iter().zip(proofs).enumerate() {
        verify_poseidon_proof(srs, vk, p)
            .map_err(|e| AggregationError::Mismatch { what: format!("child proof {j}"), reason: e.to_string() })?;
    }
    let config = keys.meta.shape.config;
    let k = config.degree;
    let srs_k = fit(srs, k)?;
    let kids: Vec<Child> = children.iter().map(|(c, _)| c.clone()).collect();
    let circuit = build(CircuitBuilderStage::Prover, config, &srs_k, &kids, Some(proofs))?
        .use_break_points(keys.meta.shape.break_points.clone());
    let instances = instances(&circuit);
    let circuit = NodeCircuit::new(circuit, keys.meta.shape.usable_rows);
    let halo2 = |e| AggregationError::Halo2 { phase: "proving the aggregation", k, reason: format!("{e:?}") };
    let proof = if keys.meta.spec.root {
        let mut transcript = KeccakTranscript::<Vec<u8>>::init(Vec::new());
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, KeccakChallenge, _, _, _>(
            srs_k.as_ref(),
            &keys.pk,
            &[circuit],
            &[&[&instances]],
            OsRng,
            &mut transcript,
        )
        .map_err(halo2)?;
        transcript.finalize()
    } else {
        let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
            srs_k.as_ref(),
            &keys.pk,
            &[circuit],
            &[&[&instances]],
            OsRng,
            &mut transcript,
        )
        .map_err(halo2)?;
        transcript.finalize()
    };
    Ok(NodeProof { instances, proof })
}
