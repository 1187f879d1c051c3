//! Models bigger than one circuit: cnn_large and the small GPT (`benches/models/gpt`) proved as one
//! circuit where that fits, and split into 2, 4 and 8 segments aggregated into one proof, each
//! step its own `zkonnx` process (so each step's peak memory is its own), in one run; LeNet too,
//! the cheap model with eight places to cut, for the aggregated proof's verify gas at 2, 4 and 8
//! segments next to its one circuit's (every root pinned to the columns the largest root needs).
//!
//! `cargo build --release -p zkonnx-cli && cargo bench -p zkonnx-benches --bench split`
//! (`ZKONNX_SPLIT_MODELS=cnn_large` to run one model; `ZKONNX_SPLIT_SEGMENTS=2,4` for some counts,
//! empty for none; `ZKONNX_SPLIT_RESUME=1` keeps what `docs/split.json` holds and runs the rest;
//! `ZKONNX_SPLIT_NO_AUTO=1` skips `run --split auto` where no earlier figure exists)
//!
//! Per model: one calibration, whose quantization every run then pins (so every row proves the
//! same quantized model); `run --split auto` (the acceptance run: proved within this machine's
//! memory, verified natively, in revm and on a local hardhat node); then each segment count: the
//! binary's `split`, `gen-witness --split`, `prove-segment` per segment, `aggregate`, `verify
//! --split` and `create-evm-verifier --split --proof` (the compiled verifier's measured gas). The
//! root of every split of one model is pinned to the same advice columns (`--root-advice`, the
//! most any count's root needs by the cost model, of the counts this machine can prove), so its
//! verifier has one shape whatever the segment count. Writes the `split` section of
//! `docs/benchmarks.md` and `docs/split.json`.

#![expect(clippy::print_stdout, reason = "a bench binary reports on stdout")]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use zkonnx::split::{Split, SplitOptions, SplitPolicy};
use zkonnx::{Model, Options};
use zkonnx_benches::{binary, root, run_guarded, Limits, Output};

/// The models, and the logrows of their aggregation circuits. LeNet (`fixtures/lenet`) is the
/// cheap one that still has eight places to cut, for the verify gas at 2, 4 and 8 segments. Every
/// aggregation is at the default 2^21 rows: at 2^20 a root pinned to the 8-segment root's columns
/// (28) has a compiled verifier of 25,510 bytes, over EIP-170 (measured on LeNet); at 2^21 half
/// as many columns keep it near 17 KB.
const MODELS: [(&str, &str, &str, u32); 3] = [
    ("cnn_large", "benches/models/cnn_large/model.onnx", "benches/models/cnn_large/input.json", 21),
    ("gpt", "benches/models/gpt/model.onnx", "benches/models/gpt/input.json", 21),
    ("lenet", "fixtures/lenet/model.onnx", "fixtures/lenet/input.json", 21),
];

/// The segment counts whose roots the pinned root must hold, whichever of them a run measures:
/// so a count measured in a later, resumed run has the same verifier shape. A count whose
/// segments or lower nodes need more memory than the machine has is left out of the pin (the
/// GPT's 2-segment root verifies two 23 GB segments and would need 24 columns, 26.9 GB).
const PINNED_FOR: [usize; 3] = [2, 4, 8];

/// Set (to `model|input|quantization|counts|aggregation logrows|folder|memory MiB`) in the child
/// process that plans the root's advice columns, so the bench process never holds a compiled
/// model while the steps it measures run (glibc keeps the freed gigabytes, and the steps' memory
/// guard counts them as used).
const PLAN_ENV: &str = "ZKONNX_SPLIT_BENCH_PLAN";

/// One `zkonnx` step: its output, seconds and peak memory.
fn step(args: &[&str], limits: &Limits) -> Result<Output> {
    let mut c = Command::new(binary()?);
    c.args(args).env("ZKONNX_CACHE_DIR", bench_cache());
    let out = run_guarded(c, limits)?;
    Ok(out)
}

