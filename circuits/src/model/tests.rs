//! Model-level tests: hand-built graphs with every op, every visibility and several lanes pass
//! MockProver with the interpreter's trace; tampered instances and witnesses fail; random
//! small MLPs agree with the interpreter exactly; row counts match synthesis; keygen works.

use std::sync::{Arc, Mutex};

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Any, Circuit, Column, ConstraintSystem, Error};
use proptest::prelude::*;
use zkonnx_ir::{Arith, ArithKind, Func, FuncKind, Graph, Linear, LinearRow, Node, Op, Trace, Visibility};

use super::{lay_out, ModelCircuit, ModelConfig};
use crate::chips::testing::assert_fails;
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::mutation::Override;
use crate::{instances_from_values, min_k, public_instances, rows_needed, CircuitError, CircuitParams};

pub(crate) fn node(op: Op, len: usize) -> Node {
    Node { name: format!("n{}", op.kind()), origin: "test".into(), op, shape: vec![len], scale: 0 }
}

/// A Linear row as `(terms, bias)`.
type Row = (Vec<(u32, u32)>, Option<u32>);

pub(crate) fn linear(input: usize, weights: Vec<i64>, rows: Vec<Row>) -> Op {
    Op::Linear(Linear {
        input,
        weights,
        rows: rows.into_iter().map(|(terms, bias)| LinearRow { terms, bias }).collect(),
    })
}

/// Every op kind, two inputs, five outputs; includes a repeated weight, an empty dot row, a
/// window of one, a negative Add coefficient, a Gather that repeats an element and two
/// functions looked up in one table (the model needs `function_table`).
pub(crate) fn every_op_graph() -> Graph {
    let nodes = vec![
        node(Op::Input { index: 0 }, 4),
        node(
            linear(
                0,
                vec![2, -1, 3, 1, 4, -6],
                vec![
                    (vec![(0, 0), (1, 1), (2, 2), (3, 3), (0, 4)], Some(5)),
                    (vec![(3, 0), (2, 0)], None),
                    (vec![(1, 4)], Some(5)),
                ],
            ),
            3,
        ),
        node(Op::Rescale { input: 1, shift: 2 }, 3),
        node(Op::Relu { input: 2 }, 3),
        node(Op::Const { values: vec![5, -3, 2] }, 3),
        node(
            Op::Arith(Arith {
                a: 3,
                b: 4,
                pairs: vec![(0, 0), (1, 1), (2, 2)],
                kind: ArithKind::Add { ca: 1, cb: -2 },
            }),
            3,
        ),
        node(Op::Arith(Arith { a: 5, b: 3, pairs: vec![(0, 0), (1, 1), (2, 2)], kind: ArithKind::Mul }), 3),
        node(Op::MaxPool { input: 0, windows: vec![vec![0, 1], vec![2, 3, 1], vec![3]] }, 3),
        node(Op::Gather { input: 6, indices: vec![2, 0, 1, 1] }, 4),
        node(Op::Input { index: 1 }, 2),
        node(linear(9, vec![7, -2], vec![(vec![], Some(0)), (vec![(0, 1), (1, 1)], None), (vec![], None)]), 3),
        scaled(node(Op::Lookup { input: 0, func: Func::new(FuncKind::Exp, 0, 3, -128, 127) }, 4), 3),
        scaled(node(Op::Lookup { input: 2, func: Func::new(FuncKind::Tanh, 0, 4, -128, 127) }, 3), 4),
    ];
    Graph { nodes, inputs: vec![0, 9], outputs: vec![8, 7, 10, 12, 11], linked_inputs: false }
}

fn scaled(mut n: Node, scale: u32) -> Node {
    n.scale = scale;
    n
}

pub(crate) fn every_op_inputs() -> Vec<Vec<i64>> {
    vec![vec![5, -7, 12, 3], vec![4, -2]]
}

