//! The tests that run the `zkonnx` binary: `run --json` on a fixture, then `verify` on its
//! artifacts, then `verify` of a tampered proof, which must exit non-zero, then a `prove` killed
//! mid-way, which must leave no partial proof behind; and `calibrate` on the transformer, which
//! prints and writes the per-layer table; and the four model classes through `run` and `verify`.

use std::path::Path;
use std::process::Command;

fn zkonnx(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .env("ZKONNX_CACHE_DIR", cache)
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

#[test]
fn run_json_then_verify_then_reject_tampered() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/mlp");
    let out = tempfile::tempdir().unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let o = zkonnx(
        &[
            "run",
            "-M",
            root.join("model.onnx").to_str().unwrap(),
            "-D",
            root.join("input.json").to_str().unwrap(),
            "--out",
            out.path().to_str().unwrap(),
            "--json",
        ],
        &cache,
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "run failed: {}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    assert_eq!(line["ok"], true);
    for key in ["settings", "compile", "setup", "witness", "prove", "verify"] {
        assert!(line["phases"][key].as_f64().is_some(), "phase {key} missing: {line}");
    }
    assert_eq!(line["outputs"][0].as_array().map(|a| a.len()), Some(10));
    assert!(line["proof_bytes"].as_u64().unwrap() > 0 && line["peak_rss_mb"].as_f64().unwrap() > 0.0);
    assert!(line["logrows"].as_u64().unwrap() > 0);

    let p = |f: &str| out.path().join(f).to_str().unwrap().to_string();
    let o = zkonnx(
        &["verify", "--proof", &p("proof.json"), "--vk", &p("vk.key"), "--settings", &p("settings.json")],
        &cache,
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let mut proof: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("proof.json")).unwrap()).unwrap();
    let hexproof = proof["proof"].as_str().unwrap().to_string();
    let flipped = if hexproof.ends_with('0') { "1" } else { "0" };
    proof["proof"] = format!("{}{}", &hexproof[..hexproof.len() - 1], flipped).into();
    std::fs::write(p("bad.json"), proof.to_string()).unwrap();
    let o =
        zkonnx(&["verify", "--proof", &p("bad.json"), "--vk", &p("vk.key"), "--settings", &p("settings.json")], &cache);
    assert!(!o.status.success(), "tampered proof verified");
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not verify"), "{}", String::from_utf8_lossy(&o.stderr));

    let o = zkonnx(&["gen-witness", "-C", &p("model.compiled"), "-D", "/nonexistent/input.json"], &cache);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/input.json"));

    // a prove killed mid-way leaves no proof file and no temporary file behind
    let mut child = Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args([
            "prove",
            "-C",
            &p("model.compiled"),
            "--pk",
            &p("pk.key"),
            "-W",
            &p("witness.json"),
            "-O",
            &p("killed.json"),
        ])
        .env("ZKONNX_CACHE_DIR", &cache)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawning zkonnx prove: {e}"));
    std::thread::sleep(std::time::Duration::from_millis(400));
    child.kill().unwrap_or_else(|e| panic!("killing zkonnx prove: {e}"));
    let _ = child.wait();
    assert!(!out.path().join("killed.json").exists(), "a killed prove left a proof file");
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn calibrate_prints_and_writes_the_per_layer_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny");
    let out = tempfile::tempdir().unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let p = |f: &str| out.path().join(f).to_str().unwrap().to_string();
    let o = zkonnx(
        &[
            "calibrate",
            "-M",
            root.join("transformer.onnx").to_str().unwrap(),
            "-D",
            root.join("transformer.input.json").to_str().unwrap(),
            "-O",
            &p("settings.json"),
            "--layers",
            &p("layers.json"),
        ],
        &cache,
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let header = stderr.lines().find(|l| l.starts_with("layer ")).expect("the table's header");
    assert!(header.contains("scale") && header.contains("max |err|"), "{header}");
    for layer in ["ln1", "softmax", "gelu_erf", "residual2"] {
        assert!(stderr.lines().any(|l| l.starts_with(layer)), "{layer} missing:\n{stderr}");
    }
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p("layers.json")).unwrap()).unwrap();
    let layers = report["layers"].as_array().expect("layers");
    let softmax = layers.iter().find(|l| l["node"] == "softmax").expect("softmax row");
    assert_eq!(softmax["op"], "Softmax");
    assert!(softmax["max"].as_f64().unwrap() <= 1.0 && softmax["max_abs_error"].as_f64().is_some(), "{softmax}");
    assert_eq!(report["run_args"]["input_scale"], softmax["output_scale"]);
    assert!(std::fs::metadata(p("settings.json")).is_ok());
}

