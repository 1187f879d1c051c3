//! Function tables sized to the calibration input (`zkonnx_ir::tables`) through the binary:
//! `table -D` reports the sampled domains and a smaller circuit than full tables; a proving input beyond a
//! sampled table fails naming the node and the domain, and a wider `--table-margin` takes it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn zkonnx(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(args)
        .current_dir(dir)
        .env("ZKONNX_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache"))
        .output()
        .unwrap_or_else(|e| panic!("running zkonnx: {e}"))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let o = zkonnx(dir, args);
    assert!(o.status.success(), "zkonnx {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn tiny(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny").join(name)
}

/// The logrows line of a `table` report: the logrows and what sets them.
fn set_by(out: &str) -> (u32, String) {
    let line = out.lines().find(|l| l.contains("is set by")).unwrap_or_else(|| panic!("no logrows line: {out}"));
    let k = line.split_whitespace().nth(1).and_then(|k| k.parse().ok()).unwrap_or_else(|| panic!("{line}"));
    (k, line.to_string())
}

/// The function-table models of the table-sizing issue (and `indexing`, whose two full-range
/// tables set logrows 14): calibrated on their input, their tables cover what the input reaches
/// and the circuit is smaller than with tables over the activation range (`--table-margin full`).
/// On these models a table still sets logrows: their layouts are 17 to 800 rows, below even the
/// range table's, and calibration spends the precision budget on finer scales.
#[test]
fn calibrated_tables_shrink_the_circuit() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["instance_norm", "logsumexp", "log", "exp", "lp_pool", "indexing"] {
        let model = tiny(&format!("{name}.onnx"));
        let input = tiny(&format!("{name}.input.json"));
        let args = ["table", "-M", model.to_str().unwrap(), "-D", input.to_str().unwrap()];
        let sampled = ok(dir.path(), &args);
        assert!(sampled.contains("domains: the calibration samples' range and its margin"), "{name}: {sampled}");
        let full = ok(dir.path(), &[&args[..], &["--table-margin", "full"]].concat());
        assert!(full.contains("domains: what the input can reach"), "{name}: {full}");
        let ((k_sampled, line), (k_full, full_line)) = (set_by(&sampled), set_by(&full));
        assert!(k_sampled < k_full, "{name}: sampled {line} against full {full_line}");
        if name == "log" {
            // log's region next to 0 is tabulated point by point: the sample (0.58 to 3.81) widened
            // by its width reaches 0, so the region is there from 0; the side below 0, which no
            // sample reaches, keeps the one row where it parks
            let lines = |role: &str| sampled.lines().filter(|l| l.contains("Log") && l.contains(role)).count();
            let region = sampled.lines().find(|l| l.contains("Log") && l.contains("(point by point)"));
            let region = region.unwrap_or_else(|| panic!("no point-by-point region: {sampled}"));
            assert!(region.contains("x in [0, "), "{region}");
            let parked = sampled.lines().any(|l| l.contains("Log") && l.contains(" 1 rows (x in [-1, -1]"));
            assert!(parked, "the side below 0 parks: {sampled}");
            assert_eq!(lines("(differences)"), 2, "two interpolated sides: {sampled}");
        }
    }
}

/// `log` calibrated with no margin: its table ends at the sample's largest value, so an input
/// beyond it fails at the witness with the node, the value and the domain; the default margin
/// takes the same input.
#[test]
fn an_input_beyond_a_sampled_table_names_the_node_and_the_margin_widens_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let model = tiny("log.onnx");
    let (model, input) = (model.to_str().unwrap(), tiny("log.input.json"));
    // the sample's largest value is 3.81; 4.5 lies beyond it
    std::fs::write(p("beyond.json"), r#"{"input_data":[[1.0,1.0,1.0,4.5,1.0,1.0,1.0,1.0]]}"#).unwrap();
    for (margin, fits) in [("0", false), ("1", true)] {
        let settings = p(&format!("settings-{margin}.json"));
        let compiled = p(&format!("model-{margin}.compiled"));
        let data = input.to_str().unwrap();
        ok(dir.path(), &["calibrate", "-M", model, "-D", data, "-O", &settings, "--table-margin", margin]);
        ok(dir.path(), &["compile", "-M", model, "-S", &settings, "-O", &compiled]);
        let o = zkonnx(dir.path(), &["gen-witness", "-C", &compiled, "-D", &p("beyond.json"), "-O", &p("w.json")]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.success(), fits, "margin {margin}: {stderr}");
        if !fits {
            assert!(
                stderr.contains("(`log`, Log): input") && stderr.contains("outside the table's domain"),
                "{stderr}"
            );
            assert!(stderr.contains("--table-margin"), "{stderr}");
        }
    }
    let o = zkonnx(dir.path(), &["calibrate", "-M", model, "-D", input.to_str().unwrap(), "--table-margin=-1"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && stderr.contains("table_margin") && stderr.contains("`-1`"), "{stderr}");
}

/// `Pow` by a computed exponent is `exp(t · ln b)`: a base at or below 0 (where ONNX's power of a
/// real exponent is undefined, and the log table holds a placeholder) fails at proving time,
/// naming the node, instead of proving the placeholder's result.
#[test]
fn a_computed_power_of_a_base_below_zero_fails_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let (model, input) = (tiny("pow_computed.onnx"), tiny("pow_computed.input.json"));
    let model = model.to_str().unwrap();
    ok(dir.path(), &["calibrate", "-M", model, "-D", input.to_str().unwrap(), "-O", &p("settings.json")]);
    ok(dir.path(), &["compile", "-M", model, "-S", &p("settings.json"), "-O", &p("model.compiled")]);
    // base 1 + r = -0.5 in the third position
    let below = r#"{"input_data":[[0.25,0.25,-1.5,0.25,0.25,0.25],[1.0,2.0,2.0,1.0,1.0,1.0]]}"#;
    std::fs::write(p("below.json"), below).unwrap();
    let o =
        zkonnx(dir.path(), &["gen-witness", "-C", &p("model.compiled"), "-D", &p("below.json"), "-O", &p("w.json")]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{stderr}");
    assert!(
        stderr.contains("(`compound`, Log): input -64") && stderr.contains("outside the table's domain"),
        "{stderr}"
    );
    // a positive base in range proves the same model
    std::fs::write(p("fine.json"), r#"{"input_data":[[0.25,0.25,0.1,0.25,0.25,0.25],[1.0,2.0,2.0,1.0,1.0,1.0]]}"#)
        .unwrap();
    ok(dir.path(), &["gen-witness", "-C", &p("model.compiled"), "-D", &p("fine.json"), "-O", &p("w.json")]);
}