pub(crate) fn params(
    lookup_bits: u32,
    lanes: usize,
    input: Visibility,
    output: Visibility,
    param: Visibility,
) -> CircuitParams {
    CircuitParams {
        k: 0,
        lookup_bits,
        range_limbs: 1,
        lanes,
        lookup_lanes: None,
        input_visibility: input,
        output_visibility: output,
        param_visibility: param,
        function_table: false,
    }
}

/// Runs MockProver at `min_k` on the interpreter's trace; returns the prover's verdict.
fn mock(graph: &Graph, inputs: &[Vec<i64>], mut p: CircuitParams) -> Result<(), Vec<VerifyFailure>> {
    p.function_table = graph.has_lookups();
    p.k = min_k(graph, &p);
    let trace = zkonnx_ir::run(graph, inputs, p.range_bits()).expect("interpreter");
    let instances = public_instances(graph, &p, &trace);
    let circuit = ModelCircuit::with_witness(Arc::new(graph.clone()), p.clone(), Arc::new(trace));
    assert_eq!(circuit.check(), Ok(()));
    MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify()
}

#[test]
fn every_op_every_visibility_and_lane_count_verifies() {
    let g = every_op_graph();
    let vis = [Visibility::Private, Visibility::Public];
    for lanes in [1, 2, 3] {
        for param in [Visibility::Fixed, Visibility::Private] {
            for input in vis {
                for output in vis {
                    let p = params(8, lanes, input, output, param);
                    assert_eq!(mock(&g, &every_op_inputs(), p.clone()), Ok(()), "{p:?}");
                }
            }
        }
    }
}

/// Input -> Linear -> Rescale by 2^7 -> Relu -> MaxPool, with sums in the thousands: under
/// `lookup_bits = 5` it needs two-limb range checks (values up to 2^9) and a two-row rescale
/// (a shift over 5).
pub(crate) fn wide_graph() -> Graph {
    let nodes = vec![
        node(Op::Input { index: 0 }, 4),
        node(
            linear(
                0,
                vec![300, -170, 211, 95, -400, 9000],
                vec![
                    (vec![(0, 0), (1, 1), (2, 2), (3, 3)], Some(5)),
                    (vec![(0, 4), (3, 0)], None),
                    (vec![(1, 3), (2, 4)], Some(5)),
                    (vec![(2, 1)], None),
                ],
            ),
            4,
        ),
        node(Op::Rescale { input: 1, shift: 7 }, 4),
        node(Op::Relu { input: 2 }, 4),
        node(Op::MaxPool { input: 2, windows: vec![vec![0, 1], vec![2, 3, 0], vec![1]] }, 3),
    ];
    Graph { nodes, inputs: vec![0], outputs: vec![3, 4], linked_inputs: false }
}

pub(crate) fn wide_inputs() -> Vec<Vec<i64>> {
    vec![vec![37, -50, 12, 99]]
}

#[test]
fn two_limb_range_checks_hold_values_one_limb_cannot() {
    for (g, inputs) in [(wide_graph(), wide_inputs()), (every_op_graph(), every_op_inputs())] {
        assert!(zkonnx_ir::run(&g, &inputs, 5).is_err(), "one limb of 5 bits must not hold these values");
        let vis = [Visibility::Private, Visibility::Public];
        for lanes in [1, 2, 3] {
            for param in [Visibility::Fixed, Visibility::Private] {
                for input in vis {
                    let p = CircuitParams { range_limbs: 2, ..params(5, lanes, input, Visibility::Public, param) };
                    assert_eq!(mock(&g, &inputs, p.clone()), Ok(()), "{p:?}");
                }
            }
        }
    }
}

