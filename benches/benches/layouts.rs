//! The layout optimizer against fixed layouts, and the measurements behind its cost model.
//!
//! `cargo build --release -p zkonnx-cli && cargo bench -p zkonnx-benches --bench layouts`
//!
//! For each model it proves with the optimizer's choice and with every width in [`WIDTHS`]
//! (each at its smallest `logrows`, with lookups on every lane: the layouts without the
//! optimizer), one `zkonnx run --json` process each, and records prove time, setup time and
//! peak RSS. It then:
//! - compares the optimizer's choice with the naive minimal-k layout (the widest, which has the
//!   smallest `logrows`) and with the old fixed default of 2 lanes;
//! - fits the cost model's coefficients (`zkonnx_circuits::cost`) to all runs by least squares
//!   on relative error, and prints them beside the ones in the code, with each model's
//!   predicted/measured ratio for time and memory.
//!
//! Writes `docs/layouts.md`.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use zkonnx::lower::circuits::cost::{Shape, BASE_MB, MEMORY_WEIGHTS, PROVE_SECONDS};
use zkonnx_benches::{binary, cores, root, run_tool, Limits};

const WIDTHS: &[usize] = &[1, 2, 4, 8, 16];
/// `cnn_large` below 16 lanes needs k >= 19: over ten minutes a run on 2 cores and up to
/// 10 GiB; the optimizer's choice is compared with the minimal-k layout only.
const WIDE: &[usize] = &[16];

/// (name, ONNX file, input relative to the workspace root, widths to measure).
const MODELS: [(&str, &str, &str, &[usize]); 6] = [
    ("mlp784", "benches/models/mlp784/model.onnx", "benches/models/mlp784/input.json", WIDTHS),
    ("lenet5", "benches/models/lenet5/model.onnx", "benches/models/lenet5/input.json", WIDTHS),
    ("digits_cnn", "fixtures/digits_cnn/model.onnx", "fixtures/digits_cnn/input.json", WIDTHS),
    ("transformer", "fixtures/tiny/transformer.onnx", "fixtures/tiny/transformer.input.json", WIDTHS),
    ("lstm", "fixtures/tiny/lstm.onnx", "fixtures/tiny/lstm.input.json", WIDTHS),
    ("cnn_large", "benches/models/cnn_large/model.onnx", "benches/models/cnn_large/input.json", WIDE),
];

/// One measured run.
struct Run {
    shape: Shape,
    prove: f64,
    setup: f64,
    peak_mb: f64,
}

fn run(bin: &Path, model: &str, input: &str, lanes: Option<usize>, limits: &Limits) -> Result<Run> {
    let out = std::env::temp_dir().join(format!("zkonnx-layouts-{}", lanes.map_or("auto".into(), |l| l.to_string())));
    let _ = std::fs::remove_dir_all(&out);
    let mut c = Command::new(bin);
    c.args(["run", "--json", "--force", "-M"])
        .arg(root().join(model))
        .arg("-D")
        .arg(root().join(input))
        .arg("--out")
        .arg(&out);
    if let Some(l) = lanes {
        c.args(["--lanes", &l.to_string(), "--lookup-lanes", &l.to_string()]);
    }
    let v = run_tool(c, model, limits).map_err(anyhow::Error::msg)?;
    println!("{model} lanes {lanes:?}: {v}"); // every run as it ends: a long bench keeps its data
    let f = |p: &str| v["phases"][p].as_f64().unwrap_or(f64::NAN);
    Ok(Run {
        shape: serde_json::from_value(v["shape"].clone()).context("the run's shape")?,
        prove: f("prove"),
        setup: f("setup"),
        peak_mb: v["peak_rss_mb"].as_f64().unwrap_or(f64::NAN),
    })
}

/// Least squares of `y ≈ X b` on relative error (rows scaled by 1/y), by the normal equations.
fn fit<const N: usize>(xs: &[[f64; N]], ys: &[f64]) -> Option<[f64; N]> {
    let mut a = [[0.0; N]; N];
    let mut b = [0.0; N];
    for (x, &y) in xs.iter().zip(ys) {
        let w = 1.0 / (y * y);
        for i in 0..N {
            b[i] += w * x[i] * y;
            for j in 0..N {
                a[i][j] += w * x[i] * x[j];
            }
        }
    }
    // Gaussian elimination with partial pivoting
    for col in 0..N {
        let p = (col..N).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        a.swap(col, p);
        b.swap(col, p);
        if a[col][col].abs() < 1e-300 {
            return None;
        }
        let pivot = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let m = row[col] / pivot[col];
                for (x, p) in row.iter_mut().zip(&pivot) {
                    *x -= m * p;
                }
                b[r] -= m * b[col];
            }
        }
    }
    Some(std::array::from_fn(|i| b[i] / a[i][i]))
}

