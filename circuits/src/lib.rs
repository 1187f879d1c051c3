//! `zkonnx-circuits`: the halo2 chips and the model circuit that proves an IR graph's inference.
//!
//! Place in the crate map: `ir <- circuits <- verifier <- prover`. This crate lays the
//! [`zkonnx_ir::Graph`] out as halo2-axiom constraints (KZG over BN254); the witness is the
//! [`zkonnx_ir::Trace`] of the reference interpreter, and the circuit's public outputs equal the
//! interpreter's outputs exactly. It knows nothing about ONNX, keys on disk or proof files.
//!
//! # Layout
//!
//! One region, split into `lanes` lanes by a row allocator (`layout.rs`): each job (a dot chain,
//! a rescale row, ...) takes contiguous rows in the lane whose next free row is lowest. Row 0 of
//! every lane stays empty. Only the first `lookup_lanes` lanes (`CircuitParams::lookup_lanes`,
//! every lane by default) have the chips with lookups (rescale, relu/max or the two-limb rows,
//! function lookups); the others have only the `dot fixed`, `dot private` and `arith` gates, and
//! the allocator sends every job that needs a lookup to a lookup lane. Per lane with lookups:
//!
//! | columns | use |
//! |---|---|
//! | `a0..a4` advice, equality on | operands, outputs, witnessed intermediates |
//! | `f0..f5` fixed | weights / coefficients / rescale constants, `f4` chain-continue, `f5` bias |
//! | 6 selectors | `dot fixed`, `dot private`, `arith`, `rescale`, `relu`, `max` |
//! | 2 lookups | `rescale r` into `t_in`; `relu/max` into `(t_in, t_out)`, shared by ReLU, MAX and rescale rows |
//!
//! Shared: one instance column (equality on) and the range table `(t_in, t_out) = (v, max(v,0))`
//! for `v` in `[-H, H)`, `H = 2^(lookup_bits-1)`, which needs `lookup_bits <= k - 1`.
//!
//! With two-limb range checks (`CircuitParams::range_limbs = 2`, `chips/wide.rs`) checked
//! values live in `[-2^(2B-1), 2^(2B-1))` with the same `2^B`-row table (`B = lookup_bits`),
//! whose second column then holds signs, `t_out = [v < 0]`. A value `d` is split as
//! `hi*2^B + lo`; the lane's `relu/max` lookup and `max` gate are replaced by the `wide hi`
//! lookup (`(hi, [hi < 0])` into `(t_in, t_out)`) and the `wide relu` / `wide max` gates, and
//! `rescale r` also checks every `lo`. A rescale's quotient is then checked by a RANGE row of
//! its own, and a shift above `B` (up to `2B`) takes a floor row first. Still two lookups and six
//! selectors per lane.
//!
//! Only when the graph has `Op::Lookup` nodes (`CircuitParams::function_table`): the function
//! table `(t_tag, t_x, t_y)`, one `(tag, x, f(x))` row per point of each distinct function's
//! domain, and per lane a seventh selector and a fifth lookup `func`:
//! `(q*f0, q*a0, q*a1)` in `(t_tag, t_x, t_y)` with the tag in `f0`, `x` in `a0`, `f(x)` in
//! `a1` (see `chips/func.rs`). Its rows count toward `k` like the range table's.
//!
//! Gates (highest degree 4; lookups with degree-2 inputs make the circuit degree 5, which costs
//! the same extended domain as 4):
//! - `dot fixed`: `a4 = f4*a4[prev] + sum_{c<4} a_c*f_c + f5`
//! - `dot private`: `a4 = f4*a4[prev] + a0*a1 + a2*a3`
//! - `arith`: `a2 = f0*a0*a1 + f1*a0 + f2*a1 + f3`
//! - `rescale`: `a0 + f0 - a1*f1 - a2 = 0` (`x + d/2 = q*d + r`), and `rescale scaled r`:
//!   `a4 = a2*f2` (`c*r`, `c = 2H/d`), with `c*r - H` and `(q, relu(q)) = (a1, a3)` looked up
//!   (see `chips/rescale.rs` for why that pins the unique quotient)
//! - `max`: `a3 = a0 + a2`, with `a2 = relu(a1 - a0)` by the `relu/max` lookup
//!
//! Only with a `hashed` visibility (`CircuitParams::hashes`): the Poseidon chip
//! (`chips/poseidon.rs`) on 10 advice and 8 fixed columns of its own, with its own row counter
//! beside the lanes, computing [`poseidon::commit`] of the params (before the layout; the weights'
//! cells there are their canonical cells), of each input and of each output (after it, copied
//! from their cells); the digests are public values in place of the values.
//!
//! Every model input is range-checked (it is the input cell of a ReLU or RANGE row). Public inputs and
//! outputs are copy-constrained to the instance column, inputs first (see [`public_instances`]).
//! Params are fixed columns (`param_visibility = fixed`, part of the verifying key) or advice
//! (`private`: every use of a weight is copy-constrained to its first use; the weights are
//! otherwise unconstrained, i.e. the proof shows *some* weights give these outputs).
//!
//! # Features
//!
//! - `testing` (off by default): the witness mutation harness ([`mutation`], with
//!   `ModelCircuit::with_overrides`). It lets a test force any witness value into any cell, so
//!   it must never be enabled in a prover build; without it no override path exists.

