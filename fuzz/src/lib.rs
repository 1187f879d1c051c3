//! Shared fixtures of the fuzz targets: a compiled fixture graph, a real verifying key, SRS
//! and proof made once per process through the library, and a panic guard.
//!
//! libfuzzer-sys installs a panic hook that aborts on every panic, even one our code catches
//! and turns into an `Err` (the verifier wraps halo2 in `catch_unwind`). [`quiet_panics`]
//! replaces it; [`no_escape`] then aborts (a libFuzzer crash) only when a panic escapes the
//! library call, printing the message recorded by the hook.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "fixture setup: a broken fixture should fail loudly")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, OnceLock};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_circuits::{min_k, CircuitParams};
use zkonnx_ir::{Graph, RunArgs};

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

/// The gemm fixture compiled with default run arguments at the smallest `k` that fits.
pub fn gemm_graph() -> &'static (Graph, RunArgs) {
    static G: OnceLock<(Graph, RunArgs)> = OnceLock::new();
    G.get_or_init(|| {
        let model = zkonnx_compiler::OnnxModel::from_bytes(GEMM_ONNX, "gemm", &Default::default()).unwrap();
        let mut args = RunArgs::default();
        let graph = zkonnx_compiler::compile(&model, &args).unwrap();
        args.logrows = min_k(&graph, &CircuitParams::from_run_args(&args));
        (graph, args)
    })
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
        let (graph, args) = gemm_graph().clone();
        let params = CircuitParams::from_run_args(&args);
        let inputs = zkonnx_compiler::parse_inputs(GEMM_INPUT).unwrap();
        let q = zkonnx_compiler::quantize_inputs(&graph, &inputs).unwrap();
        let trace = Arc::new(zkonnx_ir::run(&graph, &q, args.range_bits()).unwrap());
        let graph = Arc::new(graph);
        let srs = zkonnx_prover::generate_dev_srs(args.logrows).unwrap();
        let keys = zkonnx_prover::keygen(&srs, graph.clone(), params.clone()).unwrap();
        let (proof, instances) = zkonnx_prover::prove(&srs, &keys, graph, trace, zkonnx_prover::Backend::Cpu).unwrap();
        let vk = keys.pk.get_vk().clone();
        zkonnx_verifier::verify_proof_bytes(&srs, &vk, &instances, &proof).unwrap();
        Proved { vk, pk: keys.pk, params, srs, proof, instances }
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
    out.extend_from_slice(&zkonnx_verifier::keys::KEY_VERSION.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta);
    out.extend_from_slice(&sum);
    out.extend_from_slice(body);
    out
}

/// The real key metadata of the gemm fixture (`KeyMeta` is non-exhaustive: built as JSON).
pub fn real_meta() -> Vec<u8> {
    let params = CircuitParams::from_run_args(&gemm_graph().1);
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
    use zkonnx_verifier::{write_json, ProofArtifact};
    let p = proved();
    let (graph, args) = gemm_graph();
    let put = |target: &str, name: &str, bytes: &[u8]| {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let mut info = zkonnx_ir::ModelInfo::default();
    info.input_shapes = graph.input_shapes();
    info.output_shapes = graph.output_shapes();
    let settings_path = dir.join("settings_json").join("gemm.json");
    std::fs::create_dir_all(settings_path.parent().unwrap()).unwrap();
    write_json(&settings_path, &zkonnx_ir::Settings::new(args.clone(), info)).unwrap();
    let proof_path = dir.join("proof_json").join("gemm.json");
    std::fs::create_dir_all(proof_path.parent().unwrap()).unwrap();
    write_json(&proof_path, &ProofArtifact::new(args.logrows, &p.instances, &p.proof, Vec::new(), String::new()))
        .unwrap();
    put("proof_raw", "gemm.bin", &p.proof);
    put("vk_bytes", "gemm.vk", &zkonnx_verifier::keys::vk_to_bytes(&p.vk, &p.params, ""));
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
