//! `zkonnx serve` end to end: the real server binary on a loopback port, a real HTTP client.
//! Prove and verify round trips (checked by the library and the CLI too), every bad request a
//! 4xx JSON error naming the problem, jobs, auth, metrics, the OpenAPI document, and a service
//! killed mid-proof that reports the job failed after a restart and still serves finished ones.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests: a failure should be loud")]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fixture;
use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{json, Value};

const TOKEN: &str = "test-token-0123456789abcdef";

fn zkonnx(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkonnx"));
    c.env("ZKONNX_CACHE_DIR", cache);
    c
}

/// `zkonnx run` of a fixture into `dir/<name>` (the artifact folder the service serves).
fn artifacts(root: &Path, name: &str, model: &str, input: &str) -> PathBuf {
    let out = root.join(name);
    let o = zkonnx(root)
        .args(["run", "--json", "-M"])
        .arg(fixture(model))
        .arg("-D")
        .arg(fixture(input))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "run: {}", String::from_utf8_lossy(&o.stderr));
    out
}

struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts `zkonnx serve` with `args` and waits for its `listening on` line.
    fn start(root: &Path, args: &[&str]) -> Self {
        let mut child = zkonnx(root)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(root.join("data"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("no address in `{line}`")).to_string();
        Self { child, url }
    }

    fn get(&self, c: &Client, path: &str) -> RequestBuilder {
        c.get(format!("{}{path}", self.url)).bearer_auth(TOKEN)
    }

    fn post(&self, c: &Client, path: &str, body: &str) -> RequestBuilder {
        c.post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends, asserts the status (never a 5xx) and returns the JSON body.
fn call(r: RequestBuilder, status: u16) -> Value {
    let resp = r.send().unwrap();
    let got = resp.status().as_u16();
    let text = resp.text().unwrap();
    assert!(got < 500, "a 5xx: {got} {text}");
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

/// A 4xx JSON error with `code` whose message contains `needle`.
fn error(r: RequestBuilder, status: u16, code: &str, needle: &str) {
    let body = call(r, status);
    assert_eq!(body["error"], code, "{body}");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains(needle), "`{msg}` does not name `{needle}`");
}

fn input(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap()
}

#[test]
fn prove_verify_jobs_auth_and_every_bad_request_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let gemm = artifacts(root, "gemm", "tiny/gemm.onnx", "tiny/gemm.input.json");
    std::fs::write(root.join("token"), format!("{TOKEN}\n")).unwrap();
    let s = Server::start(
        root,
        &[
            "--model",
            gemm.to_str().unwrap(),
            "--token-file",
            root.join("token").to_str().unwrap(),
            "--max-body-bytes",
            "16384",
        ],
    );
    let c = Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let body = input("tiny/gemm.input.json");

    // auth: health and the OpenAPI document are open, everything else needs the token
    assert_eq!(call(c.get(format!("{}/healthz", s.url)), 200)["status"], "ok");
    error(c.get(format!("{}/v1/models", s.url)), 401, "unauthorized", "missing");
    error(c.get(format!("{}/v1/models", s.url)).bearer_auth("wrong-token-0123456789"), 401, "unauthorized", "wrong");
    let doc = call(c.get(format!("{}/openapi.json", s.url)), 200);
    for path in [
        "/v1/models",
        "/v1/models/{id}/prove",
        "/v1/models/{id}/jobs",
        "/v1/jobs/{id}",
        "/v1/verify",
        "/healthz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["schemas"].get("ProveResponse").is_some());

    let models = call(s.get(&c, "/v1/models"), 200);
    let settings: Value = serde_json::from_str(&std::fs::read_to_string(gemm.join("settings.json")).unwrap()).unwrap();
    assert_eq!(models[0]["id"], "gemm");
    assert_eq!(models[0]["model_hash"], settings["model"]["model_hash"]);
    assert_eq!(models[0]["input_shapes"], json!([[1, 4]]));

    // prove, then verify through the service, the library and the CLI
    let proved = call(s.post(&c, "/v1/models/gemm/prove", &body), 200);
    let run: Value = serde_json::from_str(&std::fs::read_to_string(gemm.join("proof.json")).unwrap()).unwrap();
    assert_eq!(proved["outputs"], run["outputs"], "the service's outputs differ from `zkonnx run`'s");
    assert_eq!(proved["public_values"], run["instances"]);
    assert!(proved["calldata"].as_str().unwrap().len() > proved["proof"].as_str().unwrap().len());
    let verify =
        |proof: &Value| call(s.post(&c, "/v1/verify", &json!({"model": "gemm", "proof": proof}).to_string()), 200);
    assert_eq!(verify(&proved["proof_json"])["valid"], true);
    let file = root.join("served-proof.json");
    std::fs::write(&file, proved["proof_json"].to_string()).unwrap();
    let proof = zkonnx::Proof::read(&file).unwrap();
    let srs = zkonnx::SrsSource::dev_in(root.join("srs"));
    zkonnx::Verifier::from_artifacts(&zkonnx::Artifacts::new(&gemm), &srs, &zkonnx::Silent)
        .unwrap()
        .verify(&proof)
        .unwrap();
    let o = zkonnx(root)
        .args(["verify", "--proof"])
        .arg(&file)
        .arg("--vk")
        .arg(gemm.join("vk.key"))
        .arg("--settings")
        .arg(gemm.join("settings.json"))
        .output()
        .unwrap();
    assert!(o.status.success(), "the CLI rejects the served proof: {}", String::from_utf8_lossy(&o.stderr));

    // a tampered proof and a wrong public output are rejected, with the reason
    let mut bad = proved["proof_json"].clone();
    let hex = bad["proof"].as_str().unwrap().to_string();
    let flipped = if &hex[10..11] == "0" { "1" } else { "0" };
    bad["proof"] = Value::String(format!("{}{flipped}{}", &hex[..10], &hex[11..]));
    let v = verify(&bad);
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["reason"].as_str().unwrap().contains("does not verify"), "{v}");
    let mut wrong = proved["proof_json"].clone();
    wrong["instances"][0] = Value::String(format!("0x{}01", "0".repeat(62)));
    assert_eq!(verify(&wrong)["valid"], false);

    // every bad request: a 4xx JSON error that names the problem
    error(s.post(&c, "/v1/models/gemm/prove", "{\"input_data\": [[1, 2"), 400, "bad_json", "line 1");
    error(s.post(&c, "/v1/models/gemm/prove", "{\"inputs\": []}"), 400, "bad_json", "input_data");
    error(s.post(&c, "/v1/models/gemm/prove", "{\"input_data\": [[1, 2, 3]]}"), 422, "bad_input", "needs 4 values");
    error(s.post(&c, "/v1/models/gemm/prove", "{\"input_data\": []}"), 422, "bad_input", "1 input tensor");
    error(
        s.post(&c, "/v1/models/gemm/prove", "{\"input_data\": [[1e9, 0, 0, 0]]}"),
        422,
        "bad_input",
        "outside the checked range",
    );
    error(s.post(&c, "/v1/models/nope/prove", &body), 404, "unknown_model", "nope");
    error(
        s.post(&c, "/v1/models/gemm/prove", &format!("{{\"input_data\": [[{}]]}}", "1.0,".repeat(6000))),
        413,
        "too_large",
        "larger",
    );
    error(s.post(&c, "/v1/models/gemm/jobs", "{\"input_data\": [[1]]}"), 422, "bad_input", "needs 4 values");
    error(s.get(&c, "/v1/jobs/0123456789abcdef"), 404, "unknown_job", "0123456789abcdef");
    error(
        s.post(&c, "/v1/verify", "{\"model\": \"gemm\", \"proof\": {\"format\": \"other\"}}"),
        400,
        "bad_proof",
        "proof",
    );
    error(s.post(&c, "/v1/verify", &json!({"model": "nope", "proof": {}}).to_string()), 404, "unknown_model", "nope");
    error(s.get(&c, "/v2/nothing"), 404, "not_found", "/v2/nothing");
    error(s.get(&c, "/v1/models/gemm/prove"), 405, "method_not_allowed", "GET");

    // a job: accepted at once, then done with a proof that verifies
    let job = call(s.post(&c, "/v1/models/gemm/jobs", &body), 202);
    let id = job["id"].as_str().unwrap().to_string();
    let done = wait_for(&s, &c, &id, |j| j["state"] == "succeeded" || j["state"] == "failed");
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(done["progress"], "done");
    assert_eq!(verify(&done["result"]["proof_json"])["valid"], true);

    let metrics = s.get(&c, "/metrics").send().unwrap().text().unwrap();
    for needle in [
        "zkonnx_prove_seconds_count 2",
        "zkonnx_http_requests_total{method=\"GET\",route=\"/v1/models\",status=\"401\"} 2",
        "zkonnx_http_requests_total{method=\"POST\",route=\"/v1/models/{id}/prove\",status=\"422\"} 3",
        "zkonnx_queue_depth 0",
        "zkonnx_resident_memory_bytes",
    ] {
        assert!(metrics.contains(needle), "metrics lack `{needle}`:\n{metrics}");
    }

    // SIGTERM: a clean stop
    let mut s = s;
    Command::new("kill").arg("-TERM").arg(s.child.id().to_string()).status().unwrap();
    let status = s.child.wait().unwrap();
    assert!(status.success(), "exit after SIGTERM: {status}");
}

/// Polls a job until `done(job)`.
fn wait_for(s: &Server, c: &Client, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let start = Instant::now();
    loop {
        let job = call(s.get(c, &format!("/v1/jobs/{id}")), 200);
        if done(&job) {
            return job;
        }
        assert!(start.elapsed() < Duration::from_secs(120), "job {id} stuck: {job}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_service_killed_mid_proof_reports_the_job_failed_and_keeps_the_finished_ones() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let lenet = artifacts(root, "lenet", "lenet/model.onnx", "lenet/input.json");
    std::fs::write(root.join("token"), TOKEN).unwrap();
    let token = root.join("token");
    let args = ["--model", lenet.to_str().unwrap(), "--max-concurrent", "1", "--token-file", token.to_str().unwrap()];
    let c = Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
    let body = input("lenet/input.json");

    let mut s = Server::start(root, &args);
    let first = call(s.post(&c, "/v1/models/lenet/jobs", &body), 202)["id"].as_str().unwrap().to_string();
    let finished = wait_for(&s, &c, &first, |j| j["state"] == "succeeded");
    let running = call(s.post(&c, "/v1/models/lenet/jobs", &body), 202)["id"].as_str().unwrap().to_string();
    let queued = call(s.post(&c, "/v1/models/lenet/jobs", &body), 202)["id"].as_str().unwrap().to_string();
    wait_for(&s, &c, &running, |j| j["state"] == "running");
    s.child.kill().unwrap(); // SIGKILL mid-proof
    s.child.wait().unwrap();

    let s = Server::start(root, &args);
    let again = call(s.get(&c, &format!("/v1/jobs/{first}")), 200);
    assert_eq!(again["state"], "succeeded");
    assert_eq!(again["result"], finished["result"], "a finished proof changed across the restart");
    let lost = call(s.get(&c, &format!("/v1/jobs/{running}")), 200);
    assert_eq!(lost["state"], "failed", "{lost}");
    assert!(lost["error"].as_str().unwrap().contains("stopped while this job was running"), "{lost}");
    // the job that was still queued runs after the restart
    let resumed = wait_for(&s, &c, &queued, |j| j["state"] == "succeeded" || j["state"] == "failed");
    assert_eq!(resumed["state"], "succeeded", "{resumed}");
    let v = call(
        s.post(&c, "/v1/verify", &json!({"model": "lenet", "proof": resumed["result"]["proof_json"]}).to_string()),
        200,
    );
    assert_eq!(v["valid"], true);
}

#[test]
fn a_non_loopback_address_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let o = zkonnx(dir.path())
        .env_remove("ZKONNX_SERVICE_TOKEN")
        .args(["serve", "--model", "/nonexistent/gemm", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("not a loopback address") && err.contains("token"), "{err}");
}
