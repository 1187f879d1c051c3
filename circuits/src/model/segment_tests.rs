//! Segments of a split model: linked inputs (the previous segment's outputs, committed, not
//! range-checked) prove; each boundary's output digests equal the next segment's input digests;
//! a changed boundary value or salt cannot claim the linked digest.

use std::sync::Arc;

use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Any;
use zkonnx_ir::{split, Graph, Segment, Visibility};

use super::tests::{every_op_graph, every_op_inputs, params};
use crate::chips::poseidon::ROWS_PER_PERMUTATION;
use crate::layout::FIRST_ROW;
use crate::poseidon::{permutations, Salts};
use crate::{min_k, mutation, public_instances_salted, CircuitError, CircuitParams, ModelCircuit, ADVICE_PER_LANE};

/// The params of segment `j` of `n`: the model's own inputs private, its outputs public, every
/// boundary hashed.
fn segment_params(s: &Segment, j: usize, n: usize) -> CircuitParams {
    let hashed = Visibility::Hashed;
    let input = if j == 0 { Visibility::Private } else { hashed };
    let output = if j + 1 == n { Visibility::Public } else { hashed };
    let mut p =
        CircuitParams { function_table: s.graph.has_lookups(), ..params(8, 1, input, output, Visibility::Fixed) };
    p.k = min_k(&s.graph, &p);
    p
}

/// The salts of boundary `j` (after segment `j`), one per tensor it carries.
fn boundary_salts(j: usize, n: usize) -> Vec<Fr> {
    (0..n).map(|i| Fr::from(1000 * j as u64 + i as u64 + 1)).collect()
}

fn mock(
    g: &Graph,
    inputs: &[Vec<i64>],
    p: &CircuitParams,
    salts: &Salts,
    instances: Vec<Fr>,
) -> Result<(), Vec<VerifyFailure>> {
    let trace = zkonnx_ir::run(g, inputs, p.range_bits()).expect("interpreter");
    let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace)).with_salts(salts.clone());
    assert_eq!(circuit.check(), Ok(()));
    MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify()
}

/// A segment's params, inputs, salts and honest public values.
type Proved = (CircuitParams, Vec<Vec<i64>>, Salts, Vec<Fr>);

/// Each segment's params, inputs, salts and honest public values, proving the split in order.
fn prove_in_order(segments: &[Segment]) -> Vec<Proved> {
    let n = segments.len();
    let mut inputs = every_op_inputs();
    let mut out = Vec::new();
    for (j, s) in segments.iter().enumerate() {
        let p = segment_params(s, j, n);
        let salts = Salts {
            inputs: if j == 0 { vec![] } else { boundary_salts(j - 1, s.graph.inputs.len()) },
            outputs: if j + 1 == n { vec![] } else { boundary_salts(j, s.graph.outputs.len()) },
        };
        let trace = zkonnx_ir::run(&s.graph, &inputs, p.range_bits()).expect("interpreter");
        let instances = public_instances_salted(&s.graph, &p, &trace, &salts);
        out.push((p, inputs.clone(), salts, instances));
        inputs = trace.outputs(&s.graph);
    }
    out
}

#[test]
fn every_segment_proves_and_each_boundary_has_one_digest_on_both_sides() {
    let g = every_op_graph();
    let segments = split(&g, &[3, 6, 11]).expect("split");
    let proved = prove_in_order(&segments);
    for (j, (s, (p, inputs, salts, instances))) in segments.iter().zip(&proved).enumerate() {
        assert_eq!(mock(&s.graph, inputs, p, salts, instances.clone()), Ok(()), "segment {j}");
        if let Some((_, _, _, next)) = proved.get(j + 1) {
            // segment j's public values end with its output digests; the next one's start with its input digests
            let k = s.graph.outputs.len();
            assert_eq!(&instances[instances.len() - k..], &next[..k], "boundary {j}");
        }
    }
    // the last segment's public outputs are the whole model's
    let whole = zkonnx_ir::run(&g, &every_op_inputs(), 8).expect("interpreter");
    let last = proved.last().expect("segments");
    let outputs: Vec<Fr> = whole.outputs(&g).iter().flatten().map(|&v| crate::field_from_i64(v)).collect();
    assert_eq!(&last.3[last.3.len() - outputs.len()..], &outputs[..]);
}

