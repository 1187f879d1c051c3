//! The aggregation circuit's links: over two real segment proofs, every output digest of the
//! first is copy-constrained to the matching input digest of the second, and the node exposes
//! the model's public values after the accumulator. A proof pair from two different runs
//! violates exactly those constraints (what halo2's permutation argument then refuses).

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use zkonnx_circuits::{CircuitParams, Salts};
use zkonnx_ir::{Graph, Linear, LinearRow, Node, Op, Visibility};

use super::*;
use crate::segment::{prove_segment, verify_poseidon_proof};

fn node(name: &str, op: Op, len: usize) -> Node {
    Node { name: name.into(), origin: "test".into(), op, shape: vec![len], scale: 0 }
}

fn dense(input: usize, n: usize, m: usize, seed: i64) -> Op {
    let weights: Vec<i64> = (0..(n * m + m) as i64).map(|i| (i * 7 + seed) % 11 - 5).collect();
    let rows = (0..m)
        .map(|r| LinearRow {
            terms: (0..n).map(|i| (i as u32, (r * n + i) as u32)).collect(),
            bias: Some((n * m + r) as u32),
        })
        .collect();
    Op::Linear(Linear { input, weights, rows })
}

/// x(4) -> dense 4x3 -> rescale 2 -> relu | dense 3x2 -> rescale 2: two segments.
fn graph() -> Graph {
    Graph::new(
        vec![
            node("x", Op::Input { index: 0 }, 4),
            node("fc1", dense(0, 4, 3, 1), 3),
            node("fc1", Op::Rescale { input: 1, shift: 2 }, 3),
            node("relu", Op::Relu { input: 2 }, 3),
            node("fc2", dense(3, 3, 2, 4), 2),
            node("fc2", Op::Rescale { input: 4, shift: 2 }, 2),
        ],
        vec![0],
        vec![5],
    )
}

/// The two segments' keys, proofs (salted boundary) and children, for input `x` and salt `salt`.
fn proved(srs: &ParamsKZG<Bn256>, x: Vec<i64>, salt: u64) -> Vec<(Child, VerifyingKey<G1Affine>, PoseidonProof)> {
    let segments = zkonnx_ir::split(&graph(), &[4]).expect("split");
    let mut inputs = vec![x];
    let mut out = vec![];
    for (j, s) in segments.iter().enumerate() {
        let p = CircuitParams {
            k: 0,
            lookup_bits: 8,
            range_limbs: 1,
            lanes: 1,
            lookup_lanes: None,
            input_visibility: if j == 0 { Visibility::Public } else { Visibility::Hashed },
            output_visibility: if j == 0 { Visibility::Hashed } else { Visibility::Public },
            param_visibility: Visibility::Fixed,
            function_table: false,
        };
        let p = CircuitParams { k: zkonnx_circuits::min_k(&s.graph, &p), ..p };
        let graph = Arc::new(s.graph.clone());
        let keys = zkonnx_prover::keygen(srs, graph.clone(), p.clone()).expect("keygen");
        let trace = zkonnx_ir::run(&s.graph, &inputs, 8).expect("interpreter");
        let boundary: Vec<Fr> = vec![Fr::from(salt); s.graph.outputs.len()];
        let salts = if j == 0 {
            Salts { inputs: vec![], outputs: boundary }
        } else {
            Salts { inputs: vec![Fr::from(salt)], outputs: vec![] }
        };
        let proof = prove_segment(srs, &keys, graph, Arc::new(trace.clone()), &salts).expect("segment proof");
        verify_poseidon_proof(srs, keys.pk.get_vk(), &proof).expect("the segment proof verifies");
        let count = |ids: &[usize], v: Visibility| ids.iter().map(|&t| v.public_values(s.graph.nodes[t].len())).sum();
        let iface = Interface::segment(
            count(&s.graph.inputs, p.input_visibility),
            count(&s.graph.outputs, p.output_visibility),
            0,
        );
        let child = Child::new(srs, keys.pk.get_vk(), iface).expect("child");
        out.push((child, keys.pk.get_vk().clone(), proof));
        inputs = trace.outputs(&s.graph);
    }
    out
}

#[test]
fn a_node_links_consecutive_children_and_exposes_the_models_public_values() {
    let srs = zkonnx_prover::generate_dev_srs(19).expect("srs");
    let x = vec![3, -1, 4, 1];
    let honest = proved(&srs, x.clone(), 77);
    // segment 1 from another run: another salt on both of its boundaries' sides is a
    // different digest, as is a segment 0 proved from another input
    let other_salt = proved(&srs, x.clone(), 78);
    let other_input = proved(&srs, vec![2, 7, 1, 8], 77);
    let children: Vec<Child> = honest.iter().map(|(c, _, _)| c.clone()).collect();
    let config = AggregationConfigParams { degree: 19, lookup_bits: 18, ..Default::default() };
    for (case, proofs, linked) in [
        ("honest", vec![honest[0].2.clone(), honest[1].2.clone()], true),
        ("another salt", vec![honest[0].2.clone(), other_salt[1].2.clone()], false),
        ("another input", vec![other_input[0].2.clone(), honest[1].2.clone()], false),
    ] {
        let circuit = build(CircuitBuilderStage::Keygen, config, &srs, &children, Some(&proofs)).expect("built");
        let prev = circuit.previous_instances().clone();
        let (a, b) = (children[0].interface, children[1].interface);
        assert_eq!((a.outputs, b.inputs), (1, 1), "one boundary tensor, one digest each side");
        let (out, inp) = (&prev[0][a.outputs_at().start], &prev[1][b.inputs_at().start]);
        // the copy constraint is there, whatever the values
        let equalities = circuit.builder.core().copy_manager.lock().expect("copy manager").advice_equalities.clone();
        let pair = (out.cell.expect("a cell"), inp.cell.expect("a cell"));
        assert!(equalities.contains(&pair), "{case}: the boundary digests are not linked");
        assert_eq!(out.value() == inp.value(), linked, "{case}");
        // exposed: the accumulator, segment 0's public input, segment 1's public outputs
        let exposed = instances(&circuit);
        assert_eq!(exposed.len(), ACCUMULATOR_LIMBS + 4 + 2, "{case}");
        assert_eq!(&exposed[ACCUMULATOR_LIMBS..ACCUMULATOR_LIMBS + 4], &proofs[0].instances[..4], "{case}");
        assert_eq!(&exposed[ACCUMULATOR_LIMBS + 4..], &proofs[1].instances[1..], "{case}");
    }
}

#[test]
fn interfaces_that_do_not_meet_are_refused() {
    let a = Interface::segment(4, 2, 1);
    let b = Interface::segment(2, 3, 1);
    let c = Interface::segment(1, 1, 0);
    let node = Interface::of_node(&[a, b]).expect("2 outputs meet 2 inputs");
    assert_eq!((node.accumulator, node.inputs, node.outputs, node.params), (true, 4, 3, 2));
    assert_eq!(node.len(), ACCUMULATOR_LIMBS + 4 + 3 + 2);
    assert_eq!(node.outputs_at(), ACCUMULATOR_LIMBS + 4..ACCUMULATOR_LIMBS + 7);
    let err = Interface::of_node(&[b, c]).unwrap_err().to_string();
    assert!(err.contains("boundary between children 0 and 1") && err.contains("3 output values meet 1"), "{err}");
    assert!(Interface::of_node(&[]).is_err());
}