/// `tanh` interpolated between knots as the compiler lowers a function under two-limb range
/// checks (`S = 6`, knots `2^3` inputs apart, `lookup_bits = 5`): `q = floor(x / 8)` by a
/// rescale of `x - 4`, `r = x - 8q`, then `f(q) + Δf(q)·r` rescaled by 8. The inputs span the
/// whole 10-bit range, which a one-limb 5-bit table could not index.
pub(crate) fn interpolated_graph() -> Graph {
    let knots = Func::new(FuncKind::Tanh, 3, 6, -64, 63);
    let at = |op, len, scale| Node { scale, ..node(op, len) };
    let add = |a, b, ca, cb, pairs: Vec<(u32, u32)>| Op::Arith(Arith { a, b, pairs, kind: ArithKind::Add { ca, cb } });
    let same: Vec<(u32, u32)> = (0..4).map(|i| (i, i)).collect();
    let mut nodes = split_at_knots(3);
    nodes.extend([
        at(Op::Lookup { input: 3, func: knots }, 4, 6),
        at(Op::Lookup { input: 3, func: knots.difference() }, 4, 6),
        at(Op::Arith(Arith { a: 6, b: 4, pairs: same.clone(), kind: ArithKind::Mul }), 4, 9),
        at(add(5, 7, 8, 1, same), 4, 9),
        at(Op::Rescale { input: 8, shift: 3 }, 4, 6),
    ]);
    Graph { nodes, inputs: vec![0], outputs: vec![9], linked_inputs: false }
}

/// The first five nodes of a function split at knots `2^3` inputs apart, over 4 inputs at scale
/// 6: the input, `-4`, `x - 4`, `q = floor(x / 8)` (node 3, by the rescale), and `r = x - 8q`
/// (node 4, labelled `r_scale`).
pub(crate) fn split_at_knots(r_scale: u32) -> Vec<Node> {
    let at = |op, len, scale| Node { scale, ..node(op, len) };
    let add = |a, b, ca, cb, pairs: Vec<(u32, u32)>| Op::Arith(Arith { a, b, pairs, kind: ArithKind::Add { ca, cb } });
    vec![
        at(Op::Input { index: 0 }, 4, 6),
        at(Op::Const { values: vec![-4] }, 1, 6),
        at(add(0, 1, 1, 1, (0..4).map(|i| (i, 0)).collect()), 4, 6),
        at(Op::Rescale { input: 2, shift: 3 }, 4, 3),
        at(add(0, 3, 1, -8, (0..4).map(|i| (i, i)).collect()), 4, r_scale),
    ]
}

pub(crate) fn interpolated_inputs() -> Vec<Vec<i64>> {
    vec![vec![-512, -3, 77, 511]]
}

#[test]
fn interpolated_lookups_verify_and_match_the_interpolation() {
    let g = interpolated_graph();
    let inputs = interpolated_inputs();
    g.validate().expect("valid graph");
    let trace = zkonnx_ir::run(&g, &inputs, 10).expect("interpreter");
    let knots = Func::new(FuncKind::Tanh, 3, 6, -64, 63);
    let f = |q: i64| knots.eval(q);
    for (&x, &y) in inputs[0].iter().zip(&trace.values[9]) {
        let (q, r) = (x.div_euclid(8), x.rem_euclid(8));
        assert_eq!(y, (8 * f(q) + (f(q + 1) - f(q)) * r + 4).div_euclid(8), "x = {x}");
        assert!((y as f64 / 64.0 - (x as f64 / 64.0).tanh()).abs() <= 2.0 / 64.0, "x = {x}: {y}");
    }
    assert!(zkonnx_ir::run(&g, &inputs, 5).is_err(), "one limb of 5 bits must not hold these inputs");
    for lanes in [1, 2] {
        for input in [Visibility::Private, Visibility::Public] {
            let p = CircuitParams { range_limbs: 2, ..params(5, lanes, input, Visibility::Public, Visibility::Fixed) };
            assert_eq!(mock(&g, &inputs, p.clone()), Ok(()), "{p:?}");
        }
    }
}

#[test]
fn instances_are_inputs_then_outputs() {
    let g = every_op_graph();
    let inputs = every_op_inputs();
    let trace = zkonnx_ir::run(&g, &inputs, 8).expect("interpreter");
    let p = params(8, 1, Visibility::Public, Visibility::Public, Visibility::Fixed);
    let expected: Vec<Fr> =
        inputs.iter().flatten().chain(trace.outputs(&g).iter().flatten()).map(|&v| field_from_i64(v)).collect();
    assert_eq!(public_instances(&g, &p, &trace), expected);
    assert_eq!(instances_from_values(&g, &p, &inputs, &trace.outputs(&g), &Default::default()), expected);
    let private_out = params(8, 1, Visibility::Public, Visibility::Private, Visibility::Fixed);
    assert_eq!(public_instances(&g, &private_out, &trace), expected[..6].to_vec());
}

