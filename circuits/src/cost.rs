//! The prover's cost model and the layout optimizer.
//!
//! A circuit's shape is its number of lanes (each [`crate::ADVICE_PER_LANE`] advice columns)
//! and its size `2^k`. More lanes shorten the layout and so lower `k`, but every column costs a
//! commitment, FFTs on the extended domain and gate evaluations at every row, whether the
//! layout fills it or not; the table of `2^lookup_bits` rows sets a floor on `k` that no width
//! can go below. The smallest `k` is therefore not always the fastest shape: [`choose_layout`]
//! evaluates every width and keeps the one with the lowest predicted prove time.
//!
//! Each lane costs its lookup arguments too, although only the rows of range checks, rescales
//! and function lookups use them: a lane that holds only dot products and sums needs none. So
//! for each width the optimizer also picks how many lanes carry lookups
//! ([`CircuitParams::lookup_lanes`]): the fewest that keep the layout at the `k` it has with
//! lookups on every lane.
//!
//! [`Shape`] counts what the prover works on, read from the configured constraint system:
//! columns, lookup arguments, permutation columns and the extended-domain factor. The
//! predictions are linear in those counts with coefficients measured on this codebase's prover
//! (`cargo bench -p zkonnx-benches --bench layouts` measures prove time and peak memory over a
//! grid of shapes, fits the coefficients and prints them next to the ones below).

use halo2_proofs::plonk::ConstraintSystem;
use serde::{Deserialize, Serialize};
use zkonnx_ir::limits::MAX_LANES;
use zkonnx_ir::Graph;

use crate::layout::FIRST_ROW;
use crate::model::{check_graph, dry_run_planned, ModelConfig};
use crate::{min_k_for_rows, try_rows_needed, CircuitError, CircuitParams};

/// What the prover works on for one circuit shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Shape {
    /// The circuit has `2^k` rows.
    pub k: u32,
    pub lanes: usize,
    /// Lanes with lookup arguments (the first ones).
    pub lookup_lanes: usize,
    /// Rows the layout uses.
    pub rows: usize,
    pub advice_columns: usize,
    /// Fixed columns, selectors and table columns (before halo2 compresses selectors).
    pub fixed_columns: usize,
    pub instance_columns: usize,
    pub lookups: usize,
    /// Columns in the copy-constraint (permutation) argument.
    pub permutation_columns: usize,
    /// Degree of the constraint system; the extended domain has `2^k * extension` points.
    pub degree: usize,
}

impl Shape {
    /// The shape `params` give `graph` (at `params.k`).
    pub fn of(graph: &Graph, params: &CircuitParams) -> Result<Self, CircuitError> {
        Ok(Self::with_rows(params, try_rows_needed(graph, params)?))
    }

    /// The shape of `params` for a layout of `rows` rows.
    pub fn with_rows(params: &CircuitParams, rows: usize) -> Self {
        let mut cs = ConstraintSystem::default();
        ModelConfig::configure(&mut cs, params);
        Self {
            k: params.k,
            lanes: params.lanes,
            lookup_lanes: params.lookup_lane_count(),
            rows,
            advice_columns: cs.num_advice_columns(),
            fixed_columns: cs.num_fixed_columns() + cs.num_selectors(),
            instance_columns: cs.num_instance_columns(),
            lookups: cs.lookups().len(),
            permutation_columns: cs.permutation().get_columns().len(),
            degree: cs.degree(),
        }
    }

    /// Factor of the extended domain over `2^k` (the quotient has degree `degree - 1`).
    pub fn extension(&self) -> usize {
        (self.degree.max(2) - 1).next_power_of_two()
    }

    /// Polynomials committed while proving: advice, three per lookup (two permuted columns and
    /// the product), one product per permutation chunk, and the quotient's pieces.
    pub fn commitments(&self) -> usize {
        let chunk = self.degree.max(3) - 2;
        self.advice_columns + 3 * self.lookups + self.permutation_columns.div_ceil(chunk) + self.extension()
    }

