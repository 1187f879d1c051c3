//! `zkonnx-benches`: end-to-end benchmarks (see `benches/`).
//!
//! They run the released `zkonnx` binary (and, side by side, EZKL), one process per model and
//! run, so each run's peak memory is its own. This library holds what the bench binaries share:
//! paths, a guarded child-process runner and the output-error metric.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The release `zkonnx` binary (or `$ZKONNX_BIN`).
pub fn binary() -> Result<PathBuf> {
    let p = std::env::var_os("ZKONNX_BIN").map_or_else(|| root().join("target/release/zkonnx"), PathBuf::from);
    if !p.exists() {
        bail!("{} not found: run `cargo build --release -p zkonnx-cli` first (or set ZKONNX_BIN)", p.display());
    }
    Ok(p)
}

/// Cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

/// How long and how large a benchmarked process may grow before it is stopped.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub timeout: Duration,
    pub max_rss_mb: f64,
}

impl Limits {
    /// From `ZKONNX_BENCH_TIMEOUT` (seconds, default 900) and `ZKONNX_BENCH_MAX_RSS_GB`
    /// (default 16).
    pub fn from_env() -> Result<Self> {
        let var = |name: &str, default: f64| -> Result<f64> {
            std::env::var(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("{name}={v}")))
        };
        Ok(Self {
            timeout: Duration::from_secs_f64(var("ZKONNX_BENCH_TIMEOUT", 900.0)?),
            max_rss_mb: var("ZKONNX_BENCH_MAX_RSS_GB", 16.0)? * 1024.0,
        })
    }
}

/// What a guarded child printed, and its peak resident memory (sampled every 100 ms).
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub peak_mb: f64,
    /// Wall-clock seconds it ran.
    pub seconds: f64,
    /// Whether it exited with status 0.
    pub success: bool,
}

fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs `cmd` to completion, killing it when it outlives `limits.timeout` or its resident
/// memory passes `limits.max_rss_mb` (both are errors that say which). A non-zero exit is not
/// an error here: the caller reads the output.
pub fn run_guarded(mut cmd: Command, limits: &Limits) -> Result<Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().context("starting a benchmark run")?;
    let reader = |mut s: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = String::new();
            let _ = s.read_to_string(&mut buf);
            buf
        })
    };
    let out = reader(Box::new(child.stdout.take().context("stdout")?));
    let err = reader(Box::new(child.stderr.take().context("stderr")?));
    let start = Instant::now();
    let mut stopped = None;
    let mut peak_mb: f64 = 0.0;
    let mut status = None;
    loop {
        if let Some(s) = child.try_wait()? {
            status = Some(s);
            break;
        }
        let rss = rss_mb(child.id());
        peak_mb = peak_mb.max(rss.unwrap_or(0.0));
        if start.elapsed() > limits.timeout {
            stopped = Some(format!("stopped after {:.0} s (ZKONNX_BENCH_TIMEOUT)", limits.timeout.as_secs_f64()));
        } else if rss.is_some_and(|m| m > limits.max_rss_mb) {
            stopped = Some(format!("stopped above {:.0} MiB resident (ZKONNX_BENCH_MAX_RSS_GB)", limits.max_rss_mb));
        }
        if stopped.is_some() {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = Output {
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
        peak_mb,
        seconds: start.elapsed().as_secs_f64(),
        success: status.is_some_and(|s| s.success()),
    };
    match stopped {
        Some(why) => bail!(why),
        None => Ok(output),
    }
}

/// Runs one benchmarked tool (`what` names it in errors) and returns the last JSON line it
/// printed, the shape of `zkonnx run --json`; an error says why there is none: the guard
/// stopped it, it failed (its last stderr line), or its proof did not verify.
pub fn run_tool(cmd: Command, what: &str, limits: &Limits) -> Result<Value, String> {
    let out = run_guarded(cmd, limits).map_err(|e| format!("{e:#}"))?;
    let line = out.stdout.lines().rev().find(|l| l.starts_with('{')).ok_or_else(|| {
        let err = out.stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        format!("{what} failed: {}", err.trim())
    })?;
    let v: Value = serde_json::from_str(line).map_err(|e| format!("{what}: bad JSON line: {e}"))?;
    if v["ok"] != true {
        return Err(format!("{what}: the proof did not verify"));
    }
    Ok(v)
}

/// Largest `|got - want|` over all outputs (flattened, in order), or `None` when the shapes
/// differ or either side is not numeric.
pub fn max_abs_error(got: &Value, want: &Value) -> Option<f64> {
    let flat = |v: &Value| -> Option<Vec<f64>> {
        let mut out = Vec::new();
        for o in v.as_array()? {
            for x in o.as_array()? {
                out.push(x.as_f64()?);
            }
        }
        Some(out)
    };
    let (g, w) = (flat(got)?, flat(want)?);
    if g.len() != w.len() {
        return None;
    }
    Some(g.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max))
}

/// The text between `<!-- NAME -->` and `<!-- /NAME -->` in `doc` (markers included), if any:
/// a section one bench writes into a document another bench regenerates.
pub fn marked_section<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let (open, close) = (format!("<!-- {name} -->"), format!("<!-- /{name} -->"));
    let start = doc.find(&open)?;
    let end = doc[start..].find(&close)? + start + close.len();
    Some(&doc[start..end])
}

/// `doc` with its `NAME` section (see [`marked_section`]) replaced by `body`, or `body` appended
/// in a new one.
pub fn replace_section(doc: &str, name: &str, body: &str) -> String {
    let block = format!("<!-- {name} -->\n{body}<!-- /{name} -->");
    match marked_section(doc, name) {
        Some(old) => doc.replacen(old, &block, 1),
        None => format!("{}\n\n{block}\n", doc.trim_end()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn max_abs_error_compares_flattened_outputs_and_refuses_mismatched_shapes() {
        let want = json!([[1.0, 2.0], [3.0]]);
        assert_eq!(max_abs_error(&json!([[1.5, 2.0], [2.0]]), &want), Some(1.0));
        assert_eq!(max_abs_error(&json!([[1.5, 2.0]]), &want), None);
        assert_eq!(max_abs_error(&json!([["x", 2.0], [3.0]]), &want), None);
    }

    #[test]
    fn guarded_runs_are_stopped_at_their_time_limit() {
        let limits = Limits { timeout: Duration::from_millis(300), max_rss_mb: 1e9 };
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let err = run_guarded(sleep, &limits).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("ZKONNX_BENCH_TIMEOUT"), "{err}");
        let mut echo = Command::new("echo");
        echo.arg("hi");
        assert_eq!(run_guarded(echo, &limits).map(|o| o.stdout).unwrap_or_default(), "hi\n");
    }

    #[test]
    fn marked_sections_are_replaced_or_appended() {
        let doc = replace_section("# title\n", "gas", "one\n");
        assert_eq!(doc, "# title\n\n<!-- gas -->\none\n<!-- /gas -->\n");
        let doc = replace_section(&doc, "gas", "two\n");
        assert_eq!(marked_section(&doc, "gas"), Some("<!-- gas -->\ntwo\n<!-- /gas -->"));
        assert!(doc.starts_with("# title") && !doc.contains("one"));
        assert_eq!(marked_section("no markers", "gas"), None);
    }
}
