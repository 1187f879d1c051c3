//! [`ModelCircuit`]: the whole IR graph as one halo2 circuit.

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{Circuit, Column, ConstraintSystem, Error, Instance};
use zkonnx_ir::limits::{MAX_LANES, MAX_LOOKUP_BITS};
use zkonnx_ir::{Graph, Op, Trace, Visibility};

use crate::chips::arith::{ArithChip, ArithConfig};
use crate::chips::dot::{DotChip, DotConfig};
use crate::chips::func::{FuncChip, FuncConfig, FuncTableConfig};
use crate::chips::poseidon::PoseidonConfig;
use crate::chips::relu_max::{ReluMaxChip, ReluMaxConfig};
use crate::chips::rescale::{RescaleChip, RescaleConfig};
use crate::chips::table::TableConfig;
use crate::chips::wide::{WideChip, WideConfig};
use crate::chips::{LaneColumns, RangeChip};
use crate::layout::{Assigner, LanePlan};
use crate::layouts::{self, Ctx, Pinned};
use crate::poseidon::Salts;
use crate::{CircuitError, CircuitParams};

/// Columns, selectors, gates and lookups of a model circuit (see the crate docs for the layout).
#[derive(Clone, Debug)]
pub struct ModelConfig {
    pub(crate) lanes: Vec<LaneColumns>,
    pub(crate) dot: Vec<DotConfig>,
    pub(crate) arith: Vec<ArithConfig>,
    pub(crate) rescale: Vec<RescaleConfig>,
    /// One-limb range checks: each lane's relu/max lookup (empty with two limbs).
    pub(crate) relu_max: Vec<ReluMaxConfig>,
    /// Two-limb range checks: each lane's RANGE/MAX rows (empty with one limb).
    pub(crate) wide: Vec<WideConfig>,
    pub(crate) table: TableConfig,
    /// The function table and each lane's function lookup (only with `params.function_table`).
    pub(crate) func: Option<(FuncTableConfig, Vec<FuncConfig>)>,
    pub(crate) instance: Column<Instance>,
    /// The Poseidon chip (only with a `hashed` visibility).
    pub(crate) poseidon: Option<PoseidonConfig>,
    /// Rows at the end of the circuit halo2 keeps for blinding (`blinding_factors + 1`).
    pub(crate) reserved_rows: usize,
}

impl ModelConfig {
    /// Configures `params.lanes` lanes (at least one) and the shared table and instance column.
    pub(crate) fn configure(meta: &mut ConstraintSystem<Fr>, params: &CircuitParams) -> Self {
        // out-of-range params are rejected by `CircuitParams::validate` before synthesis;
        // clamping here only keeps `configure` itself from panicking on them
        let table = TableConfig::configure(meta, params.lookup_bits.clamp(2, MAX_LOOKUP_BITS), params.wide());
        let n = params.lanes.clamp(1, MAX_LANES);
        let lanes: Vec<LaneColumns> = (0..n).map(|_| LaneColumns::configure(meta)).collect();
        let dot = lanes.iter().map(|&c| DotConfig::configure(meta, c)).collect();
        let arith = lanes.iter().map(|&c| ArithConfig::configure(meta, c)).collect();
        // only the first `lookup_lanes` lanes get the chips with lookups
        let with_lookups = &lanes[..params.lookup_lane_count()];
        let wide: Vec<WideConfig> = if params.wide() {
            with_lookups.iter().map(|&c| WideConfig::configure(meta, c, &table)).collect()
        } else {
            vec![]
        };
        let rescale: Vec<RescaleConfig> = with_lookups
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let low_limbs = wide.get(i).map_or(vec![], |w| vec![w.q_relu, w.q_max]);
                RescaleConfig::configure(meta, c, &table, &low_limbs)
            })
            .collect();
        let relu_max = if params.wide() {
            vec![]
        } else {
            with_lookups.iter().zip(&rescale).map(|(&c, r)| ReluMaxConfig::configure(meta, c, &table, r.q)).collect()
        };
        let func = params.function_table.then(|| {
            let t = FuncTableConfig::configure(meta);
            (t, with_lookups.iter().map(|&c| FuncConfig::configure(meta, c, &t)).collect())
        });
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        let poseidon = params.hashes().then(|| PoseidonConfig::configure(meta));
        let reserved_rows = meta.blinding_factors() + 1;
        Self { lanes, dot, arith, rescale, relu_max, wide, table, func, instance, poseidon, reserved_rows }
    }

    pub(crate) fn dot_chip(&self) -> DotChip<'_> {
        DotChip::new(&self.dot)
    }

    pub(crate) fn arith_chip(&self) -> ArithChip<'_> {
        ArithChip::new(&self.arith)
    }

    pub(crate) fn rescale_chip(&self) -> RescaleChip<'_> {
        RescaleChip::new(&self.rescale, self.table.wide.then(|| WideChip::new(&self.wide)))
    }

    /// ReLU, max and range checks, with one limb or two (`CircuitParams::range_limbs`).
    pub(crate) fn range_chip(&self) -> RangeChip<'_> {
        if self.table.wide {
            RangeChip::TwoLimbs(WideChip::new(&self.wide))
        } else {
            RangeChip::OneLimb(ReluMaxChip::new(&self.relu_max))
        }
    }

    /// The function lookup chip (`None` without the function table).
    pub(crate) fn func_chip(&self) -> Option<FuncChip<'_>> {
        self.func.as_ref().map(|(_, lanes)| FuncChip::new(lanes))
    }

    /// How the allocator splits the lanes, for a layout of `lookup_rows` rows of lookup jobs.
    pub(crate) fn lane_plan(&self, lookup_rows: usize) -> LanePlan {
        LanePlan { lanes: self.lanes.len(), lookup_lanes: self.rescale.len(), lookup_rows }
    }

    /// Rows of a `2^k` circuit the layout and the table may use.
    pub(crate) fn usable_rows(&self, k: u32) -> usize {
        (1usize << k).saturating_sub(self.reserved_rows)
    }
}

