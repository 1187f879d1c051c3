//! Witness mutation harness on every fixture model: each model is calibrated and compiled as
//! `zkonnx run` would, its interpreter trace is the honest witness, and
//! [`zkonnx_circuits::mutation::run`] forces wrong values (`+1`, `-1`, `+2^40`) into a sample of
//! the cells of every job kind, and `+1` into every public instance value: MockProver must
//! reject every one, and accept the mutations of the allow-listed (deliberately free) cells.
//!
//! The default test samples 2 cells per job kind per model (3 mutations each). For a long run:
//!
//! ```text
//! ZKONNX_MUTATIONS=20 cargo test --release -p zkonnx-cli --test mutation -- --ignored --nocapture
//! ```
//!
//! samples `ZKONNX_MUTATIONS` cells per job kind (default 10) in the `#[ignore]`d variant.

#![expect(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test helpers: a broken fixture should fail loudly, and the per-model table is the output"
)]

mod common;

use common::{all_fixtures as fixtures, compile_fixture};
use zkonnx_circuits::mutation;
use zkonnx_ir::{RunArgs, Visibility};

/// Calibrates, compiles and runs the harness on one fixture.
fn mutate(model: &str, input: &str, per_kind: usize, tweak: impl FnOnce(&mut RunArgs)) -> mutation::MutationReport {
    let common::Compiled { graph, params, trace, .. } = compile_fixture(model, input, tweak);
    let start = std::time::Instant::now();
    let r = mutation::run(&graph, &params, &trace, per_kind, 0x5eed).unwrap();
    println!(
        "== {model} (k = {}, lanes = {}, params {:?}, inputs {:?}; {:.1} s)\n{r}\n",
        params.k,
        params.lanes,
        params.param_visibility,
        params.input_visibility,
        start.elapsed().as_secs_f64()
    );
    r
}

fn check(model: &str, r: &mutation::MutationReport) {
    assert!(r.escaped.is_empty(), "{model}: mutations of constrained cells accepted: {:#?}", r.escaped);
    assert!(r.allowed_but_pinned.is_empty(), "{model}: allow-listed cells are pinned: {:#?}", r.allowed_but_pinned);
    assert_eq!(r.caught(), r.tried(), "{model}");
    assert!(r.tried() > 0, "{model}: nothing mutated");
}

fn all_fixtures(per_kind: usize) {
    for (model, input) in fixtures() {
        let r = mutate(&model, &input, per_kind, |_| {});
        check(&model, &r);
    }
    // private params exercise the private dot chains and the pinned 0/1 constants (public
    // inputs are covered by the circuits crate's own harness tests: here they would add one
    // MockProver run per input element)
    let r = mutate("mlp/model.onnx", "mlp/input.json", per_kind, |a| a.param_visibility = Visibility::Private);
    check("mlp (private params)", &r);
}

#[test]
fn every_fixture_rejects_every_sampled_mutation() {
    all_fixtures(2);
}

#[test]
#[ignore = "long: ZKONNX_MUTATIONS cells per job kind (default 10); see the module docs"]
fn every_fixture_rejects_every_sampled_mutation_long() {
    let per_kind = std::env::var("ZKONNX_MUTATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    all_fixtures(per_kind);
}

/// Issue 6's "argmax pointing elsewhere": a prover claiming another class than the model's
/// argmax is refused, whether it moves the one-hot to another position and recomputes the
/// index from it (the step constraints break) or only changes the claimed index (the linear
/// map to the index breaks). The claim is public, so the lie is what a verifier would read.
#[test]
fn an_argmax_pointing_elsewhere_is_refused() {
    use halo2_proofs::dev::MockProver;
    use std::sync::Arc;
    use zkonnx_circuits::{public_instances, ModelCircuit};
    use zkonnx_ir::{Op, Trace};

    let c = compile_fixture("tiny/argmax.onnx", "tiny/argmax.input.json", |_| {});
    let g = &c.graph;
    let satisfied = |trace: &Trace| {
        let circuit = ModelCircuit::with_witness(Arc::new(g.clone()), c.params.clone(), Arc::new(trace.clone()));
        let instances = public_instances(g, &c.params, trace);
        MockProver::run(c.params.k, &circuit, vec![instances]).unwrap().verify().is_ok()
    };
    assert!(satisfied(&c.trace), "the honest witness is refused");

    // the class output: free gathers <- [Rescale] <- Linear (Σ pos · onehot) <- the one-hot
    let mut chain = vec![g.outputs[0]];
    while let Op::Gather { input, .. } = &g.nodes[*chain.last().unwrap()].op {
        chain.push(*input);
    }
    let end = *chain.last().unwrap();
    let (lin, rescale) = match g.nodes[end].op {
        Op::Rescale { input, shift } => (input, Some(shift)),
        _ => (end, None),
    };
    let Op::Linear(l) = &g.nodes[lin].op else { panic!("the index is not a linear map") };
    let onehot = l.input;
    let recompute = |trace: &mut Trace| {
        let v: Vec<i64> = l
            .rows
            .iter()
            .map(|r| {
                let dot: i64 =
                    r.terms.iter().map(|&(i, w)| l.weights[w as usize] * trace.values[onehot][i as usize]).sum();
                dot + r.bias.map_or(0, |b| l.weights[b as usize])
            })
            .collect();
        if let Some(shift) = rescale {
            trace.values[end] = v.iter().map(|&x| (x + (1 << (shift - 1))) >> shift).collect();
        }
        trace.values[lin] = v;
        for w in chain.windows(2).rev() {
            let Op::Gather { indices, .. } = &g.nodes[w[0]].op else { unreachable!() };
            trace.values[w[0]] = indices.iter().map(|&i| trace.values[w[1]][i as usize]).collect();
        }
    };
    for (sample, row) in l.rows.iter().enumerate() {
        let at = row.terms.iter().position(|&(i, _)| c.trace.values[onehot][i as usize] == 1).expect("one-hot");
        // the one-hot moved to the next position, the index recomputed from it
        let mut moved = c.trace.clone();
        let to = (at + 1) % row.terms.len();
        moved.values[onehot][row.terms[at].0 as usize] = 0;
        moved.values[onehot][row.terms[to].0 as usize] = 1;
        recompute(&mut moved);
        assert_ne!(
            moved.values[g.outputs[0]], c.trace.values[g.outputs[0]],
            "sample {sample}: the lie changed nothing"
        );
        assert!(!satisfied(&moved), "sample {sample}: a moved one-hot was accepted");
        // only the claimed index changed: one class up
        let mut claimed = c.trace.clone();
        claimed.values[g.outputs[0]][sample] += 1 << g.nodes[g.outputs[0]].scale;
        assert!(!satisfied(&claimed), "sample {sample}: another claimed class was accepted");
    }
}
