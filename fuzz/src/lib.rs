//! Shared fixtures of the fuzz targets: a compiled fixture graph, a real verifying key, SRS
//! and proof made once per process through the library, and a panic guard.
//!
//! libfuzzer-sys installs a panic hook that aborts on every panic, even one our code catches
//! and turns into an `Err` (the verifier wraps halo2 in `catch_unwind`). [`quiet_panics`]
//! replaces it; [`no_escape`] then aborts (a libFuzzer crash) only when a panic escapes the
//! library call, printing the message recorded by the hook.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "fixture setup: a broken fixture should fail loudly")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Mutex, OnceLock};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx::lower::circuits::CircuitParams;
use zkonnx::lower::ir::{Graph, RunArgs};
use zkonnx::{CompiledModel, Model, Options, Prover};

/// The fixture model every stateful target uses.
pub const GEMM_ONNX: &[u8] = include_bytes!("../../fixtures/tiny/gemm.onnx");
/// Its input file.
pub const GEMM_INPUT: &[u8] = include_bytes!("../../fixtures/tiny/gemm.input.json");

static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Replaces libFuzzer's abort-on-panic hook by one that only records the message.
pub fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some(info.to_string());
        }
    }));
}

/// Runs `f`; a panic that escapes it is a finding: print it and abort.
pub fn no_escape<T>(what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(_) => {
            let msg = LAST_PANIC.lock().ok().and_then(|m| m.clone()).unwrap_or_default();
            eprintln!("FUZZ FINDING: a panic escaped {what}: {msg}");
            std::process::abort();
        }
    }
}

/// The gemm fixture compiled through the library with default settings (the layout optimizer's
/// shape).
pub fn compiled() -> &'static CompiledModel {
    static C: OnceLock<CompiledModel> = OnceLock::new();
    C.get_or_init(|| {
        let model = Model::from_bytes(GEMM_ONNX, "gemm", &Default::default()).unwrap();
        model.compile(model.default_settings(&Options::new()).unwrap()).unwrap()
    })
}

/// The gemm fixture's graph and run arguments.
pub fn gemm_graph() -> (&'static Graph, &'static RunArgs) {
    let c = compiled();
    (&c.graph, &c.settings.run_args)
}

/// A real verifying key, its parameters, the dev SRS, one valid proof and its instances.
#[derive(Debug)]
pub struct Proved {
    pub vk: VerifyingKey<G1Affine>,
    pub pk: ProvingKey<G1Affine>,
    pub params: CircuitParams,
    pub srs: ParamsKZG<Bn256>,
    pub proof: Vec<u8>,
    pub instances: Vec<Fr>,
}

/// Keygen and one proof of the gemm fixture with the development SRS (once per process).
pub fn proved() -> &'static Proved {
    static P: OnceLock<Proved> = OnceLock::new();
    P.get_or_init(|| {
        let compiled = compiled().clone();
        let srs = zkonnx::lower::prover::generate_dev_srs(compiled.settings.run_args.logrows).unwrap();
        let keys = zkonnx::keygen(&compiled, &srs).unwrap();
        let prover = Prover::new(compiled, keys, srs.clone()).unwrap();
        let inputs = zkonnx::parse_inputs(GEMM_INPUT).unwrap();
        let proof = prover.prove(&inputs).unwrap();
        prover.verifier().unwrap().verify(&proof).unwrap();
        let (instances, proof) = (proof.instances().unwrap(), proof.proof_bytes().unwrap());
        let keys = prover.into_keys();
        Proved { vk: keys.pk.get_vk().clone(), pk: keys.pk, params: keys.params, srs, proof, instances }
    })
}

/// The key container layout of `verifier/src/container.rs` (`encode` is crate-private there):
/// `magic[8] | version u32 LE | meta_len u32 LE | meta | sha256(meta || body) | body`.
pub fn key_container(magic: &[u8; 8], meta: &[u8], body: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(meta);
    h.update(body);
    let sum: [u8; 32] = h.finalize().into();
    let mut out = Vec::with_capacity(48 + meta.len() + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&zkonnx::lower::verifier::keys::KEY_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta);
    out.extend_from_slice(&sum);
    out.extend_from_slice(body);
    out
}

/// The real key metadata of the gemm fixture (`KeyMeta` is non-exhaustive: built as JSON).
pub fn real_meta() -> Vec<u8> {
    let params = CircuitParams::from_settings(&compiled().settings);
    serde_json::to_vec(&serde_json::json!({ "params": params, "model_hash": "" })).unwrap()
}

/// Splits a structured key input: byte 0 odd = the real key metadata and the rest as the key
/// body; even = a little-endian u16 metadata length, the metadata, the body.
pub fn split_key_input(data: &[u8]) -> Option<(Vec<u8>, &[u8])> {
    let (&mode, rest) = data.split_first()?;
    if mode & 1 == 1 {
        return Some((real_meta(), rest));
    }
    let len = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
    let rest = &rest[2..];
    let len = len.min(rest.len());
    Some((rest[..len].to_vec(), &rest[len..]))
}

/// Writes the seeds that need the library (settings, proof, key files) into
/// `dir/<target>/`; `scripts/fuzz.sh` calls it through the `ZKONNX_FUZZ_SEEDS` variable.
pub fn write_seeds(dir: &std::path::Path) {
    use zkonnx::lower::verifier::{write_json, ProofArtifact};
    let p = proved();
    let args = &compiled().settings.run_args;
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let settings_path = dir.join("settings_json").join("gemm.json");
    std::fs::create_dir_all(settings_path.parent().unwrap()).unwrap();
    write_json(&settings_path, &compiled().settings).unwrap();
    let proof_path = dir.join("proof_json").join("gemm.json");
    std::fs::create_dir_all(proof_path.parent().unwrap()).unwrap();
    write_json(&proof_path, &ProofArtifact::new(args.logrows, &p.instances, &p.proof, Vec::new(), String::new()))
        .unwrap();
    put("proof_raw", "gemm.bin", &p.proof);
    put("vk_bytes", "gemm.vk", &zkonnx::lower::verifier::keys::vk_to_bytes(&p.vk, &zkonnx::lower::verifier::keys::KeyMeta::new(p.params.clone(), "", Default::default())));
    let meta = real_meta();
    let len = (meta.len() as u16).to_le_bytes();
    let mut vk = Vec::new();
    p.vk.write(&mut vk, halo2_proofs::SerdeFormat::RawBytes).unwrap();
    let mut pk = Vec::new();
    p.pk.write(&mut pk, halo2_proofs::SerdeFormat::RawBytes).unwrap();
    for (target, body) in [("vk_structured", &vk), ("pk_structured", &pk)] {
        put(target, "real_meta", &[&[1u8][..], body].concat());
        put(target, "own_meta", &[&[0u8][..], &len, &meta, body].concat());
    }
}

/// Calls [`write_seeds`] when `ZKONNX_FUZZ_SEEDS` names a folder (from a target's `init`).
pub fn seeds_from_env() {
    if let Some(dir) = std::env::var_os("ZKONNX_FUZZ_SEEDS") {
        write_seeds(std::path::Path::new(&dir));
    }
}