/// A model's inference as a halo2 circuit. Without a trace it is the keygen circuit; its shape
/// never depends on the witness.
#[derive(Clone, Debug)]
pub struct ModelCircuit {
    graph: Arc<Graph>,
    params: CircuitParams,
    trace: Option<Arc<Trace>>,
    /// The salts of hashed inputs and outputs (part of the witness).
    salts: Salts,
    /// Test hook: witness values forced into cells (see [`ModelCircuit::with_overrides`]).
    #[cfg(any(test, feature = "testing"))]
    overrides: Vec<crate::mutation::Override>,
}

impl ModelCircuit {
    /// The circuit without a witness (for key generation).
    pub fn new(graph: Arc<Graph>, params: CircuitParams) -> Self {
        Self {
            graph,
            params,
            trace: None,
            salts: Salts::default(),
            #[cfg(any(test, feature = "testing"))]
            overrides: vec![],
        }
    }

    /// The circuit with the interpreter's trace of one inference as its witness.
    pub fn with_witness(graph: Arc<Graph>, params: CircuitParams, trace: Arc<Trace>) -> Self {
        Self {
            graph,
            params,
            trace: Some(trace),
            salts: Salts::default(),
            #[cfg(any(test, feature = "testing"))]
            overrides: vec![],
        }
    }

    /// Test hook (`testing` feature only): the same circuit, with each override's value
    /// replacing whatever synthesis would write to that advice cell (a cell the layout leaves
    /// unassigned is assigned the value). This is how a malicious prover's witness is modelled.
    #[cfg(any(test, feature = "testing"))]
    pub fn with_overrides(mut self, overrides: Vec<crate::mutation::Override>) -> Self {
        self.overrides = overrides;
        self
    }