/// Input(3) -> Linear(2) -> Rescale -> Relu; output = the ReLU (a cell nothing else reads).
pub(crate) fn mlp_graph() -> Graph {
    Graph {
        nodes: vec![
            node(Op::Input { index: 0 }, 3),
            node(
                linear(
                    0,
                    vec![3, -2, 5, 1, 1, 4],
                    vec![(vec![(0, 0), (1, 1), (2, 2)], Some(3)), (vec![(0, 4), (2, 5)], None)],
                ),
                2,
            ),
            node(Op::Rescale { input: 1, shift: 1 }, 2),
            node(Op::Relu { input: 2 }, 2),
        ],
        inputs: vec![0],
        outputs: vec![3],
        linked_inputs: false,
    }
}

/// The cells each node's outputs landed in (a dry run of the same layout).
fn cells(graph: &Graph, p: &CircuitParams) -> Vec<Vec<halo2_proofs::circuit::Cell>> {
    let mut cs = ConstraintSystem::default();
    let cfg = ModelConfig::configure(&mut cs, p);
    let mut asg = Assigner::dry(crate::model::lane_plan(&cfg, graph, p).expect("plan"));
    lay_out(&cfg, graph, p, None, &Default::default(), &mut asg).expect("layout").cells
}

#[test]
fn a_wrong_public_output_is_rejected() {
    let g = mlp_graph();
    let inputs = vec![vec![4, -3, 2]];
    for param in [Visibility::Fixed, Visibility::Private] {
        let mut p = params(8, 2, Visibility::Private, Visibility::Public, param);
        p.k = min_k(&g, &p);
        let trace = zkonnx_ir::run(&g, &inputs, 8).expect("interpreter");
        let mut instances = public_instances(&g, &p, &trace);
        assert_eq!(instances.len(), 2);
        instances[1] += Fr::one();
        let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace));
        let got = MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify();
        let out = cells(&g, &p)[3][1];
        let advice = VerifyFailure::Permutation {
            column: out.column.into(),
            location: FailureLocation::OutsideRegion { row: out.row_offset },
        };
        let inst = VerifyFailure::Permutation {
            column: (Any::Instance, 0).into(),
            location: FailureLocation::OutsideRegion { row: 1 },
        };
        assert_fails(got, vec![advice, inst]);
    }
}

#[test]
fn a_wrong_public_input_is_rejected() {
    let g = mlp_graph();
    let inputs = vec![vec![4, -3, 2]];
    let mut p = params(8, 1, Visibility::Public, Visibility::Public, Visibility::Fixed);
    p.k = min_k(&g, &p);
    let trace = zkonnx_ir::run(&g, &inputs, 8).expect("interpreter");
    let mut instances = public_instances(&g, &p, &trace);
    instances[0] = field_from_i64(5);
    let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace));
    let fails = MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify().expect_err("must fail");
    let inst = VerifyFailure::Permutation {
        column: (Any::Instance, 0).into(),
        location: FailureLocation::OutsideRegion { row: 0 },
    };
    assert!(fails.contains(&inst), "{fails:#?}");
    assert!(fails.iter().all(|f| matches!(f, VerifyFailure::Permutation { .. })), "{fails:#?}");
}

