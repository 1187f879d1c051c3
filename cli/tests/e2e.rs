//! End to end through the library API: fixture models proved and verified, tampered proofs,
//! wrong public outputs and foreign keys rejected, bad inputs reported clearly.

mod common;

use common::{fixture, prove_fixture, read_inputs};
use zkonnx_compiler::{quantize_inputs, CompileError, OnnxModel};
use zkonnx_verifier::keys::{read_vk, vk_from_bytes, vk_to_bytes, write_vk};
use zkonnx_verifier::{verify_artifact, verify_proof_bytes, ArtifactError, VerifyError};

fn assert_close(p: &common::Proved, bound: f64) {
    for (q, f) in p.quantized_outputs.iter().flatten().zip(p.float_outputs.iter().flatten()) {
        assert!((q - f64::from(*f)).abs() <= bound, "quantized {q} vs float {f} (bound {bound})");
    }
}

#[test]
fn mlp_lenet_and_digits_prove_and_verify() {
    for (model, input) in [
        ("mlp/model.onnx", "mlp/input.json"),
        ("lenet/model.onnx", "lenet/input.json"),
        ("digits_cnn/model.onnx", "digits_cnn/input.json"),
    ] {
        let p = prove_fixture(model, input, |_| {});
        verify_artifact(&p.settings, p.keys.pk.get_vk(), &p.srs, &p.proof).unwrap_or_else(|e| panic!("{model}: {e}"));
        // within calibration's stated tolerance (2% of the output magnitude, at least 0.01)
        let max_out = p.float_outputs.iter().flatten().fold(0f64, |m, v| m.max(f64::from(*v).abs()));
        assert_close(&p, zkonnx_compiler::tolerance(max_out));
        eprintln!("{model}: logrows {} verified", p.settings.run_args.logrows);
    }
}

#[test]
fn every_visibility_combination_proves() {
    use zkonnx_ir::Visibility::{Private, Public};
    for (inp, out, par) in
        [(Public, Public, zkonnx_ir::Visibility::Fixed), (Private, Private, Private), (Public, Private, Private)]
    {
        let p = prove_fixture("tiny/gemm.onnx", "tiny/gemm.input.json", |a| {
            a.input_visibility = inp;
            a.output_visibility = out;
            a.param_visibility = par;
        });
        verify_artifact(&p.settings, p.keys.pk.get_vk(), &p.srs, &p.proof)
            .unwrap_or_else(|e| panic!("{inp:?}/{out:?}/{par:?}: {e}"));
    }
}

#[test]
fn verifier_rejects_tampering() {
    let p = prove_fixture("tiny/gemm.onnx", "tiny/gemm.input.json", |_| {});
    let vk = p.keys.pk.get_vk();
    let instances = p.proof.instances().unwrap();
    let bytes = p.proof.proof_bytes().unwrap();
    verify_proof_bytes(&p.srs, vk, &instances, &bytes).unwrap();

    // every single-byte flip of the proof is rejected
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x01;
        assert!(verify_proof_bytes(&p.srs, vk, &instances, &bad).is_err(), "flip of byte {i} accepted");
    }
    // truncated and extended proofs too
    assert!(verify_proof_bytes(&p.srs, vk, &instances, &bytes[..bytes.len() - 1]).is_err());

    // a different public output
    let mut wrong = instances.clone();
    let last = wrong.len() - 1;
    wrong[last] += <halo2_proofs::halo2curves::bn256::Fr as halo2_proofs::halo2curves::ff::Field>::ONE;
    assert!(matches!(verify_proof_bytes(&p.srs, vk, &wrong, &bytes), Err(VerifyError::Rejected { .. })));
    // a missing public value
    let mut art = p.proof.clone();
    art.instances.pop();
    assert!(matches!(verify_artifact(&p.settings, vk, &p.srs, &art), Err(VerifyError::InstanceCount { .. })));

    // the VK of another model (same k, forced) does not verify this proof
    let other = prove_fixture("tiny/relu.onnx", "tiny/relu.input.json", |a| a.logrows = p.settings.run_args.logrows);
    let mut settings = p.settings.clone();
    settings.run_args.logrows = other.settings.run_args.logrows;
    let other_vk = other.keys.pk.get_vk();
    assert!(verify_artifact(&settings, other_vk, &p.srs, &p.proof).is_err(), "foreign VK accepted");
}

#[test]
fn key_files_round_trip_and_corruption_is_a_clear_error() {
    let p = prove_fixture("tiny/relu.onnx", "tiny/relu.input.json", |_| {});
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vk.key");
    write_vk(&path, p.keys.pk.get_vk(), &p.keys.meta("")).unwrap();
    let (vk, meta) = read_vk(&path).unwrap();
    assert_eq!(meta.params, p.keys.params);
    verify_artifact(&p.settings, &vk, &p.srs, &p.proof).unwrap();
    // the key is bound to its settings: other circuit parameters or another model are refused
    meta.check_for(&path, &p.settings).unwrap();
    let mut other = p.settings.clone();
    other.run_args.lookup_bits += 1;
    let err = meta.check_for(&path, &other).unwrap_err();
    assert!(matches!(err, ArtifactError::Mismatch { .. }) && err.to_string().contains("vk.key"), "{err}");
    write_vk(&path, p.keys.pk.get_vk(), &p.keys.meta("0123")).unwrap();
    let (_, meta) = read_vk(&path).unwrap();
    let mut other = p.settings.clone();
    other.model.model_hash = "4567".into();
    let err = meta.check_for(&path, &other).unwrap_err();
    assert!(err.to_string().contains("belongs to model 0123"), "{err}");

    let bytes = vk_to_bytes(p.keys.pk.get_vk(), &p.keys.meta(""));
    for i in 0..bytes.len() {
        let mut bad = bytes.clone();
        bad[i] ^= 0x10;
        assert!(vk_from_bytes(&path, &bad).is_err(), "corrupt byte {i} accepted");
    }
    let err = vk_from_bytes(&path, &bytes[..bytes.len() / 2]).unwrap_err();
    assert!(matches!(err, ArtifactError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("vk.key"), "{err}");
    let err = read_vk(&dir.path().join("missing.key")).unwrap_err();
    assert!(err.to_string().contains("missing.key"), "{err}");
}

#[test]
fn bad_models_and_inputs_are_clear_errors() {
    let dims = Default::default();
    for bad in ["bad/malformed.onnx", "bad/not_onnx.onnx", "missing/model.onnx"] {
        let err = OnnxModel::load(&fixture(bad), &dims).err().unwrap_or_else(|| panic!("{bad} loaded"));
        let name = bad.rsplit('/').next().unwrap_or(bad);
        assert!(err.to_string().contains(name), "{bad}: {err}");
    }
    let m = OnnxModel::load(&fixture("bad/unsupported_op.onnx"), &dims).unwrap();
    let err = zkonnx_compiler::compile(&m, &Default::default()).unwrap_err();
    assert!(matches!(err, CompileError::UnsupportedOp { .. }), "{err}");
    assert!(err.to_string().contains("MeanVarianceNormalization"), "{err}");

    let m = OnnxModel::load(&fixture("digits_cnn/model.onnx"), &dims).unwrap();
    let g = zkonnx_compiler::compile(&m, &Default::default()).unwrap();
    let err = quantize_inputs(&g, &read_inputs(&fixture("bad/wrong_length.input.json"))).unwrap_err();
    assert!(err.to_string().contains("64") && err.to_string().contains("63"), "{err}");
}
