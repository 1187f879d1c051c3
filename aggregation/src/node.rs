//! One aggregation node: a circuit that verifies its children's proofs (segments, or nodes
//! below it) in-circuit with snark-verifier's halo2 loader, checks that consecutive children
//! agree on the boundary between them, and exposes what its parent (or the verifier) needs.
//!
//! A proof's public values follow its [`Interface`]: the KZG accumulator's limbs (for an
//! aggregation proof: the pairing check every verified proof was folded into, left to the last
//! verifier), then the first covered segment's inputs, the last covered segment's outputs, and
//! each covered segment's params hash. For a segment, the inputs are the model's inputs (or
//! their hashes) for the first segment and the digests of the boundary before it otherwise; the
//! outputs likewise. A node over children `c_1..c_m` constrains every output value of `c_j` to
//! equal the matching input value of `c_{j+1}` (so digest `i` of a boundary, computed by one
//! segment over its outputs, equals digest `i` computed by the next over its inputs), and
//! exposes `c_1`'s inputs, `c_m`'s outputs and every child's params hashes after its own
//! accumulator.

use std::panic::{catch_unwind, AssertUnwindSafe};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::halo2::gen_dummy_snark_from_protocol;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, Snark, LIMBS, SHPLONK};

use crate::segment::PoseidonProof;
use crate::AggregationError;

/// Public values of the KZG accumulator: two points, two coordinates each, in `LIMBS` limbs.
pub const ACCUMULATOR_LIMBS: usize = 4 * LIMBS;

/// What a proof's public values hold, in order (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    /// Whether the proof starts with an accumulator (an aggregation proof).
    pub accumulator: bool,
    /// Values of the first covered segment's inputs.
    pub inputs: usize,
    /// Values of the last covered segment's outputs.
    pub outputs: usize,
    /// Params hashes (one per covered segment with hashed params).
    pub params: usize,
}

impl Interface {
    /// A segment's interface.
    pub fn segment(inputs: usize, outputs: usize, params: usize) -> Self {
        Self { accumulator: false, inputs, outputs, params }
    }

    /// Number of public values.
    pub fn len(&self) -> usize {
        self.offset() + self.inputs + self.outputs + self.params
    }

    /// Whether there are no public values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn offset(&self) -> usize {
        if self.accumulator {
            ACCUMULATOR_LIMBS
        } else {
            0
        }
    }

    /// Where the inputs sit among the public values.
    pub fn inputs_at(&self) -> std::ops::Range<usize> {
        self.offset()..self.offset() + self.inputs
    }

    /// Where the outputs sit.
    pub fn outputs_at(&self) -> std::ops::Range<usize> {
        let s = self.offset() + self.inputs;
        s..s + self.outputs
    }

    /// Where the params hashes sit.
    pub fn params_at(&self) -> std::ops::Range<usize> {
        let s = self.offset() + self.inputs + self.outputs;
        s..s + self.params
    }

    /// The interface of a node over `children`, which must fit together: each child's outputs
    /// as many values as the next child's inputs.
    pub fn of_node(children: &[Interface]) -> Result<Self, AggregationError> {
        let (Some(first), Some(last)) = (children.first(), children.last()) else {
            return Err(AggregationError::BadNode { reason: "a node needs at least one child".into() });
        };
        for (j, pair) in children.windows(2).enumerate() {
            if pair[0].outputs != pair[1].inputs {
                return Err(AggregationError::Mismatch {
                    what: format!("boundary between children {j} and {}", j + 1),
                    reason: format!("{} output values meet {} input values", pair[0].outputs, pair[1].inputs),
                });
            }
        }
        Ok(Self {
            accumulator: true,
            inputs: first.inputs,
            outputs: last.outputs,
            params: children.iter().map(|c| c.params).sum(),
        })
    }
}

/// A proof an aggregation node verifies: its protocol (from its verifying key) and interface.
#[derive(Clone, Debug)]
pub struct Child {
    pub(crate) protocol: PlonkProtocol<G1Affine>,
    pub interface: Interface,
}

