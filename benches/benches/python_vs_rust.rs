//! Proving through the Python package against the Rust library, on the same artifacts and input.
//!
//! `zkonnx run` makes the artifacts of a model (default `fixtures/digits_cnn`); then, alternating
//! for [`ROUNDS`] rounds, [`PER_ROUND`] warm proofs with `zkonnx::Prover` in this process and
//! [`PER_ROUND`] with `zkonnx.Prover` in a Python process (`fixtures/.venv/bin/python` with the
//! wheel installed, or `$ZKONNX_PYTHON`), each timed around the prove call alone. Reports the
//! medians and their ratio; writes `docs/python-vs-rust.md`.
//!
//! `cargo build --release -p zkonnx-cli && cargo bench -p zkonnx-benches --bench python_vs_rust`

#![expect(clippy::print_stdout, reason = "a bench prints its report")]

use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use zkonnx::{Artifacts, Prover, Silent, SrsSource};
use zkonnx_benches::{binary, cores, root};

const ROUNDS: usize = 3;
const PER_ROUND: usize = 5;

const PY: &str = r#"
import json, sys, time, zkonnx
prover = zkonnx.Prover.from_artifacts(sys.argv[1])
x = json.load(open(sys.argv[2]))
prover.prove(x)
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); prover.prove(x); times.append(time.perf_counter() - t)
print(json.dumps(times))
"#;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let model_dir = root().join(std::env::var("ZKONNX_BENCH_MODEL").unwrap_or_else(|_| "fixtures/digits_cnn".into()));
    let name = model_dir.file_name().and_then(|n| n.to_str()).unwrap_or("model").to_string();
    let work = std::env::temp_dir().join(format!("zkonnx-py-vs-rust-{}", std::process::id()));
    let input = model_dir.join("input.json");
    let o = Command::new(binary()?)
        .args(["run", "--json", "--gpu", "off", "-M"])
        .arg(model_dir.join("model.onnx"))
        .arg("-D")
        .arg(&input)
        .arg("--out")
        .arg(&work)
        .output()?;
    ensure!(o.status.success(), "zkonnx run: {}", String::from_utf8_lossy(&o.stderr));
    let python = std::env::var("ZKONNX_PYTHON")
        .unwrap_or_else(|_| root().join("fixtures/.venv/bin/python").display().to_string());

    let prover = Prover::from_artifacts(&Artifacts::new(&work), &SrsSource::dev()?, &Silent)?;
    let inputs = zkonnx::read_inputs(&input)?;
    prover.prove(&inputs)?; // warm-up
    let (mut rust, mut py) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        for _ in 0..PER_ROUND {
            let t = Instant::now();
            prover.prove(&inputs)?;
            rust.push(t.elapsed().as_secs_f64());
        }
        let o = Command::new(&python)
            .arg("-c")
            .arg(PY)
            .arg(&work)
            .arg(&input)
            .arg(PER_ROUND.to_string())
            .output()
            .with_context(|| format!("running {python} (install the wheel: see README, From Python)"))?;
        ensure!(o.status.success(), "python: {}", String::from_utf8_lossy(&o.stderr));
        let times: Vec<f64> = serde_json::from_slice(&o.stdout).context("python's timings")?;
        py.extend(times);
    }
    let _ = std::fs::remove_dir_all(&work);
    let (r, p) = (median(&mut rust), median(&mut py));
    let report = format!(
        "# Proving from Python against the Rust library\n\n\
         `cargo bench -p zkonnx-benches --bench python_vs_rust` on {} cores: model `{name}`, the same artifacts and \
         input; {ROUNDS} alternating rounds of {PER_ROUND} warm proofs each (`zkonnx::Prover::prove` in the bench \
         process, `zkonnx.Prover.prove` in a Python process).\n\n\
         | measure | value |\n|---|---|\n\
         | Rust library, median prove | {r:.4} s |\n\
         | Python package, median prove | {p:.4} s |\n\
         | ratio Python / Rust | {:.3}x |\n",
        cores(),
        p / r
    );
    print!("{report}");
    std::fs::write(root().join("docs/python-vs-rust.md"), &report)?;
    Ok(())
}
