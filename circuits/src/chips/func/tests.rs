//! Function lookup rows: correct outputs for several functions in one table; a wrong output,
//! another function's output, an input outside the domain and a broken copy are all caught.

use std::sync::Arc;

use halo2_proofs::dev::{FailureLocation, VerifyFailure};
use zkonnx_ir::{Func, FuncKind};

use crate::chips::testing::{assert_fails, consts, copy, known, poke, run_funcs, Poke, Script};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::model::ModelConfig;

fn tanh() -> Func {
    Func::new(FuncKind::Tanh, 4, 6, -40, 39)
}

fn exp() -> Func {
    Func::new(FuncKind::Exp, 4, 4, -20, 10)
}

/// Rows 1..=n: the inputs (constants); row n + 1 + i: `funcs[tags[i] - 1](xs[i])`, honest
/// output `f(x)` (computed even for an `x` outside the domain).
fn script(xs: Vec<i64>, tags: Vec<u64>, funcs: Vec<Func>) -> Arc<Script> {
    Arc::new(move |cfg: &ModelConfig, asg: &mut Assigner<'_>| {
        let c = consts(cfg, asg, &xs)?;
        let chip = cfg.func_chip().expect("function table configured");
        let mut out = vec![];
        for (i, (&x, &tag)) in xs.iter().zip(&tags).enumerate() {
            let y = funcs[tag as usize - 1].eval(x);
            out.push(chip.lookup(asg, tag, c[i], known(x).map(|_| x), known(y).map(|_| y))?);
        }
        Ok(out)
    })
}

fn run(xs: &[i64], tags: &[u64], pokes: Vec<Poke>, public: &[i64]) -> Result<(), Vec<VerifyFailure>> {
    let funcs = vec![tanh(), exp()];
    let instance = public.iter().map(|&v| field_from_i64(v)).collect();
    run_funcs(script(xs.to_vec(), tags.to_vec(), funcs.clone()), funcs, pokes, instance)
}

/// The `func` lookup (after the lookups of the single lane) failing at absolute `row`. Its
/// input reads the fixed tag column, so it is placed in the model region, which comes after
/// the two tables (region 2).
fn lookup_fails(row: usize) -> VerifyFailure {
    let location = FailureLocation::InRegion { region: (2, "model").into(), offset: row - crate::layout::FIRST_ROW };
    VerifyFailure::Lookup { name: "func".to_string(), lookup_index: crate::LOOKUPS_PER_LANE, location }
}

#[test]
fn lookups_give_each_functions_value() {
    let xs = [-40, -7, 0, 5, 39, -20, 0, 10];
    let tags = [1, 1, 1, 1, 1, 2, 2, 2];
    let want: Vec<i64> =
        xs.iter().zip(&tags).map(|(&x, &t)| if t == 1 { tanh().eval(x) } else { exp().eval(x) }).collect();
    assert_eq!(want[2], 0);
    assert_eq!(want[6], 16); // e^0 at scale 4
    assert_eq!(run(&xs, &tags, vec![], &want), Ok(()));
}

#[test]
fn a_wrong_output_is_refused() {
    let y = tanh().eval(5);
    assert_fails(run(&[5], &[1], vec![poke(1, 2, y + 1)], &[y + 1]), vec![lookup_fails(2)]);
}

#[test]
fn another_functions_output_is_refused() {
    // exp(5) is in the table, but under exp's tag, not tanh's
    let y = exp().eval(5);
    assert_fails(run(&[5], &[1], vec![poke(1, 2, y)], &[y]), vec![lookup_fails(2)]);
}

#[test]
fn inputs_outside_the_domain_are_refused() {
    // tanh's domain is [-40, 39]; exp's [-20, 10] holds 11..=39 for neither
    for x in [40, -41, 1 << 40] {
        let y = tanh().eval(x);
        assert_fails(run(&[x], &[1], vec![], &[y]), vec![lookup_fails(2)]);
    }
    let y = exp().eval(11);
    assert_fails(run(&[11], &[2], vec![], &[y]), vec![lookup_fails(2)]);
}

#[test]
fn an_input_that_is_not_the_operand_is_refused() {
    // a valid table row (x = 6, tanh(6)), but x is not the constant 5 it is copied from
    let y = tanh().eval(6);
    assert_fails(run(&[5], &[1], vec![poke(0, 2, 6), poke(1, 2, y)], &[y]), vec![copy(0, 2), copy(2, 1)]);
}
