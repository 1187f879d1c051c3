//! zkonnx and EZKL side by side on the same ONNX files and inputs.
//!
//! Run it with `bash scripts/bench-vs-ezkl.sh`, which installs EZKL (PyPI, pinned in
//! `benches/requirements.txt`) into `benches/.venv`, builds the release binary and runs this.
//! For every model of the set, in one process per tool and run, the two tools run in turn
//! (zkonnx, then EZKL), each through its whole pipeline with default settings and calibration
//! on the model's input (`zkonnx run --json`; `benches/ezkl/run.py` for EZKL). It records each
//! phase's seconds, peak RSS, proof size, logrows and the largest absolute error of the
//! dequantized outputs against float inference (the `expected.json` beside each model, from
//! onnx's reference evaluator), then writes `docs/benchmarks.md` and `docs/benchmarks.json`.
//!
//! Preparing the SRS is not timed for either tool: `zkonnx run` loads (or generates into its
//! cache, and reduces) the development SRS between its compile and setup phases, EZKL's `gen_srs`
//! runs outside the timed phases.
//!
//! The set: every fixture model, the benchmark models in `benches/models`, and `cnn_large` once
//! more pinned to a taller layout at `logrows = 20` (zkonnx only, see [`TALL`]).
//!
//! Environment: `ZKONNX_BENCH_ONLY=name,name` restricts the set; `ZKONNX_BENCH_RENDER=1` only
//! rewrites `docs/benchmarks.md` from `docs/benchmarks.json`; `ZKONNX_BENCH_TIMEOUT` (seconds,
//! default 900) and `ZKONNX_BENCH_MAX_RSS_GB` (default 16) stop a run that would take the
//! machine down, and the table says so.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use zkonnx_benches::{binary, cores, max_abs_error, root, run_tool, Limits};

/// One benchmark model: its name, ONNX file, input and float outputs.
struct Model {
    name: String,
    onnx: PathBuf,
    input: PathBuf,
    expected: PathBuf,
    /// Extra `zkonnx run` flags (none: its defaults).
    zkonnx_args: &'static [&'static str],
    /// Why EZKL does not run this entry (`None`: it does).
    ezkl_skipped: Option<&'static str>,
}

/// The set's `logrows >= 20` entry: `cnn_large` pinned to 3 lanes, a taller layout than the
/// optimizer's (11 lanes at logrows 18). EZKL is not run again on the same model: it does not
/// finish `cnn_large` within the time limit (the row above).
const TALL: (&str, &[&str], &str) = (
    "cnn_large/3-lanes",
    &["--lanes", "3"],
    "not run: the same model as cnn_large, which EZKL does not finish within the time limit",
);

