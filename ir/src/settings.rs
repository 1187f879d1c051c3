//! Run settings (`settings.json`): how a model is quantized and laid out, and what is public.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_LANES, MAX_LOGROWS, MAX_LOOKUP_BITS, MAX_SCALE};
use crate::{IrError, TableDomain};

/// Version of the settings format; readers refuse any other.
pub const SETTINGS_VERSION: u32 = 1;

/// Who sees a tensor, in EZKL's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Visibility {
    /// In the witness only.
    #[default]
    Private,
    /// A public input of the proof (an instance value).
    Public,
    /// Baked into the circuit's fixed columns (params only): part of the verifying key.
    Fixed,
    /// In the witness, with only its Poseidon commitment public: one value per input or output
    /// tensor (salted by the input file's salt), one for all the params (see
    /// `zkonnx_circuits::poseidon::commit`).
    Hashed,
}

impl Visibility {
    /// Public values a tensor of `len` elements contributes.
    pub fn public_values(self, len: usize) -> usize {
        match self {
            Visibility::Public => len,
            Visibility::Hashed => 1,
            Visibility::Private | Visibility::Fixed => 0,
        }
    }
}

/// The knobs of quantization and circuit layout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct RunArgs {
    /// Fractional bits of inputs and activations.
    pub input_scale: u32,
    /// Fractional bits of weights.
    pub param_scale: u32,
    /// Bits `B` of the signed range table (`2^B` rows).
    pub lookup_bits: u32,
    /// Limbs of a range check: with 1, a value is checked by one lookup and activations live
    /// in `[-2^(B-1), 2^(B-1))`; with 2, a value is split into a signed high and an unsigned low
    /// limb of `B` bits each, so activations live in `[-2^(2B-1), 2^(2B-1))` and a rescale may
    /// shift by up to `2B`, with the same `2^B`-row table. See [`RunArgs::range_bits`].
    pub range_limbs: u32,
    /// `k`: the circuit has `2^k` rows.
    pub logrows: u32,
    /// Parallel lanes of advice columns (the circuit's width).
    pub lanes: usize,
    /// How many of the lanes (the first ones) carry the range, rescale and function lookups;
    /// the others only hold dot products, products and sums, and cost no lookup arguments.
    /// `None` (what settings written before this field read as): every lane.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lookup_lanes: Option<usize>,
    pub input_visibility: Visibility,
    pub output_visibility: Visibility,
    pub param_visibility: Visibility,
    /// Values for symbolic ONNX dimensions (`N=4`; an unnamed dimension is `<input>.<axis>`,
    /// e.g. `X.0=2`); unset ones default to 1.
    pub dims: BTreeMap<String, usize>,
    /// Each function table's domain, one per lookup node in node order, as calibration sampled
    /// them (see [`crate::tables`]); empty: the compiler's domains (a plain function's table
    /// spans the activation range).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_domains: Vec<TableDomain>,
}

impl Default for RunArgs {
    fn default() -> Self {
        Self {
            input_scale: 7,
            param_scale: 7,
            lookup_bits: 14,
            range_limbs: 1,
            logrows: 15,
            lanes: 2,
            lookup_lanes: None,
            input_visibility: Visibility::Private,
            output_visibility: Visibility::Public,
            param_visibility: Visibility::Fixed,
            dims: BTreeMap::new(),
            table_domains: Vec::new(),
        }
    }
}

impl RunArgs {
    /// Signed bits of the values the circuit range-checks (and the largest rescale shift it
    /// can check): `lookup_bits * range_limbs`.
    pub fn range_bits(&self) -> u32 {
        self.lookup_bits * self.range_limbs
    }

    /// Rejects combinations the circuit cannot build.
    pub fn validate(&self) -> Result<(), IrError> {
        let bad = |field, value: String, reason| Err(IrError::InvalidSettings { field, value, reason });
        const _: () = assert!(MAX_SCALE == 24 && MAX_LOOKUP_BITS == 24 && MAX_LOGROWS == 26 && MAX_LANES == 16);
        if self.input_scale > MAX_SCALE {
            return bad("input_scale", self.input_scale.to_string(), "must be at most 24");
        }
        if self.param_scale > MAX_SCALE {
            return bad("param_scale", self.param_scale.to_string(), "must be at most 24");
        }
        if !(2..=MAX_LOOKUP_BITS).contains(&self.lookup_bits) {
            return bad("lookup_bits", self.lookup_bits.to_string(), "must be in 2..=24");
        }
        if !(1..=2).contains(&self.range_limbs) {
            return bad("range_limbs", self.range_limbs.to_string(), "must be 1 or 2");
        }
        // see `limits::MAX_LOGROWS` for why 26
        if self.logrows <= self.lookup_bits || self.logrows > MAX_LOGROWS {
            return bad(
                "logrows",
                self.logrows.to_string(),
                "must exceed lookup_bits (the table needs 2^lookup_bits rows) and be at most 26",
            );
        }
        if !(1..=MAX_LANES).contains(&self.lanes) {
            return bad("lanes", self.lanes.to_string(), "must be in 1..=16");
        }
        if let Some(m) = self.lookup_lanes.filter(|m| !(1..=self.lanes).contains(m)) {
            return bad("lookup_lanes", m.to_string(), "must be in 1..=lanes");
        }
        if self.input_visibility == Visibility::Fixed || self.output_visibility == Visibility::Fixed {
            return bad("visibility", "fixed".into(), "only params can be fixed");
        }
        if self.param_visibility == Visibility::Public {
            return bad("param_visibility", "public".into(), "params are `fixed`, `private` or `hashed`");
        }
        Ok(())
    }
}

