//! `zkonnx._native`: the Python extension module (PyO3, abi3 for CPython >= 3.9) over the
//! `zkonnx` crate. The pure-Python package `zkonnx` (python/zkonnx/) wraps it: numpy inputs and
//! outputs, the EZKL-familiar function names, docstrings and type stubs.
//!
//! Place in the crate map: above the front door, like `cli`; nothing depends on it. Every
//! compile, setup, prove and verify runs with the GIL released (`Python::detach`), so other
//! Python threads go on; errors are `zkonnx.Error` subclasses chosen by `zkonnx::ErrorKind`.

mod split;

use std::path::{Path, PathBuf};

use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zkonnx::evm::{self, VerifierKind};
use zkonnx::ppot::PpotSource;
use zkonnx::run::RunConfig;
use zkonnx::{
    Artifacts, CompiledModel, ErrorKind, Level, Model, Options, Progress, Proof, Prover, Settings, SrsSource, Target,
    Verifier,
};

pyo3::create_exception!(
    zkonnx,
    Error,
    PyException,
    "Every zkonnx failure; the message names the node, tensor, file or field."
);
pyo3::create_exception!(zkonnx, BadInputError, Error, "Input data or an option is wrong (shape, count, range, JSON).");
pyo3::create_exception!(zkonnx, UnsupportedError, Error, "The model uses an ONNX op or form zkonnx does not support.");
pyo3::create_exception!(
    zkonnx,
    VerificationError,
    Error,
    "A proof was checked and rejected, or belongs to another key."
);
pyo3::create_exception!(zkonnx, FileError, Error, "A file could not be read or written, or is corrupt.");
pyo3::create_exception!(zkonnx, ResourceError, Error, "Not enough memory, or a circuit above the supported size.");

/// The Python exception for a library error.
pub(crate) fn py_err(e: zkonnx::Error) -> PyErr {
    let msg = e.to_string();
    match e.kind() {
        ErrorKind::BadInput => BadInputError::new_err(msg),
        ErrorKind::Unsupported => UnsupportedError::new_err(msg),
        ErrorKind::Verification => VerificationError::new_err(msg),
        ErrorKind::Io => FileError::new_err(msg),
        ErrorKind::Resources => ResourceError::new_err(msg),
        _ => Error::new_err(msg),
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> PyErr {
    BadInputError::new_err(msg.into())
}

/// Runs `f` with the GIL released, turning its error into the matching exception.
pub(crate) fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> zkonnx::Result<T> + Send) -> PyResult<T> {
    py.detach(f).map_err(py_err)
}

/// Calls a Python callable `(event, phase, seconds)` from the library's progress reports; the
/// GIL is taken only for the call. A callback that raises is ignored (proving goes on).
pub(crate) struct Callback(Option<Py<PyAny>>);

impl Progress for Callback {
    fn started(&self, phase: &str) {
        self.call("started", phase, 0.0);
    }
    fn finished(&self, phase: &str, seconds: f64) {
        self.call("finished", phase, seconds);
    }
    fn note(&self, level: Level, message: &str) {
        self.call(if level == Level::Warning { "warning" } else { "note" }, message, 0.0);
    }
}

impl Callback {
    fn call(&self, event: &str, what: &str, seconds: f64) {
        if let Some(cb) = &self.0 {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (event, what, seconds)) {
                    e.write_unraisable(py, None);
                }
            });
        }
    }
}

pub(crate) fn srs(path: Option<PathBuf>) -> PyResult<SrsSource> {
    SrsSource::file_or_dev(path.as_deref()).map_err(py_err)
}