#[test]
fn a_model_input_outside_the_table_is_rejected() {
    // Input(1) -> Linear(x * 3), output public. The prover swaps the input for 2^40 and the
    // Linear output for 3 * 2^40 consistently: only the input's range check can object.
    let g = Graph {
        nodes: vec![node(Op::Input { index: 0 }, 1), node(linear(0, vec![3], vec![(vec![(0, 0)], None)]), 1)],
        inputs: vec![0],
        outputs: vec![1],
        linked_inputs: false,
    };
    let mut p = params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
    p.k = min_k(&g, &p);
    let trace = zkonnx_ir::run(&g, &[vec![2]], 8).expect("interpreter");
    let huge = 1i64 << 40;
    let cells = cells(&g, &p);
    let (input, out) = (cells[0][0], cells[1][0]);
    let col_of = |cell: halo2_proofs::circuit::Cell| {
        let mut cs = ConstraintSystem::default();
        let cfg = ModelConfig::configure(&mut cs, &p);
        cfg.lanes[0].a.iter().position(|a| Column::<Any>::from(*a) == cell.column).expect("lane 0 advice")
    };
    let mut pokes = vec![
        Override { lane: 0, column: col_of(input), row: input.row_offset, value: field_from_i64(huge) },
        Override { lane: 0, column: col_of(out), row: out.row_offset, value: field_from_i64(3 * huge) },
    ];
    // the dot row's copy of x must carry the same value (it is copy-constrained to the input)
    let dot_x = Override { lane: 0, column: 0, row: out.row_offset, value: field_from_i64(huge) };
    pokes.push(dot_x);
    let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace)).with_overrides(pokes);
    let instances = vec![field_from_i64(3 * huge)];
    let fails = MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify().expect_err("must fail");
    assert_eq!(
        fails,
        vec![VerifyFailure::Lookup {
            name: "relu/max".into(),
            lookup_index: crate::LOOKUPS_PER_LANE - 1,
            location: FailureLocation::OutsideRegion { row: input.row_offset },
        }]
    );
}

/// Records the rows a real (non-dry) layout used.
#[derive(Clone, Debug)]
struct Probe {
    circuit: ModelCircuit,
    used: Arc<Mutex<usize>>,
}

impl Circuit<Fr> for Probe {
    type Config = ModelConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = CircuitParams;

    fn without_witnesses(&self) -> Self {
        self.clone()
    }

    fn params(&self) -> CircuitParams {
        self.circuit.params.clone()
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: CircuitParams) -> ModelConfig {
        ModelConfig::configure(meta, &params)
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> ModelConfig {
        ModelConfig::configure(meta, &CircuitParams::default())
    }

    fn synthesize(&self, config: ModelConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let c = &self.circuit;
        layouter.assign_region(
            || "model",
            |region| {
                let plan = crate::model::lane_plan(&config, &c.graph, &c.params).map_err(|_| Error::Synthesis)?;
                let mut asg = Assigner::new(region, plan);
                lay_out(&config, &c.graph, &c.params, c.trace.as_deref(), &Default::default(), &mut asg)?;
                *self.used.lock().expect("lock") = asg.rows_used();
                Ok(())
            },
        )
    }
}

/// A graph whose rows, not its table, decide `k`: 40 inputs, two Linear layers, ReLU, max.
pub(crate) fn tall_graph() -> Graph {
    let n = 40;
    let rows1 = (0..n).map(|o| ((0..6).map(|t| (((o + t) % n) as u32, t as u32)).collect(), Some(6))).collect();
    Graph {
        nodes: vec![
            node(Op::Input { index: 0 }, n),
            node(linear(0, vec![1, -1, 2, 0, 1, -2, 3], rows1), n),
            node(Op::Rescale { input: 1, shift: 1 }, n),
            node(Op::Relu { input: 2 }, n),
            node(
                Op::MaxPool { input: 3, windows: (0..n as u32 / 4).map(|w| (4 * w..4 * w + 4).collect()).collect() },
                n / 4,
            ),
        ],
        inputs: vec![0],
        outputs: vec![4],
        linked_inputs: false,
    }
}

#[test]
fn rows_needed_and_min_k_match_synthesis() {
    let g = tall_graph();
    let inputs = vec![(0..40).map(|i| (i % 7) - 3).collect::<Vec<i64>>()];
    let cases = [
        (1, None, Visibility::Fixed),
        (2, None, Visibility::Private),
        (3, None, Visibility::Fixed),
        (3, Some(1), Visibility::Fixed),
        (4, Some(2), Visibility::Private),
    ];
    for (lanes, lookup_lanes, param) in cases {
        let mut p = params(4, lanes, Visibility::Public, Visibility::Public, param);
        p.lookup_lanes = lookup_lanes;
        let trace = Arc::new(zkonnx_ir::run(&g, &inputs, 4).expect("interpreter"));
        let k = min_k(&g, &p);
        p.k = k;
        let used = Arc::new(Mutex::new(0));
        let probe = Probe {
            circuit: ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), trace.clone()),
            used: used.clone(),
        };
        MockProver::run(k, &probe, vec![vec![]]).expect("synthesis");
        assert_eq!(*used.lock().expect("lock"), rows_needed(&g, &p), "lanes = {lanes}, lookup {lookup_lanes:?}");
        // k = min_k fits and verifies; one less does not fit
        let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), trace.clone());
        let instances = public_instances(&g, &p, &trace);
        assert_eq!(MockProver::run(k, &circuit, vec![instances.clone()]).expect("synthesis").verify(), Ok(()));
        let usable = (1usize << k) - 6;
        assert!(rows_needed(&g, &p) <= usable && rows_needed(&g, &p) > usable / 2 - 6, "k is the smallest");
        p.k = k - 1;
        let small = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), trace);
        assert_eq!(
            small.check(),
            Err(CircuitError::TooManyRows { needed: rows_needed(&g, &p), available: (1 << (k - 1)) - 6, k: k - 1 })
        );
        assert!(matches!(
            MockProver::run(k - 1, &small, vec![instances]),
            Err(Error::NotEnoughRowsAvailable { current_k }) if current_k == k - 1
        ));
    }
}

