//! Test support: a circuit that runs one chip script in the model's region, a way to force
//! witness values into cells, and exact-failure assertions for MockProver.

use std::sync::Arc;

use halo2_proofs::circuit::{Cell, Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Any, Circuit, ConstraintSystem, Error};
use zkonnx_ir::{Func, Visibility};

use crate::field::field_from_i64;
use crate::layout::{Assigner, Tamper, FIRST_ROW};
use crate::model::ModelConfig;
use crate::CircuitParams;

/// `lookup_bits` of chip tests: the table is `[-32, 32)`.
pub(crate) const BITS: u32 = 6;
/// `k` of chip tests.
pub(crate) const K: u32 = 8;

/// Lays out a chip's rows; returns the cells to expose as instance rows 0, 1, ...
pub(crate) type Script = dyn Fn(&ModelConfig, &mut Assigner<'_>) -> Result<Vec<Cell>, Error> + Send + Sync;

/// A witness value forced into advice column `a{col}` of `lane` at `row`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Poke {
    pub(crate) lane: usize,
    pub(crate) col: usize,
    pub(crate) row: usize,
    pub(crate) value: Fr,
}

/// `Poke` in lane 0.
pub(crate) fn poke(col: usize, row: usize, value: i64) -> Poke {
    poke_fr(col, row, field_from_i64(value))
}

/// `Poke` in lane 0 of any field element (e.g. one that wraps around the modulus).
pub(crate) fn poke_fr(col: usize, row: usize, value: Fr) -> Poke {
    Poke { lane: 0, col, row, value }
}

/// A circuit with the full model configuration whose region holds only `script`'s rows.
#[derive(Clone)]
pub(crate) struct ChipCircuit {
    pub(crate) params: CircuitParams,
    pub(crate) script: Arc<Script>,
    pub(crate) pokes: Vec<Poke>,
    /// The function table's functions, in tag order (the circuit has the table iff non-empty).
    pub(crate) funcs: Vec<Func>,
}

impl std::fmt::Debug for ChipCircuit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChipCircuit").field("pokes", &self.pokes).finish()
    }
}

/// Chip-test params with `lanes` lanes.
pub(crate) fn params(lanes: usize) -> CircuitParams {
    CircuitParams {
        k: K,
        lookup_bits: BITS,
        range_limbs: 1,
        lanes,
        lookup_lanes: None,
        input_visibility: Visibility::Private,
        output_visibility: Visibility::Public,
        param_visibility: Visibility::Fixed,
        function_table: false,
    }
}

impl Circuit<Fr> for ChipCircuit {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> CircuitParams {
        self.params.clone()
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> ModelConfig {
        ModelConfig::configure(meta, &params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        ModelConfig::configure(meta, &CircuitParams::default())
    }

    fn synthesize(&self, config: ModelConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        config.table.load(&mut layouter)?;
        if let Some((table, _)) = &config.func {
            table.load(&mut layouter, &self.funcs)?;
        }
        let tamper = self
            .pokes
            .iter()
            .map(|p| Tamper {
                column: crate::mutation::lane_columns(&config, p.lane)[p.col],
                row: p.row,
                value: p.value,
            })
            .collect();
        let cells = layouter.assign_region(
            || "model",
            |region| {
                let mut asg = Assigner::new(region, config.lane_plan(0));
                asg.set_tamper(tamper);
                (self.script)(&config, &mut asg)
            },
        )?;
        for (row, cell) in cells.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, row);
        }
        Ok(())
    }
}

/// Runs `script` in MockProver with `pokes` applied and `public` as the instance column.
pub(crate) fn run(script: Arc<Script>, pokes: Vec<Poke>, public: &[i64]) -> Result<(), Vec<VerifyFailure>> {
    run_fr(script, pokes, public.iter().map(|&v| field_from_i64(v)).collect())
}

/// [`run`] with field elements as the instance column.
pub(crate) fn run_fr(script: Arc<Script>, pokes: Vec<Poke>, instance: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    run_funcs(script, vec![], pokes, instance)
}

/// [`run_fr`] in a circuit with the function table of `funcs` (tags 1, 2, ... in order).
pub(crate) fn run_funcs(
    script: Arc<Script>,
    funcs: Vec<Func>,
    pokes: Vec<Poke>,
    instance: Vec<Fr>,
) -> Result<(), Vec<VerifyFailure>> {
    run_params(CircuitParams { function_table: !funcs.is_empty(), ..params(1) }, script, funcs, pokes, instance)
}

/// [`run`] in a two-limb circuit (`range_limbs = 2`: checked values in `[-2^11, 2^11)`).
pub(crate) fn run_wide(script: Arc<Script>, pokes: Vec<Poke>, public: &[i64]) -> Result<(), Vec<VerifyFailure>> {
    let instance = public.iter().map(|&v| field_from_i64(v)).collect();
    run_params(CircuitParams { range_limbs: 2, ..params(1) }, script, vec![], pokes, instance)
}

pub(crate) fn run_params(
    params: CircuitParams,
    script: Arc<Script>,
    funcs: Vec<Func>,
    pokes: Vec<Poke>,
    instance: Vec<Fr>,
) -> Result<(), Vec<VerifyFailure>> {
    let circuit = ChipCircuit { params, script, pokes, funcs };
    let prover = MockProver::run(K, &circuit, vec![instance]).expect("synthesis");
    prover.verify().map_err(|mut fails| {
        fails.iter_mut().for_each(strip_values);
        fails
    })
}

