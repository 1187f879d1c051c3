//! Load on the proving service (`zkonnx serve`), loopback only, bounded in requests and time.
//!
//! 1. `zkonnx run --json` on the model, three times in the same folder (keys reused): the median
//!    of its `prove` phase is the reference.
//! 2. `zkonnx serve` on that folder; one warm-up proof, then [`WARM`] proofs one after another:
//!    their median latency (client side, HTTP included) against the reference, as a ratio. A
//!    service that reloaded the key or the SRS per request would show here.
//! 3. [`CLIENTS`] client threads x [`PER_CLIENT`] proofs at once: errors, throughput, p50 and p99
//!    latency (queueing included: the service admits proofs by memory and runs at most
//!    `--max-concurrent`), and the service's peak resident memory.
//!
//! `cargo bench -p zkonnx-benches --bench serve_load` (needs `cargo build --release -p zkonnx-cli`);
//! `ZKONNX_LOAD_MODEL=fixtures/mlp` picks another model folder (`model.onnx`, `input.json`).
//! Prints a markdown table and writes it to `docs/service-load.md`.

#![expect(clippy::print_stdout, reason = "a bench prints its report")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use zkonnx_benches::{binary, cores, root};

const CLIENTS: usize = 32;
const PER_CLIENT: usize = 4;
const WARM: usize = 8;
/// Every request gives up after this long; the whole load phase is bounded by it too.
const REQUEST_LIMIT: Duration = Duration::from_secs(600);

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn peak_rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<()> {
    let zkonnx = binary()?;
    let model_dir = root().join(std::env::var("ZKONNX_LOAD_MODEL").unwrap_or_else(|_| "fixtures/digits_cnn".into()));
    let name = model_dir.file_name().and_then(|n| n.to_str()).unwrap_or("model").to_string();
    let work = std::env::temp_dir().join(format!("zkonnx-serve-load-{}", std::process::id()));
    let artifacts = work.join(&name);
    let input = std::fs::read_to_string(model_dir.join("input.json")).context("the model's input.json")?;

    // 1. the reference: `zkonnx run`'s prove phase
    let mut run_prove = Vec::new();
    for _ in 0..3 {
        let o = Command::new(&zkonnx)
            .args(["run", "--json", "--gpu", "off", "-M"])
            .arg(model_dir.join("model.onnx"))
            .arg("-D")
            .arg(model_dir.join("input.json"))
            .arg("--out")
            .arg(&artifacts)
            .output()?;
        ensure!(o.status.success(), "zkonnx run: {}", String::from_utf8_lossy(&o.stderr));
        let v: Value = serde_json::from_slice(&o.stdout)?;
        run_prove.push(v["phases"]["prove"].as_f64().context("no prove phase")?);
    }
    run_prove.sort_by(f64::total_cmp);
    let reference = run_prove[1];

    // 2. the service, warm
    let mut child = Command::new(&zkonnx)
        .args(["serve", "--listen", "127.0.0.1:0", "--model"])
        .arg(&artifacts)
        .arg("--data-dir")
        .arg(work.join("data"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().context("no stdout")?).read_line(&mut line)?;
    let server = Server(child);
    let url = line.trim().strip_prefix("listening on ").context("no address")?.to_string();
    let prove_url = format!("{url}/v1/models/{name}/prove");
    let client = reqwest::blocking::Client::builder().timeout(REQUEST_LIMIT).build()?;
    let prove = |c: &reqwest::blocking::Client| -> Result<(f64, f64)> {
        let start = Instant::now();
        let r = c.post(&prove_url).header("content-type", "application/json").body(input.clone()).send()?;
        let status = r.status();
        let body: Value = r.json()?;
        if !status.is_success() {
            bail!("{status}: {body}");
        }
        Ok((start.elapsed().as_secs_f64(), body["prove_seconds"].as_f64().unwrap_or(f64::NAN)))
    };
    prove(&client)?;
    let mut warm: Vec<f64> = (0..WARM).map(|_| prove(&client).map(|(l, _)| l)).collect::<Result<_>>()?;
    warm.sort_by(f64::total_cmp);
    let warm_p50 = percentile(&warm, 0.5);

    // 3. load
    let start = Instant::now();
    let url = Arc::new(prove_url.clone());
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let input = input.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                let c = reqwest::blocking::Client::builder().timeout(REQUEST_LIMIT).build();
                let mut out = Vec::new();
                for _ in 0..PER_CLIENT {
                    let t = Instant::now();
                    let ok = c.as_ref().ok().and_then(|c| {
                        c.post(url.as_str()).header("content-type", "application/json").body(input.clone()).send().ok()
                    });
                    out.push(ok.filter(|r| r.status().is_success()).map(|_| t.elapsed().as_secs_f64()));
                }
                out
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in threads {
        for r in t.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))? {
            match r {
                Some(l) => latencies.push(l),
                None => errors += 1,
            }
        }
    }
    let wall = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let rss = peak_rss_mb(server.0.id());
    drop(server);
    let _ = std::fs::remove_dir_all(&work);

    let report = format!(
        "# Proving service under load\n\n\
         `cargo bench -p zkonnx-benches --bench serve_load` on {cores} cores: model `{name}`, `zkonnx serve` with its \
         defaults (at most 2 proofs at once, admission by estimated memory), loopback.\n\n\
         | measure | value |\n|---|---|\n\
         | `zkonnx run` prove phase (median of 3) | {reference:.3} s |\n\
         | warm sequential prove latency, p50 of {WARM} (client side, HTTP included) | {warm_p50:.3} s |\n\
         | ratio warm p50 / run prove | {ratio:.2}x |\n\
         | load: clients x proofs | {CLIENTS} x {PER_CLIENT} = {total} |\n\
         | errors | {errors} |\n\
         | wall time | {wall:.1} s |\n\
         | throughput | {tput:.2} proofs/s |\n\
         | latency p50 / p99 (queueing included) | {p50:.2} s / {p99:.2} s |\n\
         | service peak RSS | {rss:.0} MiB |\n",
        cores = cores(),
        ratio = warm_p50 / reference,
        total = CLIENTS * PER_CLIENT,
        tput = latencies.len() as f64 / wall,
        p50 = percentile(&latencies, 0.5),
        p99 = percentile(&latencies, 0.99),
    );
    print!("{report}");
    std::fs::write(root().join("docs/service-load.md"), &report).context("writing docs/service-load.md")?;
    ensure!(errors == 0, "{errors} requests failed under load");
    Ok(())
}
