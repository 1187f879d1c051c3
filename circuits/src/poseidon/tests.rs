use super::*;

fn dec(s: &str) -> Fr {
    Fr::from_str_vartime(s).unwrap()
}

/// Values printed by circomlibjs 0.1.7 (`buildPoseidon()`), the external implementation; the
/// randomized comparison with it runs in `tests/poseidon_circomlibjs.rs`.
#[test]
fn matches_circomlibjs_known_answers() {
    let got = hash4([1, 2, 3, 4].map(Fr::from));
    assert_eq!(got, dec("18821383157269793795438455681495246036402687001665670618754263018637548127333"));
}

#[test]
fn constants_are_the_reference_generators() {
    let c = constants();
    assert_eq!(c.rc.len(), FULL_ROUNDS + PARTIAL_ROUNDS);
    // the Cauchy matrix is invertible entrywise and not symmetric
    assert_ne!(c.mds[0][1], c.mds[1][0]);
}

#[test]
fn commitment_chains_three_elements_per_permutation() {
    let v = [5, -3, 7, 0, 11].map(|x: i64| crate::field_from_i64(x));
    let salt = Fr::from(99);
    let d1 = hash4([Fr::from(6), salt, v[0], v[1]]);
    let d2 = hash4([d1, v[2], v[3], v[4]]);
    assert_eq!(commit(&v, salt), d2);
    assert_eq!(permutations(v.len()), 2);
    assert_ne!(commit(&v, Fr::ZERO), d2);
}

#[test]
fn field_elements_parse_and_print() {
    let p_minus_1 = "21888242871839275222246405745257275088548364400416034343698204186575808495616";
    assert_eq!(parse_field(p_minus_1), Some(-Fr::ONE));
    assert_eq!(to_decimal(-Fr::ONE), p_minus_1);
    assert_eq!(parse_field("0x10"), Some(Fr::from(16)));
    assert_eq!(parse_field("007"), Some(Fr::from(7)));
    assert_eq!(parse_field("0"), Some(Fr::ZERO));
    for bad in
        ["", "0x", "-1", "1.5", "abc", "21888242871839275222246405745257275088548364400416034343698204186575808495617"]
    {
        assert_eq!(parse_field(bad), None, "{bad}");
    }
    assert_eq!(to_word(Fr::from(1))[31], 1);
}