#[test]
fn min_k_leaves_room_for_the_table() {
    let g = mlp_graph();
    let p = params(10, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
    assert!(rows_needed(&g, &p) < 20);
    assert_eq!(min_k(&g, &p), 11);
}

#[test]
fn bad_graphs_and_params_are_named() {
    let mut g = mlp_graph();
    g.nodes[2].op = Op::Rescale { input: 1, shift: 9 };
    let p = CircuitParams { k: 10, ..params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed) };
    let c = ModelCircuit::new(Arc::new(g), p.clone());
    assert!(matches!(c.check(), Err(CircuitError::ShiftTooLarge { node: 2, shift: 9, bits: 8, .. })));
    let c = ModelCircuit::new(Arc::new(mlp_graph()), CircuitParams { k: 8, ..p.clone() });
    assert!(matches!(c.check(), Err(CircuitError::InvalidParams { field: "k", .. })));
    let c =
        ModelCircuit::new(Arc::new(mlp_graph()), CircuitParams { param_visibility: Visibility::Public, ..p.clone() });
    assert!(matches!(c.check(), Err(CircuitError::InvalidParams { field: "param_visibility", .. })));
    for m in [0, 2] {
        let c = ModelCircuit::new(Arc::new(mlp_graph()), CircuitParams { lookup_lanes: Some(m), ..p.clone() });
        assert!(matches!(c.check(), Err(CircuitError::InvalidParams { field: "lookup_lanes", .. })), "{m}");
    }
    let short = Trace { values: vec![vec![1, 2, 3]] };
    let c = ModelCircuit::with_witness(Arc::new(mlp_graph()), p, Arc::new(short));
    assert_eq!(c.check(), Err(CircuitError::TraceMismatch { node: 1, expected: 4, got: 1 }));
}

