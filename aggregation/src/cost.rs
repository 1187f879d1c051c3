//! The aggregation's cost model: cells, columns, memory and time of an aggregation node, from
//! the shapes of the proofs it verifies, before any key exists.
//!
//! An in-circuit verification costs cells for every commitment the proof carries (a
//! variable-base scalar multiplication in emulated base-field arithmetic, and its transcript
//! hashing) and, fewer, for every commitment of the verifying key (a fixed-base one); several
//! children add the accumulation of their accumulators. A node's circuit has `2^k` rows and as
//! many advice columns as its cells need; proving memory and time are then proportional to
//! `2^k` times its columns. The coefficients are measured on this codebase (2 cores; see
//! `cargo bench -p zkonnx-benches --bench split`, which prints the measured cells and peaks next
//! to these predictions).

use serde::{Deserialize, Serialize};

use crate::node::Interface;

/// What the in-circuit verifier of one proof works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ProofShape {
    /// Commitments in the proof (advice columns, three per lookup, permutation products,
    /// quotient pieces).
    pub commitments: usize,
    /// Commitments in the verifying key (fixed columns and selectors, permutation columns).
    pub preprocessed: usize,
    /// The public values it exposes.
    pub interface: Interface,
}

impl ProofShape {
    pub fn new(commitments: usize, preprocessed: usize, interface: Interface) -> Self {
        Self { commitments, preprocessed, interface }
    }
}

/// Cells per proof commitment (emulated variable-base multiplication and hashing).
pub const CELLS_PER_COMMITMENT: f64 = 166_000.0;
/// Cells per verifying-key commitment (emulated fixed-base multiplication).
pub const CELLS_PER_PREPROCESSED: f64 = 83_000.0;
/// Cells per verified proof besides its commitments (transcript, evaluations, the quotient).
pub const CELLS_PER_PROOF: f64 = 540_000.0;
/// Cells per child beyond the first (folding the accumulators).
pub const CELLS_PER_EXTRA_CHILD: f64 = 740_000.0;
/// Bytes of proving memory per row and column of an aggregation circuit (11.7 GB measured at
/// `k = 21` with 8 advice, 1 lookup and 1 fixed column).
pub const BYTES_PER_CELL_SLOT: f64 = 560.0;
/// Seconds of proving per million row-column slots (216 s measured at `k = 21`, 10 columns).
pub const PROVE_SECONDS_PER_M_SLOTS: f64 = 10.3;
/// Seconds of key generation per million slots (138 s at the same shape).
pub const KEYGEN_SECONDS_PER_M_SLOTS: f64 = 6.6;
/// Rows halo2-base keeps free in each column.
const RESERVED_ROWS: usize = 20;

/// The cost model's verdict on one node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeEstimate {
    pub k: u32,
    pub cells: f64,
    /// Advice columns.
    pub advice: usize,
    /// All columns: the advice, the lookup advice and the fixed column halo2-base adds.
    pub columns: usize,
    pub prove_mb: f64,
    pub prove_seconds: f64,
    pub keygen_seconds: f64,
}

/// The estimate for a node at `2^k` rows verifying proofs of `children`'s shapes, with at least
/// `min_advice` advice columns.
pub fn estimate_node(children: &[ProofShape], k: u32, min_advice: usize) -> NodeEstimate {
    let cells: f64 = children
        .iter()
        .map(|c| {
            CELLS_PER_PROOF
                + CELLS_PER_COMMITMENT * c.commitments as f64
                + CELLS_PER_PREPROCESSED * c.preprocessed as f64
        })
        .sum::<f64>()
        + CELLS_PER_EXTRA_CHILD * children.len().saturating_sub(1) as f64;
    let rows = ((1usize << k) - RESERVED_ROWS) as f64;
    // advice for the gates, about an eighth as much for the range lookups, one fixed column
    let advice = ((cells / rows).ceil().max(1.0) as usize).max(min_advice);
    let columns = advice + advice.div_ceil(8) + 1;
    let slots = (1u64 << k) as f64 * columns as f64;
    NodeEstimate {
        k,
        cells,
        advice,
        columns,
        prove_mb: slots * BYTES_PER_CELL_SLOT / (1024.0 * 1024.0),
        prove_seconds: slots / 1e6 * PROVE_SECONDS_PER_M_SLOTS,
        keygen_seconds: slots / 1e6 * KEYGEN_SECONDS_PER_M_SLOTS,
    }
}

/// The shape of an aggregation node's own proof (for its parent), from its column counts.
pub fn node_proof_shape(columns: usize, interface: Interface) -> ProofShape {
    // advice and lookup advice, the lookup's three, the permutation's products (degree 4: two
    // columns per product), the quotient's pieces
    let commitments = columns + 3 + (columns + 1).div_ceil(2) + 3;
    ProofShape { commitments, preprocessed: 2 * columns + 2, interface }
}