/// A step that must succeed.
fn must(args: &[&str], limits: &Limits) -> Result<Output> {
    let out = step(args, limits)?;
    if !out.success {
        let line = out.stderr.lines().rev().find(|l| l.starts_with("error:")).unwrap_or("failed");
        bail!("zkonnx {}: {line}", args.first().copied().unwrap_or(""));
    }
    Ok(out)
}

/// The number after `label` in `text`.
fn number_after(text: &str, label: &str) -> Option<f64> {
    let rest = &text[text.find(label)? + label.len()..];
    rest.trim_start().split(|c: char| !(c.is_ascii_digit() || c == '.')).next()?.parse().ok()
}

/// `create-evm-verifier` for the keys `of` names (`--split DIR`, or `--vk` and `--settings`):
/// `dir/verifier.json` and `.sol`, its gas measured in revm on `proof`.
fn evm_verifier(of: &[&str], proof: &Path, dir: &Path, limits: &Limits) -> Result<Output> {
    let (bytecode, sol) = (dir.join("verifier.json"), dir.join("verifier.sol"));
    let mut args = vec!["create-evm-verifier", "--allow-insecure-srs", "--proof", s(proof)];
    args.extend(of);
    args.extend(["--bytecode-path", s(&bytecode), "--sol-code-path", s(&sol)]);
    must(&args, limits)
}

/// The quantization flags calibration chose for a model.
fn calibrate(model: &Path, input: &Path, dir: &Path, limits: &Limits) -> Result<Vec<String>> {
    let settings = dir.join("calibrated.json");
    must(&["calibrate", "-M", s(model), "-D", s(input), "-O", s(&settings)], limits)?;
    let v: Value = serde_json::from_slice(&std::fs::read(&settings)?)?;
    let a = &v["run_args"];
    Ok(["input_scale", "param_scale", "lookup_bits", "range_limbs"]
        .iter()
        .flat_map(|k| [format!("--{}", k.replace('_', "-")), a[k].to_string()])
        .collect())
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// What the root's advice columns are planned from: a model at its quantization, split into
/// each of `counts` segments with aggregation circuits of `2^agg_k` rows, planned in `dir`.
struct RootPlan<'a> {
    model: &'a Path,
    input: &'a Path,
    quant: &'a [String],
    counts: &'a [usize],
    agg_k: u32,
    dir: &'a Path,
    /// The memory the steps may use, MiB: counts whose segments or lower nodes need more are
    /// not planned for.
    memory_mb: f64,
}

/// The root advice columns the cost model gives each count's split, the most of them, planned in
/// a child process (see [`PLAN_ENV`]).
fn root_advice(p: &RootPlan<'_>) -> Result<usize> {
    let counts: Vec<String> = p.counts.iter().map(usize::to_string).collect();
    let (quant, k) = (p.quant.join(" "), p.agg_k.to_string());
    let memory = p.memory_mb.to_string();
    let spec = [s(p.model), s(p.input), &quant, &counts.join(","), &k, s(p.dir), &memory].join("|");
    let out = Command::new(std::env::current_exe()?).env(PLAN_ENV, spec).output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("planning the root: {}", String::from_utf8_lossy(&out.stderr));
    }
    text.trim().parse().with_context(|| format!("planning the root printed {text:?}"))
}

/// The child process of [`root_advice`]: prints the root's advice columns.
fn plan_root(spec: &str) -> Result<()> {
    let parts: Vec<&str> = spec.split('|').collect();
    let [model, input, quant, counts, agg_k, dir, memory] = parts[..] else { bail!("{PLAN_ENV}: {spec:?}") };
    let quant: Vec<String> = quant.split_whitespace().map(String::from).collect();
    let counts: Vec<usize> = counts.split(',').filter_map(|n| n.parse().ok()).collect();
    let (model, input, dir) = (Path::new(model), Path::new(input), Path::new(dir));
    let plan = RootPlan {
        model,
        input,
        quant: &quant,
        counts: &counts,
        agg_k: agg_k.parse()?,
        dir,
        memory_mb: memory.parse()?,
    };
    let most = plan_root_advice(&plan)?;
    println!("{most}");
    Ok(())
}

