//! The harness on hand-built graphs with every op kind, both param visibilities and 1 and 2
//! lanes: every mutation of a constrained cell is caught and every allow-listed cell is free.

use zkonnx_ir::{Graph, Visibility};

use super::{assigned_cells, run, unconstrained, AssignedCellInfo, MutationReport, UNCONSTRAINED};
use crate::model::tests::{
    every_op_graph, every_op_inputs, interpolated_graph, interpolated_inputs, params, wide_graph, wide_inputs,
};
use crate::{min_k, CircuitParams, JobKind};

fn report(lanes: usize, param: Visibility, input: Visibility, per_kind: usize) -> (CircuitParams, MutationReport) {
    let g = every_op_graph();
    let mut p = params(8, lanes, input, Visibility::Public, param);
    p.function_table = true;
    p.k = min_k(&g, &p);
    let trace = zkonnx_ir::run(&g, &every_op_inputs(), p.range_bits()).expect("interpreter");
    (p.clone(), run(&g, &p, &trace, per_kind, 7).expect("harness runs"))
}

#[test]
fn every_mutation_of_every_op_kind_is_caught() {
    for lanes in [1, 2] {
        for param in [Visibility::Fixed, Visibility::Private] {
            for input in [Visibility::Private, Visibility::Public] {
                // exhaustive on one lane with private inputs, a sample elsewhere
                let per_kind = if lanes == 1 && input == Visibility::Private { usize::MAX } else { 4 };
                let (p, r) = report(lanes, param, input, per_kind);
                println!("lanes {lanes}, params {param:?}, inputs {input:?}, per kind {per_kind}\n{r}\n");
                assert!(r.all_as_expected(), "{p:?}\n{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
                let kinds: Vec<JobKind> = r.kinds.keys().copied().collect();
                let dot = if param == Visibility::Fixed { JobKind::DotFixed } else { JobKind::DotPrivate };
                let every = [
                    dot,
                    JobKind::Arith,
                    JobKind::Constant,
                    JobKind::Rescale,
                    JobKind::Relu,
                    JobKind::Max,
                    JobKind::Lookup,
                ];
                for k in every {
                    assert!(kinds.contains(&k), "{k:?} missing: {kinds:?}");
                    assert!(r.kinds[&k].tried > 0, "{k:?} not mutated");
                }
                assert!(kinds.contains(&JobKind::InputRange));
                assert_eq!(r.instances_tried, r.instances_caught);
                assert!(r.instances_tried >= 10, "every public output is mutated");
                if per_kind == usize::MAX {
                    let s: usize = r.kinds.values().map(|s| s.cells - s.allowed).sum();
                    assert_eq!(r.kinds.values().map(|s| s.tried).sum::<usize>(), 3 * s, "every pinned cell, 3 deltas");
                }
            }
        }
    }
}

#[test]
fn every_mutation_of_the_two_limb_rows_is_caught() {
    for (g, inputs) in [(wide_graph(), wide_inputs()), (every_op_graph(), every_op_inputs())] {
        for lanes in [1, 2] {
            let mut p = CircuitParams {
                range_limbs: 2,
                ..params(5, lanes, Visibility::Private, Visibility::Public, Visibility::Fixed)
            };
            p.function_table = g.has_lookups();
            p.k = min_k(&g, &p);
            let trace = zkonnx_ir::run(&g, &inputs, p.range_bits()).expect("interpreter");
            let per_kind = if lanes == 1 { usize::MAX } else { 4 };
            let r = run(&g, &p, &trace, per_kind, 7).expect("harness runs");
            println!("two limbs, lanes {lanes}, {} nodes\n{r}\n", g.nodes.len());
            assert!(r.all_as_expected(), "{p:?}\n{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
            for k in [JobKind::WideRescale, JobKind::WideRelu, JobKind::WideMax, JobKind::WideRange] {
                assert!(r.kinds.get(&k).is_some_and(|s| s.tried > 0), "{k:?} not mutated: {r}");
            }
            for k in [JobKind::Rescale, JobKind::Relu, JobKind::Max, JobKind::InputRange] {
                assert!(!r.kinds.contains_key(&k), "a one-limb {k:?} row in a two-limb circuit");
            }
            assert_eq!(r.instances_tried, r.instances_caught);
        }
    }
}

/// The harness over every cell of `g` (a function lookup split at knots) under two-limb range
/// checks: all mutations caught, each of `kinds` tried, every instance mutation caught.
fn all_caught_at_knots(label: &str, g: &Graph, inputs: &[Vec<i64>], lanes: usize, kinds: &[JobKind]) {
    let mut p = CircuitParams {
        range_limbs: 2,
        ..params(5, lanes, Visibility::Private, Visibility::Public, Visibility::Fixed)
    };
    p.function_table = true;
    p.k = min_k(g, &p);
    let trace = zkonnx_ir::run(g, inputs, p.range_bits()).expect("interpreter");
    let r = run(g, &p, &trace, usize::MAX, 7).expect("harness runs");
    println!("{label}, lanes {lanes}\n{r}\n");
    assert!(r.all_as_expected(), "{p:?}\n{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
    for k in kinds {
        assert!(r.kinds.get(k).is_some_and(|s| s.tried > 0), "{k:?} not mutated: {r}");
    }
    assert_eq!(r.instances_tried, r.instances_caught);
}

/// Interpolated function lookups (two rescales, two lookups into a value and a difference
/// table, a product and sums): every pinned cell's mutation is caught.
#[test]
fn every_mutation_of_an_interpolated_lookup_is_caught() {
    let (g, inputs) = (interpolated_graph(), interpolated_inputs());
    for lanes in [1, 2] {
        let kinds = [JobKind::WideRescale, JobKind::WideRange, JobKind::Lookup];
        all_caught_at_knots("interpolated lookup", &g, &inputs, lanes, &kinds);
    }
}

/// `exp` split at knots (two rescales, a lookup of the knot and one of the fraction, their
/// product): every pinned cell's mutation is caught, the lookups' outputs included.
#[test]
fn every_mutation_of_a_split_exp_is_caught() {
    use crate::model::exp_split_tests::{exp_split_graph, exp_split_inputs};
    let kinds = [JobKind::WideRescale, JobKind::Lookup, JobKind::Arith];
    all_caught_at_knots("split exp", &exp_split_graph(), &exp_split_inputs(), 1, &kinds);
}

/// A function tabulated point by point in a region and interpolated beside it (two clamps by a
/// ReLU, the side's rescales and lookups, the region's lookup, the sums): every pinned cell's
/// mutation is caught, the lookups' outputs included.
#[test]
fn every_mutation_of_a_fine_region_lookup_is_caught() {
    use crate::model::fine_region_tests::{fine_region_graph, fine_region_inputs};
    let kinds = [JobKind::WideRelu, JobKind::WideRescale, JobKind::Lookup, JobKind::Arith];
    for lanes in [1, 2] {
        all_caught_at_knots("fine region", &fine_region_graph(), &fine_region_inputs(), lanes, &kinds);
    }
}

#[test]
fn the_allow_list_matches_the_module_docs() {
    // padding of fixed dot rows, private weights times zero, constant operands, ReLU a0/a3,
    // unused columns; nothing in a rescale or max row besides the unused a3/a4 and a4
    let g = every_op_graph();
    let mut p = params(8, 1, Visibility::Private, Visibility::Public, Visibility::Fixed);
    p.function_table = true;
    let trace = zkonnx_ir::run(&g, &every_op_inputs(), 8).expect("interpreter");
    let cells = assigned_cells(&g, &p, Some(&trace)).expect("layout");
    let value = |c: &AssignedCellInfo, col: usize| {
        cells.iter().find(|d| (d.lane, d.column, d.row) == (c.lane, col, c.row)).and_then(|d| d.value)
    };
    for c in &cells {
        let allowed = unconstrained(c, |col| value(c, col)).is_some();
        match (c.kind, c.column) {
            (JobKind::Rescale, _)
            | (JobKind::Arith, 0..=2)
            | (JobKind::Max, 0..=3)
            | (JobKind::Lookup, 0..=3)
            | (_, 4)
                if c.kind != JobKind::Constant =>
            {
                assert_eq!(allowed, !c.assigned, "{c:?}");
            }
            (JobKind::DotFixed, 0..=3) => assert_eq!(allowed, !c.copied, "{c:?}"),
            _ => {}
        }
        if !c.assigned {
            assert!(allowed, "an unassigned cell must be listed: {c:?}");
        }
    }
    // every entry names a column that exists and gives a reason
    let width = |k: JobKind| if k == JobKind::Poseidon { crate::POSEIDON_ADVICE } else { crate::ADVICE_PER_LANE };
    assert!(UNCONSTRAINED.iter().all(|u| u.column < width(u.kind) && !u.reason.is_empty()));
}

/// Lanes without lookups: the lookup rows sit in the first lane, dot products and sums also in
/// the others; every pinned cell's mutation is still caught, with one limb and with two.
#[test]
fn every_mutation_with_lanes_without_lookups_is_caught() {
    let cases = [(every_op_graph(), every_op_inputs(), 8, 1), (every_op_graph(), every_op_inputs(), 5, 2)];
    for (g, inputs, bits, limbs) in cases {
        let mut p = CircuitParams {
            range_limbs: limbs,
            lookup_lanes: Some(1),
            function_table: true,
            ..params(bits, 3, Visibility::Private, Visibility::Public, Visibility::Fixed)
        };
        p.k = min_k(&g, &p);
        let trace = zkonnx_ir::run(&g, &inputs, p.range_bits()).expect("interpreter");
        let r = run(&g, &p, &trace, usize::MAX, 7).expect("harness runs");
        println!("limbs {limbs}, 3 lanes, 1 with lookups\n{r}\n");
        assert!(r.all_as_expected(), "{p:?}\n{r}\n{:#?}\n{:#?}", r.escaped, r.allowed_but_pinned);
        assert!(r.kinds.get(&JobKind::Lookup).is_some_and(|s| s.tried > 0), "lookups not mutated: {r}");
        assert!(r.kinds.get(&JobKind::DotFixed).is_some_and(|s| s.tried > 0), "dots not mutated: {r}");
        assert_eq!(r.instances_tried, r.instances_caught);
    }
}
