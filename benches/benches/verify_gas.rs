//! Verify gas of zkonnx's EVM verifier (`--verifier auto`: the compiled verifier where it fits
//! EIP-170, else the key as data), measured in revm on real proofs: for every fixture model and
//! `benches/models` lenet5 and mlp784, with the layout the default optimizer chooses (prove
//! time), with `--optimize gas`, and next to snark-verifier's generated verifier at one lane
//! (the width where it fits EIP-170) and zkonnx's two verifiers at that same width. Also
//! fits [`VERIFY_GAS`] (the cost model's gas coefficients) to every measurement by least squares
//! and prints the fit next to the coefficients in the code.
//!
//! `cargo bench -p zkonnx-benches --bench verify_gas` writes `docs/verify-gas.md` (and the
//! measurements behind the fit, `docs/verify-gas.json`) and the same
//! table into `docs/benchmarks.md` (between `<!-- verify-gas -->` markers, which the `vs_ezkl`
//! bench keeps). `ZKONNX_BENCH_ONLY=tiny/relu,mlp` limits the models. Proofs use the development
//! SRS (gas does not depend on which SRS).

#![expect(clippy::print_stdout, reason = "a bench prints its report")]

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use zkonnx::evm::{create_verifier, verify_in_evm, VerifierKind, VerifierOptions};
use zkonnx::lower::circuits::cost::{public_value_count, Shape, VERIFY_GAS};
use zkonnx::lower::circuits::CircuitParams;
use zkonnx::{Model, Optimize, Options, Prover, Silent, SrsSource, Verifier};
use zkonnx_benches::root;

/// One measured verification.
struct Measured {
    lanes: usize,
    lookup_lanes: usize,
    logrows: u32,
    gas: u64,
    predicted: f64,
    terms: [f64; 4],
}

fn models() -> Vec<(String, PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let tiny = root().join("fixtures/tiny");
    let mut names: Vec<String> = std::fs::read_dir(&tiny)
        .map(|d| d.flatten().filter_map(|e| e.file_name().to_str().map(str::to_string)).collect())
        .unwrap_or_default();
    names.sort();
    for n in names.iter().filter_map(|n| n.strip_suffix(".onnx")) {
        let input = tiny.join(format!("{n}.input.json"));
        if input.exists() {
            out.push((format!("tiny/{n}"), tiny.join(format!("{n}.onnx")), input));
        }
    }
    for (name, dir) in [("mlp", "fixtures/mlp"), ("lenet", "fixtures/lenet"), ("digits_cnn", "fixtures/digits_cnn")]
        .into_iter()
        .chain([("lenet5", "benches/models/lenet5"), ("mlp784", "benches/models/mlp784")])
    {
        let d = root().join(dir);
        out.push((name.to_string(), d.join("model.onnx"), d.join("input.json")));
    }
    out
}

/// Settings, proof and EVM verification of `model` under `options` with the verifier `kind`.
fn measure(model: &Path, input: &Path, options: &Options, srs: &SrsSource, kind: VerifierKind) -> Result<Measured> {
    let inputs = zkonnx::read_inputs(input)?;
    let m = Model::load(model, &options.dims)?;
    let settings = m.settings(std::slice::from_ref(&inputs), options)?;
    let compiled = m.compile(settings)?;
    let params = CircuitParams::from_settings(&compiled.settings);
    let shape = Shape::of(&compiled.graph, &params)?;
    let public_values = public_value_count(&compiled.graph, &params);
    let k = compiled.settings.run_args.logrows;
    let params_kzg = srs.load(k, &Silent)?;
    let keys = zkonnx::keygen(&compiled, &params_kzg)?;
    let settings = compiled.settings.clone();
    let prover = Prover::new(compiled, keys, params_kzg.clone())?;
    let proof = prover.prove(&inputs)?;
    let verifier = Verifier::new(settings.clone(), prover.keys().pk.get_vk().clone(), &params_kzg)?;
    let mut vo = VerifierOptions::new(kind);
    vo.allow_insecure_srs = true;
    vo.allow_oversize = true;
    let made = create_verifier(&verifier, &vo, &Silent)?;
    let v = verify_in_evm(&made.artifact, &proof, 30_000_000)?;
    anyhow::ensure!(v.accepted, "the EVM verifier refused an honest proof");
    if std::env::var_os("ZKONNX_BENCH_PROFILE").is_some() {
        print_profile(&made.artifact, &proof, &format!("{kind:?}"))?;
        let d = zkonnx::lower::contracts::vkdata::VkData::new(
            &params_kzg,
            prover.keys().pk.get_vk(),
            settings.num_instances(),
        )?;
        let entries: usize = d.sets.iter().map(|s| s.polys.len()).sum();
        let set_sizes: Vec<usize> = d.sets.iter().map(|s| s.rotations.len()).collect();
        println!(
            "  data: {} public values, {} witnesses, {} challenges, {} chunks, {} evals, {} instance queries, {} lagranges, \
             {} preprocessed, {} sets {set_sizes:?} with {entries} polys, program {} bytes, code {} bytes",
            d.num_instance,
            d.num_witnesses(),
            d.num_challenges(),
            d.num_chunks,
            d.num_evals,
            d.instance_queries.len(),
            d.num_lagranges(),
            d.preprocessed.len(),
            d.sets.len(),
            d.program.len(),
            zkonnx::lower::contracts::vkdata::code::program_code(&d).map_or(0, |c| c.len())
        );
    }
    Ok(Measured {
        lanes: settings.run_args.lanes,
        lookup_lanes: settings.run_args.lookup_lanes.unwrap_or(settings.run_args.lanes),
        logrows: k,
        gas: v.gas_used,
        predicted: shape.predicted_verify_gas(public_values),
        terms: shape.gas_terms(public_values),
    })
}

