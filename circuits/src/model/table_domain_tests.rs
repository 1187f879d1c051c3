//! Function tables narrowed to sampled domains (`zkonnx_ir::tables`): the circuit proves the
//! sampled input with the smaller table, and refuses a witness whose lookup input lies outside
//! the narrowed domain though inside the compiler's, exactly at those lookups.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use zkonnx_ir::{sampled_domains, Graph, Visibility};

use super::tests::{interpolated_graph, params};
use crate::{min_k, public_instances, CircuitParams};

/// The interpolated tanh graph (two tables over knots [-64, 63]) narrowed to what `inputs`
/// reach, with no margin.
fn narrowed(inputs: &[Vec<i64>]) -> Graph {
    let mut g = interpolated_graph();
    let trace = zkonnx_ir::run(&g, inputs, 10).expect("interpreter");
    let domains = sampled_domains(&g, &[trace], 0.0).expect("lookups");
    g.apply_table_domains(&domains).expect("domains fit");
    g
}

fn two_limbs() -> CircuitParams {
    CircuitParams {
        range_limbs: 2,
        function_table: true,
        ..params(5, 1, Visibility::Private, Visibility::Public, Visibility::Fixed)
    }
}

/// MockProver on `graph` with the trace of `witness_graph` (the same graph with wider tables
/// where a test forges a witness the narrowed tables do not hold).
fn mock(graph: &Graph, witness_graph: &Graph, inputs: &[Vec<i64>]) -> Result<(), Vec<VerifyFailure>> {
    let mut p = two_limbs();
    p.k = min_k(graph, &p);
    let trace = zkonnx_ir::run(witness_graph, inputs, p.range_bits()).expect("interpreter");
    let instances = public_instances(graph, &p, &trace);
    let circuit = super::ModelCircuit::with_witness(Arc::new(graph.clone()), p.clone(), Arc::new(trace));
    MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify()
}

#[test]
fn a_narrowed_table_proves_the_sampled_input_in_fewer_rows() {
    let sampled = vec![vec![-40, -3, 77, 100]];
    let g = narrowed(&sampled);
    // knots floor(x / 8) over [-5, 12]: 18 rows per table instead of 128
    let rows: Vec<u64> = g.funcs().iter().filter_map(|f| f.table_rows()).collect();
    assert_eq!(rows, vec![18, 18]);
    assert!(min_k(&g, &two_limbs()) <= min_k(&interpolated_graph(), &two_limbs()));
    assert_eq!(mock(&g, &g, &sampled), Ok(()));
}

#[test]
fn a_witness_outside_the_narrowed_domain_is_refused_at_its_lookups() {
    let g = narrowed(&[vec![-40, -3, 77, 100]]);
    // 511 is in the compiler's domain (knot 63) but not the narrowed one (knots up to 12)
    let beyond = vec![vec![-40, -3, 77, 511]];
    let err = zkonnx_ir::run(&g, &beyond, 10).unwrap_err().to_string();
    assert!(err.contains("outside the table's domain [-5, 12]"), "{err}");
    let failures = mock(&g, &interpolated_graph(), &beyond).unwrap_err();
    // the value and the difference lookup of element 3, and nothing else
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures.iter().all(|f| matches!(f, VerifyFailure::Lookup { name, .. } if name == "func")), "{failures:?}");
}