/// A random two-layer MLP: Input(n) -> Linear(m) -> Rescale -> Relu -> Linear(o) -> Rescale.
fn random_mlp(n: usize, m: usize, o: usize, w1: &[i64], w2: &[i64], s1: u32, s2: u32) -> Graph {
    let dense = |inp: usize, out: usize, base: usize| {
        (0..out)
            .map(|r| {
                (
                    (0..inp).map(|i| (i as u32, (base + r * inp + i) as u32)).collect(),
                    Some((base + out * inp + r) as u32),
                )
            })
            .collect::<Vec<_>>()
    };
    Graph {
        nodes: vec![
            node(Op::Input { index: 0 }, n),
            node(linear(0, w1.to_vec(), dense(n, m, 0)), m),
            node(Op::Rescale { input: 1, shift: s1 }, m),
            node(Op::Relu { input: 2 }, m),
            node(linear(3, w2.to_vec(), dense(m, o, 0)), o),
            node(Op::Rescale { input: 4, shift: s2 }, o),
        ],
        inputs: vec![0],
        outputs: vec![5],
        linked_inputs: false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn random_mlps_prove_the_interpreter_outputs(
        (n, m, o) in (1usize..5, 1usize..5, 1usize..4),
        seed in proptest::collection::vec(-16i64..16, 64),
        x in proptest::collection::vec(-60i64..60, 4),
        (s1, s2) in (0u32..5, 0u32..5),
        lanes in 1usize..4,
        lookup_lanes in 0usize..4,
        private in any::<bool>(),
    ) {
        let w1: Vec<i64> = seed.iter().cycle().take(n * m + m).copied().collect();
        let w2: Vec<i64> = seed.iter().rev().cycle().take(m * o + o).copied().collect();
        let g = random_mlp(n, m, o, &w1, &w2, s1, s2);
        let inputs = vec![x[..n].to_vec()];
        let bits = 10;
        let trace = zkonnx_ir::run(&g, &inputs, bits);
        prop_assume!(trace.is_ok());
        let trace = trace.expect("checked");
        let param = if private { Visibility::Private } else { Visibility::Fixed };
        let mut p = params(bits, lanes, Visibility::Public, Visibility::Public, param);
        p.lookup_lanes = (lookup_lanes > 0).then_some(lookup_lanes.min(lanes));
        p.k = min_k(&g, &p);
        let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace.clone()));
        // the instance is built from the interpreter's values alone: passing means the
        // circuit's output cells equal the interpreter's outputs exactly
        let instances = instances_from_values(&g, &p, &inputs, &trace.outputs(&g), &Default::default());
        prop_assert_eq!(MockProver::run(p.k, &circuit, vec![instances.clone()]).expect("synthesis").verify(), Ok(()));
        // and an output off by one is rejected
        let mut wrong = instances;
        let last = wrong.len() - 1;
        wrong[last] += Fr::one();
        prop_assert!(MockProver::run(p.k, &circuit, vec![wrong]).expect("synthesis").verify().is_err());
    }
}

#[test]
fn keygen_prove_and_verify_with_kzg() {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{
        Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
    };
    use halo2_proofs::SerdeFormat;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    let g = Arc::new(every_op_graph());
    let mut p = params(8, 2, Visibility::Public, Visibility::Public, Visibility::Private);
    p.function_table = true;
    p.k = min_k(&g, &p);
    assert!(p.k <= 10);
    let srs = ParamsKZG::<Bn256>::setup(p.k, ChaCha20Rng::seed_from_u64(7));
    let trace = Arc::new(zkonnx_ir::run(&g, &every_op_inputs(), 8).expect("interpreter"));

    let keygen_circuit = ModelCircuit::new(g.clone(), p.clone());
    let vk = keygen_vk(&srs, &keygen_circuit).expect("vk");
    // the shape does not depend on the witness: the same key comes from the witnessed circuit
    let witnessed = ModelCircuit::with_witness(g.clone(), p.clone(), trace.clone());
    let vk2 = keygen_vk(&srs, &witnessed).expect("vk");
    assert_eq!(vk.to_bytes(SerdeFormat::RawBytes), vk2.to_bytes(SerdeFormat::RawBytes));
    let pk = keygen_pk(&srs, vk, &keygen_circuit).expect("pk");

    let instances = public_instances(&g, &p, &trace);
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &srs,
        &pk,
        &[witnessed],
        &[&[&instances]],
        ChaCha20Rng::seed_from_u64(8),
        &mut transcript,
    )
    .expect("proof");
    let proof = transcript.finalize();

    let verify = |inst: &[Fr]| {
        let mut reader = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(&proof[..]);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            srs.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&srs),
            &[&[inst]],
            &mut reader,
        )
    };
    assert!(verify(&instances).is_ok());
    let mut wrong = instances.clone();
    let last = wrong.len() - 1;
    wrong[last] += Fr::one();
    assert!(verify(&wrong).is_err());
}