    /// The same circuit with the salts of its hashed inputs and outputs.
    pub fn with_salts(mut self, salts: Salts) -> Self {
        self.salts = salts;
        self
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The circuit params.
    pub fn circuit_params(&self) -> &CircuitParams {
        &self.params
    }

    /// Everything synthesis would reject, with a structured error: bad params, a malformed
    /// graph, an op without a layout, a rescale shift over `lookup_bits`, a trace of the wrong
    /// shape, or a layout or table that does not fit `2^k` rows.
    pub fn check(&self) -> Result<(), CircuitError> {
        let mut cs = ConstraintSystem::default();
        let cfg = ModelConfig::configure(&mut cs, &self.params);
        check(&cfg, &self.graph, &self.params, self.trace.as_deref()).map(|_| ())
    }
}

/// See [`ModelCircuit::check`]; `cfg` must come from `params`. Returns the allocator's plan,
/// which synthesis lays out with.
pub(crate) fn check(
    cfg: &ModelConfig,
    graph: &Graph,
    params: &CircuitParams,
    trace: Option<&Trace>,
) -> Result<LanePlan, CircuitError> {
    params.validate()?;
    check_graph(graph, params)?;
    if let Some(trace) = trace {
        if trace.values.len() != graph.nodes.len() {
            let (expected, got) = (graph.nodes.len(), trace.values.len());
            return Err(CircuitError::TraceMismatch { node: expected.min(got), expected, got });
        }
        for (node, (n, v)) in graph.nodes.iter().zip(&trace.values).enumerate() {
            if n.len() != v.len() {
                return Err(CircuitError::TraceMismatch { node, expected: n.len(), got: v.len() });
            }
        }
    }
    let (k, available) = (params.k, cfg.usable_rows(params.k));
    if TableConfig::rows(params.lookup_bits) > available {
        return Err(CircuitError::TableTooLarge { lookup_bits: params.lookup_bits, available, k });
    }
    let func_rows = function_table_rows(graph, params)?;
    if func_rows > available {
        return Err(CircuitError::FunctionTableTooLarge { rows: func_rows, available, k });
    }
    let (rows, plan) = dry_run(cfg, graph, params)?;
    let needed = rows.max(num_instances(graph, params));
    if needed > available {
        return Err(CircuitError::TooManyRows { needed, available, k });
    }
    Ok(plan)
}

/// Graph-level checks that do not need a constraint system.
pub(crate) fn check_graph(graph: &Graph, params: &CircuitParams) -> Result<(), CircuitError> {
    graph.validate()?;
    if graph.linked_inputs && params.input_visibility != Visibility::Hashed {
        return Err(CircuitError::UnlinkedInputs { visibility: params.input_visibility });
    }
    if graph.has_lookups() != params.function_table {
        let has = if graph.has_lookups() { "has" } else { "has no" };
        return Err(CircuitError::FunctionTableMismatch { has, flag: params.function_table });
    }
    for (node, n) in graph.nodes.iter().enumerate() {
        if let Op::Rescale { shift, .. } = n.op {
            if shift > params.range_bits() {
                return Err(CircuitError::ShiftTooLarge {
                    node,
                    name: n.name.clone(),
                    shift,
                    bits: params.range_bits(),
                });
            }
        }
    }
    Ok(())
}

/// Rows of the function table (0 without one); the graph must be valid.
pub(crate) fn function_table_rows(graph: &Graph, params: &CircuitParams) -> Result<usize, CircuitError> {
    if !params.function_table {
        return Ok(0);
    }
    let too_large = CircuitError::FunctionTableTooLarge { rows: usize::MAX, available: 0, k: params.k };
    FuncTableConfig::rows(&graph.funcs()).ok_or(too_large)
}

/// Number of public values (instance rows).
pub(crate) fn num_instances(graph: &Graph, params: &CircuitParams) -> usize {
    let count = |ids: &[usize], vis: Visibility| {
        ids.iter().map(|&t| vis.public_values(graph.nodes.get(t).map_or(0, |n| n.len()))).sum::<usize>()
    };
    count(&graph.inputs, params.input_visibility)
        + count(&graph.outputs, params.output_visibility)
        + usize::from(params.param_visibility == Visibility::Hashed)
}

/// Rows the layout uses, and the allocator's plan: the same walk as synthesis, without a region.
pub(crate) fn dry_run(
    cfg: &ModelConfig,
    graph: &Graph,
    params: &CircuitParams,
) -> Result<(usize, LanePlan), CircuitError> {
    let plan = lane_plan(cfg, graph, params)?;
    Ok((dry_run_planned(cfg, graph, params, plan)?, plan))
}

/// Rows the layout uses under a known plan (see [`lane_plan`]).
pub(crate) fn dry_run_planned(
    cfg: &ModelConfig,
    graph: &Graph,
    params: &CircuitParams,
    plan: LanePlan,
) -> Result<usize, CircuitError> {
    let mut asg = Assigner::dry(plan);
    lay_out(cfg, graph, params, None, &Salts::default(), &mut asg).map_err(layout_error)?;
    Ok(asg.rows_used())
}

/// The lane rows each node's jobs take (the same whatever the lanes; the Poseidon chip's rows,
/// which have their own counter, are not in them).
pub(crate) fn node_rows(cfg: &ModelConfig, graph: &Graph, params: &CircuitParams) -> Result<Vec<usize>, CircuitError> {
    let mut asg = Assigner::dry(cfg.lane_plan(0));
    asg.record_marks();
    lay_out(cfg, graph, params, None, &Salts::default(), &mut asg).map_err(layout_error)?;
    let marks = asg.take_marks();
    Ok(marks.iter().scan(0, |prev, &m| Some(m - std::mem::replace(prev, m))).collect())
}

/// Rows of the layout's jobs with lookups and of the others (the same whatever the lanes).
pub(crate) fn job_rows(cfg: &ModelConfig, graph: &Graph, params: &CircuitParams) -> Result<[usize; 2], CircuitError> {
    let mut asg = Assigner::dry(cfg.lane_plan(0));
    lay_out(cfg, graph, params, None, &Salts::default(), &mut asg).map_err(layout_error)?;
    Ok(asg.counted())
}

/// The allocator's plan: where some lanes have no lookups, a first walk counts the rows of the
/// lookup jobs, which the allocator keeps free in the lookup lanes.
pub(crate) fn lane_plan(cfg: &ModelConfig, graph: &Graph, params: &CircuitParams) -> Result<LanePlan, CircuitError> {
    if cfg.rescale.len() >= cfg.lanes.len() {
        return Ok(cfg.lane_plan(0));
    }
    Ok(cfg.lane_plan(job_rows(cfg, graph, params)?[0]))
}

fn layout_error(e: Error) -> CircuitError {
    CircuitError::Layout { reason: format!("{e:?}") }
}

/// What [`lay_out`] laid out: each node's output cells and the digests of what is hashed.
#[derive(Clone, Debug)]
pub(crate) struct Laid {
    pub(crate) cells: Vec<Vec<Cell>>,
    /// Per input, with hashed inputs.
    pub(crate) input_digests: Vec<Cell>,
    /// Per output, with hashed outputs.
    pub(crate) output_digests: Vec<Cell>,
    /// With hashed params.
    pub(crate) params_digest: Option<Cell>,
}

impl Laid {
    /// The cells tied to instance rows 0, 1, ... in order (see [`crate::public_instances`]).
    pub(crate) fn public_cells(&self, graph: &Graph, params: &CircuitParams) -> Vec<Cell> {
        let mut out = Vec::new();
        let mut section = |ids: &[usize], vis: Visibility, digests: &[Cell]| match vis {
            Visibility::Public => out.extend(ids.iter().flat_map(|&t| self.cells[t].iter().copied())),
            Visibility::Hashed => out.extend_from_slice(digests),
            // private and fixed tensors (and any visibility added later) expose nothing
            _ => {}
        };
        section(&graph.inputs, params.input_visibility, &self.input_digests);
        section(&graph.outputs, params.output_visibility, &self.output_digests);
        out.extend(self.params_digest);
        out
    }
}

/// Walks the graph in order, laying out every node, then commits what is hashed.
pub(crate) fn lay_out(
    cfg: &ModelConfig,
    graph: &Graph,
    params: &CircuitParams,
    trace: Option<&Trace>,
    salts: &Salts,
    asg: &mut Assigner<'_>,
) -> Result<Laid, Error> {
    let cells = Vec::with_capacity(graph.nodes.len());
    let mut cx = Ctx { cfg, params, graph, trace, cells, pinned: None, funcs: graph.funcs(), param_cells: vec![] };
    let mut params_digest = None;
    if params.param_visibility == Visibility::Hashed {
        let (cells, digest) = layouts::hashed::params(&cx, asg)?;
        cx.param_cells = cells;
        params_digest = Some(digest);
    }
    // a segment's inputs: committed first, their cells the chip's (see `hashed::linked_inputs`)
    let (linked, linked_digests) = if graph.linked_inputs {
        let (cells, digests) = layouts::hashed::linked_inputs(&cx, asg, |i| salts.input(i))?;
        (Some(cells), digests)
    } else {
        (None, vec![])
    };
    let private_linear = params.private_params() && graph.nodes.iter().any(|n| matches!(n.op, Op::Linear(_)));
    if private_linear || graph.nodes.iter().any(|n| matches!(n.op, Op::MatMul { .. })) {
        let arith = cfg.arith_chip();
        let zero = arith.constant(asg, Fr::ZERO)?;
        let one = arith.constant(asg, Fr::ONE)?;
        cx.pinned = Some(Pinned { zero, one });
    }
    for (id, node) in graph.nodes.iter().enumerate() {
        let cells = match &node.op {
            Op::Input { index } => match linked.as_ref() {
                Some(cells) => cells.get(*index).cloned().ok_or(Error::Synthesis)?,
                None => layouts::input::input(&cx, asg, id)?,
            },
            Op::Const { values } => match cx.param_cells.get(id) {
                Some(cells) => cells.clone(),
                None => layouts::constant::constant(&cx, asg, values)?,
            },
            Op::Linear(l) => layouts::linear::linear(&cx, asg, l, cx.param_cells.get(id))?,
            Op::Arith(a) => layouts::arith::arith(&cx, asg, a)?,
            Op::Rescale { input, shift } => layouts::rescale::rescale(&cx, asg, *input, *shift)?,
            Op::Relu { input } => layouts::activation::relu(&cx, asg, *input)?,
            Op::MaxPool { input, windows } => layouts::activation::max_pool(&cx, asg, *input, windows)?,
            Op::Gather { input, indices } => layouts::shape::gather(&cx, *input, indices),
            Op::Select { inputs, picks } => layouts::shape::select(&cx, inputs, picks),
            Op::MatMul { a, b, rows } => layouts::linear::matmul(&cx, asg, *a, *b, rows)?,
            Op::Lookup { input, func } => layouts::lookup::lookup(&cx, asg, *input, func)?,
        };
        cx.cells.push(cells);
        asg.mark();
    }
    let input_digests = if graph.linked_inputs {
        linked_digests
    } else if params.input_visibility == Visibility::Hashed {
        layouts::hashed::tensors(&cx, asg, &graph.inputs, |i| salts.input(i))?
    } else {
        vec![]
    };
    let output_digests = if params.output_visibility == Visibility::Hashed {
        layouts::hashed::tensors(&cx, asg, &graph.outputs, |i| salts.output(i))?
    } else {
        vec![]
    };
    Ok(Laid { cells: cx.cells, input_digests, output_digests, params_digest })
}

fn to_halo2(e: CircuitError, k: u32) -> Error {
    match e {
        CircuitError::TooManyRows { .. } | CircuitError::TableTooLarge { .. } => {
            Error::NotEnoughRowsAvailable { current_k: k }
        }
        _ => Error::Synthesis,
    }
}

impl Circuit<Fr> for ModelCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        Self::new(Arc::clone(&self.graph), self.params.clone())
    }

    fn params(&self) -> CircuitParams {
        self.params.clone()
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> ModelConfig {
        ModelConfig::configure(meta, &params)
    }

    /// Only reachable without `circuit-params`; configures the default params.
    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        ModelConfig::configure(meta, &CircuitParams::default())
    }

    fn synthesize(&self, config: ModelConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let trace = self.trace.as_deref();
        let plan = check(&config, &self.graph, &self.params, trace).map_err(|e| to_halo2(e, self.params.k))?;
        config.table.load(&mut layouter)?;
        if let Some((table, _)) = &config.func {
            table.load(&mut layouter, &self.graph.funcs())?;
        }
        let laid = layouter.assign_region(
            || "model",
            |region| {
                let mut asg = Assigner::new(region, plan);
                #[cfg(any(test, feature = "testing"))]
                asg.set_tamper(crate::mutation::tamper(&config, &self.overrides)?);
                let laid = lay_out(&config, &self.graph, &self.params, trace, &self.salts, &mut asg)?;
                #[cfg(any(test, feature = "testing"))]
                asg.assign_leftover_tamper();
                Ok(laid)
            },
        )?;
        // public inputs (or their digests), then public outputs (or theirs), then the params'
        for (row, cell) in laid.public_cells(&self.graph, &self.params).into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, row);
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod exp_split_tests;
#[cfg(test)]
pub(crate) mod fine_region_tests;
#[cfg(test)]
mod hashed_tests;
#[cfg(test)]
mod lookup_lane_tests;
#[cfg(test)]
mod segment_tests;
#[cfg(test)]
mod table_domain_tests;
#[cfg(test)]
pub(crate) mod tests;