/// Pins `values` as arith constants on the next rows, returning their cells.
pub(crate) fn consts(cfg: &ModelConfig, asg: &mut Assigner<'_>, values: &[i64]) -> Result<Vec<Cell>, Error> {
    values.iter().map(|&v| cfg.arith_chip().constant(asg, field_from_i64(v))).collect()
}

/// Known witness value.
pub(crate) fn known(v: i64) -> Value<Fr> {
    Value::known(field_from_i64(v))
}

/// Drops the cell-value dump of a constraint failure so failures compare exactly otherwise.
fn strip_values(f: &mut VerifyFailure) {
    if let VerifyFailure::ConstraintNotSatisfied { cell_values, .. } = f {
        cell_values.clear();
    }
}

/// Where MockProver reports a gate or lookup failure at absolute `row`. halo2-axiom's regions
/// only record the columns of *fixed* assignments, so a failing expression that reads a fixed
/// column is placed in region 1 ("model"; region 0 is the table) at an offset from the
/// region's first row (`FIRST_ROW`), and one that reads only advice columns is reported by
/// absolute row.
pub(crate) fn at(row: usize, reads_fixed: bool) -> FailureLocation {
    if reads_fixed {
        FailureLocation::InRegion { region: (1, "model").into(), offset: row - FIRST_ROW }
    } else {
        FailureLocation::OutsideRegion { row }
    }
}

/// Gates with one lane, in configure order, and whether each reads a fixed column.
pub(crate) const GATES: [(&str, bool); 6] = [
    ("dot fixed", true),
    ("dot private", true),
    ("arith", true),
    ("rescale", true),
    ("rescale scaled r", true),
    ("max", false),
];
/// Lookups with one lane, in configure order, and whether each input reads a fixed column.
pub(crate) const LOOKUPS: [(&str, bool); 2] = [("rescale r", false), ("relu/max", false)];

/// Gates of a two-limb circuit with one lane, in configure order.
pub(crate) const WIDE_GATES: [(&str, bool); 7] = [
    ("dot fixed", true),
    ("dot private", true),
    ("arith", true),
    ("wide relu", false),
    ("wide max", false),
    ("rescale", true),
    ("rescale scaled r", true),
];
/// Lookups of a two-limb circuit with one lane, in configure order.
pub(crate) const WIDE_LOOKUPS: [(&str, bool); 2] = [("wide hi", false), ("rescale r", false)];

/// Gate `name` (its only constraint) not satisfied at absolute `row`.
pub(crate) fn gate(name: &str, row: usize) -> VerifyFailure {
    gate_in(&GATES, name, row)
}

/// Lookup `name` not satisfied at absolute `row`.
pub(crate) fn lookup(name: &str, row: usize) -> VerifyFailure {
    lookup_in(&LOOKUPS, name, row)
}

/// [`gate`] of a two-limb circuit.
pub(crate) fn wide_gate(name: &str, row: usize) -> VerifyFailure {
    gate_in(&WIDE_GATES, name, row)
}

/// [`lookup`] of a two-limb circuit.
pub(crate) fn wide_lookup(name: &str, row: usize) -> VerifyFailure {
    lookup_in(&WIDE_LOOKUPS, name, row)
}

fn gate_in(gates: &[(&str, bool)], name: &str, row: usize) -> VerifyFailure {
    let index = gates.iter().position(|g| g.0 == name).expect("gate name");
    VerifyFailure::ConstraintNotSatisfied {
        constraint: ((index, name).into(), 0, "").into(),
        location: at(row, gates[index].1),
        cell_values: vec![],
    }
}

fn lookup_in(lookups: &[(&str, bool)], name: &str, row: usize) -> VerifyFailure {
    let lookup_index = lookups.iter().position(|g| g.0 == name).expect("lookup name");
    VerifyFailure::Lookup { name: name.to_string(), lookup_index, location: at(row, lookups[lookup_index].1) }
}

/// A copy constraint broken at advice column `a{col}` (lane 0) at absolute `row`
/// (halo2-axiom's MockProver reports permutation failures by absolute row).
pub(crate) fn copy(col: usize, row: usize) -> VerifyFailure {
    VerifyFailure::Permutation { column: (Any::advice(), col).into(), location: FailureLocation::OutsideRegion { row } }
}

/// A copy constraint broken at instance row `row`.
pub(crate) fn instance(row: usize) -> VerifyFailure {
    VerifyFailure::Permutation { column: (Any::Instance, 0).into(), location: FailureLocation::OutsideRegion { row } }
}

/// Sorts failures into a stable order so lists compare exactly.
pub(crate) fn sorted(mut v: Vec<VerifyFailure>) -> Vec<VerifyFailure> {
    v.sort_by_key(|f| format!("{f:?}"));
    v
}

/// Asserts the run fails with exactly `expected` (in any order).
pub(crate) fn assert_fails(got: Result<(), Vec<VerifyFailure>>, expected: Vec<VerifyFailure>) {
    match got {
        Ok(()) => panic!("expected failures {expected:#?}, but the circuit verified"),
        Err(got) => assert_eq!(sorted(got), sorted(expected)),
    }
}