fn model_set() -> Result<Vec<Model>> {
    let r = root();
    let mut set = Vec::new();
    let dir = |name: &str, d: PathBuf| Model {
        name: name.to_string(),
        onnx: d.join("model.onnx"),
        input: d.join("input.json"),
        expected: d.join("expected.json"),
        zkonnx_args: &[],
        ezkl_skipped: None,
    };
    let mut tiny: Vec<PathBuf> = std::fs::read_dir(r.join("fixtures/tiny"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    tiny.sort();
    for p in tiny {
        let stem = p.file_stem().and_then(|s| s.to_str()).context("fixture name")?.to_string();
        let d = p.parent().context("fixture dir")?;
        set.push(Model {
            input: d.join(format!("{stem}.input.json")),
            expected: d.join(format!("{stem}.expected.json")),
            onnx: p.clone(),
            name: format!("tiny/{stem}"),
            zkonnx_args: &[],
            ezkl_skipped: None,
        });
    }
    for f in ["mlp", "lenet", "digits_cnn"] {
        set.push(dir(f, r.join("fixtures").join(f)));
    }
    for b in ["mlp784", "lenet5", "cnn_large"] {
        set.push(dir(b, r.join("benches/models").join(b)));
    }
    let (name, args, why) = TALL;
    set.push(Model {
        name: name.to_string(),
        zkonnx_args: args,
        ezkl_skipped: Some(why),
        ..dir(name, r.join("benches/models/cnn_large"))
    });
    if let Ok(only) = std::env::var("ZKONNX_BENCH_ONLY") {
        let keep: Vec<&str> = only.split(',').collect();
        set.retain(|m| keep.contains(&m.name.as_str()));
    }
    Ok(set)
}

fn zkonnx_cmd(bin: &Path, m: &Model, out: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args(["run", "--json", "-M"]).arg(&m.onnx).arg("-D").arg(&m.input).arg("--out").arg(out);
    c.args(m.zkonnx_args);
    c
}

fn ezkl_cmd(python: &Path, m: &Model, out: &Path, srs: &Path) -> Command {
    let mut c = Command::new(python);
    c.arg(root().join("benches/ezkl/run.py")).arg(&m.onnx).arg(&m.input).arg(out).arg(srs);
    c
}

/// A cell: `value (ratio)` where both tools have the figure.
fn ratio_cell(z: Option<f64>, e: Option<f64>, digits: usize) -> String {
    match (z, e) {
        (Some(z), Some(e)) if e > 0.0 => format!("{z:.digits$} / {e:.digits$} ({:.2}×)", z / e),
        (Some(z), Some(e)) => format!("{z:.digits$} / {e:.digits$}"),
        (Some(z), _) => format!("{z:.digits$} / –"),
        _ => "–".into(),
    }
}

struct Row {
    name: String,
    zk: Result<Value, String>,
    ez: Result<Value, String>,
    err_zk: Option<f64>,
    err_ez: Option<f64>,
}

/// The sections of `docs/benchmarks.md` other benches write, kept when this one rewrites it.
const KEPT_SECTIONS: [&str; 3] = ["verify-gas", "hashed", "split"];

/// The largest prove and setup time, as a fraction of EZKL's, that meets the target.
const PROVE_SETUP_TARGET: f64 = 0.1;

fn verdicts(r: &Row) -> String {
    let (Ok(z), Ok(e)) = (&r.zk, &r.ez) else {
        return match (&r.zk, &r.ez) {
            (Err(z), _) => format!("zkonnx: {z}"),
            (_, Err(e)) => format!("EZKL: {e}"),
            _ => String::new(),
        };
    };
    let f = |v: &Value, p: &str| v["phases"][p].as_f64().unwrap_or(f64::NAN);
    let mut missed: Vec<String> = Vec::new();
    for phase in ["prove", "setup"] {
        if f(z, phase) > PROVE_SETUP_TARGET * f(e, phase) {
            missed.push(format!("{phase} > {PROVE_SETUP_TARGET}×"));
        }
    }
    if z["peak_rss_mb"].as_f64() > e["peak_rss_mb"].as_f64().map(|m| m * 0.5) {
        missed.push("memory > 0.5×".into());
    }
    if r.err_zk > r.err_ez {
        missed.push("error > EZKL's".into());
    }
    if missed.is_empty() {
        "all targets met".into()
    } else {
        format!("missed: {}", missed.join(", "))
    }
}

fn table(rows: &[Row]) -> String {
    let mut t = String::from(
        "| model | logrows | setup s | prove s | witness s | verify s | settings+compile s | peak RSS MiB | \
         proof bytes | max abs error | targets |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let (z, e) = (r.zk.as_ref().ok(), r.ez.as_ref().ok());
        let ph = |v: Option<&Value>, p: &str| v.and_then(|v| v["phases"][p].as_f64());
        let sc = |v: Option<&Value>| Some(ph(v, "settings")? + ph(v, "compile")?);
        let num = |v: Option<&Value>, f: &str| v.and_then(|v| v[f].as_f64());
        let logrows = format!(
            "{} / {}",
            z.map_or("–".into(), |v| v["logrows"].to_string()),
            e.map_or("–".into(), |v| v["logrows"].to_string())
        );
        t += &format!(
            "| {} | {logrows} | {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.name,
            ratio_cell(ph(z, "setup"), ph(e, "setup"), 2),
            ratio_cell(ph(z, "prove"), ph(e, "prove"), 2),
            ratio_cell(ph(z, "witness"), ph(e, "witness"), 3),
            ratio_cell(ph(z, "verify"), ph(e, "verify"), 3),
            ratio_cell(sc(z), sc(e), 2),
            ratio_cell(num(z, "peak_rss_mb"), num(e, "peak_rss_mb"), 0),
            ratio_cell(num(z, "proof_bytes"), num(e, "proof_bytes"), 0),
            ratio_cell(r.err_zk, r.err_ez, 4),
            verdicts(r),
        );
    }
    t
}

/// The GPU section: the results `scripts/gpu-check.sh` wrote on a GPU machine, copied into `docs/gpu/`
/// (`device.txt`, `msm_ntt.md`, `summary.md`), or what is missing.
fn gpu_section() -> String {
    let dir = root().join("docs/gpu");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).ok();
    let head = "## GPU proving (`--gpu`)\n\nMeasured by `bash scripts/gpu-check.sh` on a GPU machine (after \
                `bash scripts/build-gpu.sh` here); its `device.txt`, `msm_ntt.md` and `summary.md` go in \
                `docs/gpu/`. Targets: MSM 2^20 ≤ 10 ms; end-to-end GPU proving ≥ 5× the same machine's CPU at \
                logrows ≥ 20.\n\n";
    match (read("device.txt"), read("msm_ntt.md"), read("summary.md")) {
        (Some(device), Some(msm), Some(summary)) => {
            format!("{head}Device:\n\n```\n{}\n```\n\nMSM and NTT:\n\n{msm}\nEnd to end:\n\n{summary}", device.trim())
        }
        _ => format!(
            "{head}**Not measured yet: no GPU has been available to this project.** The GPU code is built and its \
             plumbing tested on CPU machines only (see gpu/README.md).\n"
        ),
    }
}

fn main() -> Result<()> {
    let python = root().join("benches/.venv/bin/python");
    if !python.exists() {
        bail!("{} not found: run `bash scripts/bench-vs-ezkl.sh`, which installs EZKL", python.display());
    }
    let json_path = root().join("docs/benchmarks.json");
    let rows = if std::env::var_os("ZKONNX_BENCH_RENDER").is_some() {
        // rewrite docs/benchmarks.md from the measurements in docs/benchmarks.json
        rows_from_json(&serde_json::from_slice(&std::fs::read(&json_path)?)?)?
    } else {
        let rows = measure(&python)?;
        std::fs::create_dir_all(root().join("docs"))?;
        std::fs::write(&json_path, serde_json::to_vec_pretty(&rows_to_json(&rows))?)?;
        rows
    };
    let doc = format!(
        "# zkonnx vs EZKL\n\nGenerated by `bash scripts/bench-vs-ezkl.sh` (`cargo bench -p zkonnx-benches --bench \
         vs_ezkl`): one run of each tool per model, in turn, each in its own process, on one machine \
         ({} cores). EZKL {} with its default settings and `resources` calibration; zkonnx `run` with its \
         defaults. Each cell is `zkonnx / EZKL (ratio)`. Targets: prove and setup ≤ 0.1×, peak memory ≤ \
         0.5×, error ≤ EZKL's. Errors are the largest absolute difference of the dequantized outputs from \
         float inference (onnx's reference evaluator). Preparing the SRS is not timed for either tool.\n\n{}\n{}",
        cores(),
        ezkl_version(&python),
        table(&rows),
        gpu_section()
    );
    // keep the sections the other benches write (verify_gas, hashed, split)
    let old = std::fs::read_to_string(root().join("docs/benchmarks.md")).unwrap_or_default();
    let mut doc = doc;
    for name in KEPT_SECTIONS {
        if let Some(section) = zkonnx_benches::marked_section(&old, name) {
            doc = format!("{}\n\n{section}\n", doc.trim_end());
        }
    }
    std::fs::write(root().join("docs/benchmarks.md"), doc)?;
    println!("wrote docs/benchmarks.md and docs/benchmarks.json");
    Ok(())
}

/// Runs every model of the set through both tools.
fn measure(python: &Path) -> Result<Vec<Row>> {
    let bin = binary()?;
    let limits = Limits::from_env()?;
    let work = std::env::temp_dir().join("zkonnx-vs-ezkl");
    let ezkl_srs = work.join("ezkl-srs");
    let mut rows = Vec::new();
    for m in model_set()? {
        let expected: Value = serde_json::from_slice(&std::fs::read(&m.expected)?)?;
        let (zdir, edir) = (work.join("zkonnx").join(&m.name), work.join("ezkl").join(&m.name));
        for d in [&zdir, &edir] {
            let _ = std::fs::remove_dir_all(d); // fresh keys: no run reuses another's
        }
        let zk = run_tool(zkonnx_cmd(&bin, &m, &zdir), "zkonnx", &limits);
        let ez = match m.ezkl_skipped {
            Some(why) => Err(why.to_string()),
            None => run_tool(ezkl_cmd(python, &m, &edir, &ezkl_srs), "EZKL", &limits),
        };
        let err = |r: &Result<Value, String>| {
            r.as_ref().ok().and_then(|v| max_abs_error(&v["outputs"], &expected["outputs"]))
        };
        let row = Row { err_zk: err(&zk), err_ez: err(&ez), name: m.name, zk, ez };
        println!("{}", table(std::slice::from_ref(&row)).lines().last().unwrap_or_default());
        rows.push(row);
    }
    Ok(rows)
}

fn rows_to_json(rows: &[Row]) -> Vec<Value> {
    let side = |v: &Result<Value, String>, err: Option<f64>| match v {
        Ok(v) => json!({ "ok": true, "run": v, "max_abs_error": err }),
        Err(e) => json!({ "ok": false, "error": e }),
    };
    rows.iter()
        .map(|r| json!({ "model": r.name, "zkonnx": side(&r.zk, r.err_zk), "ezkl": side(&r.ez, r.err_ez) }))
        .collect()
}

fn rows_from_json(v: &Value) -> Result<Vec<Row>> {
    let side = |s: &Value| -> (Result<Value, String>, Option<f64>) {
        if s["ok"] == true {
            (Ok(s["run"].clone()), s["max_abs_error"].as_f64())
        } else {
            (Err(s["error"].as_str().unwrap_or("failed").to_string()), None)
        }
    };
    let models = v.as_array().context("docs/benchmarks.json: expected a list of models")?;
    Ok(models
        .iter()
        .map(|m| {
            let ((zk, err_zk), (ez, err_ez)) = (side(&m["zkonnx"]), side(&m["ezkl"]));
            Row { name: m["model"].as_str().unwrap_or("?").to_string(), zk, ez, err_zk, err_ez }
        })
        .collect())
}

fn ezkl_version(python: &Path) -> String {
    Command::new(python)
        .args(["-c", "import ezkl; print(ezkl.__version__)"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "?".into())
}
