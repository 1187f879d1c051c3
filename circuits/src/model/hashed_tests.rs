//! `hashed` visibility in the model circuit: the commitments it exposes, and the proofs it must
//! refuse (a changed weight, input or salt under the same claimed hash, swapped hashes).

use std::sync::Arc;

use halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::Any;
use zkonnx_ir::{Graph, Op, Visibility};

use super::tests::{every_op_graph, every_op_inputs, params};
use crate::chips::poseidon::ROWS_PER_PERMUTATION;
use crate::layout::FIRST_ROW;
use crate::poseidon::{commit_ints, param_values, params_commitment, permutations, Salts};
use crate::{min_k, mutation, public_instances_salted, CircuitParams, JobKind, ModelCircuit, ADVICE_PER_LANE};

fn hashed(input: Visibility, output: Visibility, param: Visibility) -> CircuitParams {
    let mut p = CircuitParams { function_table: true, ..params(8, 2, input, output, param) };
    p.k = min_k(&every_op_graph(), &p);
    p
}

fn salts() -> Salts {
    Salts { inputs: vec![Fr::from(17), Fr::from(4)], outputs: vec![Fr::from(99)] }
}

/// MockProver on `graph`'s honest witness for `inputs`, against `instances`.
fn mock(
    graph: &Graph,
    inputs: &[Vec<i64>],
    p: &CircuitParams,
    salts: &Salts,
    instances: Vec<Fr>,
) -> Result<(), Vec<VerifyFailure>> {
    let trace = zkonnx_ir::run(graph, inputs, p.range_bits()).expect("interpreter");
    let circuit =
        ModelCircuit::with_witness(Arc::new(graph.clone()), p.clone(), Arc::new(trace)).with_salts(salts.clone());
    assert_eq!(circuit.check(), Ok(()));
    MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify()
}

fn honest(graph: &Graph, inputs: &[Vec<i64>], p: &CircuitParams, salts: &Salts) -> Vec<Fr> {
    let trace = zkonnx_ir::run(graph, inputs, p.range_bits()).expect("interpreter");
    public_instances_salted(graph, p, &trace, salts)
}

/// The two failures of a digest that differs from instance row `row`: the instance cell and
/// the digest's cell (`s0` of the output row `out`).
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
fn every_visibility_hashed_proves_and_exposes_the_native_commitments() {
    let (g, x, s) = (every_op_graph(), every_op_inputs(), salts());
    let p = hashed(Visibility::Hashed, Visibility::Hashed, Visibility::Hashed);
    let instances = honest(&g, &x, &p, &s);
    // two input hashes, five output hashes, the params' hash
    assert_eq!(instances.len(), 8);
    assert_eq!(instances[0], commit_ints(&x[0], Fr::from(17)));
    assert_eq!(instances[7], params_commitment(&g));
    assert_eq!(mock(&g, &x, &p, &s, instances), Ok(()));
}

/// A Linear weight and a Const value changed: the same architecture, so the same verifying key,
/// but the proof cannot claim the first model's params hash.
#[test]
fn other_weights_under_the_same_params_hash_are_rejected() {
    let (g, x, s) = (every_op_graph(), every_op_inputs(), Salts::default());
    let p = hashed(Visibility::Private, Visibility::Public, Visibility::Hashed);
    let claimed = honest(&g, &x, &p, &s);
    let out = FIRST_ROW + permutations(param_values(&g).len()) * ROWS_PER_PERMUTATION - 1;
    for change in [1, 4] {
        let mut other = g.clone();
        match &mut other.nodes[change].op {
            Op::Linear(l) => l.weights[0] += 1,
            Op::Const { values } => values[1] -= 1,
            op => panic!("node {change} is {op:?}"),
        }
        let mut instances = honest(&other, &x, &p, &s);
        let last = instances.len() - 1;
        assert_ne!(instances[last], claimed[last]);
        instances[last] = claimed[last];
        let got = mock(&other, &x, &p, &s, instances).expect_err("accepted another model's weights");
        assert_eq!(sorted(got), sorted(digest_mismatch(&p, last, out)), "node {change}");
    }
}

#[test]
fn another_input_a_wrong_salt_or_swapped_hashes_are_rejected() {
    let (g, x, s) = (every_op_graph(), every_op_inputs(), salts());
    let p = hashed(Visibility::Hashed, Visibility::Public, Visibility::Fixed);
    let claimed = honest(&g, &x, &p, &s);
    // input 0's digest is the first commitment laid out, input 1's the second
    let out0 = FIRST_ROW + permutations(x[0].len()) * ROWS_PER_PERMUTATION - 1;
    let out1 = out0 + permutations(x[1].len()) * ROWS_PER_PERMUTATION;
    // one input element changed, everything else as claimed (the outputs do not depend on it)
    let mut other = x.clone();
    other[0][3] += 1;
    let mut instances = honest(&g, &other, &p, &s);
    instances[0] = claimed[0];
    let got = mock(&g, &other, &p, &s, instances.clone());
    let expect = |rows: &[(usize, usize)]| sorted(rows.iter().flat_map(|&(r, o)| digest_mismatch(&p, r, o)).collect());
    let got = sorted(got.expect_err("accepted another input"));
    // the changed element also changes the outputs that read it, which stay as the new trace has them
    assert!(expect(&[(0, out0)]).iter().all(|f| got.contains(f)), "{got:#?}");
    // the salt the hash was made with is not the one in the witness
    let wrong_salt = Salts { inputs: vec![Fr::from(18), Fr::from(4)], ..s.clone() };
    assert_eq!(sorted(mock(&g, &x, &p, &wrong_salt, claimed.clone()).unwrap_err()), expect(&[(0, out0)]));
    // the two inputs' hashes swapped
    let mut swapped = claimed.clone();
    swapped.swap(0, 1);
    assert_eq!(sorted(mock(&g, &x, &p, &s, swapped).unwrap_err()), expect(&[(0, out0), (1, out1)]));
    assert_eq!(mock(&g, &x, &p, &s, claimed), Ok(()));
}

#[test]
fn an_unsalted_hash_is_not_the_salted_one() {
    let x = every_op_inputs();
    assert_ne!(commit_ints(&x[0], Fr::ZERO), commit_ints(&x[0], Fr::ONE));
}

/// The mutation harness over a model with everything hashed: every sampled single-cell mutation
/// of the Poseidon cells (state, work cells, salts, weights, padding) is caught. A single-cell
/// mutation cannot show what re-witnessing a whole permutation could do: salts and weights are
/// bound by the digest alone (Poseidon's collision resistance), padding and the params' salt by
/// copies to a zero cell (`chips::poseidon::tests::padding_is_pinned_to_zero`).
#[test]
fn every_sampled_mutation_of_the_poseidon_cells_is_caught() {
    let (g, x) = (every_op_graph(), every_op_inputs());
    let p = hashed(Visibility::Hashed, Visibility::Hashed, Visibility::Hashed);
    let trace = zkonnx_ir::run(&g, &x, p.range_bits()).expect("interpreter");
    let r = mutation::run(&g, &p, &trace, 60, 11).expect("harness runs");
    println!("{r}");
    assert!(r.all_as_expected(), "{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
    let poseidon = r.kinds.get(&JobKind::Poseidon).expect("poseidon cells");
    assert!(poseidon.tried >= 60, "{r}");
    assert_eq!(r.instances_tried, r.instances_caught);
}