/// Options from a JSON object of EZKL-style run args (`input_scale`, `param_scale`,
/// `lookup_bits`, `logrows`, `input_visibility`, ...; `None` leaves a value to calibration).
pub(crate) fn options(json: Option<&str>) -> PyResult<Options> {
    let mut o = Options::new();
    let Some(json) = json else { return Ok(o) };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| bad(format!("run args: {e}")))?;
    let obj = v.as_object().ok_or_else(|| bad("run args: expected an object"))?;
    let uint = |k: &str| -> PyResult<Option<u64>> {
        match obj.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(x) => {
                x.as_u64().map(Some).ok_or_else(|| bad(format!("run args: `{k}` must be a non-negative integer")))
            }
        }
    };
    let vis = |k: &str| -> PyResult<Option<zkonnx::Visibility>> {
        match obj.get(k).and_then(|x| x.as_str()) {
            None => Ok(None),
            Some(s) => zkonnx::parse_visibility(s).map(Some).map_err(py_err),
        }
    };
    let small = |k: &str| -> PyResult<Option<u32>> { Ok(uint(k)?.map(|x| x.min(u64::from(u32::MAX)) as u32)) };
    o.input_scale = small("input_scale")?;
    o.param_scale = small("param_scale")?;
    o.lookup_bits = small("lookup_bits")?;
    o.range_limbs = small("range_limbs")?;
    o.logrows = small("logrows")?;
    o.lanes = uint("lanes")?.map(|x| x as usize);
    o.lookup_lanes = uint("lookup_lanes")?.map(|x| x as usize);
    o.input_visibility = vis("input_visibility")?;
    o.output_visibility = vis("output_visibility")?;
    o.param_visibility = vis("param_visibility")?;
    if let Some(d) = obj.get("variables").or_else(|| obj.get("dims")) {
        let pairs: Vec<(String, usize)> = match d {
            serde_json::Value::Object(m) => {
                m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_u64()? as usize))).collect()
            }
            // EZKL spells them as [["batch_size", 1], ...]
            serde_json::Value::Array(a) => {
                a.iter().filter_map(|p| Some((p.get(0)?.as_str()?.to_string(), p.get(1)?.as_u64()? as usize))).collect()
            }
            _ => return Err(bad("run args: `variables` must map names to sizes")),
        };
        o.dims.extend(pairs);
    }
    if let Some(t) = obj.get("target").and_then(|t| t.as_str()) {
        o.target = t.parse::<Target>().map_err(py_err)?;
    }
    // the layout optimizer's objective: "time" (default) or "gas", with an optional bound
    if let Some(t) = obj.get("optimize").and_then(|t| t.as_str()) {
        o.optimize = t.parse::<zkonnx::Optimize>().map_err(py_err)?;
    }
    // a multiple of the sampled range's width, or "full"
    match obj.get("table_margin") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(m)) => o.table_margin = Some(zkonnx::parse_table_margin(m).map_err(py_err)?),
        Some(x) => match x.as_f64() {
            Some(m) if m >= 0.0 => o.table_margin = Some(m),
            _ => return Err(bad("run args: `table_margin` must be a non-negative number or \"full\"")),
        },
    }
    match obj.get("max_prove_secs") {
        None | Some(serde_json::Value::Null) => {}
        Some(x) => match x.as_f64() {
            Some(s) if s.is_finite() && s > 0.0 => o.max_prove_ms = Some((s * 1000.0).round() as u64),
            _ => return Err(bad("run args: `max_prove_secs` must be a positive number")),
        },
    }
    Ok(o)
}

fn read_inputs(path: &Path) -> zkonnx::Result<Vec<Vec<f32>>> {
    zkonnx::read_inputs(path)
}

fn write_json<T: zkonnx::lower::verifier::JsonArtifact>(path: &Path, v: &T) -> zkonnx::Result<()> {
    Ok(zkonnx::lower::verifier::write_json(path, v)?)
}

fn settings_json(s: &Settings) -> PyResult<String> {
    let v = zkonnx::lower::verifier::to_json_value(s).map_err(|e| Error::new_err(e.to_string()))?;
    Ok(v.to_string())
}

// ---------------------------------------------------------------------------------------------
// EZKL-familiar, path-based functions

