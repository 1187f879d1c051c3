//! Models bigger than one circuit, from Python: split a model, prove its segments (each a
//! stateless job a distributed engine can schedule: `zkonnx.ray` does), aggregate, verify.

use std::path::{Path, PathBuf};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zkonnx::lower::verifier::{parse_json, read_json, write_json};
use zkonnx::split::{
    node_proof_path, segment_proof_path, AggregatedProof, NodeOutput, NodeProofFile, SegmentProofFile, Split,
    SplitOptions, SplitPolicy,
};
use zkonnx::{Model, Witness};

use crate::{bad, detached, options, py_err, srs, Callback};

/// How to split, from JSON: `{"segments": N}`, `{"max_memory_mb": M}`, `{"max_logrows": K}`,
/// `{"cut": [names]}` (one of them; none: as few segments as fit the memory available), and
/// optionally `fan_in`, `aggregation_logrows`, `root_advice`.
fn split_options(json: Option<&str>) -> PyResult<SplitOptions> {
    let v: serde_json::Value = match json {
        Some(j) => serde_json::from_str(j).map_err(|e| bad(format!("split args: {e}")))?,
        None => serde_json::json!({}),
    };
    let uint = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
    let policy = if let Some(n) = uint("segments") {
        SplitPolicy::Segments(n as usize)
    } else if let Some(k) = uint("max_logrows") {
        SplitPolicy::MaxLogrows(k as u32)
    } else if let Some(names) = v.get("cut").and_then(serde_json::Value::as_array) {
        SplitPolicy::After(names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
    } else {
        SplitPolicy::Auto { max_memory_mb: v.get("max_memory_mb").and_then(serde_json::Value::as_f64) }
    };
    let mut o = SplitOptions::new(policy);
    if let Some(f) = uint("fan_in") {
        o.fan_in = f as usize;
    }
    if let Some(k) = uint("aggregation_logrows") {
        o.aggregation_k = k as u32;
    }
    if let Some(r) = uint("root_advice") {
        o.root_advice = r as usize;
    }
    Ok(o)
}

fn json_err(what: &str) -> impl Fn(serde_json::Error) -> zkonnx::Error + '_ {
    move |e| zkonnx::Error::Json { what: what.into(), reason: e.to_string() }
}

/// What a scheduler needs of a split: each segment's logrows, width and predicted peak memory,
/// each aggregation node's, the SRS size a run needs, the model's hash.
fn summary(split: &Split) -> zkonnx::Result<String> {
    let estimate = split.estimate()?;
    let segments: Vec<serde_json::Value> = (0..split.len())
        .map(|j| {
            let settings = split.segment_model(j)?.settings;
            let (_, setup_mb, prove_mb) = estimate.segments[j];
            Ok(serde_json::json!({
                "logrows": settings.run_args.logrows,
                "lanes": settings.run_args.lanes,
                "setup_mb": setup_mb,
                "prove_mb": prove_mb,
                "dir": split.manifest().segments[j].dir,
            }))
        })
        .collect::<zkonnx::Result<_>>()?;
    let node_files = (0..split.manifest().plan.nodes.len())
        .map(|i| Ok(split.node_files(i)?.iter().map(|p| p.to_string_lossy().into_owned()).collect::<Vec<_>>()))
        .collect::<zkonnx::Result<Vec<_>>>()?;
    let v = serde_json::json!({
        "model_hash": split.manifest().model_hash,
        "segments": segments,
        "nodes": estimate.nodes,
        "plan": split.manifest().plan.nodes,
        "node_files": node_files,
        "max_logrows": split.max_logrows(),
        "aggregation_logrows": split.manifest().aggregation_k,
    });
    Ok(v.to_string())
}

