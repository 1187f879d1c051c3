//! Circuits whose later lanes have no lookup arguments: every graph of the model tests verifies
//! with one or two lookup lanes out of three or four, and every job that needs a lookup lands
//! in a lookup lane.

use std::sync::Arc;

use halo2_proofs::dev::MockProver;
use zkonnx_ir::{Graph, Visibility};

use super::tests::{
    every_op_graph, every_op_inputs, interpolated_graph, interpolated_inputs, params, tall_graph, wide_graph,
    wide_inputs,
};
use super::ModelCircuit;
use crate::mutation::assigned_cells;
use crate::{min_k, public_instances, CircuitParams};

/// The graphs, their inputs, lookup bits and range limbs.
fn cases() -> Vec<(Graph, Vec<Vec<i64>>, u32, u32)> {
    let tall_inputs = vec![(0..40).map(|i| (i % 7) - 3).collect::<Vec<i64>>()];
    vec![
        (every_op_graph(), every_op_inputs(), 8, 1),
        (every_op_graph(), every_op_inputs(), 5, 2),
        (wide_graph(), wide_inputs(), 5, 2),
        (interpolated_graph(), interpolated_inputs(), 5, 2),
        (tall_graph(), tall_inputs, 4, 1),
    ]
}

#[test]
fn lanes_without_lookups_verify_and_hold_no_lookup_job() {
    for (g, inputs, bits, limbs) in cases() {
        for (lanes, lookup) in [(3, 1), (3, 2), (4, 1)] {
            let mut p = CircuitParams {
                range_limbs: limbs,
                lookup_lanes: Some(lookup),
                function_table: g.has_lookups(),
                ..params(bits, lanes, Visibility::Private, Visibility::Public, Visibility::Fixed)
            };
            p.k = min_k(&g, &p);
            let trace = zkonnx_ir::run(&g, &inputs, p.range_bits()).expect("interpreter");
            let instances = public_instances(&g, &p, &trace);
            let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), p.clone(), Arc::new(trace.clone()));
            assert_eq!(circuit.check(), Ok(()));
            let verdict = MockProver::run(p.k, &circuit, vec![instances.clone()]).expect("synthesis").verify();
            assert_eq!(verdict, Ok(()), "{p:?}");
            let cells = assigned_cells(&g, &p, Some(&trace)).expect("layout");
            for c in &cells {
                assert!(!c.kind.uses_lookups() || c.lane < lookup, "{:?} in lane {} of {p:?}", c.kind, c.lane);
            }
            assert!(cells.iter().any(|c| c.lane >= lookup), "some job in a lane without lookups: {p:?}");
            // a wrong output is still rejected
            let mut wrong = instances;
            let last = wrong.len() - 1;
            wrong[last] += crate::Fr::one();
            assert!(MockProver::run(p.k, &circuit, vec![wrong]).expect("synthesis").verify().is_err());
        }
    }
}