/// Default settings for a model (the layout optimizer picks lanes and logrows).
#[pyfunction]
#[pyo3(signature = (model, output, py_run_args=None))]
fn gen_settings(py: Python<'_>, model: PathBuf, output: PathBuf, py_run_args: Option<String>) -> PyResult<bool> {
    let o = options(py_run_args.as_deref())?;
    detached(py, || {
        let m = Model::load(&model, &o.dims)?;
        write_json(&output, &m.default_settings(&o)?)?;
        Ok(true)
    })
}

/// Calibrates scales, table and layout on sample inputs; visibilities and symbolic dimensions
/// come from the settings file when it exists (as `gen_settings` wrote them).
#[pyfunction]
#[pyo3(signature = (data, model, settings, target="resources", py_run_args=None))]
fn calibrate_settings(
    py: Python<'_>,
    data: Vec<PathBuf>,
    model: PathBuf,
    settings: PathBuf,
    target: &str,
    py_run_args: Option<String>,
) -> PyResult<bool> {
    let mut o = options(py_run_args.as_deref())?;
    o.target = target.parse::<Target>().map_err(py_err)?;
    detached(py, || {
        if let Ok(old) = zkonnx::lower::verifier::read_json::<Settings>(&settings) {
            o.input_visibility.get_or_insert(old.run_args.input_visibility);
            o.output_visibility.get_or_insert(old.run_args.output_visibility);
            o.param_visibility.get_or_insert(old.run_args.param_visibility);
            for (k, v) in old.run_args.dims {
                o.dims.entry(k).or_insert(v);
            }
        }
        let samples = data.iter().map(|p| read_inputs(p)).collect::<zkonnx::Result<Vec<_>>>()?;
        let m = Model::load(&model, &o.dims)?;
        write_json(&settings, &m.calibrate(&samples, &o)?.settings)?;
        Ok(true)
    })
}

/// Compiles a model under its settings; updates the settings with the compiled model's facts.
#[pyfunction]
fn compile_circuit(
    py: Python<'_>,
    model: PathBuf,
    compiled_circuit: PathBuf,
    settings_path: PathBuf,
) -> PyResult<bool> {
    detached(py, || {
        let settings: Settings = zkonnx::lower::verifier::read_json(&settings_path)?;
        let c = Model::load(&model, &settings.run_args.dims)?.compile(settings)?;
        write_json(&compiled_circuit, &c)?;
        write_json(&settings_path, &c.settings)?;
        Ok(true)
    })
}

/// Writes the INSECURE development SRS of `2^logrows` points (known seed: tests only).
#[pyfunction]
fn gen_srs(py: Python<'_>, srs_path: PathBuf, logrows: u32) -> PyResult<()> {
    detached(py, || {
        let params = zkonnx::lower::prover::generate_dev_srs(logrows)?;
        let origin = zkonnx::lower::verifier::SrsOrigin::InsecureDev;
        Ok(zkonnx::lower::verifier::srs::write_srs(&srs_path, &params, origin)?)
    })
}

/// The Perpetual Powers of Tau SRS for `logrows` (or the settings' logrows), downloaded with its
/// published hash checked and cached (`zkonnx srs fetch`); copied to `srs_path` when given.
/// Returns the path of the SRS.
#[pyfunction]
#[pyo3(signature = (srs_path=None, settings_path=None, logrows=None, mirror=None))]
fn get_srs(
    py: Python<'_>,
    srs_path: Option<PathBuf>,
    settings_path: Option<PathBuf>,
    logrows: Option<u32>,
    mirror: Option<String>,
) -> PyResult<String> {
    detached(py, || {
        let k = match (logrows, settings_path) {
            (Some(k), _) => k,
            (None, Some(s)) => zkonnx::lower::verifier::read_json::<Settings>(&s)?.run_args.logrows,
            (None, None) => {
                return Err(zkonnx::Error::Option {
                    option: "logrows".into(),
                    reason: "pass logrows or settings_path".into(),
                })
            }
        };
        let source = mirror.map_or_else(PpotSource::new, |url| PpotSource::new().with_base_url(url));
        let path = zkonnx::ppot::fetch_to(k, &source, &zkonnx::dev_cache()?, srs_path.as_deref(), &zkonnx::Silent)?;
        Ok(path.to_string_lossy().into_owned())
    })
}