/// What a verifier needs to know about the compiled model, beside the run args.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct ModelInfo {
    pub input_shapes: Vec<Vec<usize>>,
    pub input_scales: Vec<u32>,
    pub output_shapes: Vec<Vec<usize>>,
    pub output_scales: Vec<u32>,
    /// Rows the layout uses (without the table), as counted by the circuit.
    pub rows_used: usize,
    /// Hex SHA-256 of the compiled model the settings belong to (with hashed params: of its
    /// graph with every param zeroed, the architecture, since its keys serve every model of it).
    pub model_hash: String,
    /// Whether the graph has lookup nodes, so the circuit has the function table.
    #[serde(default)]
    pub function_table: bool,
    /// Which public values are Poseidon commitments (`hashed` visibility), in instance order
    /// (filled by `compile`; empty when nothing is hashed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashed_public_values: Vec<HashedValue>,
    /// The layout and what the cost model predicts for it (filled by `compile`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<LayoutInfo>,
}

/// A public value that is a commitment: its index among the public values and what it commits
/// to (`input 0`, `output 1`, `params`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HashedValue {
    pub index: usize,
    pub of: String,
}

impl HashedValue {
    pub fn new(index: usize, of: String) -> Self {
        Self { index, of }
    }
}

/// How the circuit's shape was chosen and what proving it is predicted to cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub struct LayoutInfo {
    /// `optimizer` (the layout optimizer chose lanes, lookup lanes and logrows) or `flags` (the
    /// user pinned the lanes).
    pub chosen_by: String,
    /// Predicted prove time on the reference machine (2 cores), milliseconds.
    pub predicted_prove_ms: u64,
    /// Predicted peak resident memory of setup and of proving, MiB.
    pub predicted_setup_mib: u64,
    pub predicted_prove_mib: u64,
    /// What the optimizer minimized: `time` (prove time) or `gas` (EVM verify gas, within a
    /// prove-time bound); empty in settings from before the gas objective (`time`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub optimized_for: String,
    /// Predicted gas of one verification by zkonnx's EVM verifier (0 in older settings).
    #[serde(default)]
    pub predicted_verify_gas: u64,
}

/// The `settings.json` artifact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Settings {
    pub version: u32,
    pub run_args: RunArgs,
    pub model: ModelInfo,
}

impl Settings {
    /// Settings for the given run args and model description.
    pub fn new(run_args: RunArgs, model: ModelInfo) -> Self {
        Self { version: SETTINGS_VERSION, run_args, model }
    }

    /// The public values that are commitments, computed from the shapes and visibilities.
    pub fn hashed_values(&self) -> Vec<HashedValue> {
        let (a, m) = (&self.run_args, &self.model);
        let mut out = Vec::new();
        let mut index = 0;
        for (what, shapes, vis) in
            [("input", &m.input_shapes, a.input_visibility), ("output", &m.output_shapes, a.output_visibility)]
        {
            for (i, s) in shapes.iter().enumerate() {
                if vis == Visibility::Hashed {
                    out.push(HashedValue::new(index, format!("{what} {i}")));
                }
                index += vis.public_values(s.iter().product());
            }
        }
        if a.param_visibility == Visibility::Hashed {
            out.push(HashedValue::new(index, "params".into()));
        }
        out
    }

    /// Number of public values (instance cells) of a proof under these settings: public inputs
    /// (or their hashes), public outputs (or their hashes), then the params' hash.
    pub fn num_instances(&self) -> usize {
        let count = |shapes: &[Vec<usize>], vis: Visibility| {
            shapes.iter().map(|s| vis.public_values(s.iter().product::<usize>())).sum::<usize>()
        };
        count(&self.model.input_shapes, self.run_args.input_visibility)
            + count(&self.model.output_shapes, self.run_args.output_visibility)
            + usize::from(self.run_args.param_visibility == Visibility::Hashed)
    }
}