    /// Columns read at every point of the extended domain when the quotient is evaluated.
    pub fn extended_columns(&self) -> usize {
        self.advice_columns
            + self.fixed_columns
            + self.instance_columns
            + 3 * self.lookups
            + 2 * self.permutation_columns
    }

    /// The regressors of the prove-time model, in seconds per coefficient: (MSM points,
    /// extended-domain FFT butterflies, extended-domain column reads), each in units of 2^20.
    pub fn time_terms(&self) -> [f64; 3] {
        let n = (1u64 << self.k) as f64 / f64::from(1 << 20);
        let ext = self.extension() as f64;
        let ffts = (self.commitments() + self.advice_columns) as f64;
        [
            n * self.commitments() as f64,
            n * ext * f64::from(self.k + 2) * ffts,
            n * ext * self.extended_columns() as f64,
        ]
    }

    /// The regressors of the memory model, in MiB per coefficient: (field elements resident in
    /// the proving key, field elements of the witness and argument polynomials), each counted
    /// at `2^k * (2 + extension)` (values, coefficients and extended-domain evaluations).
    pub fn memory_terms(&self) -> [f64; 2] {
        let per_column = (1u64 << self.k) as f64 * (2 + self.extension()) as f64 * 32.0 / f64::from(1 << 20);
        let key = (self.fixed_columns + self.permutation_columns) as f64;
        let witness = (self.advice_columns + 3 * self.lookups + self.instance_columns) as f64;
        [per_column * key, per_column * witness]
    }

    /// Predicted seconds to prove on this machine class (2 cores, see the module docs).
    pub fn predicted_prove_seconds(&self) -> f64 {
        dot(&self.time_terms(), &PROVE_SECONDS)
    }

    /// Regressors of the verify-gas model (see [`VERIFY_GAS`]): (one, G1 points the verifier
    /// multiplies (proof commitments and preprocessed ones), evaluations it reads and combines,
    /// public values). Evaluations: one per column query, five per lookup (the product at two
    /// points, the permuted input at two, the permuted table at one) and two per permutation
    /// column (the argument's products and the polynomials at the shifted point).
    pub fn gas_terms(&self, public_values: usize) -> [f64; 4] {
        let preprocessed = self.fixed_columns + self.permutation_columns;
        let points = self.commitments() + preprocessed;
        let evaluations = self.advice_columns + preprocessed + 5 * self.lookups + 2 * self.permutation_columns;
        [1.0, points as f64, evaluations as f64, public_values as f64]
    }

    /// Predicted gas of one verification with zkonnx's EVM verifier (the key as data), including
    /// the 21,000 base cost and the calldata, for a circuit with `public_values` public values.
    pub fn predicted_verify_gas(&self, public_values: usize) -> f64 {
        dot(&self.gas_terms(public_values), &VERIFY_GAS)
    }

    /// Predicted peak resident memory of setup (key generation), in MiB.
    pub fn predicted_setup_mb(&self) -> f64 {
        BASE_MB + self.memory_terms()[0] * MEMORY_WEIGHTS[0]
    }

    /// Predicted peak resident memory of proving (the proving key and the witness and argument
    /// polynomials), in MiB.
    pub fn predicted_prove_mb(&self) -> f64 {
        BASE_MB + dot(&self.memory_terms(), &MEMORY_WEIGHTS)
    }
}

