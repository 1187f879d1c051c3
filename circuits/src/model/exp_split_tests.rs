//! `exp` split at knots (see the compiler's `ops::nonlinear::split_exp_fraction`):
//! `x = 2^b·q + r`, `exp(x) = f(q) · g(r)` from a table over the knots and one over the `2^b`
//! fractions. The circuit proves it from existing gates; a forged split (`q + 1`, `r - 2^b`:
//! the same `x`) is refused. A wrong table entry: the mutation harness
//! (`every_mutation_of_a_split_exp_is_caught`) changes each pinned cell, lookup outputs included.

use std::sync::Arc;

use halo2_proofs::dev::{MockProver, VerifyFailure};
use zkonnx_ir::{Arith, ArithKind, Func, FuncKind, Graph, Node, Op, Trace, Visibility};

use super::tests::{node, params, split_at_knots};
use crate::{min_k, public_instances, CircuitParams};

/// The knots: `exp` at input scale 3 (knots `2^3` inputs of scale 6 apart), output scale 6.
fn knots() -> Func {
    Func::new(FuncKind::Exp, 3, 6, -64, 63)
}

/// The fractions `r / 2^6`, `r` in `[0, 8)`.
fn fractions() -> Func {
    Func::new(FuncKind::Exp, 6, 6, 0, 7)
}

/// `exp(x)` of 4 inputs at scale 6 as the compiler lowers it under two-limb range checks
/// (`lookup_bits = 5`): `q = floor(x / 8)` by a rescale of `x - 4`, `r = x - 8q`, then
/// `f(q) · g(r)` rescaled by 6. Node 3 is `q`, 4 is `r`, 8 the output.
pub(crate) fn exp_split_graph() -> Graph {
    let at = |op, len, scale| Node { scale, ..node(op, len) };
    let same: Vec<(u32, u32)> = (0..4).map(|i| (i, i)).collect();
    let mut nodes = split_at_knots(6);
    nodes.extend([
        at(Op::Lookup { input: 3, func: knots() }, 4, 6),
        at(Op::Lookup { input: 4, func: fractions() }, 4, 6),
        at(Op::Arith(Arith { a: 5, b: 6, pairs: same, kind: ArithKind::Mul }), 4, 12),
        at(Op::Rescale { input: 7, shift: 6 }, 4, 6),
    ]);
    Graph { nodes, inputs: vec![0], outputs: vec![8], linked_inputs: false }
}

pub(crate) fn exp_split_inputs() -> Vec<Vec<i64>> {
    vec![vec![-512, -3, 77, 130]]
}

fn two_limbs() -> CircuitParams {
    CircuitParams {
        range_limbs: 2,
        function_table: true,
        ..params(5, 1, Visibility::Private, Visibility::Public, Visibility::Fixed)
    }
}

/// MockProver's verdict on `graph` with `trace` under two-limb range checks of 5-bit limbs.
pub(crate) fn mock(graph: &Graph, trace: Trace) -> Result<(), Vec<VerifyFailure>> {
    let mut p = two_limbs();
    p.k = min_k(graph, &p);
    let instances = public_instances(graph, &p, &trace);
    let circuit = super::ModelCircuit::with_witness(Arc::new(graph.clone()), p.clone(), Arc::new(trace));
    MockProver::run(p.k, &circuit, vec![instances]).expect("synthesis").verify()
}

#[test]
fn a_split_exp_verifies_and_matches_the_product_of_its_tables() {
    let g = exp_split_graph();
    let inputs = exp_split_inputs();
    g.validate().expect("valid graph");
    let trace = zkonnx_ir::run(&g, &inputs, 10).expect("interpreter");
    for (&x, &y) in inputs[0].iter().zip(&trace.values[8]) {
        let (q, r) = (x.div_euclid(8), x.rem_euclid(8));
        assert_eq!(y, (knots().eval(q) * fractions().eval(r) + 32).div_euclid(64), "x = {x}");
        // the two table roundings times the other factor, the product's rounding
        let bound = (f64::from(y as i32) / 64.0 + 2.0) / 128.0;
        assert!((y as f64 / 64.0 - (x as f64 / 64.0).exp()).abs() <= bound, "x = {x}: {y}");
    }
    assert_eq!(mock(&g, trace), Ok(()));
}

/// The prover moves one knot up and the fraction down by a whole step (`q + 1`, `r - 8`: the
/// same `x = 8q + r`), with every later value consistent: the rescale's remainder and the
/// fraction table refuse it.
#[test]
fn a_forged_split_is_refused() {
    let g = exp_split_graph();
    let inputs = exp_split_inputs();
    let mut trace = zkonnx_ir::run(&g, &inputs, 10).expect("interpreter");
    let k = 2; // x = 77: q = 9, r = 5
    trace.values[3][k] += 1;
    trace.values[4][k] -= 8;
    trace.values[5][k] = knots().eval(trace.values[3][k]);
    trace.values[6][k] = fractions().eval(5) * 4; // any value: no row of the table has r = -3
    trace.values[7][k] = trace.values[5][k] * trace.values[6][k];
    trace.values[8][k] = (trace.values[7][k] + 32).div_euclid(64);
    let failures = mock(&g, trace).expect_err("a forged split must not verify");
    // the rescale's remainder (x - 4 - 8·10 = -7) fails its wide range check, the fraction -3
    // its table; the copies of the forged cells disagree with what the rows recompute
    assert_eq!(failed_lookups(&failures), vec!["wide hi", "func"], "{failures:#?}");
    let others = failures.iter().filter(|f| !matches!(f, VerifyFailure::Lookup { .. }));
    assert!(others.clone().all(|f| matches!(f, VerifyFailure::Permutation { .. })), "{failures:#?}");
}

/// Which lookups failed, by name, in order.
pub(crate) fn failed_lookups(failures: &[VerifyFailure]) -> Vec<&str> {
    failures
        .iter()
        .filter_map(|f| match f {
            VerifyFailure::Lookup { name, .. } => Some(name.as_str()),
            _ => None,
        })
        .collect()
}