/// Proving and verifying keys of a compiled model.
#[pyfunction]
#[pyo3(signature = (model, vk_path, pk_path, srs_path=None))]
fn setup(
    py: Python<'_>,
    model: PathBuf,
    vk_path: PathBuf,
    pk_path: PathBuf,
    srs_path: Option<PathBuf>,
) -> PyResult<bool> {
    let srs = srs(srs_path)?;
    detached(py, || {
        let c = CompiledModel::read(&model)?;
        let params = srs.load(c.settings.run_args.logrows, &Callback(None))?;
        let keys = zkonnx::keygen(&c, &params)?;
        zkonnx::write_keys(&keys, &c.settings.model.model_hash, &vk_path, &pk_path)?;
        Ok(true)
    })
}

/// Runs the quantized model on an input file; writes the witness (when `output` is given) and
/// returns it as a JSON string.
#[pyfunction]
#[pyo3(signature = (data, model, output=None))]
fn gen_witness(py: Python<'_>, data: PathBuf, model: PathBuf, output: Option<PathBuf>) -> PyResult<String> {
    detached(py, || {
        let c = CompiledModel::read(&model)?;
        let w = zkonnx::witness_from_file(&c, &data)?;
        if let Some(out) = &output {
            write_json(out, &w)?;
        }
        serde_json::to_string(&w).map_err(|e| zkonnx::Error::Json { what: "the witness".into(), reason: e.to_string() })
    })
}

/// The Poseidon commitments `hashed` visibility exposes: the compiled model's params, and each
/// input's and output's for an input file (`data`) or a witness file; as a JSON array.
#[pyfunction]
#[pyo3(signature = (model, data=None, witness=None))]
fn hash_commitments(
    py: Python<'_>,
    model: PathBuf,
    data: Option<PathBuf>,
    witness: Option<PathBuf>,
) -> PyResult<String> {
    detached(py, || {
        let c = CompiledModel::read(&model)?;
        let w = match (data, witness) {
            (Some(d), _) => Some(zkonnx::witness_from_file(&c, &d)?),
            (None, Some(p)) => Some(zkonnx::lower::verifier::read_json::<zkonnx::Witness>(&p)?),
            (None, None) => None,
        };
        let all = zkonnx::hash::commitments(&c, w.as_ref())?;
        serde_json::to_string(&all)
            .map_err(|e| zkonnx::Error::Json { what: "the commitments".into(), reason: e.to_string() })
    })
}

/// Proves a witness; writes the proof (when `proof_path` is given) and returns its JSON.
#[pyfunction]
#[pyo3(signature = (witness, model, pk_path, proof_path=None, srs_path=None))]
fn prove(
    py: Python<'_>,
    witness: PathBuf,
    model: PathBuf,
    pk_path: PathBuf,
    proof_path: Option<PathBuf>,
    srs_path: Option<PathBuf>,
) -> PyResult<String> {
    let srs = srs(srs_path)?;
    detached(py, || {
        let c = CompiledModel::read(&model)?;
        let keys = zkonnx::read_keys(&pk_path, &c)?;
        let w: zkonnx::Witness = zkonnx::lower::verifier::read_json(&witness)?;
        let params = srs.load(c.settings.run_args.logrows, &Callback(None))?;
        let proof = Prover::new(c, keys, params)?.prove_witness(&w)?;
        if let Some(p) = &proof_path {
            proof.write(p)?;
        }
        proof.to_json()
    })
}

