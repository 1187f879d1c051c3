//! The `.ptau` parser on hand-built files: a valid file gives exactly halo2's own setup for the
//! same tau; every structural fault, bad point and inconsistent power is a clear error.

use std::io::Cursor;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::*;

const NAME: &str = "test.ptau";

fn g1_bytes(p: &G1Affine) -> Vec<u8> {
    let mut out = Vec::new();
    if !bool::from(p.is_identity()) {
        out.extend(p.x.to_raw_bytes());
        out.extend(p.y.to_raw_bytes());
    } else {
        out.resize(G1_BYTES, 0);
    }
    out
}

fn g2_bytes(p: &G2Affine) -> Vec<u8> {
    let mut out = Vec::new();
    for c in [p.x.c0, p.x.c1, p.y.c0, p.y.c1] {
        out.extend(c.to_raw_bytes());
    }
    out
}

fn header(n8: u32, q: &[u8], power: u32, ceremony_power: u32) -> Vec<u8> {
    let mut out = n8.to_le_bytes().to_vec();
    out.extend(q);
    out.extend(power.to_le_bytes());
    out.extend(ceremony_power.to_le_bytes());
    out
}

/// `[tau^i] G1` for `i < count`.
fn tau_g1(tau: Fr, count: usize) -> Vec<u8> {
    let mut t = Fr::ONE;
    let mut out = Vec::new();
    for _ in 0..count {
        out.extend(g1_bytes(&(G1Affine::generator() * t).to_affine()));
        t *= tau;
    }
    out
}

fn tau_g2(tau: Fr, count: usize) -> Vec<u8> {
    let mut t = Fr::ONE;
    let mut out = Vec::new();
    for _ in 0..count {
        out.extend(g2_bytes(&(G2Affine::generator() * t).to_affine()));
        t *= tau;
    }
    out
}

/// A file of the given sections, in order.
fn file(version: u32, sections: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = b"ptau".to_vec();
    out.extend(version.to_le_bytes());
    out.extend((sections.len() as u32).to_le_bytes());
    for (kind, body) in sections {
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u64).to_le_bytes());
        out.extend(body);
    }
    out
}

/// snarkjs's section 12: for every `p = 0..=power+1` the Lagrange basis of size `2^p` over
/// snarkjs's domain, `L'_i(tau) = w^i / n * (tau^n - 1) / (tau - w^i)`. The last size (which
/// snarkjs computes from a zero-padded tauG1 and no import reads) is filled with generators.
fn lagrange_section(power: u32, tau: Fr) -> Vec<u8> {
    let mut out = Vec::new();
    for p in 0..=power {
        let (n, w) = (1u64 << p, checks::snarkjs_root(p));
        let n_inv = Fr::from(n).invert().unwrap();
        let mut w_i = Fr::ONE;
        for _ in 0..n {
            let l = w_i * n_inv * (tau.pow([n]) - Fr::ONE) * (tau - w_i).invert().unwrap();
            out.extend(g1_bytes(&(G1Affine::generator() * l).to_affine()));
            w_i *= w;
        }
    }
    for _ in 0..1u64 << (power + 1) {
        out.extend(g1_bytes(&G1Affine::generator()));
    }
    out
}

/// The sections of a valid file of `power` for `tau` as snarkjs's `powersoftau new` writes
/// them, with an empty contributions section (7); with `lagrange`, also section 12 (with a
/// stand-in for 13..15) as `powersoftau prepare phase2` adds them (the `*_final.ptau` files).
fn sections_of(power: u32, tau: Fr, lagrange: bool) -> Vec<(u32, Vec<u8>)> {
    let n = 1usize << power;
    let mut s = vec![
        (1, header(32, &bn254_base_modulus_le(), power, power)),
        (2, tau_g1(tau, 2 * n - 1)),
        (3, tau_g2(tau, n)),
        (7, 0u32.to_le_bytes().to_vec()),
    ];
    if lagrange {
        s.push((12, lagrange_section(power, tau)));
        s.push((13, vec![0xab; 3 * G2_BYTES]));
    }
    s
}

