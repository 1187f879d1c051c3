//! Prometheus metrics in the text exposition format: requests by route and status, a
//! prove-latency histogram, the admission queue, running proofs and resident memory.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the prove-latency buckets, seconds.
const BUCKETS: [f64; 12] = [0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0];

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    failed_proofs: u64,
}

/// The service's counters.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Inner>,
}

/// Gauges read at scrape time.
pub(crate) struct Gauges {
    pub(crate) queue_depth: usize,
    pub(crate) running: usize,
    pub(crate) pending_jobs: usize,
    pub(crate) memory_budget_mb: u32,
}

impl Metrics {
    pub(crate) fn request(&self, method: &str, route: &str, status: u16) {
        if let Ok(mut m) = self.inner.lock() {
            *m.requests.entry((method.to_string(), route.to_string(), status)).or_default() += 1;
        }
    }

    pub(crate) fn proved(&self, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            for (i, &le) in BUCKETS.iter().enumerate() {
                if seconds <= le {
                    m.buckets[i] += 1;
                }
            }
            m.count += 1;
            m.sum += seconds;
        }
    }

    pub(crate) fn proof_failed(&self) {
        if let Ok(mut m) = self.inner.lock() {
            m.failed_proofs += 1;
        }
    }

    /// The exposition text.
    pub(crate) fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else { return out };
        let _ = writeln!(out, "# HELP zkonnx_http_requests_total HTTP requests by method, route and status.");
        let _ = writeln!(out, "# TYPE zkonnx_http_requests_total counter");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "zkonnx_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP zkonnx_prove_seconds Time to prove one input (witness and proof).");
        let _ = writeln!(out, "# TYPE zkonnx_prove_seconds histogram");
        for (i, le) in BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "zkonnx_prove_seconds_bucket{{le=\"{le}\"}} {}", m.buckets[i]);
        }
        let _ = writeln!(out, "zkonnx_prove_seconds_bucket{{le=\"+Inf\"}} {}", m.count);
        let _ = writeln!(out, "zkonnx_prove_seconds_sum {}", m.sum);
        let _ = writeln!(out, "zkonnx_prove_seconds_count {}", m.count);
        let gauge = |out: &mut String, name: &str, help: &str, v: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let _ = writeln!(out, "# HELP zkonnx_proofs_failed_total Proofs that failed (bad input or an error).");
        let _ =
            writeln!(out, "# TYPE zkonnx_proofs_failed_total counter\nzkonnx_proofs_failed_total {}", m.failed_proofs);
        gauge(&mut out, "zkonnx_queue_depth", "Proofs waiting for admission (memory or a slot).", g.queue_depth as f64);
        gauge(&mut out, "zkonnx_proofs_running", "Proofs running now.", g.running as f64);
        gauge(&mut out, "zkonnx_jobs_pending", "Jobs queued or running.", g.pending_jobs as f64);
        gauge(
            &mut out,
            "zkonnx_memory_budget_bytes",
            "Memory the admission control hands out to proofs.",
            f64::from(g.memory_budget_mb) * 1024.0 * 1024.0,
        );
        gauge(
            &mut out,
            "zkonnx_resident_memory_bytes",
            "Resident memory of the service process.",
            zkonnx::memory::rss_mb() * 1024.0 * 1024.0,
        );
        out
    }
}