/// Verifies a proof file; `True`, or `VerificationError` naming why not.
#[pyfunction]
#[pyo3(signature = (proof_path, settings_path, vk_path, srs_path=None))]
fn verify(
    py: Python<'_>,
    proof_path: PathBuf,
    settings_path: PathBuf,
    vk_path: PathBuf,
    srs_path: Option<PathBuf>,
) -> PyResult<bool> {
    let srs = srs(srs_path)?;
    detached(py, || {
        let v = Verifier::from_files(&settings_path, &vk_path, &srs, &Callback(None))?;
        v.verify(&Proof::read(&proof_path)?)?;
        Ok(true)
    })
}

/// Writes zkonnx's EVM verifier: its Solidity (`sol_code_path`) and the compiled
/// `verifier.json` (`bytecode_path`; zkonnx's verifiers have no ABI beyond their fallback).
/// `verifier`: "auto" (default), "compiled", "data" or "reference".
#[pyfunction]
#[pyo3(signature = (vk_path, settings_path, sol_code_path, bytecode_path, srs_path=None, reference=false, allow_insecure_srs=false, verifier=None))]
#[expect(clippy::too_many_arguments, reason = "EZKL's argument list, plus zkonnx's three options")]
fn create_evm_verifier(
    py: Python<'_>,
    vk_path: PathBuf,
    settings_path: PathBuf,
    sol_code_path: PathBuf,
    bytecode_path: PathBuf,
    srs_path: Option<PathBuf>,
    reference: bool,
    allow_insecure_srs: bool,
    verifier: Option<String>,
) -> PyResult<bool> {
    let srs = srs(srs_path)?;
    let kind = verifier_kind(verifier.as_deref().unwrap_or("auto"), reference)?;
    detached(py, || {
        let v = Verifier::from_files(&settings_path, &vk_path, &srs, &Callback(None))?;
        let mut options = evm::VerifierOptions::new(kind);
        options.allow_insecure_srs = allow_insecure_srs;
        evm::create_verifier(&v, &options, &Callback(None))?.write(&sol_code_path, &bytecode_path)?;
        Ok(true)
    })
}

/// The verifier kind a Python caller names (`reference=True` wins).
pub(crate) fn verifier_kind(name: &str, reference: bool) -> PyResult<VerifierKind> {
    match (reference, name) {
        (true, _) | (_, "reference") => Ok(VerifierKind::Reference),
        (_, "auto") => Ok(VerifierKind::Auto),
        (_, "compiled") => Ok(VerifierKind::Compiled),
        (_, "data") => Ok(VerifierKind::KeyAsData),
        (_, other) => Err(BadInputError::new_err(format!(
            "verifier {other:?}: expected \"auto\", \"compiled\", \"data\" or \"reference\""
        ))),
    }
}

/// The EVM calldata of a proof (public values, then the proof); written to `calldata` when given.
#[pyfunction]
#[pyo3(signature = (proof, calldata=None))]
fn encode_evm_calldata<'py>(
    py: Python<'py>,
    proof: PathBuf,
    calldata: Option<PathBuf>,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = detached(py, || {
        let d = Proof::read(&proof)?.calldata()?;
        if let Some(p) = &calldata {
            zkonnx::lower::verifier::artifact::write_atomic(p, &d)?;
        }
        Ok(d)
    })?;
    Ok(PyBytes::new(py, &data))
}

