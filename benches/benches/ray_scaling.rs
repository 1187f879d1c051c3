//! zkonnx.ray on this machine: simulated Ray nodes of one CPU each (every task proves on one
//! rayon thread, so a node is one core), 1 and 2 worker nodes, in one run:
//!
//! - `prove_many`: throughput of [`INPUTS`] proofs of `fixtures/digits_cnn`, and the scheduling
//!   overhead per task (the wall time with one worker over the same proofs made in-process);
//! - `prove_split` on `fixtures/lenet` cut into 4 segments: the segment phase's wall time;
//! - one whole `prove_split` of the MLP in 2 segments on one simulated node of two CPUs
//!   (segments, the root as a cluster task on both cores, verification), in its own process so
//!   the driver has both cores too, with its phases and the bytes its artifacts shipped.
//!
//! `cargo build --release -p zkonnx-cli && cargo bench -p zkonnx-benches --bench ray_scaling`
//! (the Python package and Ray installed in `fixtures/.venv`, as `scripts/test.sh` does, or
//! `$ZKONNX_PYTHON`). Writes the measured section of `docs/ray.md` and `docs/ray.json`.

#![expect(clippy::print_stdout, reason = "a bench prints its report")]

use std::process::Command;

use anyhow::{ensure, Context, Result};
use serde_json::Value;
use zkonnx_benches::{cores, root};

/// Inputs `prove_many` proves per configuration.
const INPUTS: usize = 16;

const PY: &str = r#"
import json, os, sys, tempfile, time
import numpy as np
import ray
from ray.cluster_utils import Cluster
import zkonnx, zkonnx.ray as zray

root, n, part = sys.argv[1], int(sys.argv[2]), sys.argv[3]
work = tempfile.mkdtemp(prefix="zkonnx-ray-bench-")
fixture = lambda name: (os.path.join(root, "fixtures", name, "model.onnx"),
                        np.asarray(json.load(open(os.path.join(root, "fixtures", name, "input.json")))["input_data"][0],
                                   dtype=np.float32))
out = {}

def cluster(workers):
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(workers):
        c.add_node(num_cpus=1)
    ray.init(address=c.address, log_to_driver=False)
    return c

def many_and_segments():
    global out
    # many inputs of one model
    path, x = fixture("digits_cnn")
    model = zkonnx.Model(path)
    x = x.reshape(model.input_shapes[0])
    prover = model.setup(os.path.join(work, "digits"), samples=[x])
    rng = np.random.default_rng(0)
    inputs = [np.clip(x + rng.normal(0, 0.05, x.shape), 0, 1).astype(np.float32) for _ in range(n)]
    prover.prove(inputs[0])
    t = time.perf_counter()
    for i in inputs:
        prover.prove(i)
    out["in_process_seconds_per_proof"] = (time.perf_counter() - t) / n
    for workers in (1, 2):
        c = cluster(workers)
        zray.prove_many(os.path.join(work, "digits"), inputs[:workers])  # each worker builds its prover
        t = time.perf_counter()
        proofs = zray.prove_many(os.path.join(work, "digits"), inputs)
        wall = time.perf_counter() - t
        assert len(proofs) == n
        out[f"prove_many_{workers}"] = {"seconds": wall, "proofs_per_second": n / wall}
        ray.shutdown(); c.shutdown()
    out["overhead_per_task_seconds"] = (out["prove_many_1"]["seconds"] - n * out["in_process_seconds_per_proof"]) / n

    # a split model's segment phase
    path, x = fixture("lenet")
    sm = zkonnx.split(path, [[x.ravel().tolist()]], os.path.join(work, "lenet"), segments=4)
    out["lenet_segments"] = [s["logrows"] for s in sm.summary["segments"]]
    for workers in (1, 2):
        c = cluster(workers)
        # once untimed: the workers start and fetch the segments' keys into the node cache
        zray.prove_split(split_dir=sm.split_dir, inputs=x, aggregate=False, run_dir=os.path.join(work, f"warm-{workers}"))
        t = time.perf_counter()
        zray.prove_split(split_dir=sm.split_dir, inputs=x, aggregate=False, run_dir=os.path.join(work, f"lenet-run-{workers}"))
        out[f"split_segments_{workers}"] = time.perf_counter() - t
        ray.shutdown(); c.shutdown()

