//! The parameters that fix a circuit's shape (they reach `configure` as `Circuit::Params`).

use serde::{Deserialize, Serialize};
use zkonnx_ir::limits::{MAX_LANES, MAX_LOGROWS};
use zkonnx_ir::{Graph, RunArgs, Settings, Visibility};

use crate::CircuitError;

/// Everything besides the graph that decides the circuit's columns, gates and rows.
///
/// Two circuits with equal params and equal graphs have identical layouts, with or without a
/// witness, so a verifying key made from one verifies proofs of the other.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CircuitParams {
    /// The circuit has `2^k` rows.
    pub k: u32,
    /// Bits `B` of the signed range table (`2^B` rows).
    pub lookup_bits: u32,
    /// Limbs of a range check: 1 (a checked value lies in `[-2^(B-1), 2^(B-1))`, one lookup)
    /// or 2 (a signed high and an unsigned low limb: `[-2^(2B-1), 2^(2B-1))`, two lookups;
    /// see `chips/wide.rs`).
    #[serde(default = "one_limb")]
    pub range_limbs: u32,
    /// Parallel lanes (each 5 advice + 6 fixed columns).
    pub lanes: usize,
    /// Lanes (the first ones) that carry the range, rescale and function lookups; `None`: every
    /// lane. The other lanes have only the dot and arith gates, so each costs no lookup
    /// argument; the allocator sends every job that needs a lookup to the lookup lanes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lookup_lanes: Option<usize>,
    /// Model inputs: `Private` (witness only) or `Public` (instance values).
    pub input_visibility: Visibility,
    /// Model outputs: `Private` or `Public`.
    pub output_visibility: Visibility,
    /// Linear weights: `Fixed` (in the verifying key) or `Private` (witness).
    pub param_visibility: Visibility,
    /// Whether the circuit has the function table and one function lookup per lane: true
    /// exactly when the graph has `Op::Lookup` nodes (a graph without them pays nothing).
    #[serde(default)]
    pub function_table: bool,
}

fn one_limb() -> u32 {
    1
}

impl CircuitParams {
    /// The circuit params of `graph` compiled under `a` (`from_run_args`, with the function
    /// table when the graph looks functions up).
    pub fn for_graph(a: &RunArgs, graph: &Graph) -> Self {
        Self { function_table: graph.has_lookups(), ..Self::from_run_args(a) }
    }

    /// The circuit params a settings file describes (what a verifier has without the graph).
    pub fn from_settings(s: &Settings) -> Self {
        Self { function_table: s.model.function_table, ..Self::from_run_args(&s.run_args) }
    }

    /// The circuit params implied by run settings alone, for a graph without lookup nodes (use
    /// [`Self::for_graph`] or [`Self::from_settings`] where the graph may have them).
    pub fn from_run_args(a: &RunArgs) -> Self {
        Self {
            k: a.logrows,
            lookup_bits: a.lookup_bits,
            range_limbs: a.range_limbs,
            lanes: a.lanes,
            lookup_lanes: a.lookup_lanes,
            input_visibility: a.input_visibility,
            output_visibility: a.output_visibility,
            param_visibility: a.param_visibility,
            function_table: false,
        }
    }

    /// Rejects params the circuit cannot be built with.
    pub fn validate(&self) -> Result<(), CircuitError> {
        let bad = |field, value: String, reason| Err(CircuitError::InvalidParams { field, value, reason });
        if !(2..=24).contains(&self.lookup_bits) {
            return bad("lookup_bits", self.lookup_bits.to_string(), "must be in 2..=24");
        }
        if !(1..=2).contains(&self.range_limbs) {
            return bad("range_limbs", self.range_limbs.to_string(), "must be 1 or 2");
        }
        // the same bounds as `RunArgs::validate` (`zkonnx_ir::limits`)
        if self.k <= self.lookup_bits || self.k > MAX_LOGROWS {
            return bad("k", self.k.to_string(), "must exceed lookup_bits and be at most 26");
        }
        if !(1..=MAX_LANES).contains(&self.lanes) {
            return bad("lanes", self.lanes.to_string(), "must be in 1..=16");
        }
        if let Some(m) = self.lookup_lanes.filter(|m| !(1..=self.lanes).contains(m)) {
            return bad("lookup_lanes", m.to_string(), "must be in 1..=lanes");
        }
        let io = [Visibility::Private, Visibility::Public, Visibility::Hashed];
        if !io.contains(&self.input_visibility) {
            let why = "must be private, public or hashed";
            return bad("input_visibility", format!("{:?}", self.input_visibility), why);
        }
        if !io.contains(&self.output_visibility) {
            let why = "must be private, public or hashed";
            return bad("output_visibility", format!("{:?}", self.output_visibility), why);
        }
        if ![Visibility::Fixed, Visibility::Private, Visibility::Hashed].contains(&self.param_visibility) {
            let why = "must be fixed, private or hashed";
            return bad("param_visibility", format!("{:?}", self.param_visibility), why);
        }
        Ok(())
    }

    /// Lanes with lookups: `lookup_lanes` (every lane when unset), within `1..=lanes`.
    pub fn lookup_lane_count(&self) -> usize {
        let n = self.lanes.clamp(1, MAX_LANES);
        self.lookup_lanes.unwrap_or(n).clamp(1, n)
    }

    /// Whether range checks use two limbs (`range_limbs == 2`).
    pub(crate) fn wide(&self) -> bool {
        self.range_limbs == 2
    }

    /// Signed bits of a range-checked value, and the largest rescale shift:
    /// `lookup_bits * range_limbs`.
    pub fn range_bits(&self) -> u32 {
        self.lookup_bits * self.range_limbs
    }

    /// True if Linear weights are witnessed (private or hashed) instead of fixed.
    pub(crate) fn private_params(&self) -> bool {
        matches!(self.param_visibility, Visibility::Private | Visibility::Hashed)
    }

    /// True if anything is hashed, so the circuit has the Poseidon chip.
    pub fn hashes(&self) -> bool {
        [self.input_visibility, self.output_visibility, self.param_visibility].contains(&Visibility::Hashed)
    }
}
