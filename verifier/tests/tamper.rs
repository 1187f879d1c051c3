//! Tamper suite for the artifact readers: corrupt, truncated, foreign and out-of-range key,
//! settings and proof files are clear `Err`s naming the file, never panics. Keys come from a
//! hand-built two-node graph and a throwaway SRS, so this suite needs neither the compiler nor
//! the prover.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on a broken fixture")]

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::{keygen_pk, keygen_vk, ProvingKey};
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkonnx_circuits::{min_k, CircuitParams, ModelCircuit};
use zkonnx_ir::{Graph, ModelInfo, Node, Op, RunArgs, Settings};
use zkonnx_verifier::artifact::parse_json;
use zkonnx_verifier::keys::{key_meta, pk_from_bytes, pk_to_bytes, vk_from_bytes, vk_to_bytes, KeyMeta, KEY_VERSION};
use zkonnx_verifier::SrsRecord;
use zkonnx_verifier::{verify_artifact, ArtifactError, ProofArtifact, VerifyError};

const HASH: &str = "ab12";

/// `Input(4) -> Relu`, with its circuit parameters at the smallest `k`.
fn relu_graph() -> (Graph, CircuitParams) {
    let node = |op, name: &str| Node { name: name.into(), origin: "test".into(), op, shape: vec![4], scale: 0 };
    let graph = Graph {
        nodes: vec![node(Op::Input { index: 0 }, "x"), node(Op::Relu { input: 0 }, "y")],
        inputs: vec![0],
        outputs: vec![1],
        linked_inputs: false,
    };
    let mut args = RunArgs::default();
    args.lookup_bits = 4;
    let mut params = CircuitParams::from_run_args(&args);
    params.k = min_k(&graph, &params);
    (graph, params)
}

fn keys() -> (ProvingKey<G1Affine>, CircuitParams, ParamsKZG<Bn256>) {
    let (graph, params) = relu_graph();
    let srs = ParamsKZG::<Bn256>::setup(params.k, ChaCha20Rng::seed_from_u64(7));
    let circuit = ModelCircuit::new(Arc::new(graph), params.clone());
    let vk = keygen_vk(&srs, &circuit).unwrap();
    let pk = keygen_pk(&srs, vk, &circuit).unwrap();
    (pk, params, srs)
}

/// Key metadata for `params` and the model `HASH`, without an SRS record.
fn meta(params: &CircuitParams) -> KeyMeta {
    KeyMeta::new(params.clone(), HASH, SrsRecord::default())
}