mod chips;
pub mod cost;
mod error;
mod field;
mod layout;
mod layouts;
mod model;
#[cfg(any(test, feature = "testing"))]
pub mod mutation;
mod params;
pub mod poseidon;

use halo2_proofs::plonk::ConstraintSystem;
use zkonnx_ir::{Graph, Trace, Visibility};

pub use chips::poseidon::{commitment_rows, POSEIDON_ADVICE};
pub use chips::{ADVICE_PER_LANE, FIXED_PER_LANE, LOOKUPS_PER_LANE};
pub use error::CircuitError;
pub use field::{field_from_i64, i64_from_field};
pub use halo2_proofs::halo2curves::bn256::Fr;
pub use layout::JobKind;
pub use model::{ModelCircuit, ModelConfig};
pub use params::CircuitParams;
pub use poseidon::Salts;

use crate::chips::table::TableConfig;

/// The halo2 types callers of this crate name most often.
pub mod halo2 {
    pub use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
    pub use halo2_proofs::poly::kzg::commitment::ParamsKZG;
}

/// The public values of one inference without salts (see [`public_instances_salted`]).
pub fn public_instances(graph: &Graph, params: &CircuitParams, trace: &Trace) -> Vec<Fr> {
    public_instances_salted(graph, params, trace, &Salts::default())
}

/// The public values of one inference: public inputs (flattened, in input order) or, when
/// hashed, one commitment per input; then the outputs the same way; then, with hashed params,
/// the params' commitment ([`poseidon::params_commitment`]).
pub fn public_instances_salted(graph: &Graph, params: &CircuitParams, trace: &Trace, salts: &Salts) -> Vec<Fr> {
    let take = |ids: &[usize]| ids.iter().map(|&t| trace.values[t].clone()).collect::<Vec<_>>();
    instances_from_values(graph, params, &take(&graph.inputs), &take(&graph.outputs), salts)
}

/// [`public_instances_salted`] from the values alone (what a verifier who was shown them has):
/// `inputs` and `outputs` are flat per tensor, in the graph's input and output order.
pub fn instances_from_values(
    graph: &Graph,
    params: &CircuitParams,
    inputs: &[Vec<i64>],
    outputs: &[Vec<i64>],
    salts: &Salts,
) -> Vec<Fr> {
    let mut out = Vec::new();
    let mut section = |vs: &[Vec<i64>], vis: Visibility, salt: &dyn Fn(usize) -> Fr| match vis {
        Visibility::Public => out.extend(vs.iter().flatten().map(|&v| field_from_i64(v))),
        Visibility::Hashed => out.extend(vs.iter().enumerate().map(|(i, v)| poseidon::commit_ints(v, salt(i)))),
        // private and fixed tensors (and any visibility added later) expose nothing
        _ => {}
    };
    section(inputs, params.input_visibility, &|i| salts.input(i));
    section(outputs, params.output_visibility, &|i| salts.output(i));
    if params.param_visibility == Visibility::Hashed {
        out.push(poseidon::params_commitment(graph));
    }
    out
}

/// Rows the layout uses (without the table and halo2's blinding rows), computed by the same
/// allocator walk synthesis uses. An invalid graph or params give an error.
pub fn try_rows_needed(graph: &Graph, params: &CircuitParams) -> Result<usize, CircuitError> {
    model::check_graph(graph, params)?;
    let mut cs = ConstraintSystem::default();
    let cfg = ModelConfig::configure(&mut cs, params);
    model::dry_run(&cfg, graph, params).map(|(rows, _)| rows)
}