/// Verifies a proof with a Solidity verifier: on a chain (`addr_verifier` and `rpc_url`, with
/// `eth_call`) or in an in-process EVM (`bytecode_path`). `True`, or `VerificationError`.
#[pyfunction]
#[pyo3(signature = (addr_verifier=None, rpc_url=None, proof_path=None, bytecode_path=None))]
fn verify_evm(
    py: Python<'_>,
    addr_verifier: Option<String>,
    rpc_url: Option<String>,
    proof_path: Option<PathBuf>,
    bytecode_path: Option<PathBuf>,
) -> PyResult<bool> {
    let proof_path = proof_path.ok_or_else(|| bad("verify_evm: `proof_path` is required"))?;
    let verdict = detached(py, || {
        let proof = Proof::read(&proof_path)?;
        match (addr_verifier, rpc_url, bytecode_path) {
            (Some(addr), Some(url), _) => {
                let to = addr
                    .trim()
                    .parse::<evm::chain::Address>()
                    .map_err(|e| zkonnx::Error::Option { option: "addr_verifier".into(), reason: e.to_string() })?;
                let v = evm::call_on_chain(&url, to, &proof, evm::chain::DEFAULT_VERIFY_GAS)?;
                Ok((v.accepted, v.reason.unwrap_or_default()))
            }
            (_, _, Some(bytecode)) => {
                let v = evm::verify_in_evm(&evm::read_verifier(&bytecode)?, &proof, 30_000_000)?;
                Ok((v.accepted, format!("{} gas", v.gas_used)))
            }
            _ => Err(zkonnx::Error::Option {
                option: "verify_evm".into(),
                reason: "pass addr_verifier and rpc_url (a chain) or bytecode_path (in-process)".into(),
            }),
        }
    })?;
    match verdict {
        (true, _) => Ok(true),
        (false, why) => Err(VerificationError::new_err(format!("the EVM verifier rejected the proof: {why}"))),
    }
}

/// Deploys a compiled verifier (`verifier.json`) to the chain at `rpc_url`, paid by
/// `private_key` (hex; else `$ZKONNX_PRIVATE_KEY`); checks the code now at the address, writes
/// the address to `addr_path` and returns it.
#[pyfunction]
#[pyo3(signature = (addr_path, rpc_url, bytecode_path, private_key=None, allow_insecure_srs=false))]
fn deploy_evm(
    py: Python<'_>,
    addr_path: PathBuf,
    rpc_url: String,
    bytecode_path: PathBuf,
    private_key: Option<String>,
    allow_insecure_srs: bool,
) -> PyResult<String> {
    let key = private_key
        .or_else(|| std::env::var("ZKONNX_PRIVATE_KEY").ok())
        .ok_or_else(|| bad("deploy_evm: no private key (pass private_key or set ZKONNX_PRIVATE_KEY)"))?;
    detached(py, || {
        let signer = evm::chain::Signer::from_hex(&key)?;
        let deployed =
            evm::deploy(&rpc_url, &signer, &evm::read_verifier(&bytecode_path)?, allow_insecure_srs, &Callback(None))?;
        let addr = deployed.address.to_string();
        zkonnx::lower::verifier::artifact::write_atomic(&addr_path, format!("{addr}\n").as_bytes())?;
        Ok(addr)
    })
}

/// Writes the verifying key held in a proving key file (checked against the settings).
#[pyfunction]
fn gen_vk_from_pk_single(
    py: Python<'_>,
    path_to_pk: PathBuf,
    circuit_settings_path: PathBuf,
    vk_output_path: PathBuf,
) -> PyResult<bool> {
    detached(py, || {
        let settings: Settings = zkonnx::lower::verifier::read_json(&circuit_settings_path)?;
        let (pk, meta) = zkonnx::lower::verifier::keys::read_pk(&path_to_pk)?;
        meta.check_for(&path_to_pk, &settings)?;
        zkonnx::lower::verifier::keys::write_vk(&vk_output_path, pk.get_vk(), &meta)?;
        Ok(true)
    })
}

/// Every step (`zkonnx run`): settings, compile, setup, witness, prove, verify, artifacts in
/// `output_dir`; returns the run report as JSON.
#[pyfunction]
#[pyo3(signature = (model, data, output_dir, py_run_args=None, srs_path=None, progress=None))]
fn run(
    py: Python<'_>,
    model: PathBuf,
    data: PathBuf,
    output_dir: PathBuf,
    py_run_args: Option<String>,
    srs_path: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
) -> PyResult<String> {
    let o = options(py_run_args.as_deref())?;
    let cb = Callback(progress);
    detached(py, || {
        let mut config = RunConfig::default();
        let (inputs, salts) = zkonnx::read_input_file(&data)?;
        config.salts = salts;
        config.srs = srs_path;
        config.gpu = zkonnx::gpu::GpuMode::Off;
        let report = zkonnx::run::run(&model, &inputs, &output_dir, &o, &config, &cb)?;
        serde_json::to_string(&report)
            .map_err(|e| zkonnx::Error::Json { what: "the run report".into(), reason: e.to_string() })
    })
}