#[test]
fn keys_record_their_srs_and_refuse_another() {
    let (pk, params, srs) = keys();
    let record = SrsRecord::new(&srs, false);
    assert_eq!(record.g2_hash.len(), 64);
    let bytes = vk_to_bytes(pk.get_vk(), &KeyMeta::new(params.clone(), HASH, record.clone()));
    let path = Path::new("vk.key");
    let (_, read) = vk_from_bytes(path, &bytes).unwrap();
    assert_eq!(read.srs, record);
    read.check_srs(path, &record).unwrap();
    // the same secret at another size has the same record; another secret does not
    let mut smaller = srs.clone();
    smaller.downsize(params.k - 1);
    read.check_srs(path, &SrsRecord::new(&smaller, false)).unwrap();
    let other = ParamsKZG::<Bn256>::setup(params.k, ChaCha20Rng::seed_from_u64(8));
    let err = read.check_srs(path, &SrsRecord::new(&other, true)).unwrap_err();
    assert!(matches!(err, ArtifactError::OtherSrs { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("vk.key") && msg.contains(&record.g2_hash[..16]) && msg.contains("development"), "{msg}");
    // a key from before the record (no hash) is not compared
    meta(&params).check_srs(path, &SrsRecord::new(&other, true)).unwrap();
}

/// Flips one bit of every `step`-th byte in turn and checks that `read` rejects each copy with
/// an error naming the file.
fn every_flip_rejected<T>(bytes: &[u8], step: usize, read: impl Fn(&[u8]) -> Result<T, ArtifactError>) {
    for i in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.to_vec();
        bad[i] ^= 0x01 << (i % 8);
        match read(&bad) {
            Ok(_) => panic!("flip of byte {i} of {} accepted", bytes.len()),
            Err(e) => assert!(e.to_string().contains(".key"), "byte {i}: error does not name the file: {e}"),
        }
    }
}

#[test]
fn keys_round_trip_with_their_metadata() {
    let (pk, params, _) = keys();
    let path = Path::new("pk.key");
    let bytes = pk_to_bytes(&pk, &meta(&params));
    let (read, read_meta) = pk_from_bytes(path, &bytes).unwrap();
    assert_eq!((read_meta.params, read_meta.model_hash.as_str()), (params.clone(), HASH));
    assert_eq!(read.get_vk().transcript_repr(), pk.get_vk().transcript_repr());
    let read_meta = key_meta(path, &bytes).unwrap();
    assert_eq!((read_meta.params, read_meta.model_hash.as_str()), (params.clone(), HASH));
    let vk_bytes = vk_to_bytes(pk.get_vk(), &meta(&params));
    assert_eq!(key_meta(Path::new("vk.key"), &vk_bytes).unwrap().model_hash, HASH);
    // a VK file is not a PK file and vice versa
    let err = pk_from_bytes(path, &vk_bytes).err().unwrap();
    assert!(matches!(err, ArtifactError::WrongKind { .. }), "{err}");
    let err = vk_from_bytes(Path::new("vk.key"), &bytes).err().unwrap();
    assert!(matches!(err, ArtifactError::WrongKind { .. }), "{err}");
}

#[test]
fn every_vk_byte_flip_and_truncation_is_rejected() {
    let (pk, params, _) = keys();
    let bytes = vk_to_bytes(pk.get_vk(), &meta(&params));
    let path = Path::new("vk.key");
    every_flip_rejected(&bytes, 1, |b| vk_from_bytes(path, b));
    for n in 0..bytes.len() {
        assert!(vk_from_bytes(path, &bytes[..n]).is_err(), "truncation to {n} bytes accepted");
    }
}

#[test]
fn pk_byte_flips_and_truncations_are_rejected() {
    let (pk, params, _) = keys();
    let bytes = pk_to_bytes(&pk, &meta(&params));
    let path = Path::new("pk.key");
    // the header and metadata byte by byte, the body at a prime stride
    every_flip_rejected(&bytes[..512.min(bytes.len())], 1, |b| {
        let mut whole = bytes.clone();
        whole[..b.len()].copy_from_slice(b);
        pk_from_bytes(path, &whole)
    });
    every_flip_rejected(&bytes, 101, |b| pk_from_bytes(path, b));
    for n in (0..bytes.len()).step_by(97).chain([bytes.len() - 1]) {
        let err = pk_from_bytes(path, &bytes[..n]).err().unwrap_or_else(|| panic!("truncation to {n} accepted"));
        assert!(err.to_string().contains("pk.key"), "{err}");
    }
    // a wrong version and an absurd k are refused before halo2 sees the body
    let mut v = bytes.clone();
    v[8..12].copy_from_slice(&(KEY_VERSION + 1).to_le_bytes());
    assert!(matches!(pk_from_bytes(path, &v), Err(ArtifactError::Version { .. })));
    let mut big = params.clone();
    big.k = 40;
    let err = pk_from_bytes(path, &pk_to_bytes(&pk, &meta(&big))).err().unwrap();
    assert!(matches!(err, ArtifactError::TooLarge { k: 40, .. }), "{err}");
    // valid metadata that does not match the body (checksum recomputed): an error, no panic
    for lanes in [params.lanes + 1, 16] {
        let mut other = params.clone();
        other.lanes = lanes;
        assert!(pk_from_bytes(path, &pk_to_bytes(&pk, &meta(&other))).is_err(), "lanes {lanes} accepted");
        assert!(vk_from_bytes(path, &vk_to_bytes(pk.get_vk(), &meta(&other))).is_err(), "lanes {lanes} accepted");
        // the same lookup lanes as the key, one more lane without lookups
        other.lookup_lanes = Some(params.lookup_lane_count());
        assert!(pk_from_bytes(path, &pk_to_bytes(&pk, &meta(&other))).is_err(), "{other:?} accepted");
        assert!(vk_from_bytes(path, &vk_to_bytes(pk.get_vk(), &meta(&other))).is_err(), "{other:?} accepted");
    }
}

/// Replaces the body of a key container and recomputes its checksum, as a forger would.
fn reseal(file: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let meta_len = u32::from_le_bytes(file[12..16].try_into().unwrap()) as usize;
    let (head, rest) = file.split_at(16 + meta_len);
    let mut body = rest[32..].to_vec();
    edit(&mut body);
    let mut out = head.to_vec();
    out.extend(Sha256::new().chain_update(&head[16..]).chain_update(&body).finalize());
    out.extend(body);
    out
}

/// A forger's change to a key body.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

/// The `pk_structured` fuzz finding: lengths forged behind a valid checksum used to make
/// halo2 allocate ~100 GB and abort. Each is now an error naming the file and the field.
#[test]
fn forged_key_lengths_are_errors_not_aborts() {
    let (pk, params, _) = keys();
    let path = Path::new("pk.key");
    let bytes = pk_to_bytes(&pk, &meta(&params));
    let mut vk_body = Vec::new();
    pk.get_vk().write(&mut vk_body, halo2_proofs::SerdeFormat::RawBytes).unwrap();
    let at = vk_body.len();
    // resealing an unchanged body gives back the same file
    assert_eq!(reseal(&bytes, |_| ()), bytes);
    let n_rows = 1u32 << params.k;
    let poly = 4 + 32 * n_rows as usize;
    let cases: [(&str, Edit); 5] = [
        (
            "l0 has 2147483648 coefficients",
            Box::new(move |b| b[at..at + 4].copy_from_slice(&(1u32 << 31).to_be_bytes())),
        ),
        (
            "l0 has 2147483648 coefficients",
            Box::new(move |b| {
                b.truncate(at);
                b.extend((1u32 << 31).to_be_bytes());
            }),
        ),
        (
            "fixed values: 4294967295 polynomials do not fit",
            Box::new(move |b| b[at + 3 * poly..at + 3 * poly + 4].copy_from_slice(&u32::MAX.to_be_bytes())),
        ),
        ("the key body says k = 30", Box::new(|b| b[1..5].copy_from_slice(&30u32.to_le_bytes()))),
        ("unexpected bytes after the proving key", Box::new(|b| b.push(0))),
    ];
    for (want, edit) in cases {
        let forged = reseal(&bytes, edit);
        let err = pk_from_bytes(path, &forged).err().unwrap_or_else(|| panic!("forgery `{want}` accepted"));
        assert!(matches!(err, ArtifactError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(want) && err.to_string().contains("pk.key"), "{want}: {err}");
    }
    // the same for a verifying key: a forged k, a forged fixed-column count, trailing bytes
    let vk_bytes = vk_to_bytes(pk.get_vk(), &meta(&params));
    let vk_cases: [(&str, Edit); 3] = [
        ("the key body says k = 30", Box::new(|b| b[1..5].copy_from_slice(&30u32.to_le_bytes()))),
        (
            "fixed-column commitments",
            Box::new(|b| {
                let count = u32::from_le_bytes(b[6..10].try_into().unwrap());
                b[6..10].copy_from_slice(&(count - 1).to_le_bytes());
            }),
        ),
        ("unexpected bytes after the key", Box::new(|b| b.push(0))),
    ];
    for (want, edit) in vk_cases {
        let err = vk_from_bytes(Path::new("vk.key"), &reseal(&vk_bytes, edit)).err().unwrap();
        assert!(err.to_string().contains(want), "{want}: {err}");
    }
}

fn settings_json() -> serde_json::Value {
    let s = Settings::new(RunArgs::default(), ModelInfo::default());
    let mut v = serde_json::to_value(&s).unwrap();
    v["format"] = "zkonnx-settings".into();
    v
}

fn parse_settings(v: &serde_json::Value) -> Result<Settings, ArtifactError> {
    parse_json::<Settings>(Path::new("settings.json"), v.to_string().as_bytes())
}

#[test]
fn corrupt_settings_are_clear_errors() {
    let p = Path::new("settings.json");
    let ok = parse_settings(&settings_json()).unwrap();
    ok.run_args.validate().unwrap();

    for garbage in [&b""[..], b"{", b"\xff\xfe\x00", b"[1,2,3]", b"null"] {
        let err = parse_json::<Settings>(p, garbage).err().unwrap();
        assert!(err.to_string().contains("settings.json"), "{err}");
    }
    let mut v = settings_json();
    v["format"] = "zkonnx-witness".into();
    assert!(matches!(parse_settings(&v), Err(ArtifactError::WrongKind { .. })));
    let mut v = settings_json();
    v["version"] = 2.into();
    assert!(matches!(parse_settings(&v), Err(ArtifactError::Version { got: 2, .. })));
    for missing in ["run_args", "model", "version"] {
        let mut v = settings_json();
        v.as_object_mut().unwrap().remove(missing);
        assert!(parse_settings(&v).is_err(), "settings without `{missing}` accepted");
    }
    let mut v = settings_json();
    v["run_args"]["lookup_bits"] = "many".into();
    assert!(matches!(parse_settings(&v), Err(ArtifactError::Parse { .. })));

    // parseable but invalid values: `validate` names the field
    for (field, value) in [
        ("lookup_bits", 99),
        ("lookup_bits", 0),
        ("logrows", 27),
        ("logrows", 28),
        ("logrows", 29),
        ("logrows", 3),
        ("lanes", 0),
        ("lookup_lanes", 0),
        ("lookup_lanes", 17),
        ("input_scale", 60),
    ] {
        let mut v = settings_json();
        v["run_args"][field] = value.into();
        let s = parse_settings(&v).unwrap();
        let err = s.run_args.validate().err().unwrap_or_else(|| panic!("{field} = {value} accepted"));
        assert!(err.to_string().contains(field), "{field} = {value}: {err}");
    }
}

#[test]
fn corrupt_proof_files_are_clear_errors() {
    let (pk, params, srs) = keys();
    let vk = pk.get_vk();
    let (graph, _) = relu_graph();
    let mut info = ModelInfo::default();
    info.input_shapes = graph.input_shapes();
    info.output_shapes = graph.output_shapes();
    let mut args = RunArgs::default();
    args.lookup_bits = params.lookup_bits;
    args.logrows = params.k;
    let settings = Settings::new(args, info);
    let zero = Fr::from(0u64);
    let good = ProofArtifact::new(params.k, &[zero; 4], &[0u8; 64], vec![], String::new());

    let mut bad = good.clone();
    bad.proof = "0xnot-hex".into();
    let err = verify_artifact(&settings, vk, &srs, &bad).err().unwrap();
    assert!(err.to_string().contains("not hex"), "{err}");

    // the field modulus itself and all-ones are not field elements
    let modulus = Fr::MODULUS.trim_start_matches("0x").to_string();
    for v in [format!("0x{modulus}"), format!("0x{}", "ff".repeat(32)), "0x12".into(), "zz".into()] {
        let mut bad = good.clone();
        bad.instances[0] = v.clone();
        let err = verify_artifact(&settings, vk, &srs, &bad).err().unwrap();
        assert!(matches!(err, VerifyError::BadInstance { index: 0, .. }), "{v}: {err}");
    }
    for n in [0, 3, 5] {
        let mut bad = good.clone();
        bad.instances.resize(n, good.instances[0].clone());
        let err = verify_artifact(&settings, vk, &srs, &bad).err().unwrap();
        assert!(matches!(err, VerifyError::InstanceCount { expected: 4, .. }), "{n}: {err}");
    }
    // well-formed but bogus proof bytes are rejected, not a panic
    let err = verify_artifact(&settings, vk, &srs, &good).err().unwrap();
    assert!(matches!(err, VerifyError::Rejected { .. }), "{err}");

    let p = Path::new("proof.json");
    let mut v = serde_json::to_value(&good).unwrap();
    v["format"] = "zkonnx-proof".into();
    v["version"] = 1.into();
    parse_json::<ProofArtifact>(p, v.to_string().as_bytes()).unwrap();
    v.as_object_mut().unwrap().remove("instances");
    let err = parse_json::<ProofArtifact>(p, v.to_string().as_bytes()).err().unwrap();
    assert!(matches!(err, ArtifactError::Parse { .. }) && err.to_string().contains("proof.json"), "{err}");
    assert!(parse_json::<ProofArtifact>(p, b"\x00\x01garbage").is_err());
}