/// Prints where one verification's gas goes (`ZKONNX_BENCH_PROFILE=1`): precompiles, then the
/// opcodes by gas.
fn print_profile(
    artifact: &zkonnx::lower::contracts::EvmVerifierArtifact,
    proof: &zkonnx::Proof,
    who: &str,
) -> Result<()> {
    let code = artifact.bytecode()?;
    let mut evm = zkonnx::lower::contracts::Evm::without_size_limits();
    let deployed = evm.deploy(&code.creation)?;
    let (call, profile) = evm.profile_call(deployed.address, &proof.calldata()?, 30_000_000)?;
    let mut line = format!("  {who}: {} gas, calldata {} bytes;", call.gas_used, proof.calldata()?.len());
    for (name, (n, gas)) in &profile.precompiles {
        line += &format!(" {name} {n}× {gas};");
    }
    let mut ops: Vec<_> = profile.opcodes.iter().collect();
    ops.sort_by_key(|(_, (_, g))| std::cmp::Reverse(*g));
    let total: u64 = ops.iter().map(|(_, (_, g))| g).sum();
    line += &format!(" contract calls {}× {};", profile.contract_calls.0, profile.contract_calls.1);
    line += &format!(" opcodes {total}:");
    for (name, (n, gas)) in ops.iter().take(12) {
        line += &format!(" {name} {n}×/{gas}");
    }
    println!("{line}");
    Ok(())
}

/// Least squares `X b = y` over the regressors in `use_` (the others get 0), by the normal
/// equations and Gaussian elimination.
fn lstsq(rows: &[([f64; 4], f64)], use_: [bool; 4]) -> Option<[f64; 4]> {
    let idx: Vec<usize> = (0..4).filter(|&i| use_[i]).collect();
    let n = idx.len();
    let mut a = vec![vec![0.0f64; n + 1]; n];
    for (x, y) in rows {
        for (r, &i) in idx.iter().enumerate() {
            for (c, &j) in idx.iter().enumerate() {
                a[r][c] += x[i] * x[j];
            }
            a[r][n] += x[i] * y;
        }
    }
    for c in 0..n {
        let p = (c..n).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        a.swap(c, p);
        if a[c][c].abs() < 1e-9 {
            return None;
        }
        let pivot = a[c].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != c {
                let f = row[c] / pivot[c];
                for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                    *x -= f * p;
                }
            }
        }
    }
    let mut out = [0.0; 4];
    for (r, &i) in idx.iter().enumerate() {
        out[i] = a[r][n] / a[r][r];
    }
    Some(out)
}

/// Non-negative least squares by elimination: fits, drops the regressors that came out negative
/// (collinear ones: points and evaluations both grow with the width) and fits again.
fn fit(rows: &[([f64; 4], f64)]) -> Option<[f64; 4]> {
    let mut use_ = [true; 4];
    loop {
        let b = lstsq(rows, use_)?;
        let negative: Vec<usize> = (1..4).filter(|&i| use_[i] && b[i] < 0.0).collect();
        if negative.is_empty() {
            return Some(b);
        }
        for i in negative {
            use_[i] = false;
        }
    }
}