/// Splits an ONNX model into `split_dir`: settings calibrated on `samples` (or pinned by the run
/// args), the segments, and (with `setup`) their keys. Returns the split's summary as JSON.
#[pyfunction]
#[pyo3(signature = (model, samples, split_dir, py_run_args=None, split_args=None, srs_path=None, setup=true, progress=None))]
#[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, keyword by keyword")]
fn split_model(
    py: Python<'_>,
    model: PathBuf,
    samples: Vec<Vec<Vec<f32>>>,
    split_dir: PathBuf,
    py_run_args: Option<String>,
    split_args: Option<String>,
    srs_path: Option<PathBuf>,
    setup: bool,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let o = options(py_run_args.as_deref())?;
    let so = split_options(split_args.as_deref())?;
    let source = srs(srs_path)?;
    let cb = Callback(progress);
    detached(py, || {
        let m = Model::load(&model, &o.dims)?;
        let settings = m.settings(&samples, &o)?;
        let compiled = m.compile(settings)?;
        let split = Split::create(&split_dir, &compiled, &so)?;
        if setup {
            let params = source.load(split.max_logrows(), &cb)?;
            split.setup(&params, &cb)?;
        }
        summary(&split)
    })
}

/// The summary of an existing split folder (see [`split_model`]).
#[pyfunction]
fn split_summary(py: Python<'_>, split_dir: PathBuf) -> PyResult<String> {
    detached(py, || summary(&Split::open(&split_dir)?))
}

/// The segments' witnesses (JSON, in segment order) for the model's flat float inputs, every
/// boundary with a fresh random salt.
#[pyfunction]
fn split_witnesses(py: Python<'_>, split_dir: PathBuf, inputs: Vec<Vec<f32>>) -> PyResult<Vec<String>> {
    detached(py, || {
        let ws = Split::open(&split_dir)?.witnesses(&inputs)?;
        ws.iter()
            .map(|w| {
                let v = zkonnx::lower::verifier::to_json_value(w).map_err(json_err("a witness"))?;
                Ok(v.to_string())
            })
            .collect()
    })
}

/// Proves segment `segment` of the split from its witness (JSON) with the SRS at `srs_path` (else
/// the development SRS), writing the proof to `out` (kept when it already holds this proof);
/// returns the proof as JSON. A stateless job: the split folder and the witness are all it reads.
#[pyfunction]
#[pyo3(signature = (split_dir, segment, witness, out, srs_path=None))]
fn split_prove_segment(
    py: Python<'_>,
    split_dir: PathBuf,
    segment: usize,
    witness: String,
    out: PathBuf,
    srs_path: Option<PathBuf>,
) -> PyResult<String> {
    let source = srs(srs_path)?;
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let w: Witness = parse_json(Path::new("the segment's witness"), witness.as_bytes())?;
        let logrows = split.segment_model(segment)?.settings.run_args.logrows;
        let params = source.load(logrows, &Callback(None))?;
        let proof = split.prove_segment(segment, &w, &params, &out, &Callback(None))?;
        Ok(zkonnx::lower::verifier::to_json_value(&proof).map_err(json_err("the segment proof"))?.to_string())
    })
}

/// Makes the aggregation tree's keys (read from the key cache when it has them).
#[pyfunction]
#[pyo3(signature = (split_dir, srs_path=None, progress=None))]
fn split_setup_aggregation(
    py: Python<'_>,
    split_dir: PathBuf,
    srs_path: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<()> {
    let source = srs(srs_path)?;
    let cb = Callback(progress);
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let params = source.load(split.max_logrows(), &cb)?;
        split.setup_aggregation(&params, &cb)
    })
}