# one whole aggregated run: the root a cluster task on a two-CPU node (its keys made first, untimed)
def whole():
    path, x = fixture("mlp")
    sm = zkonnx.split(path, [[x.ravel().tolist()]], os.path.join(work, "mlp"), segments=2, aggregation_logrows=20)
    sm.setup_aggregation()
    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    c.add_node(num_cpus=2, memory=20 * 2**30)
    ray.init(address=c.address, log_to_driver=False)
    store = zray.ArtifactStore(shared_dir=os.path.join(work, "shared"))
    phases = {}
    def progress(event, phase, seconds):
        if event == "finished":
            phases[phase] = seconds
    t = time.perf_counter()
    proof = zray.prove_split(split_dir=sm.split_dir, inputs=x, artifact_store=store, progress=progress,
                             aggregate_on="cluster", aggregation_cpus=2, run_dir=os.path.join(work, "mlp-run"))
    out["mlp_split_total_seconds"] = time.perf_counter() - t
    out["mlp_split_phases"] = phases
    out["mlp_split_inline_bytes"] = store.inline_bytes
    out["mlp_split_shared_bytes"] = store.shared_bytes
    out["mlp_split_ok"] = sm.verify(proof)
    ray.shutdown(); c.shutdown()

many_and_segments() if part == "scaling" else whole()
print(json.dumps(out))
"#;

fn f(v: &Value, path: &[&str]) -> f64 {
    path.iter().fold(v, |v, k| &v[*k]).as_f64().unwrap_or(f64::NAN)
}

/// Runs one part of [`PY`] (`scaling` on one rayon thread per process, as a one-CPU node proves;
/// `whole` with every core) and returns its figures.
fn part(name: &str) -> Result<Value> {
    let python = std::env::var_os("ZKONNX_PYTHON")
        .map_or_else(|| root().join("fixtures/.venv/bin/python"), std::path::PathBuf::from);
    let mut c = Command::new(&python);
    c.args(["-c", PY]).arg(root()).arg(INPUTS.to_string()).arg(name);
    if name == "scaling" {
        c.env("RAYON_NUM_THREADS", "1");
    } else {
        c.env_remove("RAYON_NUM_THREADS");
    }
    let out = c.output().with_context(|| format!("running {}", python.display()))?;
    ensure!(out.status.success(), "the Python side ({name}) failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with('{')).context("no JSON from the Python side")?;
    Ok(serde_json::from_str(line)?)
}

fn main() -> Result<()> {
    let mut v = part("scaling")?;
    if let (Some(all), Value::Object(whole)) = (v.as_object_mut(), part("whole")?) {
        all.extend(whole);
    }
    let (one, two) = (f(&v, &["prove_many_1", "proofs_per_second"]), f(&v, &["prove_many_2", "proofs_per_second"]));
    let (s1, s2) = (f(&v, &["split_segments_1"]), f(&v, &["split_segments_2"]));
    let aggregate = f(&v, &["mlp_split_phases", "aggregate"]);
    let section = format!(
        "## Measured\n\n\
         Generated by `cargo bench -p zkonnx-benches --bench ray_scaling` on this machine ({} cores): simulated Ray \
         nodes of one CPU each (`ray.cluster_utils.Cluster`, every task on one rayon thread), one run; raw figures in \
         `docs/ray.json`.\n\n\
         | what | 1 worker | 2 workers | ratio |\n|---|---|---|---|\n\
         | `prove_many`, {INPUTS} proofs of digits_cnn, proofs/s | {one:.2} | {two:.2} | {:.2}× |\n\
         | `prove_split` segment phase, lenet in 4 segments, s | {s1:.1} | {s2:.1} | {:.2}× |\n\n\
         - In-process proof (one thread): {:.3} s; scheduling overhead per `prove_many` task (wall time with one \
         worker over the same proofs in-process): {:.3} s.\n\
         - A whole `prove_split` of the MLP in 2 segments on one simulated node of 2 CPUs, the root (logrows 20) \
         a cluster task on both cores, its keys made beforehand: {:.0} s, of which the aggregation (the root's task, after the segments) {aggregate:.0} s; \
         artifacts shipped through the object store {:.1} MiB, through the shared folder (the root's proving key, \
         hard-linked on one machine) {:.0} MiB.\n",
        cores(),
        two / one,
        s1 / s2,
        f(&v, &["in_process_seconds_per_proof"]),
        f(&v, &["overhead_per_task_seconds"]),
        f(&v, &["mlp_split_total_seconds"]),
        f(&v, &["mlp_split_inline_bytes"]) / (1024.0 * 1024.0),
        f(&v, &["mlp_split_shared_bytes"]) / (1024.0 * 1024.0),
    );
    print!("{section}");
    std::fs::write(root().join("docs/ray.json"), serde_json::to_string_pretty(&v)?)?;
    let path = root().join("docs/ray.md");
    let doc = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    std::fs::write(&path, zkonnx_benches::replace_section(&doc, "ray-measured", &section))?;
    println!("wrote {}", path.display());
    Ok(())
}