fn plan_root_advice(p: &RootPlan<'_>) -> Result<usize> {
    let RootPlan { model, input, quant, counts, agg_k, dir, .. } = *p;
    let mut o = Options::new();
    let flag = |name: &str| -> Option<u32> {
        quant.iter().position(|q| q == name).and_then(|i| quant.get(i + 1)).and_then(|v| v.parse().ok())
    };
    o.input_scale = flag("--input-scale");
    o.param_scale = flag("--param-scale");
    o.lookup_bits = flag("--lookup-bits");
    o.range_limbs = flag("--range-limbs");
    let m = Model::load(model, &Default::default())?;
    let compiled = m.compile(m.settings(&[zkonnx::read_inputs(input)?], &o)?)?;
    let mut most = 0;
    for &n in counts {
        let mut options = SplitOptions::new(SplitPolicy::Segments(n));
        options.aggregation_k = agg_k;
        let plan = dir.join(format!("plan-{n}"));
        let split = Split::create(&plan, &compiled, &options)?;
        let estimate = split.estimate()?;
        // a count this machine cannot prove (a segment or a node below the root over its memory)
        // does not set the pin: its root would only make every other count's root bigger
        if let Some((root, below_root)) = estimate.nodes.split_last() {
            let mut steps_mb =
                estimate.segments.iter().map(|s| s.1.max(s.2)).chain(below_root.iter().map(|n| n.prove_mb));
            if steps_mb.all(|mb| mb <= p.memory_mb) {
                most = most.max(root.advice);
            }
        }
        let _ = std::fs::remove_dir_all(&plan);
    }
    Ok(most)
}

/// One split of a model into `n` segments, step by step.
fn split_run(
    model: &Path,
    input: &Path,
    quant: &[String],
    (n, root, agg_k): (usize, usize, u32),
    dir: &Path,
    limits: &Limits,
) -> Result<Value> {
    let _ = std::fs::remove_dir_all(dir);
    let (n_s, root_s, k_s) = (n.to_string(), root.to_string(), agg_k.to_string());
    let mut args = vec!["split", "-M", s(model), "-D", s(input), "--out", s(dir), "--segments", &n_s];
    args.extend(["--root-advice", &root_s, "--aggregation-logrows", &k_s]);
    args.extend(quant.iter().map(String::as_str));
    if let Some(refused) = refused_by_estimate(&args, limits)? {
        return Ok(json!({"segments": n, "ok": false, "why": refused}));
    }
    let split = must(&args, limits)?;
    // the manifest only: this process reads no compiled model until the steps are done (glibc
    // would keep the freed gigabytes, and the next step's memory guard counts them as used)
    let plan = Split::open(dir)?;
    let witness = must(&["gen-witness", "--split", s(dir), "-D", s(input), "-O", s(dir)], limits)?;
    let mut segments = vec![];
    for j in 0..plan.len() {
        let out = must(&["prove-segment", "--split", s(dir), "--segment", &j.to_string()], limits)?;
        // the aggregation reads only the segments' verifying keys: dropping each proving key once
        // its proof is made keeps the disk a split needs to about half (the GPT's 8 segments' keys
        // are 26 GB, its 7 nodes' another 25 GB)
        let _ = std::fs::remove_file(plan.segment(j)?.pk_path());
        segments.push(json!({"seconds": out.seconds, "peak_mb": out.peak_mb,
            "logrows": plan.manifest().segments[j].logrows}));
    }
    let aggregate = must(&["aggregate", "--split", s(dir)], limits)?;
    let proof = dir.join("aggregated.json");
    let verify = must(&["verify", "--split", s(dir), "--proof", s(&proof)], limits)?;
    let evm = evm_verifier(&["--split", s(dir)], &proof, dir, limits)?;
    let gas = number_after(&evm.stderr, "takes").context("the measured gas")?;
    let code = number_after(&evm.stderr, "runtime code").unwrap_or(f64::NAN);
    free_keys(dir);
    let estimate = plan.estimate()?;
    for (j, seg) in segments.iter_mut().enumerate() {
        seg["lanes"] = json!(plan.segment_model(j)?.settings.run_args.lanes);
    }
    let steps = [&split, &witness, &aggregate, &verify];
    let seg_seconds: f64 = segments.iter().filter_map(|v| v["seconds"].as_f64()).sum();
    let seg_peak = segments.iter().filter_map(|v| v["peak_mb"].as_f64()).fold(0.0, f64::max);
    Ok(json!({
        "segments": n,
        "ok": true,
        "setup_seconds": split.seconds,
        "total_seconds": steps.iter().map(|o| o.seconds).sum::<f64>() + seg_seconds,
        "peak_mb": steps.iter().map(|o| o.peak_mb).fold(seg_peak, f64::max),
        "segment_runs": segments,
        "segments_peak_mb": seg_peak,
        "aggregation_seconds": aggregate.seconds,
        "aggregation_peak_mb": aggregate.peak_mb,
        "aggregation_nodes": plan.manifest().plan.nodes.len(),
        "estimated_peak_mb": estimate.peak_mb(),
        "estimated_nodes": estimate.nodes,
        "verify_gas": gas,
        "verifier_bytes": code,
        "root_advice": root,
        "root_spread": true,
    }))
}