impl Child {
    /// The child whose proofs `vk` verifies, exposing `interface`.
    pub fn new(
        srs: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        interface: Interface,
    ) -> Result<Self, AggregationError> {
        let k = vk.get_domain().k();
        // the protocol needs the SRS only for its size
        let params = zkonnx_verifier::srs::verifier_params(srs, k)?;
        let accumulator = interface.accumulator.then(|| (0..ACCUMULATOR_LIMBS).map(|i| (0, i)).collect());
        let config = Config::kzg().with_num_instance(vec![interface.len()]).with_accumulator_indices(accumulator);
        Ok(Self { protocol: compile(&params, vk, config), interface })
    }
}

/// An aggregation circuit's shape: its size and columns (from keygen) and where its rows break
/// between columns.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeShape {
    pub config: AggregationConfigParams,
    pub break_points: Vec<Vec<usize>>,
    /// The rows each advice column holds at most (its cells spread over all columns, see
    /// the `circuit` module); absent in keys made before the spread: every usable row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usable_rows: Option<usize>,
}

/// The aggregation circuit over `children` with `proofs` (one each, real ones when proving;
/// `None` at keygen, where dummy proofs of the right shape stand in), at `config`, with the
/// links and exposures of the module docs. A malformed proof is an error, never a panic.
pub(crate) fn build(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    srs: &ParamsKZG<Bn256>,
    children: &[Child],
    proofs: Option<&[PoseidonProof]>,
) -> Result<AggregationCircuit, AggregationError> {
    let snarks: Vec<Snark> = match proofs {
        Some(proofs) if proofs.len() == children.len() => children
            .iter()
            .zip(proofs)
            .map(|(c, p)| Snark::new(c.protocol.clone(), vec![p.instances.clone()], p.proof.clone()))
            .collect(),
        Some(proofs) => {
            return Err(AggregationError::Mismatch {
                what: "aggregation node".into(),
                reason: format!("{} proofs for {} children", proofs.len(), children.len()),
            })
        }
        None => children.iter().map(|c| gen_dummy_snark_from_protocol::<SHPLONK>(c.protocol.clone())).collect(),
    };
    let interfaces: Vec<Interface> = children.iter().map(|c| c.interface).collect();
    let node = Interface::of_node(&interfaces)?;
    for (j, s) in snarks.iter().enumerate() {
        let got = s.instances.first().map_or(0, Vec::len);
        if got != interfaces[j].len() {
            return Err(AggregationError::Mismatch {
                what: format!("child {j}"),
                reason: format!("{got} public values, its interface has {}", interfaces[j].len()),
            });
        }
    }
    let built = catch_unwind(AssertUnwindSafe(|| {
        let mut circuit = AggregationCircuit::new::<SHPLONK>(stage, config, srs, snarks, VerifierUniversality::None);
        let prev = circuit.previous_instances().clone();
        let ctx = circuit.builder.main(0);
        for (j, pair) in interfaces.windows(2).enumerate() {
            for (o, i) in pair[0].outputs_at().zip(pair[1].inputs_at()) {
                ctx.constrain_equal(&prev[j][o], &prev[j + 1][i]);
            }
        }
        let exposed = circuit.builder.assigned_instances.first_mut();
        if let Some(exposed) = exposed {
            exposed.extend(interfaces[0].inputs_at().map(|i| prev[0][i]));
            let last = interfaces.len() - 1;
            exposed.extend(interfaces[last].outputs_at().map(|i| prev[last][i]));
            for (j, c) in interfaces.iter().enumerate() {
                exposed.extend(c.params_at().map(|i| prev[j][i]));
            }
        }
        circuit
    }));
    let circuit = built.map_err(|_| AggregationError::Rejected {
        reason: "a child proof could not be read (malformed, or made for another key)".into(),
    })?;
    let exposed = circuit.num_instance().first().copied().unwrap_or(0);
    if exposed != node.len() {
        return Err(AggregationError::BadNode {
            reason: format!("exposes {exposed} values, its interface {}", node.len()),
        });
    }
    Ok(circuit)
}

/// The public values an aggregation circuit built by [`build`] exposes.
pub(crate) fn instances(circuit: &AggregationCircuit) -> Vec<Fr> {
    circuit.instances().into_iter().next().unwrap_or_default()
}

#[cfg(test)]
mod tests;
