//! `--gpu on|auto|off` on `run` and `prove`: the choice, the hand-off to the GPU prover, and (on a
//! machine with an NVIDIA GPU and `zkonnx-gpu` built) a GPU proof checked by both verifiers.

#![expect(clippy::unwrap_used, reason = "test helpers fail the test on a broken setup")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::fixture;

const MODEL: &str = "tiny/relu.onnx";
const INPUT: &str = "tiny/relu.input.json";

/// `zkonnx` in `dir`, where the default artifact names (`settings.json`, `vk.key`, ...) resolve.
fn zkonnx_in(dir: &Path, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .current_dir(dir)
        .env("ZKONNX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"))
        .env_remove("ZKONNX_GPU_PROVER")
        .env_remove("ZKONNX_CUDA_DRIVER")
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

fn zkonnx(args: &[&str], envs: &[(&str, &Path)]) -> Output {
    zkonnx_in(Path::new("."), args, envs)
}

fn run_args<'a>(out: &'a Path, m: &'a Path, i: &'a Path, gpu: &'a str) -> Vec<&'a str> {
    let (m, i, out) = (m.to_str().unwrap(), i.to_str().unwrap(), out.to_str().unwrap());
    vec!["run", "--json", "-M", m, "-D", i, "--out", out, "--gpu", gpu]
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Whether this machine has a usable NVIDIA driver (then the no-GPU tests do not apply).
fn has_gpu() -> bool {
    zkonnx_gpu::probe().is_ok()
}

/// The stand-in driver (`gpu/tests/fake_driver.c`), compiled into `dir`: it reports one GPU.
fn fake_driver(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../gpu/tests/fake_driver.c");
    let lib = dir.join("libcuda.so.1");
    let ok = Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status().unwrap().success();
    assert!(ok, "compiling the stand-in driver");
    lib
}

/// A stand-in `zkonnx-gpu` in `dir`: an executable shell script with `body`.
fn stand_in_prover(dir: &Path, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let prover = dir.join("zkonnx-gpu");
    std::fs::write(&prover, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&prover, std::fs::Permissions::from_mode(0o755)).unwrap();
    prover
}

#[test]
fn gpu_on_without_a_gpu_fails_at_once_and_writes_nothing() {
    if has_gpu() {
        eprintln!("SKIPPED: this machine has an NVIDIA driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (m, i) = (fixture(MODEL), fixture(INPUT));
    let o = zkonnx(&run_args(&out, &m, &i, "on"), &[]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("--gpu on: no NVIDIA driver") && err.contains("--gpu auto"), "{err}");
    assert!(!out.join("pk.key").exists(), "no work before the GPU check");
}

#[test]
fn gpu_auto_without_a_gpu_proves_on_the_cpu() {
    if has_gpu() {
        eprintln!("SKIPPED: this machine has an NVIDIA driver");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (m, i) = (fixture(MODEL), fixture(INPUT));
    let o = zkonnx(&run_args(dir.path(), &m, &i, "auto"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["prover"], "cpu");
}

/// With a GPU found but no `zkonnx-gpu` binary: `on` says what is missing, `auto` falls back.
#[test]
fn a_gpu_without_the_gpu_prover_is_named_and_auto_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let driver = fake_driver(dir.path());
    let missing = dir.path().join("no-such-zkonnx-gpu");
    let envs = [("ZKONNX_CUDA_DRIVER", driver.as_path()), ("ZKONNX_GPU_PROVER", missing.as_path())];
    let (m, i) = (fixture(MODEL), fixture(INPUT));
    let o = zkonnx(&run_args(&dir.path().join("on"), &m, &i, "on"), &envs);
    let err = stderr(&o);
    assert!(!o.status.success() && err.contains("Stand-in GPU") && err.contains("does not exist"), "{err}");
    let o = zkonnx(&run_args(&dir.path().join("auto"), &m, &i, "auto"), &envs);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("proving on the CPU"), "{}", stderr(&o));
}

/// A GPU prover that fails (it cannot start, say): `on` fails, `auto` proves on the CPU instead.
#[test]
fn a_failing_gpu_prover_fails_on_and_auto_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let driver = fake_driver(dir.path());
    let prover = stand_in_prover(dir.path(), "echo 'cannot open libcudart.so.13' >&2\nexit 127");
    let envs = [("ZKONNX_CUDA_DRIVER", driver.as_path()), ("ZKONNX_GPU_PROVER", prover.as_path())];
    let (m, i) = (fixture(MODEL), fixture(INPUT));
    let o = zkonnx(&run_args(&dir.path().join("on"), &m, &i, "on"), &envs);
    assert!(!o.status.success() && stderr(&o).contains("GPU prover"), "{}", stderr(&o));
    let o = zkonnx(&run_args(&dir.path().join("auto"), &m, &i, "auto"), &envs);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((report["ok"].clone(), report["prover"].clone()), (true.into(), "cpu".into()), "{report}");
}

/// The hand-off: with a GPU found, `run` and `prove` run the GPU prover on the artifact files and
/// take its proof. The stand-in prover records its arguments and proves with `zkonnx prove --gpu off`.
#[test]
fn run_and_prove_hand_the_artifacts_to_the_gpu_prover() {
    let dir = tempfile::tempdir().unwrap();
    let driver = fake_driver(dir.path());
    let log = dir.path().join("prover-args.txt");
    let script = format!(
        "echo \"$@\" >> '{}'\nshift\nexec '{}' prove --gpu off -C \"$2\" --pk \"$4\" -W \"$6\" --srs \"$8\" -O \"${{10}}\"",
        log.display(),
        env!("CARGO_BIN_EXE_zkonnx")
    );
    let prover = stand_in_prover(dir.path(), &script);
    let envs = [("ZKONNX_CUDA_DRIVER", driver.as_path()), ("ZKONNX_GPU_PROVER", prover.as_path())];
    let out = dir.path().join("out");
    let (m, i) = (fixture(MODEL), fixture(INPUT));
    let o = zkonnx(&run_args(&out, &m, &i, "on"), &envs);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((report["ok"].clone(), report["prover"].clone()), (true.into(), "gpu".into()), "{report}");
    let args = std::fs::read_to_string(&log).unwrap();
    for file in ["model.compiled", "pk.key", "witness.json", "proof.json"] {
        assert!(args.contains(out.join(file).to_str().unwrap()), "{file} not handed over: {args}");
    }

    // `prove --gpu on` on the same artifacts (default file names), then an independent `verify`
    let o = zkonnx_in(&out, &["prove", "--pk", "pk.key", "-O", "proof2.json", "--gpu", "on"], &envs);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = zkonnx_in(&out, &["verify", "--proof", "proof2.json"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// On a machine with an NVIDIA GPU and `zkonnx-gpu` built: a proof made on the GPU is accepted by
/// `zkonnx verify` and by the Solidity verifier in the EVM.
#[test]
fn a_gpu_proof_verifies_natively_and_on_the_evm() {
    let prover = std::env::var_os("ZKONNX_GPU_PROVER").map(PathBuf::from);
    let ready = has_gpu() && prover.as_ref().is_some_and(|p| p.is_file());
    if !ready {
        let why = "needs an NVIDIA GPU and ZKONNX_GPU_PROVER naming a built zkonnx-gpu";
        assert!(std::env::var("ZKONNX_REQUIRE_GPU").map_or(true, |v| v != "1"), "ZKONNX_REQUIRE_GPU=1: {why}");
        eprintln!("SKIPPED: {why}");
        return;
    }
    let prover = prover.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (m, i) = (fixture("mlp/model.onnx"), fixture("mlp/input.json"));
    let o = zkonnx(&run_args(&out, &m, &i, "on"), &[("ZKONNX_GPU_PROVER", prover.as_path())]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((report["ok"].clone(), report["prover"].clone()), (true.into(), "gpu".into()), "{report}");
    for args in [&["verify"][..], &["create-evm-verifier", "--allow-insecure-srs"], &["verify-evm"]] {
        let o = zkonnx_in(&out, args, &[]);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
}