/// Plans the split `args` describe without keys (`split --no-setup`, which prints every
/// segment's and aggregation node's estimate) and says which step's estimated peak memory is more
/// than this machine has: as `run --split N` refuses before any work, so no keys are made for a
/// split that cannot be proved here.
fn refused_by_estimate(args: &[&str], limits: &Limits) -> Result<Option<String>> {
    let mut plan_only = args.to_vec();
    plan_only.push("--no-setup");
    let out = must(&plan_only, limits)?;
    let have = zkonnx::memory::available_mb().unwrap_or(f64::INFINITY);
    let worst = out
        .stderr
        .lines()
        .filter_map(|l| Some((l.trim().split(':').next()?, number_after(l, "prove")?)))
        .rev() // of equal estimates, the first step is named
        .max_by(|a, b| a.1.total_cmp(&b.1));
    Ok(worst.filter(|&(_, mb)| mb > have).map(|(who, mb)| {
        format!("error: {who}'s proving needs an estimated {mb:.0} MiB of memory but only {have:.0} MiB is available")
    }))
}

/// The steps' cache: its own folder (so the aggregation keys each run caches, about 3 GB a node,
/// can be dropped after it), with the user's development SRS files linked in.
fn bench_cache() -> PathBuf {
    std::env::temp_dir().join("zkonnx-split-bench").join("cache")
}

/// Links the user's cached development SRS files into the bench's cache.
fn link_srs() -> Result<()> {
    let srs = bench_cache().join("srs");
    std::fs::create_dir_all(&srs)?;
    let user = zkonnx::dev_cache()?;
    for e in std::fs::read_dir(user.dir()).into_iter().flatten().flatten() {
        let to = srs.join(e.file_name());
        if !to.exists() {
            std::fs::hard_link(e.path(), &to).or_else(|_| std::fs::copy(e.path(), &to).map(|_| ()))?;
        }
    }
    Ok(())
}

