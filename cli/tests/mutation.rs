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
