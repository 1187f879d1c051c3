use std::sync::Arc;

use halo2_proofs::circuit::Value;
use halo2_proofs::dev::{FailureLocation, VerifyFailure};
use halo2_proofs::plonk::Any;
use zkonnx_ir::Visibility;

use super::*;
use crate::chips::testing::{self, assert_fails, at, consts, Poke, Script};
use crate::field::field_from_i64;
use crate::layout::FIRST_ROW;
use crate::poseidon::commit_ints;
use crate::CircuitParams;

const VALUES: [i64; 5] = [3, -7, 11, 0, 5];
const SALT: u64 = 1234;
/// The chip's columns are "lane 1" of the one-lane chip circuit; `s0` is advice column 5.
const LANE: usize = 1;
const S0: usize = 5;
/// Gate indices after the six gates of one lane.
const INPUT: (usize, &str) = (6, "poseidon input");
const FULL: (usize, &str) = (7, "poseidon full");
const PARTIAL: (usize, &str) = (8, "poseidon partial");

/// Commits `VALUES` (pinned as arith constants) with `SALT`; exposes the digest.
fn script() -> Arc<Script> {
    script_of(&VALUES)
}

fn script_of(values: &'static [i64]) -> Arc<Script> {
    Arc::new(move |cfg, asg| {
        let cells = consts(cfg, asg, values)?;
        let salt = Element::free(Value::known(Fr::from(SALT)));
        let elements: Vec<Element> = std::iter::once(salt)
            .chain(cells.iter().zip(values).map(|(&c, &v)| Element::copy(c, Value::known(field_from_i64(v)))))
            .collect();
        let chip = PoseidonChip::new(cfg.poseidon.as_ref().ok_or(Error::Synthesis)?);
        Ok(vec![chip.commit(asg, &elements)?.digest])
    })
}

fn run(pokes: Vec<Poke>, digest: Fr) -> Result<(), Vec<VerifyFailure>> {
    run_script(script(), pokes, digest)
}

fn run_script(script: Arc<Script>, pokes: Vec<Poke>, digest: Fr) -> Result<(), Vec<VerifyFailure>> {
    let params = CircuitParams { input_visibility: Visibility::Hashed, ..testing::params(1) };
    testing::run_params(params, script, vec![], pokes, vec![digest])
}

fn honest() -> Fr {
    commit_ints(&VALUES, Fr::from(SALT))
}

fn poke(col: usize, row: usize, value: Fr) -> Poke {
    Poke { lane: LANE, col, row, value }
}

fn fails(
    gate: (usize, &str),
    row: usize,
    constraints: &[usize],
    reads_fixed: impl Fn(usize) -> bool,
) -> Vec<VerifyFailure> {
    constraints
        .iter()
        .map(|&c| VerifyFailure::ConstraintNotSatisfied {
            constraint: ((gate.0, gate.1).into(), c, "").into(),
            location: at(row, reads_fixed(c)),
            cell_values: vec![],
        })
        .collect()
}

fn copy(col: usize, row: usize) -> VerifyFailure {
    VerifyFailure::Permutation { column: (Any::advice(), col).into(), location: FailureLocation::OutsideRegion { row } }
}

/// Each mix constraint of a full or partial row (5..10) and every square of a full row reads a
/// fixed column.
const MIXES: [usize; 5] = [5, 6, 7, 8, 9];

#[test]
fn computes_the_native_commitment() {
    assert_eq!(run(vec![], honest()), Ok(()));
    // two permutations: 6 elements (salt + 5 values)
    assert_eq!(commitment_rows(VALUES.len()), 2 * ROWS_PER_PERMUTATION);
}

#[test]
fn a_wrong_digest_is_rejected() {
    let out = FIRST_ROW + 2 * ROWS_PER_PERMUTATION - 1;
    assert_fails(run(vec![], honest() + Fr::ONE), vec![testing::instance(0), copy(S0, out)]);
    // a wrong salt gives another digest
    assert_ne!(commit_ints(&VALUES, Fr::from(SALT + 1)), honest());
}

#[test]
fn a_forged_square_in_a_full_round_fails_its_square_and_every_mix() {
    let row = FIRST_ROW + 2;
    let got = run(vec![poke(WIDTH + 1, row, Fr::from(9))], honest());
    let mut expected = fails(FULL, row, &[1], |_| true);
    expected.extend(fails(FULL, row, &MIXES, |_| true));
    assert_fails(got, expected);
}