/// Removes the proving keys of a measured run (an aggregation node's is about 3 GB) and the
/// aggregation keys it cached: the verifying keys, proofs and verifiers stay for inspection.
fn free_keys(dir: &Path) {
    let _ = std::fs::remove_dir_all(bench_cache().join("aggregation"));
    let mut folders = vec![dir.to_path_buf(), dir.join("aggregate")];
    folders.extend((0..64).map(|j| dir.join(format!("segment-{j}"))));
    for f in folders {
        for e in std::fs::read_dir(&f).into_iter().flatten().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "pk" || x == "key") && p.to_string_lossy().contains("pk") {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// A measured item from an earlier, interrupted run of this bench (`ZKONNX_SPLIT_RESUME=1`
/// keeps what `docs/split.json` already holds).
fn earlier(previous: &Value, model: &str, item: &str) -> Option<Value> {
    let found = previous.get(model)?.get(item)?.clone();
    (!found.is_null()).then_some(found)
}

/// `run` as one circuit; `Ok(None)` when its memory estimate refuses it (with the estimate).
fn one_circuit(model: &Path, input: &Path, quant: &[String], dir: &Path, limits: &Limits) -> Result<Value> {
    let _ = std::fs::remove_dir_all(dir);
    let mut args = vec!["run", "--json", "-M", s(model), "-D", s(input), "--out", s(dir)];
    args.extend(quant.iter().map(String::as_str));
    let out = step(&args, limits)?;
    free_keys(dir);
    let Some(line) = out.stdout.lines().rev().find(|l| l.starts_with('{')) else {
        let need = number_after(&out.stderr, "needs an estimated");
        return Ok(json!({"ok": false, "estimated_peak_mb": need,
            "why": out.stderr.lines().rev().find(|l| l.starts_with("error:")).unwrap_or("failed")}));
    };
    let report: Value = serde_json::from_str(line)?;
    let (vk, settings) = (dir.join("vk.key"), dir.join("settings.json"));
    let evm = evm_verifier(&["--vk", s(&vk), "--settings", s(&settings)], &dir.join("proof.json"), dir, limits)?;
    let phases = &report["phases"];
    let total: f64 =
        ["settings", "compile", "setup", "witness", "prove", "verify"].iter().filter_map(|k| phases[k].as_f64()).sum();
    Ok(json!({"ok": report["ok"], "total_seconds": total, "peak_mb": out.peak_mb, "logrows": report["logrows"],
        "lanes": report["shape"]["lanes"], "estimated_peak_mb": report["estimated_peak_mb"],
        "verify_gas": number_after(&evm.stderr, "takes")}))
}

/// `run --split auto`, then the aggregated proof on a local hardhat node.
fn auto_run(model: &Path, input: &Path, quant: &[String], agg_k: u32, dir: &Path, limits: &Limits) -> Result<Value> {
    let _ = std::fs::remove_dir_all(dir);
    let k_s = agg_k.to_string();
    let mut args = vec!["run", "--json", "--split", "auto", "-M", s(model), "-D", s(input), "--out", s(dir)];
    args.extend(["--aggregation-logrows", &k_s]);
    args.extend(quant.iter().map(String::as_str));
    let out = must(&args, limits)?;
    let line = out.stdout.lines().rev().find(|l| l.starts_with('{')).context("run --split auto printed no report")?;
    let report: Value = serde_json::from_str(line)?;
    let proof = dir.join("aggregated.json");
    let verifier = dir.join("verifier.json");
    let evm = evm_verifier(&["--split", s(dir)], &proof, dir, limits)?;
    let mut node = zkonnx::evm::chain::HardhatNode::start(dir)?;
    node.wait_ready()?;
    let url = node.url().to_string();
    std::fs::write(dir.join("key.txt"), format!("{}\n", zkonnx::evm::chain::DEV_KEYS[0]))?;
    let addr_path = dir.join("addr.txt");
    must(
        &[
            "deploy-evm",
            "--rpc-url",
            &url,
            "--private-key-file",
            s(&dir.join("key.txt")),
            "--allow-insecure-srs",
            "--bytecode-path",
            s(&verifier),
            "--addr-path",
            s(&addr_path),
        ],
        limits,
    )?;
    let addr = std::fs::read_to_string(&addr_path)?.trim().to_string();
    let onchain = must(&["verify-evm", "--rpc-url", &url, "--addr", &addr, "--proof", s(&proof)], limits)?;
    free_keys(dir);
    Ok(json!({"report": report, "peak_mb": out.peak_mb, "seconds": out.seconds,
        "revm_gas": number_after(&evm.stderr, "takes"), "hardhat": onchain.stderr.contains("accepted")}))
}

fn main() -> Result<()> {
    if let Some(spec) = std::env::var_os(PLAN_ENV) {
        return plan_root(&spec.to_string_lossy());
    }
    let mut limits = Limits::from_env()?;
    limits.timeout = std::time::Duration::from_secs(6 * 3600);
    limits.max_rss_mb = limits.max_rss_mb.max(23.0 * 1024.0);
    let pick = std::env::var("ZKONNX_SPLIT_MODELS").ok();
    let counts: Vec<usize> = std::env::var("ZKONNX_SPLIT_SEGMENTS")
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|_| vec![2, 4, 8]);
    let work = std::env::temp_dir().join("zkonnx-split-bench");
    std::fs::create_dir_all(&work)?;
    link_srs()?;
    let previous: Value = match std::env::var_os("ZKONNX_SPLIT_RESUME") {
        Some(_) => serde_json::from_slice(&std::fs::read(root().join("docs/split.json")).unwrap_or_default())
            .unwrap_or_else(|_| json!({})),
        None => json!({}),
    };
    // resumed, the models this run does not pick keep their earlier figures
    let mut results = if previous.is_object() { previous.clone() } else { json!({}) };
    for (name, model, input, agg_k) in MODELS {
        if pick.as_deref().is_some_and(|p| !p.split(',').any(|m| m == name)) {
            continue;
        }
        let (model, input) = (root().join(model), root().join(input));
        let dir: PathBuf = work.join(name);
        std::fs::create_dir_all(&dir)?;
        let quant: Vec<String> = match earlier(&previous, name, "quantization") {
            Some(q) => serde_json::from_value(q)?,
            None => calibrate(&model, &input, &dir, &limits)?,
        };
        println!("{name}: calibrated {quant:?}");
        results[name] = json!({"quantization": quant});
        let save = |results: &Value| {
            std::fs::write(root().join("docs/split.json"), serde_json::to_string_pretty(results).unwrap_or_default())
        };
        let one = earlier(&previous, name, "one_circuit").unwrap_or_else(|| {
            one_circuit(&model, &input, &quant, &dir.join("one"), &limits)
                .unwrap_or_else(|e| json!({"ok": false, "why": format!("{e:#}")}))
        });
        println!("{name}: one circuit {one}");
        results[name]["one_circuit"] = one.clone();
        save(&results)?;
        let auto = match earlier(&previous, name, "auto") {
            Some(a) => Some(a),
            None if std::env::var_os("ZKONNX_SPLIT_NO_AUTO").is_some() => None,
            None => Some(
                auto_run(&model, &input, &quant, agg_k, &dir.join("auto"), &limits)
                    .unwrap_or_else(|e| json!({"error": format!("{e:#}")})),
            ),
        };
        match auto {
            Some(auto) => {
                println!("{name}: run --split auto {auto}");
                results[name]["auto"] = auto;
                save(&results)?;
            }
            None => println!("{name}: run --split auto skipped"),
        }
        let done: Vec<Value> =
            earlier(&previous, name, "splits").and_then(|v| v.as_array().cloned()).unwrap_or_default();
        // resumed, the counts this run does not pick keep their earlier figures
        let mut splits: Vec<Value> =
            done.iter().filter(|d| !counts.iter().any(|&n| d["segments"] == n)).cloned().collect();
        results[name]["splits"] = json!(splits);
        save(&results)?;
        if counts.is_empty() {
            continue;
        }
        let mut pinned_for = PINNED_FOR.to_vec();
        pinned_for.extend(counts.iter().filter(|n| !PINNED_FOR.contains(n)));
        let memory_mb = zkonnx::memory::available_mb().unwrap_or(f64::INFINITY);
        let plan =
            RootPlan { model: &model, input: &input, quant: &quant, counts: &pinned_for, agg_k, dir: &dir, memory_mb };
        let root_advice = root_advice(&plan)?;
        for &n in &counts {
            // a row measured before the root spread its cells is measured again
            let r = match done.iter().find(|d| d["segments"] == n && d["ok"] == true && d["root_spread"] == true) {
                Some(d) => d.clone(),
                None => {
                    let dir = dir.join(format!("split-{n}"));
                    split_run(&model, &input, &quant, (n, root_advice, agg_k), &dir, &limits)
                        .unwrap_or_else(|e| json!({"segments": n, "ok": false, "why": format!("{e:#}")}))
                }
            };
            println!("{name}: {n} segments {r}");
            splits.push(r);
            splits.sort_by_key(|v| v["segments"].as_u64());
            results[name]["splits"] = json!(splits);
            save(&results)?;
        }
    }
    write_section(&results)?;
    Ok(())
}

/// What a memory refusal says, without the CLI's advice: `zkonnx split: error: segment 1's keys:
/// setup needs an estimated 25000 MiB of memory but only 21000 MiB is available (logrows ...): free
/// memory, ...` becomes `segment 1's keys: setup needs ... is available`.
fn refusal(why: &str) -> String {
    let what = why.split_once("error: ").map_or(why, |(_, w)| w);
    what.split(" (logrows").next().unwrap_or(what).replace('|', "/")
}

fn cell(v: &Value, key: &str, digits: usize) -> String {
    v[key].as_f64().map_or_else(|| "–".into(), |x| format!("{x:.digits$}"))
}

/// The `split` section of `docs/benchmarks.md`.
fn write_section(results: &Value) -> Result<()> {
    let mut rows = String::new();
    let mut spreads = String::new();
    for (name, r) in results.as_object().into_iter().flatten() {
        for (spread, when) in [(true, ""), (false, " (before the root spread its cells)")] {
            let gas: Vec<(u64, f64)> = r["splits"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|sp| (sp["root_spread"] == true) == spread)
                .filter_map(|sp| Some((sp["segments"].as_u64()?, sp["verify_gas"].as_f64()?)))
                .collect();
            if gas.len() > 1 {
                let (lo, hi) = gas.iter().fold((f64::MAX, 0.0_f64), |(lo, hi), &(_, g)| (lo.min(g), hi.max(g)));
                let counts: Vec<String> = gas.iter().map(|(n, _)| n.to_string()).collect();
                spreads.push_str(&format!(
                    "- {name}{when}: the aggregated proof's verify gas at {} segments spans {lo:.0} to {hi:.0} \
                     ({:.2}% apart); one circuit: {}\n",
                    counts.join(", "),
                    (hi / lo - 1.0) * 100.0,
                    cell(&r["one_circuit"], "verify_gas", 0)
                ));
            }
        }
        let one = &r["one_circuit"];
        if one["ok"] == true {
            rows.push_str(&format!(
                "| {name} | one circuit ({} lanes, logrows {}) | {} | {} | – | – | {} |\n",
                one["lanes"],
                one["logrows"],
                cell(one, "total_seconds", 0),
                cell(one, "peak_mb", 0),
                cell(one, "verify_gas", 0)
            ));
        } else {
            rows.push_str(&format!(
                "| {name} | one circuit | does not fit: estimated {} MiB | – | – | – | – |\n",
                cell(one, "estimated_peak_mb", 0)
            ));
        }
        let auto = &r["auto"];
        if let Some(rep) = auto.get("report").filter(|rep| rep["ok"] == true) {
            rows.push_str(&format!(
                "| {name} | `run --split auto`: {} segments, {} nodes{} | {} | {} | {} | {} | {} |\n",
                rep["segments"],
                rep["aggregation_nodes"],
                if auto["hardhat"] == true { "; accepted on hardhat" } else { "" },
                cell(auto, "seconds", 0),
                cell(auto, "peak_mb", 0),
                rep["phases"]["aggregate"].as_f64().map_or_else(|| "–".into(), |x| format!("{x:.0}")),
                cell(rep, "estimated_peak_mb", 0),
                cell(auto, "revm_gas", 0)
            ));
        } else if auto.is_object() {
            let why = auto["error"].as_str().unwrap_or("did not verify").replace('|', "/");
            rows.push_str(&format!("| {name} | `run --split auto` | failed: {why} | – | – | – | – |\n"));
        }
        for sp in r["splits"].as_array().into_iter().flatten() {
            if sp["ok"] != true {
                let why = sp["why"].as_str().unwrap_or("");
                // a segment the memory estimate refuses is "does not fit", like the one circuit's row
                let (what, estimate) = match number_after(why, "needs an estimated") {
                    Some(mb) => (format!("does not fit: {}", refusal(why)), format!("{mb:.0}")),
                    None => (format!("not run: {}", why.replace('|', "/")), "–".into()),
                };
                let n = &sp["segments"];
                rows.push_str(&format!("| {name} | {n} segments | {what} | – | – | {estimate} | – |\n"));
                continue;
            }
            rows.push_str(&format!(
                "| {name} | {} segments, {} nodes | {} | {} (segments {}, aggregation {}) | {} | {} | {} |\n",
                sp["segments"],
                sp["aggregation_nodes"],
                cell(sp, "total_seconds", 0),
                cell(sp, "peak_mb", 0),
                cell(sp, "segments_peak_mb", 0),
                cell(sp, "aggregation_peak_mb", 0),
                cell(sp, "aggregation_seconds", 0),
                cell(sp, "estimated_peak_mb", 0),
                cell(sp, "verify_gas", 0) + if sp["root_spread"] == true { "" } else { " †" }
            ));
        }
    }
    let section = format!(
        "## Models bigger than one circuit (`--split`)\n\n\
         Generated by `cargo bench -p zkonnx-benches --bench split` (2 cores, 24 GiB; raw figures in \
         `docs/split.json`): each model calibrated once and every run pinned to that quantization; one circuit \
         (`zkonnx run`) where its memory estimate fits, and split into segments, each step its own process \
         (`split` with the segments' keys, `gen-witness --split`, one `prove-segment` per segment, `aggregate` with \
         the aggregation's keys, `verify --split`). The aggregation is a tree of fan-in 2 at logrows 21 (LeNet is \
         the cheap model with eight places to cut, for the gas); every \
         split's root is pinned to the same advice columns, so the aggregated proof's EVM verifier (zkonnx's \
         compiled verifier with the accumulator, measured in revm) has one shape, and each root's cells are \
         spread over all of its columns, so every root of a model has one verify gas. (Filled one column after \
         another, a root over two node proofs left more of its pinned columns empty than a root over two segment \
         proofs; an empty column's gate selector commits to the identity point, whose multiplication the verifier \
         skips, so the gas moved by about 6,800 a column. A gas marked † was measured so, before the spread.) A \
         split is planned before any key is made, and one whose steps' estimated memory exceeds what this machine \
         has is listed as not fitting. The rows come from resumed runs (`ZKONNX_SPLIT_RESUME=1`) in several \
         sessions, on hosts of this size whose speed differed by up to about 1.8 times for the same step: compare \
         times only between rows of one run.\n\n\
         | model | proved as | total s | peak MiB | aggregation s | estimated peak MiB | verify gas |\n\
         |---|---|---|---|---|---|---|\n{rows}\n{spreads}{}",
        if spreads.is_empty() { "" } else { "\n" }
    );
    let path = root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    std::fs::write(&path, zkonnx_benches::replace_section(&doc, "split", &section))?;
    println!("wrote {}", path.display());
    Ok(())
}