#[test]
fn column_and_lookup_budget_per_lane() {
    for lanes in [1, 2, 4] {
        let p = params(8, lanes, Visibility::Private, Visibility::Public, Visibility::Fixed);
        let mut cs = ConstraintSystem::<Fr>::default();
        ModelConfig::configure(&mut cs, &p);
        assert_eq!(cs.num_advice_columns(), crate::ADVICE_PER_LANE * lanes);
        // per lane: f0..f5 plus the two table columns shared by all lanes
        assert_eq!(cs.num_fixed_columns(), crate::FIXED_PER_LANE * lanes + 2);
        assert_eq!(cs.num_selectors(), 6 * lanes);
        assert_eq!(cs.lookups().len(), crate::LOOKUPS_PER_LANE * lanes);
        assert_eq!(cs.gates().len(), 6 * lanes);
        assert_eq!(cs.num_instance_columns(), 1);
        assert_eq!(cs.degree(), 5, "degree-2 lookup inputs; gates are at most 4");
        assert_eq!(cs.blinding_factors() + 1, 6);
        // the function table: three more table columns, one lookup and one selector per lane
        let mut cs = ConstraintSystem::<Fr>::default();
        ModelConfig::configure(&mut cs, &CircuitParams { function_table: true, ..p });
        assert_eq!(cs.num_fixed_columns(), crate::FIXED_PER_LANE * lanes + 2 + 3);
        assert_eq!(cs.num_selectors(), 7 * lanes);
        assert_eq!(cs.lookups().len(), (crate::LOOKUPS_PER_LANE + 1) * lanes);
        assert_eq!(cs.degree(), 5);
    }
    // lanes without lookups keep only the dot and arith gates and selectors
    let p = CircuitParams {
        lookup_lanes: Some(1),
        function_table: true,
        ..params(8, 4, Visibility::Private, Visibility::Public, Visibility::Fixed)
    };
    let mut cs = ConstraintSystem::<Fr>::default();
    ModelConfig::configure(&mut cs, &p);
    assert_eq!(cs.num_advice_columns(), crate::ADVICE_PER_LANE * 4);
    assert_eq!(cs.lookups().len(), crate::LOOKUPS_PER_LANE + 1);
    assert_eq!(cs.num_selectors(), 3 * 4 + 4);
    assert_eq!(cs.degree(), 5);
}

#[test]
fn the_function_table_flag_must_match_the_graph() {
    let g = every_op_graph();
    let mut p = params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
    p.k = 12;
    let err = ModelCircuit::new(Arc::new(g), p.clone()).check().unwrap_err();
    assert_eq!(err, CircuitError::FunctionTableMismatch { has: "has", flag: false });
    let err =
        ModelCircuit::new(Arc::new(mlp_graph()), CircuitParams { function_table: true, ..p }).check().unwrap_err();
    assert_eq!(err, CircuitError::FunctionTableMismatch { has: "has no", flag: true });
}

#[test]
fn the_function_table_counts_toward_k() {
    // 1 + 256 + 256 table rows do not fit 2^9 rows less the blinding rows
    let g = every_op_graph();
    let mut p = params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
    p.function_table = true;
    assert_eq!(min_k(&g, &p), 10);
    p.k = 9;
    let err = ModelCircuit::new(Arc::new(g), p).check().unwrap_err();
    assert!(matches!(err, CircuitError::FunctionTableTooLarge { rows: 513, k: 9, .. }), "{err:?}");
}