#[test]
fn a_forged_partial_round_square_fails_its_square_its_next_input_and_every_mix() {
    // w2 = w1^2 of the first partial row
    let row = FIRST_ROW + HALF_FULL;
    let got = run(vec![poke(WIDTH + 2, row, Fr::from(9))], honest());
    let mut expected = fails(PARTIAL, row, &[2, 3], |c| c == 3);
    expected.extend(fails(PARTIAL, row, &MIXES, |_| true));
    assert_fails(got, expected);
}

#[test]
fn a_nonzero_capacity_or_a_wrong_chain_start_is_rejected() {
    let row = FIRST_ROW;
    let mut expected = fails(INPUT, row, &[0], |_| false);
    expected.extend(fails(FULL, row, &[0], |_| true));
    expected.extend(fails(FULL, row, &MIXES, |_| true));
    assert_fails(run(vec![poke(0, row, Fr::ONE)], honest()), expected);
    let mut expected = fails(INPUT, row, &[1], |_| true);
    expected.extend(fails(FULL, row, &[1], |_| true));
    expected.extend(fails(FULL, row, &MIXES, |_| true));
    assert_fails(run(vec![poke(1, row, Fr::from(7))], honest()), expected);
}

#[test]
fn an_element_other_than_its_source_cell_breaks_the_copy() {
    // s3 of the first input row holds VALUES[0], copied from lane 0's constant row
    let row = FIRST_ROW;
    let got = run(vec![poke(3, row, field_from_i64(VALUES[0] + 1))], honest());
    // both ends of the broken copy: lane 0's constant cell a2 (row 1) and s3
    let mut expected = vec![copy(S0 + 3, row), copy(2, FIRST_ROW)];
    expected.extend(fails(FULL, row, &[3], |_| true));
    expected.extend(fails(FULL, row, &MIXES, |_| true));
    assert_fails(got, expected);
}

#[test]
fn a_forged_output_breaks_the_last_round_and_the_instance() {
    // the second permutation's output row holds the digest
    let row = FIRST_ROW + 2 * ROWS_PER_PERMUTATION - 1;
    let got = run(vec![poke(0, row, honest() + Fr::ONE)], honest() + Fr::ONE);
    assert_fails(got, fails(FULL, row - 1, &[5], |_| true));
    // the first permutation's output is copied into the second's chain input
    let row = FIRST_ROW + ROWS_PER_PERMUTATION - 1;
    let mut expected = fails(FULL, row - 1, &[5], |_| true);
    expected.extend([copy(S0, row), copy(S0 + 1, row + 1)]);
    assert_fails(run(vec![poke(0, row, Fr::from(5))], honest()), expected);
}

/// Four values and the salt: the second permutation's last element is padding, pinned to 0 by a
/// copy of its row's `s0` (a prover that re-witnessed the whole permutation around another
/// padding value would still break that copy).
#[test]
fn padding_is_pinned_to_zero() {
    const FOUR: [i64; 4] = [3, -7, 11, 0];
    let digest = commit_ints(&FOUR, Fr::from(SALT));
    assert_eq!(run_script(script_of(&FOUR), vec![], digest), Ok(()));
    let row = FIRST_ROW + ROWS_PER_PERMUTATION;
    let got = run_script(script_of(&FOUR), vec![poke(4, row, Fr::from(5))], digest);
    let mut expected = vec![copy(S0 + 4, row), copy(S0, row)];
    expected.extend(fails(FULL, row, &[4], |_| true));
    expected.extend(fails(FULL, row, &MIXES, |_| true));
    assert_fails(got, expected);
}

#[test]
fn partial_forms_agree_with_the_rounds_on_random_states() {
    let c = crate::poseidon::constants();
    let r = HALF_FULL + 3;
    let s: [Fr; WIDTH] = std::array::from_fn(|j| Fr::from(1000 + j as u64));
    let (w, next) = row_witness(HALF_FULL + 1, &s);
    let (x1, x2, n) = partial_forms([&c.rc[r], &c.rc[r + 1], &c.rc[r + 2]]);
    let y1 = w[0].square() * (s[0] + c.rc[r][0]);
    let y2 = w[2].square() * w[1];
    let y3 = w[4].square() * w[3];
    let vars = [s[0], s[1], s[2], s[3], s[4], y1, y2, y3];
    assert_eq!(x1.eval(&vars), w[1]);
    assert_eq!(x2.eval(&vars), w[3]);
    for i in 0..WIDTH {
        assert_eq!(n[i].eval(&vars), next[i]);
    }
}