/// Proves aggregation node `node` from its children's proofs (JSON, in the plan's order);
/// returns the node's proof (`node-<i>.json`'s JSON), or for the root the aggregated proof's. A
/// stateless job: it reads the split folder's `node_files` only.
#[pyfunction]
#[pyo3(signature = (split_dir, node, children, srs_path=None))]
fn split_prove_node(
    py: Python<'_>,
    split_dir: PathBuf,
    node: usize,
    children: Vec<String>,
    srs_path: Option<PathBuf>,
) -> PyResult<String> {
    let source = srs(srs_path)?;
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let proofs = split.child_proofs(node, &children)?;
        let params = source.load(split.max_logrows(), &Callback(None))?;
        let v = match split.prove_node(node, &proofs, &params, &Callback(None))? {
            NodeOutput::Inner(p) => zkonnx::lower::verifier::to_json_value(&p).map_err(json_err("the node proof"))?,
            NodeOutput::Root(p) => {
                zkonnx::lower::verifier::to_json_value(&p).map_err(json_err("the aggregated proof"))?
            }
        };
        Ok(v.to_string())
    })
}

/// Writes segment proofs (JSON, in segment order) into `run_dir` as `proof-<j>.json`, and inner
/// aggregation nodes' proofs (JSON) as `node-<i>.json` (a later aggregation keeps them).
#[pyfunction]
#[pyo3(signature = (run_dir, proofs, nodes=vec![]))]
fn split_write_proofs(py: Python<'_>, run_dir: PathBuf, proofs: Vec<String>, nodes: Vec<String>) -> PyResult<()> {
    detached(py, || {
        std::fs::create_dir_all(&run_dir).map_err(|e| zkonnx::Error::Io { path: run_dir.clone(), error: e })?;
        for (j, text) in proofs.iter().enumerate() {
            let p: SegmentProofFile = parse_json(Path::new("a segment proof"), text.as_bytes())?;
            write_json(&segment_proof_path(&run_dir, j), &p)?;
        }
        for text in &nodes {
            let p: NodeProofFile = parse_json(Path::new("a node proof"), text.as_bytes())?;
            write_json(&node_proof_path(&run_dir, p.node), &p)?;
        }
        Ok(())
    })
}

/// Aggregates the segment proofs in `run_dir` (checked first: each verifies, boundaries agree)
/// into `run_dir/aggregated.json`; returns it as JSON.
#[pyfunction]
#[pyo3(signature = (split_dir, run_dir, srs_path=None, progress=None))]
fn split_aggregate(
    py: Python<'_>,
    split_dir: PathBuf,
    run_dir: PathBuf,
    srs_path: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let source = srs(srs_path)?;
    let cb = Callback(progress);
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let params = source.load(split.max_logrows(), &cb)?;
        let proof = split.aggregate(&run_dir, &params, &cb)?;
        Ok(zkonnx::lower::verifier::to_json_value(&proof).map_err(json_err("the aggregated proof"))?.to_string())
    })
}

/// Verifies an aggregated proof (JSON) of the split natively: `True`, or `VerificationError`.
#[pyfunction]
#[pyo3(signature = (split_dir, proof, srs_path=None))]
fn split_verify(py: Python<'_>, split_dir: PathBuf, proof: String, srs_path: Option<PathBuf>) -> PyResult<bool> {
    let source = srs(srs_path)?;
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let p: AggregatedProof = parse_json(Path::new("the aggregated proof"), proof.as_bytes())?;
        let params = source.load(split.manifest().aggregation_k, &Callback(None))?;
        split.verify(&p, &params).map(|()| true)
    })
}

/// The EVM calldata of an aggregated proof (JSON).
#[pyfunction]
fn aggregated_calldata<'py>(py: Python<'py>, proof: &str) -> PyResult<Bound<'py, PyBytes>> {
    let p: AggregatedProof =
        parse_json(Path::new("the aggregated proof"), proof.as_bytes()).map_err(|e| py_err(e.into()))?;
    let data = p.calldata().map_err(|e| py_err(e.into()))?;
    Ok(PyBytes::new(py, &data))
}