fn sections(power: u32, tau: Fr) -> Vec<(u32, Vec<u8>)> {
    sections_of(power, tau, false)
}

fn tau() -> Fr {
    Fr::from(0x1234_5678_9abc_def1)
}

fn open(bytes: Vec<u8>) -> Result<PtauFile<Cursor<Vec<u8>>>, ArtifactError> {
    PtauFile::from_reader(Path::new(NAME), Cursor::new(bytes))
}

fn import(bytes: Vec<u8>, k: u32) -> Result<ParamsKZG<Bn256>, ArtifactError> {
    open(bytes)?.read_params(k)
}

/// The error message of a refused file; it must name the file.
fn refused<T>(result: Result<T, ArtifactError>) -> String {
    let msg = match result {
        Ok(_) => panic!("accepted"),
        Err(e) => e.to_string(),
    };
    assert!(msg.starts_with(NAME), "the error does not name the file: {msg}");
    msg
}

fn assert_refused<T>(result: Result<T, ArtifactError>, needle: &str) {
    let msg = refused(result);
    assert!(msg.contains(needle), "expected `{needle}` in: {msg}");
}

fn params_bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut out = Vec::new();
    p.write_custom(&mut out, SerdeFormat::RawBytes).unwrap();
    out
}

#[test]
fn a_valid_file_gives_exactly_halo2s_own_setup_for_the_same_tau() {
    for k in 1..=4 {
        // halo2's setup draws tau from the rng and computes the Lagrange basis in closed form,
        // independently of the inverse FFT the importer uses
        let expected = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(u64::from(k)));
        let tau = Fr::random(ChaCha20Rng::seed_from_u64(u64::from(k)));
        // with section 12 the basis is read (and reordered), without it computed by inverse FFT
        for lagrange in [false, true] {
            let mut ptau = open(file(1, &sections_of(4, tau, lagrange))).unwrap();
            assert_eq!((ptau.power(), ptau.ceremony_power(), ptau.max_k()), (4, 4, 4));
            assert_eq!(ptau.has_lagrange_basis(), lagrange);
            let params = ptau.read_params(k).unwrap();
            assert_eq!(params.k(), k);
            assert!(
                params_bytes(&params) == params_bytes(&expected),
                "k = {k}, Lagrange section {lagrange}: imported params differ from halo2's"
            );
        }
    }
    // sections may come in any order
    let mut s = sections(2, tau());
    s.reverse();
    assert_eq!(import(file(1, &s), 2).unwrap().get_g()[3], (G1Affine::generator() * tau().pow([3])).to_affine());
}

#[test]
fn k_outside_1_to_power_is_refused() {
    let bytes = file(1, &sections(3, tau()));
    assert!(matches!(import(bytes.clone(), 4), Err(ArtifactError::TooLarge { k: 4, max: 3, .. })));
    assert!(matches!(import(bytes, 0), Err(ArtifactError::TooLarge { k: 0, max: 3, .. })));
}

#[test]
fn wrong_magic_version_or_curve_is_refused() {
    let mut bytes = file(1, &sections(2, tau()));
    bytes[..4].copy_from_slice(b"r1cs");
    assert!(matches!(import(bytes, 2), Err(ArtifactError::WrongKind { .. })));
    assert!(matches!(import(b"ptau".to_vec(), 2), Err(ArtifactError::WrongKind { .. })));
    assert!(matches!(import(file(2, &sections(2, tau())), 2), Err(ArtifactError::Version { got: 2, .. })));

    // BN254's scalar field prime r instead of the base field prime q
    let r = (-Fr::ONE).to_repr().iter().enumerate().map(|(i, b)| if i == 0 { b + 1 } else { *b }).collect::<Vec<_>>();
    let mut s = sections(2, tau());
    s[0].1 = header(32, &r, 2, 2);
    assert_refused(import(file(1, &s), 2), "not BN254's");
    // a BLS12-381 file: 48-byte field elements
    s[0].1 = header(48, &[7u8; 48], 2, 2);
    assert_refused(import(file(1, &s), 2), "48 bytes");
}