fn main() -> Result<()> {
    let only = std::env::var("ZKONNX_BENCH_ONLY").ok();
    let cache = std::env::temp_dir().join("zkonnx-bench-srs");
    let srs = SrsSource::dev_in(&cache);
    let mut table = String::from(
        "| model | default layout (lanes/lookup, k) | gas | `--optimize gas` layout | gas | zkonnx at 1 lane | key-as-data at 1 lane | snark-verifier at 1 lane | zkonnx / snark-verifier | ≤ 600k |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut points = Vec::new();
    let (mut worst_ratio, mut over) = (0.0f64, Vec::new());
    for (name, model, input) in models() {
        if only.as_deref().is_some_and(|o| !o.split(',').any(|m| m == name)) {
            continue;
        }
        let run = |o: &Options, kind| measure(&model, &input, o, &srs, kind).with_context(|| name.clone());
        let default = run(&Options::new(), VerifierKind::Auto)?;
        let mut gas_opts = Options::new();
        gas_opts.optimize = Optimize::Gas;
        let onchain = run(&gas_opts, VerifierKind::Auto)?;
        let mut one = Options::new();
        one.lanes = Some(1);
        let ours1 = if onchain.lanes == 1 { None } else { Some(run(&one, VerifierKind::Auto)?) };
        let ours1 = ours1.as_ref().unwrap_or(&onchain);
        let data1 = run(&one, VerifierKind::KeyAsData)?;
        let reference = run(&one, VerifierKind::Reference)?;
        let ratio = ours1.gas as f64 / reference.gas as f64;
        worst_ratio = worst_ratio.max(ratio);
        if onchain.gas > 600_000 {
            over.push(name.clone());
        }
        let layout = |m: &Measured| format!("{}/{}, k {}", m.lanes, m.lookup_lanes, m.logrows);
        table += &format!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {ratio:.2}× | {} |\n",
            layout(&default),
            default.gas,
            layout(&onchain),
            onchain.gas,
            ours1.gas,
            data1.gas,
            reference.gas,
            if onchain.gas <= 600_000 { "yes" } else { "no" }
        );
        eprintln!(
            "{name}: default {} gas (predicted {:.0}), gas-optimized {} (predicted {:.0}), 1 lane {} vs snark-verifier {}",
            default.gas, default.predicted, onchain.gas, onchain.predicted, ours1.gas, reference.gas
        );
        for m in [&default, &onchain, ours1] {
            points.push((m.terms, m.gas as f64));
        }
    }
    let json: Vec<serde_json::Value> =
        points.iter().map(|(x, y)| serde_json::json!({ "terms": x, "gas": y })).collect();
    std::fs::write(root().join("docs/verify-gas.json"), serde_json::to_vec_pretty(&json)?)?;
    let fitted = fit(&points);
    let rel = |c: &[f64; 4]| {
        points
            .iter()
            .map(|(x, y)| ((x.iter().zip(c).map(|(a, b)| a * b).sum::<f64>() - y) / y).abs())
            .fold(0.0, f64::max)
    };
    let coeffs = match fitted {
        Some(f) => format!(
            "non-negative least-squares fit over {} measurements: {:.0?} (largest error {:.1}%); in the code (`VERIFY_GAS`): \
             {:.0?} (largest error {:.1}%)",
            points.len(),
            f,
            100.0 * rel(&f),
            VERIFY_GAS,
            100.0 * rel(&VERIFY_GAS)
        ),
        None => "too few distinct shapes to fit the gas model".into(),
    };
    let section = format!(
        "## EVM verify gas\n\nGenerated by `cargo bench -p zkonnx-benches --bench verify_gas`: gas of one verification \
         in revm (mainnet rules, the 21,000 base cost and calldata included) of a real proof, with zkonnx's verifier \
         (`--verifier auto`: the key compiled to EVM code where that fits EIP-170, else the key as data) under the \
         default layout (prove time) and under `--optimize gas`, and zkonnx's two verifiers next to snark-verifier \
         0.2.7's generated verifier at one lane, the width at which the latter fits EIP-170.\n\n{table}\nLargest zkonnx / snark-verifier ratio at equal width: {worst_ratio:.2}×. Over 600k with \
         `--optimize gas`: {}.\n\nThe cost model's gas term (regressors: one, G1 points multiplied, evaluations, public \
         values): {coeffs}.\n",
        if over.is_empty() { "none".to_string() } else { over.join(", ") }
    );
    println!("{section}");
    std::fs::write(root().join("docs/verify-gas.md"), format!("# zkonnx verify gas\n\n{section}"))?;
    let path = root().join("docs/benchmarks.md");
    let doc = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, zkonnx_benches::replace_section(&doc, "verify-gas", &section))?;
    println!("wrote docs/verify-gas.md and the verify-gas section of docs/benchmarks.md");
    Ok(())
}