fn dot<const N: usize>(a: &[f64; N], b: &[f64; N]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Seconds per unit of [`Shape::time_terms`] on 2 cores. Their ratios decide the optimizer's
/// choice (first estimates, compared with measured runs in `docs/layouts.md`; the `layouts`
/// bench prints a least-squares fit of its runs to refine them). Their common scale only sets
/// the predicted seconds: it puts the predictions within 0.6-1.4x of the 14 measured prove
/// times at k >= 12 in `docs/benchmarks.json` (up to 4x low below that, where fixed overheads
/// the model does not count dominate).
pub const PROVE_SECONDS: [f64; 3] = [2.5, 0.05, 0.125];
/// MiB per unit of [`Shape::memory_terms`], set from the measured peaks of every fixture model
/// (`cargo test --release -p zkonnx-cli --test memory -- --nocapture` prints estimate and peak:
/// 0.89-1.32x at k 9-15). On `benches/models/cnn_large` (10 lanes, k 18) it predicts 10.9 GiB
/// against 9.2 GiB measured (`docs/benchmarks.json`).
pub const MEMORY_WEIGHTS: [f64; 2] = [0.8, 0.8];
/// Resident memory of the process before any circuit work (binary, allocator, model), MiB.
pub const BASE_MB: f64 = 40.0;
/// Gas per unit of [`Shape::gas_terms`]: a non-negative least-squares fit of zkonnx's verifier
/// (`--verifier auto`: the compiled verifier where it fits EIP-170, the key as data on the wide
/// default layouts) measured in revm on 102 verifications of the fixture models, lenet5 and
/// mlp784 at the layouts both objectives choose and at one lane (`cargo bench -p zkonnx-benches
/// --bench verify_gas` measures, fits and prints these next to its table; largest error 13.5%).
/// Evaluations grow in step with the points, so the fit gives them no weight of their
/// own; the points' weight covers both (one `ecMul` is 6,000 gas, the rest is calldata and the
/// verifier's own work).
pub const VERIFY_GAS: [f64; 4] = [110_600.0, 8_380.0, 0.0, 420.0];

/// What the layout optimizer minimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Objective {
    /// Predicted prove time (the default).
    #[default]
    ProveTime,
    /// Predicted verify gas on the EVM, among the layouts whose predicted prove time is at most
    /// `max_prove_ms` (when set; if none is, the fastest layout).
    VerifyGas { max_prove_ms: Option<u64> },
}

/// The optimizer's verdict: the chosen shape and every candidate it weighed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LayoutChoice {
    pub chosen: Shape,
    /// One shape per width that fits (at its smallest `k`), with its predicted prove seconds.
    pub candidates: Vec<(Shape, f64)>,
}

impl LayoutChoice {
    /// The candidate with the smallest `k` (the widest one on ties): the naive layout.
    pub fn minimal_k(&self) -> Option<&Shape> {
        self.candidates.iter().map(|(s, _)| s).min_by_key(|s| (s.k, std::cmp::Reverse(s.lanes)))
    }
}

/// Picks the number of lanes (1..=`max_lanes`), of lookup lanes, and `k` with the lowest
/// predicted prove time for `graph` under `base` (whose `lanes` and `k` are ignored; its
/// `lookup_lanes`, when set, is kept at every width that has as many lanes), or with the lowest
/// predicted verify gas within the prove-time bound for [`Objective::VerifyGas`]. Ties go to
/// fewer lanes: a narrower circuit has a smaller proof and a cheaper verifier. `max_k` bounds
/// `k`; an error names why no width fits.
pub fn choose_layout(
    graph: &Graph,
    base: &CircuitParams,
    max_lanes: usize,
    max_k: u32,
    objective: Objective,
) -> Result<LayoutChoice, CircuitError> {
    let mut candidates = Vec::new();
    let mut last_err = None;
    let lookup_rows = match base.lookup_lanes {
        Some(_) => None,
        None => Some(job_rows(graph, base)?[0]),
    };
    for lanes in 1..=max_lanes.clamp(1, MAX_LANES) {
        let params = CircuitParams { lanes, lookup_lanes: base.lookup_lanes.map(|m| m.min(lanes)), ..base.clone() };
        match fit_lookup_lanes(graph, params, lookup_rows) {
            Ok((params, rows)) => {
                if params.k <= max_k {
                    let shape = Shape::with_rows(&params, rows);
                    candidates.push((shape, shape.predicted_prove_seconds()));
                }
            }
            Err(e) => last_err = Some(e),
        }
    }
    let fastest = candidates.iter().min_by(|a, b| a.1.total_cmp(&b.1).then(a.0.lanes.cmp(&b.0.lanes)));
    let chosen = match objective {
        Objective::ProveTime => fastest,
        Objective::VerifyGas { max_prove_ms } => {
            let public_values = public_value_count(graph, base);
            let within = |c: &&(Shape, f64)| max_prove_ms.is_none_or(|ms| c.1 * 1000.0 <= ms as f64);
            let gas = |c: &(Shape, f64)| c.0.predicted_verify_gas(public_values);
            candidates
                .iter()
                .filter(within)
                .min_by(|a, b| gas(a).total_cmp(&gas(b)).then(a.0.lanes.cmp(&b.0.lanes)))
                .or(fastest)
        }
    }
    .map(|(s, _)| *s);
    match (chosen, last_err) {
        (Some(chosen), _) => Ok(LayoutChoice { chosen, candidates }),
        (None, Some(e)) => Err(e),
        (None, None) => Err(CircuitError::NoLayout { max_k, max_lanes }),
    }
}