#[test]
fn truncations_and_bad_section_tables_are_refused() {
    let bytes = file(1, &sections(2, tau()));
    for n in 0..bytes.len() {
        assert!(open(bytes[..n].to_vec()).is_err(), "truncation to {n} bytes accepted");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_refused(open(longer), "1 bytes after the last");

    // section sizes that do not match the header's power
    let mut s = sections(2, tau());
    s[0].1 = header(32, &bn254_base_modulus_le(), 3, 3);
    assert_refused(import(file(1, &s), 2), "power 3 needs");
    let mut s = sections(2, tau());
    s[1].1.truncate(6 * G1_BYTES);
    assert_refused(import(file(1, &s), 2), "the tauG1 section is 384 bytes");
    let mut s = sections(2, tau());
    s[2].1.truncate(3 * G2_BYTES);
    assert_refused(import(file(1, &s), 2), "the tauG2 section is 384 bytes");
    let mut s = sections(2, tau());
    s[0].1.push(0);
    assert_refused(import(file(1, &s), 2), "the header section is 45 bytes");

    // missing and duplicated sections
    let s = sections(2, tau());
    assert_refused(import(file(1, &s[1..]), 2), "no header (1) section");
    assert_refused(import(file(1, &[s[0].clone(), s[1].clone()]), 2), "no tauG2 (3) section");
    assert_refused(import(file(1, &[s.clone(), vec![s[1].clone()]].concat()), 2), "type 2 appears twice");

    // a huge claimed size or section count: refused against the file length, nothing allocated
    let mut big = bytes.clone();
    big[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    assert_refused(open(big), "claims 18446744073709551615 bytes");
    let mut many = bytes;
    many[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_refused(open(many), "the file ends after 4");

    // power 0 and power beyond BN254's two-adicity
    for power in [0, 29] {
        let mut s = sections(1, tau());
        s[0].1 = header(32, &bn254_base_modulus_le(), power, power);
        assert_refused(import(file(1, &s), 1), &format!("power {power} is outside 1..=28"));
    }
}

/// A valid file with point `index` of section `section` (2 = tauG1, 3 = tauG2) replaced.
fn with_point(section: usize, index: usize, point: Vec<u8>) -> Vec<u8> {
    let mut s = sections(3, tau());
    let size = point.len();
    s[section - 1].1[index * size..(index + 1) * size].copy_from_slice(&point);
    file(1, &s)
}

/// A point on the G2 curve outside the prime-order subgroup.
fn g2_outside_subgroup() -> G2Affine {
    (1u64..)
        .find_map(|i| {
            let x = Fq2 { c0: Fq::from(i), c1: Fq::ONE };
            let y = Option::<Fq2>::from((x.square() * x + G2Affine::b()).sqrt())?;
            let p = G2Affine::from_xy(x, y).unwrap();
            (!bool::from(G2::from(p).is_torsion_free())).then_some(p)
        })
        .unwrap()
}

#[test]
fn bad_points_are_refused() {
    let g = |s: u64| (G1Affine::generator() * Fr::from(s)).to_affine();
    let mut off_curve = g1_bytes(&g(5));
    off_curve[N8] ^= 1;
    assert_refused(import(with_point(2, 2, off_curve), 3), "tauG1[2]: not on the BN254 G1 curve");
    assert_refused(import(with_point(2, 7, vec![0xff; G1_BYTES]), 3), "tauG1[7]: a coordinate is not below");
    assert_refused(import(with_point(2, 1, vec![0; G1_BYTES]), 3), "tauG1[1]: the point at infinity");
    assert_refused(import(with_point(2, 0, g1_bytes(&g(2))), 3), "tauG1[0] is not the BN254 G1 generator");

    let h = |s: u64| (G2Affine::generator() * Fr::from(s)).to_affine();
    let mut off_curve = g2_bytes(&h(5));
    off_curve[3 * N8] ^= 1;
    assert_refused(import(with_point(3, 1, off_curve), 3), "tauG2[1]: not on the BN254 G2 curve");
    assert_refused(import(with_point(3, 1, g2_bytes(&g2_outside_subgroup())), 3), "tauG2[1]: on the curve but outside");
    assert_refused(import(with_point(3, 0, vec![0; G2_BYTES]), 3), "tauG2[0]: the point at infinity");
    assert_refused(import(with_point(3, 0, g2_bytes(&h(3))), 3), "tauG2[0] is not the BN254 G2 generator");
}

#[test]
fn inconsistent_powers_fail_the_pairing_checks() {
    let other = |t: Fr| (G2Affine::generator() * t).to_affine();
    assert_refused(
        import(with_point(3, 1, g2_bytes(&other(tau() + Fr::ONE))), 3),
        "e(tauG1[1], G2) != e(G1, tauG2[1])",
    );
    // a valid point that is not tau^5 G1: only the random-combination check sees it
    let wrong = (G1Affine::generator() * (tau().pow([5]) + Fr::ONE)).to_affine();
    let bytes = with_point(2, 5, g1_bytes(&wrong));
    assert_refused(import(bytes.clone(), 3), "tauG1[0..2^3] are not successive powers");
    // ... and a k that reads only tauG1[0..4] does not read it
    assert!(import(bytes, 2).is_ok());
}

#[test]
fn a_wrong_lagrange_section_is_refused() {
    let mut s = sections_of(3, tau(), true);
    // the size-4 basis starts at point 3; swap two of its points
    let l = &mut s[4].1;
    let (a, b) = (4 * G1_BYTES, 5 * G1_BYTES);
    let first = l[a..b].to_vec();
    l.copy_within(b..b + G1_BYTES, a);
    l[b..b + G1_BYTES].copy_from_slice(&first);
    let bytes = file(1, &s);
    assert_refused(import(bytes.clone(), 2), "section (12) for size 2^2 is not the Lagrange basis");
    assert!(import(bytes, 3).is_ok(), "the size-8 basis is untouched");
    let mut s = sections_of(3, tau(), true);
    s[4].1.truncate(G1_BYTES * 30);
    assert_refused(open(file(1, &s)), "the Lagrange tauG1 section (12) is 1920 bytes");
}

#[test]
fn every_byte_flip_of_the_bytes_read_is_refused() {
    let bytes = file(1, &sections_of(2, tau(), true));
    // file header, header section (entry + body, without ceremony_power), tauG1 entry + the
    // four points k = 2 reads, tauG2 entry + its first two points, the contributions section's
    // size, the Lagrange section's size and its size-4 basis (points 3..7). (A flipped section
    // type turns section 12 into an unknown one: the basis is then computed, equally right.)
    let header_end = 12 + 12 + HEADER_BYTES as usize;
    let g1_at = header_end + 12;
    let g2_entry = g1_at + 7 * G1_BYTES;
    let contributions = g2_entry + 12 + 4 * G2_BYTES;
    let lagrange_at = contributions + 12 + 4 + 12;
    let ranges = [
        0..header_end - 4,
        header_end..g1_at + 4 * G1_BYTES,
        g2_entry..g2_entry + 12 + 2 * G2_BYTES,
        contributions + 4..contributions + 12,
        contributions + 20..lagrange_at,
        lagrange_at + 3 * G1_BYTES..lagrange_at + 7 * G1_BYTES,
    ];
    assert_eq!(&bytes[lagrange_at - 12..lagrange_at - 8], &12u32.to_le_bytes());
    for i in ranges.into_iter().flatten() {
        for bit in [0x01, 0x80] {
            let mut bad = bytes.clone();
            bad[i] ^= bit;
            assert!(import(bad, 2).is_err(), "flip {bit:#x} at byte {i} accepted");
        }
    }
}