#[test]
fn a_linked_input_may_hold_a_value_beyond_the_range_table() {
    let g = every_op_graph();
    let segments = split(&g, &[2]).expect("split");
    // the middle of a Linear -> Rescale pair: the boundary carries the unrescaled sums
    let s = &segments[1];
    let p = segment_params(s, 1, 2);
    let whole = zkonnx_ir::run(&g, &every_op_inputs(), 8).expect("interpreter");
    // the Linear's sums (tensor 1) at 400, beyond the 8-bit range; its rescale by 4 brings them back
    assert!(s.carries_in.contains(&1));
    let inputs: Vec<Vec<i64>> =
        s.carries_in.iter().map(|&t| if t == 1 { vec![400; 3] } else { whole.values[t].clone() }).collect();
    let salts = Salts { inputs: boundary_salts(0, inputs.len()), outputs: vec![] };
    let trace = zkonnx_ir::run(&s.graph, &inputs, p.range_bits()).expect("a linked input is not range-checked");
    let instances = public_instances_salted(&s.graph, &p, &trace, &salts);
    assert_eq!(mock(&s.graph, &inputs, &p, &salts, instances), Ok(()));
}

/// The failures of a digest that differs from instance row `row`: the instance cell and the
/// digest's cell (`s0` of the commitment's output row `out`).
fn digest_mismatch(p: &CircuitParams, row: usize, out: usize) -> Vec<VerifyFailure> {
    let s0 = ADVICE_PER_LANE * p.lanes;
    let at = |row| FailureLocation::OutsideRegion { row };
    vec![
        VerifyFailure::Permutation { column: (Any::Instance, 0).into(), location: at(row) },
        VerifyFailure::Permutation { column: (Any::advice(), s0).into(), location: at(out) },
    ]
}

fn sorted(mut v: Vec<VerifyFailure>) -> Vec<VerifyFailure> {
    v.sort_by_key(|f| format!("{f:?}"));
    v
}

#[test]
fn another_boundary_value_or_salt_cannot_claim_the_linked_digest() {
    let g = every_op_graph();
    let segments = split(&g, &[6]).expect("split");
    let proved = prove_in_order(&segments);
    let (p, inputs, salts, claimed) = &proved[1];
    let s = &segments[1].graph;
    // the first input is committed first: its digest is the output row of its last permutation
    let out0 = FIRST_ROW + permutations(inputs[0].len()) * ROWS_PER_PERMUTATION - 1;
    // a prover who changes one carried value but claims the digest the previous segment exposed
    let mut other = inputs.clone();
    other[0][0] += 1;
    let trace = zkonnx_ir::run(s, &other, p.range_bits()).expect("interpreter");
    let mut instances = public_instances_salted(s, p, &trace, salts);
    instances[0] = claimed[0];
    let got = sorted(mock(s, &other, p, salts, instances).expect_err("accepted another boundary value"));
    assert!(digest_mismatch(p, 0, out0).iter().all(|f| got.contains(f)), "{got:#?}");
    // the same values under another salt
    let mut wrong = salts.clone();
    wrong.inputs[0] += Fr::from(1);
    assert_eq!(sorted(mock(s, inputs, p, &wrong, claimed.clone()).unwrap_err()), sorted(digest_mismatch(p, 0, out0)));
}

#[test]
fn linked_inputs_that_are_not_hashed_are_refused() {
    let g = every_op_graph();
    let segments = split(&g, &[6]).expect("split");
    let s = &segments[1].graph;
    for vis in [Visibility::Private, Visibility::Public] {
        let mut p = segment_params(&segments[1], 1, 2);
        p.input_visibility = vis;
        let err = ModelCircuit::new(Arc::new(s.clone()), p).check().unwrap_err();
        assert_eq!(err, CircuitError::UnlinkedInputs { visibility: vis });
    }
}

/// The mutation harness over a middle segment (linked inputs in, digests out): every sampled
/// single-cell mutation is caught.
#[test]
fn every_sampled_mutation_of_a_segment_is_caught() {
    let g = every_op_graph();
    let segments = split(&g, &[3, 8]).expect("split");
    let proved = prove_in_order(&segments);
    let (p, inputs, salts, _) = &proved[1];
    let s = &segments[1].graph;
    let trace = zkonnx_ir::run(s, inputs, p.range_bits()).expect("interpreter");
    let r = mutation::run_salted(s, p, &trace, salts, 40, 5).expect("harness runs");
    println!("{r}");
    assert!(r.all_as_expected(), "{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
    assert_eq!(r.instances_tried, r.instances_caught);
}

#[test]
fn node_rows_sum_to_the_one_lane_layout() {
    let g = every_op_graph();
    let p = CircuitParams {
        function_table: true,
        ..params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed)
    };
    let rows = crate::node_rows(&g, &p).expect("rows");
    assert_eq!(rows.len(), g.nodes.len());
    assert_eq!(rows.iter().sum::<usize>() + FIRST_ROW, crate::try_rows_needed(&g, &p).expect("layout"));
    // at any width: the same jobs
    assert_eq!(crate::node_rows(&g, &CircuitParams { lanes: 3, ..p }).expect("rows"), rows);
}