fn main() -> Result<()> {
    let bin = binary()?;
    let limits = Limits::from_env()?;
    let only = std::env::var("ZKONNX_BENCH_ONLY").ok();
    let mut all: Vec<Run> = Vec::new();
    let mut table = String::from(
        "| model | layout | lanes | lookup lanes | logrows | rows | prove s | predicted s | setup s | peak MiB | predicted MiB |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut summary = String::from(
        "| model | optimizer (lanes, lookup lanes, k) | prove s | minimal-k (lanes, k) | prove s | optimizer / minimal-k | 2 lanes prove s | optimizer / 2 lanes |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    for (name, model, input, widths) in MODELS {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|m| m == name)) {
            continue;
        }
        let auto = run(&bin, model, input, None, &limits).with_context(|| format!("{name}: optimizer"))?;
        let mut fixed = Vec::new();
        for &l in widths {
            fixed.push((l, run(&bin, model, input, Some(l), &limits).with_context(|| format!("{name}: {l} lanes"))?));
        }
        let row = |label: &str, r: &Run| {
            format!(
                "| {name} | {label} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0} | {:.0} |\n",
                r.shape.lanes,
                r.shape.lookup_lanes,
                r.shape.k,
                r.shape.rows,
                r.prove,
                r.shape.predicted_prove_seconds(),
                r.setup,
                r.peak_mb,
                r.shape.predicted_prove_mb()
            )
        };
        table += &row("optimizer", &auto);
        for (l, r) in &fixed {
            table += &row(&format!("{l} lanes"), r);
        }
        let naive = fixed.iter().map(|(_, r)| r).min_by_key(|r| (r.shape.k, std::cmp::Reverse(r.shape.lanes)));
        let two = fixed.iter().find(|(l, _)| *l == 2).map(|(_, r)| r);
        if let Some(naive) = naive {
            let (two_s, two_ratio) = two.map_or(("–".into(), "–".into()), |t| {
                (format!("{:.2}", t.prove), format!("{:.2}×", auto.prove / t.prove))
            });
            let line = format!(
                "| {name} | {}, {}, {} | {:.2} | {}, {} | {:.2} | {:.2}× | {two_s} | {two_ratio} |\n",
                auto.shape.lanes,
                auto.shape.lookup_lanes,
                auto.shape.k,
                auto.prove,
                naive.shape.lanes,
                naive.shape.k,
                naive.prove,
                auto.prove / naive.prove,
            );
            print!("{line}");
            summary += &line;
        }
        all.push(auto);
        all.extend(fixed.into_iter().map(|(_, r)| r));
    }
    let time_fit = fit(
        &all.iter().map(|r| r.shape.time_terms()).collect::<Vec<_>>(),
        &all.iter().map(|r| r.prove).collect::<Vec<_>>(),
    );
    let mem_rows: Vec<[f64; 3]> = all
        .iter()
        .map(|r| {
            let [a, b] = r.shape.memory_terms();
            [1.0, a, b]
        })
        .collect();
    let mem_fit = fit(&mem_rows, &all.iter().map(|r| r.peak_mb).collect::<Vec<_>>());
    let fits = format!(
        "Fitted to these {} runs (least squares on relative error):\n\n```\nPROVE_SECONDS  = {:?}   (in the code: {PROVE_SECONDS:?})\n\
         BASE_MB, MEMORY_WEIGHTS = {:?}   (in the code: {BASE_MB}, {MEMORY_WEIGHTS:?})\n```\n",
        all.len(),
        time_fit,
        mem_fit
    );
    print!("{fits}");
    let doc = format!(
        "# Layout optimizer\n\nGenerated by `cargo bench -p zkonnx-benches --bench layouts` on one machine ({} cores): \
         every model proved with the optimizer's choice and with 1, 2, 4, 8 and 16 lanes (16 for \
         cnn_large; each at its smallest logrows, with lookups on every lane), one `zkonnx run --json` process each. `minimal-k` is the naive layout: the smallest logrows \
         (the widest circuit). Predictions are the cost model's (`zkonnx_circuits::cost`) with the coefficients \
         in the code.\n\n{summary}\n{fits}\n## Every run\n\n{table}",
        cores()
    );
    std::fs::write(root().join("docs/layouts.md"), doc)?;
    println!("wrote docs/layouts.md");
    Ok(())
}