/// The lane rows each node's jobs take, by node (their sum is the layout's rows at one lane,
/// without the empty first row and the Poseidon chip's rows): what a planner that cuts the graph
/// into segments estimates a segment's size from. An invalid graph or params give an error.
pub fn node_rows(graph: &Graph, params: &CircuitParams) -> Result<Vec<usize>, CircuitError> {
    model::check_graph(graph, params)?;
    let mut cs = ConstraintSystem::default();
    let params = CircuitParams { lanes: 1, lookup_lanes: None, ..params.clone() };
    let cfg = ModelConfig::configure(&mut cs, &params);
    model::node_rows(&cfg, graph, &params)
}

/// [`try_rows_needed`], with 0 for a graph that cannot be laid out (check it with
/// [`ModelCircuit::check`] or [`try_rows_needed`] for the reason).
pub fn rows_needed(graph: &Graph, params: &CircuitParams) -> usize {
    try_rows_needed(graph, params).unwrap_or(0)
}

/// The smallest `k` at which the layout, the `2^lookup_bits` table and the instance values all
/// fit below halo2's blinding rows (and `k > lookup_bits`). `params.k` is ignored.
pub fn min_k(graph: &Graph, params: &CircuitParams) -> u32 {
    min_k_for_rows(graph, params, rows_needed(graph, params))
}

/// What needs rows in a circuit besides halo2's own: the layout (the lanes, and the Poseidon
/// chip's rows beside them), the range table, the function table and the public values. The
/// largest sets `k` ([`min_k_for_rows`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RowNeeds {
    /// Rows of the layout (from [`try_rows_needed`]), the Poseidon chip's included.
    pub layout: usize,
    /// Of those, the Poseidon chip's (0 when nothing is hashed).
    pub poseidon: usize,
    pub range_table: usize,
    /// 0 without lookup nodes.
    pub function_table: usize,
    pub public_values: usize,
}

impl RowNeeds {
    /// What `graph` needs under `params` with a layout of `layout` rows.
    pub fn of(graph: &Graph, params: &CircuitParams, layout: usize) -> Self {
        Self {
            layout,
            poseidon: poseidon_rows(graph, params),
            range_table: TableConfig::rows(params.lookup_bits.min(40)),
            function_table: model::function_table_rows(graph, params).unwrap_or(0),
            public_values: model::num_instances(graph, params),
        }
    }

    /// The largest need, named (`the layout` on ties).
    pub fn largest(&self) -> (&'static str, usize) {
        let needs = [
            ("the layout", self.layout),
            ("the range table", self.range_table),
            ("the function table", self.function_table),
            ("the public values", self.public_values),
        ];
        needs.into_iter().fold(("the layout", 0), |best, n| if n.1 > best.1 { n } else { best })
    }
}

/// Rows the Poseidon chip takes for everything `params` hash (the params, each hashed input and
/// output), without the empty row 0.
pub fn poseidon_rows(graph: &Graph, params: &CircuitParams) -> usize {
    let tensors = |vis: Visibility, ids: &[usize]| -> usize {
        if vis != Visibility::Hashed {
            return 0;
        }
        ids.iter().map(|&t| commitment_rows(graph.nodes.get(t).map_or(0, |n| n.len()))).sum()
    };
    let params_rows = if params.param_visibility == Visibility::Hashed {
        commitment_rows(poseidon::param_values(graph).len())
    } else {
        0
    };
    tensors(params.input_visibility, &graph.inputs) + tensors(params.output_visibility, &graph.outputs) + params_rows
}

/// [`min_k`] for a layout of `rows` rows (from [`try_rows_needed`] under the same params).
pub fn min_k_for_rows(graph: &Graph, params: &CircuitParams, rows: usize) -> u32 {
    let mut cs = ConstraintSystem::default();
    let cfg = ModelConfig::configure(&mut cs, params);
    let needed = RowNeeds::of(graph, params, rows).largest().1.max(cs.minimum_rows());
    let mut k = params.lookup_bits + 1;
    while cfg.usable_rows(k) < needed {
        k += 1;
    }
    k
}
