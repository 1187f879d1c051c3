//! The peak-memory estimate: close to what proving really takes, and enforced.

#![expect(clippy::unwrap_used, clippy::expect_used, reason = "test helpers fail the test on a broken setup")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{all_fixtures, fixture};

fn zkonnx(args: &[&str], envs: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .env("ZKONNX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"))
        .envs(envs.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

/// `zkonnx run --json` on a fixture: its JSON line.
fn run(
    model: &str,
    input: &str,
    out: &Path,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Result<serde_json::Value, String> {
    let (m, i) = (fixture(model), fixture(input));
    let mut args = vec!["run", "--json", "-M", m.to_str().unwrap(), "-D", i.to_str().unwrap()];
    args.extend(["--out", out.to_str().unwrap()]);
    args.extend(extra);
    let o = zkonnx(&args, envs);
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&o.stdout).expect("one JSON line"))
}

/// On every fixture model, the estimate `run` prints before setup is within 2x of the peak
/// resident memory the same process then reaches (setup and proving included).
#[test]
fn memory_estimate_is_within_2x_of_the_measured_peak_on_every_fixture() {
    let mut worst: (f64, String) = (1.0, String::new());
    for (model, input) in all_fixtures() {
        let out = tempfile::tempdir().unwrap();
        let line = run(&model, &input, out.path(), &[], &[]).unwrap_or_else(|e| panic!("{model}: {e}"));
        let (est, peak) = (line["estimated_peak_mb"].as_f64().unwrap(), line["peak_rss_mb"].as_f64().unwrap());
        let ratio = est / peak;
        eprintln!("{model}: estimated {est:.0} MiB, peak {peak:.0} MiB ({ratio:.2}x), shape {}", line["shape"]);
        assert!((0.5..=2.0).contains(&ratio), "{model}: estimate {est:.0} MiB vs measured peak {peak:.0} MiB");
        if (ratio.ln()).abs() > worst.0.ln().abs() {
            worst = (ratio, model);
        }
    }
    eprintln!("worst estimate/peak: {:.2} ({})", worst.0, worst.1);
}

/// A run whose estimate exceeds the memory available is refused before setup, with the
/// estimate in the message and nothing written; `--force` runs it anyway. `prove` and `setup`
/// refuse the same way.
#[test]
fn runs_above_the_memory_limit_are_refused_unless_forced() {
    let out = tempfile::tempdir().unwrap();
    let tight = [("ZKONNX_MAX_MEMORY_MB", "1")];
    let err = run("mlp/model.onnx", "mlp/input.json", out.path(), &[], &tight).unwrap_err();
    assert!(err.contains("needs an estimated") && err.contains("MiB") && err.contains("--force"), "{err}");
    assert!(!out.path().join("pk.key").exists(), "keys written despite the refusal");
    let line = run("mlp/model.onnx", "mlp/input.json", out.path(), &["--force"], &tight).unwrap();
    assert_eq!(line["ok"], true);

    let p = |f: &str| out.path().join(f).to_str().unwrap().to_string();
    let prove =
        ["prove", "-C", &p("model.compiled"), "--pk", &p("pk.key"), "-W", &p("witness.json"), "-O", &p("p2.json")];
    let o = zkonnx(&prove, &tight);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("proving needs an estimated"), "{err}");
    let setup = ["setup", "-C", &p("model.compiled"), "--vk", &p("vk2.key"), "--pk", &p("pk2.key")];
    let o = zkonnx(&setup, &tight);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("setup needs an estimated"), "{err}");
    assert!(zkonnx(&prove, &[]).status.success());
}