// ---------------------------------------------------------------------------------------------
// the object API

/// An ONNX model, ready to calibrate and compile.
#[pyclass(name = "_Model", frozen)]
struct PyModel(Model);

#[pymethods]
impl PyModel {
    #[staticmethod]
    #[pyo3(signature = (path, dims=None))]
    fn load(py: Python<'_>, path: PathBuf, dims: Option<std::collections::BTreeMap<String, usize>>) -> PyResult<Self> {
        let dims = dims.unwrap_or_default();
        detached(py, || Model::load(&path, &dims)).map(PyModel)
    }

    #[staticmethod]
    #[pyo3(signature = (data, name="model", dims=None))]
    fn from_bytes(
        py: Python<'_>,
        data: Vec<u8>,
        name: &str,
        dims: Option<std::collections::BTreeMap<String, usize>>,
    ) -> PyResult<Self> {
        let dims = dims.unwrap_or_default();
        detached(py, || Model::from_bytes(&data, name, &dims)).map(PyModel)
    }

    fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.0.input_shapes()
    }

    fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.0.output_shapes()
    }

    /// Float inference (tract).
    fn run_float(&self, py: Python<'_>, inputs: Vec<Vec<f32>>) -> PyResult<Vec<Vec<f32>>> {
        detached(py, || self.0.run_float(&inputs))
    }

    /// Settings (JSON) calibrated on samples (each a list of flat inputs) unless quantization is pinned.
    #[pyo3(signature = (samples, py_run_args=None))]
    fn settings(&self, py: Python<'_>, samples: Vec<Vec<Vec<f32>>>, py_run_args: Option<String>) -> PyResult<String> {
        let o = options(py_run_args.as_deref())?;
        let s = detached(py, || self.0.settings(&samples, &o))?;
        settings_json(&s)
    }

    /// Compiles under settings (JSON) and writes the artifacts folder with keys; returns a prover.
    #[pyo3(signature = (settings, output_dir, srs_path=None, progress=None))]
    fn setup(
        &self,
        py: Python<'_>,
        settings: &str,
        output_dir: PathBuf,
        srs_path: Option<PathBuf>,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<PyProver> {
        let s: Settings = zkonnx::lower::verifier::parse_json(Path::new("settings"), settings.as_bytes())
            .map_err(|e| py_err(e.into()))?;
        let srs = srs(srs_path)?;
        let cb = Callback(progress);
        detached(py, || {
            let compiled = self.0.compile(s)?;
            let artifacts = Artifacts::create(&output_dir)?;
            artifacts.write_compiled(&compiled)?;
            let params = srs.load(compiled.settings.run_args.logrows, &cb)?;
            let (keys, _) = artifacts.setup(&compiled, &params, &cb)?;
            Prover::new(compiled, keys, params)
        })
        .map(PyProver)
    }
}

/// Proves one compiled model's inferences; built once, called many times (also from threads).
#[pyclass(name = "_Prover", frozen)]
struct PyProver(Prover);

#[pymethods]
impl PyProver {
    #[staticmethod]
    #[pyo3(signature = (output_dir, srs_path=None))]
    fn from_artifacts(py: Python<'_>, output_dir: PathBuf, srs_path: Option<PathBuf>) -> PyResult<Self> {
        let srs = srs(srs_path)?;
        detached(py, || Prover::from_artifacts(&Artifacts::new(&output_dir), &srs, &Callback(None))).map(PyProver)
    }

    fn settings_json(&self) -> PyResult<String> {
        settings_json(self.0.settings())
    }