/// How many public values (instances) `graph` has under `params`' visibilities.
pub fn public_value_count(graph: &Graph, params: &CircuitParams) -> usize {
    // public values, or one hash per hashed tensor, and the params' hash
    crate::model::num_instances(graph, params)
}

/// Rows of `graph`'s jobs with lookups and of the others, under `params` (any width).
pub fn job_rows(graph: &Graph, params: &CircuitParams) -> Result<[usize; 2], CircuitError> {
    check_graph(graph, params)?;
    let mut cs = ConstraintSystem::default();
    let params = CircuitParams { lanes: 1, lookup_lanes: None, ..params.clone() };
    let cfg = ModelConfig::configure(&mut cs, &params);
    crate::model::job_rows(&cfg, graph, &params)
}

/// `params` (at `params.lanes`) with `k` set to the smallest that fits, and with the fewest
/// lookup lanes whose layout keeps the `k` of lookups on every lane; also returns the layout's
/// rows. With `lookup_rows = None`, or `params.lookup_lanes` set, the lookup lanes stay as they
/// are. `lookup_rows` is the first of [`job_rows`]: the lookup lanes must at least hold those
/// rows, and a bisection between that and every lane finds the fewest that keep `k` (each step
/// one dry run of the layout; a count it settles on is always one that was laid out and fits).
pub fn fit_lookup_lanes(
    graph: &Graph,
    mut params: CircuitParams,
    lookup_rows: Option<usize>,
) -> Result<(CircuitParams, usize), CircuitError> {
    let rows = try_rows_needed(graph, &params)?;
    params.k = min_k_for_rows(graph, &params, rows);
    let (Some(lookup), None) = (lookup_rows, params.lookup_lanes) else {
        return Ok((params, rows));
    };
    let mut cs = ConstraintSystem::default();
    let lane_rows = ModelConfig::configure(&mut cs, &params).usable_rows(params.k).saturating_sub(FIRST_ROW);
    let (mut lo, mut hi) = (lookup.div_ceil(lane_rows.max(1)).max(1), params.lanes);
    let mut best = (CircuitParams { lookup_lanes: Some(params.lanes), ..params.clone() }, rows);
    while lo < hi {
        let m = (lo + hi) / 2;
        let mut p = CircuitParams { lookup_lanes: Some(m), ..params.clone() };
        // the graph passed `try_rows_needed` above, and its lookup rows are known
        let mut cs = ConstraintSystem::default();
        let cfg = ModelConfig::configure(&mut cs, &p);
        let rows = dry_run_planned(&cfg, graph, &p, cfg.lane_plan(lookup))?;
        p.k = min_k_for_rows(graph, &p, rows);
        if p.k <= params.k {
            best = (p, rows);
            hi = m;
        } else {
            lo = m + 1;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use zkonnx_ir::{Op, Visibility};

    use super::*;
    use crate::model::tests::{every_op_graph, linear, node, params};
    use crate::{min_k, rows_needed, ADVICE_PER_LANE, LOOKUPS_PER_LANE};

    /// The params of `every_op_graph` (it looks functions up).
    fn base() -> CircuitParams {
        CircuitParams {
            function_table: true,
            ..params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed)
        }
    }

    #[test]
    fn shapes_count_what_the_constraint_system_has() {
        let g = every_op_graph();
        for lanes in [1, 3] {
            let mut p = CircuitParams { lanes, ..base() };
            p.k = min_k(&g, &p);
            let s = Shape::of(&g, &p).expect("shape");
            assert_eq!((s.k, s.lanes, s.rows), (p.k, lanes, rows_needed(&g, &p)));
            assert_eq!(s.advice_columns, ADVICE_PER_LANE * lanes);
            assert_eq!(s.lookups, (LOOKUPS_PER_LANE + 1) * lanes, "with the function lookup");
            assert_eq!((s.degree, s.extension(), s.instance_columns), (5, 4, 1));
            // every advice column and the instance column take part in copy constraints
            assert!(s.permutation_columns > s.advice_columns);
            assert!(s.predicted_prove_seconds() > 0.0 && s.predicted_prove_mb() > s.predicted_setup_mb());
        }
    }

    #[test]
    fn a_wider_or_taller_circuit_is_predicted_to_cost_more() {
        let at = |lanes, k| Shape::with_rows(&CircuitParams { lanes, k, ..base() }, 10);
        assert!(at(2, 10).predicted_prove_seconds() > at(1, 10).predicted_prove_seconds());
        assert!(at(1, 11).predicted_prove_seconds() > at(1, 10).predicted_prove_seconds());
        assert!(at(2, 10).predicted_prove_mb() > at(1, 10).predicted_prove_mb());
        assert!(at(1, 11).predicted_prove_mb() > at(1, 10).predicted_prove_mb());
    }

    #[test]
    fn the_optimizer_weighs_every_width_and_keeps_the_cheapest_prediction() {
        let g = every_op_graph();
        let choice = choose_layout(&g, &base(), 16, 26, Objective::ProveTime).expect("a layout");
        assert_eq!(choice.candidates.len(), 16);
        let best = choice.candidates.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let chosen = choice.candidates.iter().find(|c| c.0 == choice.chosen).expect("chosen is a candidate");
        assert_eq!(chosen.1, best);
        for (s, _) in &choice.candidates {
            let p = CircuitParams { lanes: s.lanes, ..base() };
            assert_eq!(s.k, min_k(&g, &p), "each width at its smallest k");
        }
        // a tiny graph sits on the table's floor at every width: one lane is cheapest
        assert_eq!(choice.chosen.lanes, 1);
        let naive = choice.minimal_k().expect("candidates");
        assert_eq!((naive.k, naive.lanes), (choice.chosen.k, 16), "minimal k, widest on ties");
    }

    /// Input(32) -> a dense 32x32 Linear -> Rescale: 256 rows of dot products, 64 of range
    /// checks and rescales.
    fn dense_graph() -> Graph {
        let n = 32;
        let weights = (0..n * n + n).map(|i| (i % 7) as i64 - 3).collect();
        let rows = (0..n)
            .map(|r| ((0..n).map(|i| (i as u32, (r * n + i) as u32)).collect(), Some((n * n + r) as u32)))
            .collect();
        Graph {
            nodes: vec![
                node(Op::Input { index: 0 }, n),
                node(linear(0, weights, rows), n),
                node(Op::Rescale { input: 1, shift: 2 }, n),
            ],
            inputs: vec![0],
            outputs: vec![2],
            linked_inputs: false,
        }
    }

    #[test]
    fn the_gas_objective_keeps_the_cheapest_predicted_verifier_within_the_prove_time_bound() {
        let g = dense_graph();
        let base = params(6, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
        assert_eq!(public_value_count(&g, &base), 32, "the outputs are public");
        let fast = choose_layout(&g, &base, 8, 26, Objective::ProveTime).expect("a layout");
        let gas = |s: &Shape| s.predicted_verify_gas(32);
        // every extra lane adds columns to commit to and evaluations to read
        for w in fast.candidates.windows(2) {
            assert!(gas(&w[1].0) > gas(&w[0].0), "{:?} vs {:?}", w[0].0, w[1].0);
        }
        let cheap = choose_layout(&g, &base, 8, 26, Objective::VerifyGas { max_prove_ms: None }).expect("a layout");
        let least = cheap.candidates.iter().map(|c| gas(&c.0)).fold(f64::INFINITY, f64::min);
        assert_eq!(gas(&cheap.chosen), least);
        assert!(gas(&cheap.chosen) <= gas(&fast.chosen));
        // a bound the cheapest layout misses: the cheapest among those within it
        let slowest = cheap.candidates.iter().map(|c| c.1).fold(0.0, f64::max);
        let fastest = cheap.candidates.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let bound = ((fastest + slowest) / 2.0 * 1000.0) as u64;
        let within =
            choose_layout(&g, &base, 8, 26, Objective::VerifyGas { max_prove_ms: Some(bound) }).expect("a layout");
        let secs = within.candidates.iter().find(|c| c.0 == within.chosen).map(|c| c.1).expect("a candidate");
        assert!(secs * 1000.0 <= bound as f64, "{secs}");
        for (s, t) in &within.candidates {
            assert!(t * 1000.0 > bound as f64 || gas(s) >= gas(&within.chosen), "{s:?}");
        }
        // no layout within the bound: the fastest one
        let none = choose_layout(&g, &base, 8, 26, Objective::VerifyGas { max_prove_ms: Some(0) }).expect("a layout");
        assert_eq!(none.chosen, fast.chosen);
    }

    #[test]
    fn the_optimizer_drops_lookups_from_lanes_that_only_hold_dot_products() {
        let g = dense_graph();
        let base = params(6, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
        assert_eq!(job_rows(&g, &base).expect("rows"), [64, 256]);
        let choice = choose_layout(&g, &base, 8, 26, Objective::ProveTime).expect("a layout");
        for (s, secs) in &choice.candidates {
            // the fewest lookup lanes at the k of lookups on every lane, which costs more
            let all = CircuitParams { lanes: s.lanes, lookup_lanes: None, ..base.clone() };
            let k_all = min_k(&g, &all);
            assert_eq!(s.k, k_all, "{s:?}");
            assert_eq!(s.lookups, LOOKUPS_PER_LANE * s.lookup_lanes);
            if s.lookup_lanes < s.lanes {
                let fewer = CircuitParams { k: s.k, lookup_lanes: Some(s.lookup_lanes - 1), ..all.clone() };
                if s.lookup_lanes > 1 {
                    assert!(min_k(&g, &fewer) > s.k, "one lookup lane fewer does not fit k: {s:?}");
                }
                let every = Shape::of(&g, &CircuitParams { k: k_all, ..all }).expect("shape");
                assert!(every.predicted_prove_seconds() > *secs, "{s:?}");
            }
        }
        assert!(choice.chosen.lookup_lanes < choice.chosen.lanes, "{:?}", choice.chosen);
        // pinned lookup lanes stay (at most the width)
        let pinned = CircuitParams { lookup_lanes: Some(2), ..base };
        let choice = choose_layout(&g, &pinned, 4, 26, Objective::ProveTime).expect("a layout");
        let kept: Vec<usize> = choice.candidates.iter().map(|(s, _)| s.lookup_lanes).collect();
        assert_eq!(kept, [1, 2, 2, 2]);
    }

    #[test]
    fn no_width_that_fits_is_an_error_naming_the_bound() {
        let g = every_op_graph();
        let err = choose_layout(&g, &base(), 16, 8, Objective::ProveTime)
            .expect_err("k = 8 cannot hold a 2^8 table and the layout");
        assert_eq!(err, CircuitError::NoLayout { max_k: 8, max_lanes: 16 });
    }
}