/// LeNet-5's smallest circuit within tolerance leaves room (its layout needs more rows than its
/// table, and proving stays within the precision budget): calibration takes a more accurate
/// candidate, says so, and writes it.
#[test]
fn calibrate_spends_the_room_on_precision() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../benches/models/lenet5");
    let out = tempfile::tempdir().unwrap();
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    let p = |f: &str| out.path().join(f).to_str().unwrap().to_string();
    let model = root.join("model.onnx");
    let data = root.join("input.json");
    let base = ["calibrate", "-M", model.to_str().unwrap(), "-D", data.to_str().unwrap(), "--layers", &p("l.json")];
    let o = zkonnx(&[&base[..], &["-O", &p("settings.json")]].concat(), &cache);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    let line =
        stderr.lines().find(|l| l.contains("more precision within the proving budget")).expect("the precision line");
    let errors: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter(|t| t.contains('.'))
        .map(|t| t.parse().unwrap())
        .collect();
    assert!(errors.len() == 2 && errors[0] < errors[1], "{line}");
    let settings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("settings.json")).unwrap()).unwrap();
    let a = &settings["run_args"];
    for key in ["input_scale", "param_scale", "lookup_bits", "range_limbs"] {
        assert!(line.contains(&format!("{key}={}", a[key])), "{key}: {a} vs {line}");
    }
}

/// The model classes (a transformer block and an LSTM, hand-built and exported by PyTorch, a
/// scikit-learn tree ensemble, a depthwise-separable CNN) prove and verify through the binary's `run`, then `verify`, and
/// their proven outputs are within calibration's tolerance of the reference outputs.
#[test]
fn model_classes_prove_and_verify_through_run() {
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache");
    for name in ["transformer", "torch_transformer", "lstm", "torch_lstm", "tree_ensemble", "depthwise_cnn"] {
        let out = tempfile::tempdir().unwrap();
        let file = |ext: &str| tiny.join(format!("{name}{ext}")).to_str().unwrap().to_string();
        let o = zkonnx(
            &["run", "-M", &file(".onnx"), "-D", &file(".input.json"), "--out", out.path().to_str().unwrap(), "--json"],
            &cache,
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{name}: run failed: {stdout}\n{}", String::from_utf8_lossy(&o.stderr));
        let line: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
        let p = |f: &str| out.path().join(f).to_str().unwrap().to_string();
        let o = zkonnx(
            &["verify", "--proof", &p("proof.json"), "--vk", &p("vk.key"), "--settings", &p("settings.json")],
            &cache,
        );
        assert!(o.status.success(), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        let expected: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file(".expected.json")).unwrap()).unwrap();
        let flat = |v: &serde_json::Value| -> Vec<f64> {
            v.as_array()
                .unwrap()
                .iter()
                .flat_map(|o| o.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()))
                .collect()
        };
        let (got, want) = (flat(&line["outputs"]), flat(&expected["outputs"]));
        assert_eq!(got.len(), want.len(), "{name}: output sizes");
        let max_out = want.iter().fold(0f64, |m, v| m.max(v.abs()));
        let tol = zkonnx_compiler::tolerance(max_out);
        let err = got.iter().zip(&want).fold(0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= tol, "{name}: proven outputs {err} from the reference (tolerance {tol})");
        let prove = line["phases"]["prove"].as_f64().unwrap_or(f64::NAN);
        eprintln!("{name}: logrows {}, prove {prove:.2} s, error {err:.4}", line["logrows"]);
    }
}