    fn estimated_peak_mb(&self) -> f64 {
        self.0.estimated_peak_mb()
    }

    /// Every output (public or not), dequantized, flat per output.
    fn outputs(&self, py: Python<'_>, inputs: Vec<Vec<f32>>) -> PyResult<Vec<Vec<f64>>> {
        detached(py, || Ok(self.0.witness(&inputs)?.output_floats))
    }

    #[pyo3(signature = (inputs, progress=None))]
    fn prove(&self, py: Python<'_>, inputs: Vec<Vec<f32>>, progress: Option<Py<PyAny>>) -> PyResult<PyProof> {
        let cb = Callback(progress);
        detached(py, || self.0.prove_with(&inputs, &cb)).map(PyProof)
    }

    fn verifier(&self) -> PyResult<PyVerifier> {
        self.0.verifier().map(PyVerifier).map_err(py_err)
    }
}

/// A proof with its public values.
#[pyclass(name = "_Proof", frozen)]
struct PyProof(Proof);

#[pymethods]
impl PyProof {
    #[staticmethod]
    fn from_json(text: &str) -> PyResult<Self> {
        Proof::from_json(text).map(PyProof).map_err(py_err)
    }

    fn to_json(&self) -> PyResult<String> {
        self.0.to_json().map_err(py_err)
    }

    fn outputs(&self) -> Vec<Vec<f64>> {
        self.0.outputs().to_vec()
    }

    fn public_values(&self) -> Vec<String> {
        self.0.public_values().to_vec()
    }

    fn calldata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.0.calldata().map_err(py_err)?))
    }

    fn model_hash(&self) -> String {
        self.0.model_hash().to_string()
    }
}

/// Checks proofs of one circuit.
#[pyclass(name = "_Verifier", frozen)]
struct PyVerifier(Verifier);

#[pymethods]
impl PyVerifier {
    #[staticmethod]
    #[pyo3(signature = (output_dir, srs_path=None))]
    fn from_artifacts(py: Python<'_>, output_dir: PathBuf, srs_path: Option<PathBuf>) -> PyResult<Self> {
        let srs = srs(srs_path)?;
        detached(py, || Verifier::from_artifacts(&Artifacts::new(&output_dir), &srs, &Callback(None))).map(PyVerifier)
    }

    fn verify(&self, py: Python<'_>, proof: &PyProof) -> PyResult<bool> {
        detached(py, || self.0.verify(&proof.0)).map(|()| true)
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("Error", py.get_type::<Error>())?;
    m.add("BadInputError", py.get_type::<BadInputError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("VerificationError", py.get_type::<VerificationError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("ResourceError", py.get_type::<ResourceError>())?;
    for f in [
        wrap_pyfunction!(gen_settings, m)?,
        wrap_pyfunction!(calibrate_settings, m)?,
        wrap_pyfunction!(compile_circuit, m)?,
        wrap_pyfunction!(gen_srs, m)?,
        wrap_pyfunction!(get_srs, m)?,
        wrap_pyfunction!(setup, m)?,
        wrap_pyfunction!(gen_witness, m)?,
        wrap_pyfunction!(hash_commitments, m)?,
        wrap_pyfunction!(prove, m)?,
        wrap_pyfunction!(verify, m)?,
        wrap_pyfunction!(create_evm_verifier, m)?,
        wrap_pyfunction!(encode_evm_calldata, m)?,
        wrap_pyfunction!(verify_evm, m)?,
        wrap_pyfunction!(deploy_evm, m)?,
        wrap_pyfunction!(gen_vk_from_pk_single, m)?,
        wrap_pyfunction!(run, m)?,
    ] {
        m.add_function(f)?;
    }
    split::register(m)?;
    m.add_class::<PyModel>()?;
    m.add_class::<PyProver>()?;
    m.add_class::<PyProof>()?;
    m.add_class::<PyVerifier>()?;
    Ok(())
}
