//! `zkonnx-aggregation`: models bigger than one circuit, proved as segments and aggregated into
//! one proof.
//!
//! Place in the crate map: `ir <- circuits <- verifier <- prover <- aggregation <- zkonnx`.
//! `zkonnx_ir::split` cuts the graph; each segment is an ordinary model circuit whose boundaries
//! are `hashed` (salted Poseidon digests: the boundary tensors stay private). This crate proves
//! segments with the Poseidon transcript ([`prove_segment`]), and builds the aggregation
//! circuits (snark-verifier-sdk's in-circuit KZG verifier over halo2-base) that verify them in
//! a tree of nodes ([`Plan`]), each constraining consecutive children's boundary digests to be
//! equal ([`node`] docs). The root proof uses the EVM's Keccak transcript and exposes the KZG
//! accumulator's limbs, then the model's public inputs, outputs and params hashes;
//! [`verify_aggregated`] checks it natively, the accumulator's pairing included.
//!
//! Cost: every in-circuit verification of a segment proof takes about 5 to 8 million cells of
//! the aggregation circuit (mostly the multi-scalar multiplication over the proof's commitments
//! in emulated base-field arithmetic), so narrow segments (one lane) are cheapest to aggregate,
//! and a node is limited to a few children by memory (`fan_in`). An aggregation circuit's cells
//! are spread evenly over all of its advice columns, so a root pinned to more columns than it
//! needs ([`NodeSpec`]) still uses each one, and its verifier's gas depends on its shape alone.

mod circuit;
pub mod cost;
mod error;
mod hexfr;
mod keys;
pub mod node;
mod prove;
mod segment;
mod srs;
mod tree;
mod verify;

pub use error::AggregationError;
pub use keys::{
    keygen_node, read_node_vk, vk_hash, NodeKeys, NodeMeta, NodeSpec, AGGREGATION_KEY_VERSION, MAX_AGGREGATION_K,
    MIN_AGGREGATION_K,
};
pub use node::{Child, Interface, NodeShape, ACCUMULATOR_LIMBS};
pub use prove::{prove_node, NodeProof};
pub use segment::{prove_segment, verify_poseidon_proof, PoseidonProof};
pub use tree::{Item, Plan};
pub use verify::{decode_accumulator, verify_accumulator, verify_aggregated};