/// Writes the split's aggregated-proof EVM verifier (`verifier` as for single proofs: auto,
/// compiled or reference) to `sol_code_path` and `bytecode_path`.
#[pyfunction]
#[pyo3(signature = (split_dir, sol_code_path, bytecode_path, srs_path=None, allow_insecure_srs=false, verifier="auto"))]
fn split_evm_verifier(
    py: Python<'_>,
    split_dir: PathBuf,
    sol_code_path: PathBuf,
    bytecode_path: PathBuf,
    srs_path: Option<PathBuf>,
    allow_insecure_srs: bool,
    verifier: &str,
) -> PyResult<bool> {
    let kind = crate::verifier_kind(verifier, false)?;
    let source = srs(srs_path)?;
    detached(py, || {
        let split = Split::open(&split_dir)?;
        let params = source.load(split.manifest().aggregation_k, &Callback(None))?;
        let mut o = zkonnx::evm::VerifierOptions::new(kind);
        o.allow_insecure_srs = allow_insecure_srs;
        let made = zkonnx::evm::create_aggregated_verifier(&split, &params, &o, &Callback(None))?;
        made.write(&sol_code_path, &bytecode_path)?;
        Ok(true)
    })
}

/// Checks calldata with a compiled verifier (`verifier.json`) in an in-process EVM: `(accepted, gas)`.
#[pyfunction]
fn verify_calldata_in_evm(py: Python<'_>, bytecode_path: PathBuf, calldata: Vec<u8>) -> PyResult<(bool, u64)> {
    detached(py, || {
        let v = zkonnx::evm::read_verifier(&bytecode_path)?;
        let verdict = zkonnx::evm::verify_calldata_in_evm(&v, &calldata, zkonnx::lower::contracts::evm::CALL_GAS)?;
        Ok((verdict.accepted, verdict.gas_used))
    })
}

/// `run --split` in this process: settings, compile, split, keys, witnesses, segment proofs,
/// aggregation and verification, artifacts in `output_dir`; returns the report as JSON.
#[pyfunction]
#[pyo3(signature = (model, data, output_dir, py_run_args=None, split_args=None, srs_path=None, progress=None))]
#[expect(clippy::too_many_arguments, reason = "mirrors the Python signature, keyword by keyword")]
fn run_split(
    py: Python<'_>,
    model: PathBuf,
    data: PathBuf,
    output_dir: PathBuf,
    py_run_args: Option<String>,
    split_args: Option<String>,
    srs_path: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let o = options(py_run_args.as_deref())?;
    let so = split_options(split_args.as_deref())?;
    let cb = Callback(progress);
    detached(py, || {
        let mut config = zkonnx::run::RunConfig::default();
        config.srs = srs_path;
        let (inputs, _) = zkonnx::read_input_file(&data)?;
        let report = zkonnx::run::run_split(&model, &inputs, &output_dir, &o, &so, &config, &cb)?;
        serde_json::to_string(&report).map_err(json_err("the run report"))
    })
}

/// Reads an aggregated proof file as JSON text (format and version checked).
#[pyfunction]
fn read_aggregated(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    detached(py, || {
        let p: AggregatedProof = read_json(&path)?;
        Ok(zkonnx::lower::verifier::to_json_value(&p).map_err(json_err("the aggregated proof"))?.to_string())
    })
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for f in [
        wrap_pyfunction!(split_model, m)?,
        wrap_pyfunction!(split_summary, m)?,
        wrap_pyfunction!(split_witnesses, m)?,
        wrap_pyfunction!(split_prove_segment, m)?,
        wrap_pyfunction!(split_write_proofs, m)?,
        wrap_pyfunction!(split_aggregate, m)?,
        wrap_pyfunction!(split_setup_aggregation, m)?,
        wrap_pyfunction!(split_prove_node, m)?,
        wrap_pyfunction!(split_verify, m)?,
        wrap_pyfunction!(aggregated_calldata, m)?,
        wrap_pyfunction!(split_evm_verifier, m)?,
        wrap_pyfunction!(verify_calldata_in_evm, m)?,
        wrap_pyfunction!(run_split, m)?,
        wrap_pyfunction!(read_aggregated, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
