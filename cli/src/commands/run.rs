//! `run`: every step in order, artifacts in one folder (`zkonnx::run`).

use std::path::PathBuf;

use anyhow::Result;
use zkonnx::gpu::GpuMode;
use zkonnx::run::{RunConfig, RunReport};

use crate::commands::prove::parse_gpu;
use crate::commands::split::SplitFlags;
use crate::common::{RunArgsFlags, Spinners};

#[derive(clap::Args, Debug)]
pub(crate) struct RunCmdArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    pub(crate) model: PathBuf,
    /// Input file (EZKL format); also the calibration sample.
    #[arg(short = 'D', long = "input")]
    pub(crate) input: PathBuf,
    /// Folder for the artifacts (created if missing).
    #[arg(long = "out", default_value = "zkonnx-out")]
    pub(crate) out: PathBuf,
    /// SRS file (default: the cached development SRS).
    #[arg(long)]
    pub(crate) srs: Option<PathBuf>,
    /// Print one line of JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Run even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    pub(crate) force: bool,
    /// Where to prove: `on` (an NVIDIA GPU, failing without one), `auto` (the GPU when there is one
    /// and the `zkonnx-gpu` prover is installed, else the CPU) or `off`.
    #[arg(long, default_value = "auto", value_parser = parse_gpu)]
    pub(crate) gpu: GpuMode,
    /// Prove the model as segments aggregated into one proof: `auto` (as few segments as fit the
    /// memory, or --max-logrows, or --cut) or a number of segments.
    #[arg(long, value_name = "auto|N")]
    pub(crate) split: Option<String>,
    #[command(flatten)]
    pub(crate) split_flags: SplitFlags,
    /// With --split: where the segment proofs run: `local` (this process) or `ray` (tasks on a
    /// Ray cluster, through the Python package's `zkonnx.ray`: `pip install 'zkonnx[ray]'`).
    #[arg(long, default_value = "local", value_parser = ["local", "ray"])]
    pub(crate) engine: String,
    /// With --engine ray: the cluster's address (`auto` for the cluster `ray start` runs on this
    /// machine; default: a local Ray runtime).
    #[arg(long)]
    pub(crate) ray_address: Option<String>,
    /// With --engine ray: prove the aggregation tree on this machine (`driver`) or each node as
    /// a Ray task started when its children are proved (`cluster`: one level's nodes in parallel).
    #[arg(long, default_value = "driver", value_parser = ["driver", "cluster"])]
    pub(crate) aggregate_on: String,
    /// With --engine ray: a folder every Ray node mounts (NFS, a mounted bucket), for artifacts
    /// over the object store's limit (an aggregation node's proving key is gigabytes).
    #[arg(long)]
    pub(crate) ray_shared_dir: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) flags: RunArgsFlags,
}

pub(crate) fn run(a: RunCmdArgs) -> Result<()> {
    if a.engine == "ray" {
        let split = a
            .split
            .as_deref()
            .ok_or_else(|| anyhow::anyhow!("--engine ray proves split models: add --split auto|N"))?;
        return run_on_ray(&a, split);
    }
    if let Some(split) = &a.split {
        return run_split(&a, split);
    }
    let report = pipeline(&a)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!("phases (s): {:?}", report.phases);
        eprintln!("outputs: {:?}", report.outputs);
    }
    if !report.ok {
        anyhow::bail!("the proof did not verify: {}", report.error.unwrap_or_default());
    }
    eprintln!(
        "verified (logrows {}, {} proof bytes); artifacts in {}",
        report.logrows,
        report.proof_bytes,
        a.out.display()
    );
    Ok(())
}

/// `zkonnx::run::run` with the command's flags.
pub(crate) fn pipeline(a: &RunCmdArgs) -> Result<RunReport> {
    let mut config = RunConfig::default();
    config.srs = a.srs.clone();
    config.force = a.force;
    config.gpu = a.gpu;
    let (inputs, salts) = zkonnx::read_input_file(&a.input)?;
    config.salts = salts;
    Ok(zkonnx::run::run(&a.model, &inputs, &a.out, &a.flags.options()?, &config, &Spinners::default())?)
}

/// `run --split`: `zkonnx::run::run_split`.
fn run_split(a: &RunCmdArgs, split: &str) -> Result<()> {
    let count = match split {
        "auto" => None,
        n => Some(
            n.parse::<usize>().map_err(|_| anyhow::anyhow!("--split {n}: expected auto or a number of segments"))?,
        ),
    };
    let mut config = RunConfig::default();
    config.srs = a.srs.clone();
    config.force = a.force;
    let (inputs, _) = zkonnx::read_input_file(&a.input)?;
    let options = a.split_flags.options(count)?;
    let report = zkonnx::run::run_split(
        &a.model,
        &inputs,
        &a.out,
        &a.flags.options()?,
        &options,
        &config,
        &Spinners::default(),
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        eprintln!("phases (s): {:?}", report.phases);
        eprintln!("outputs: {:?}", report.outputs);
    }
    if !report.ok {
        anyhow::bail!("the aggregated proof did not verify: {}", report.error.unwrap_or_default());
    }
    eprintln!(
        "verified: one aggregated proof of {} segments (logrows {:?}, aggregation logrows {}, {} nodes), {} proof bytes; \
         artifacts in {}",
        report.segments,
        report.segment_logrows,
        report.aggregation_logrows,
        report.aggregation_nodes,
        report.proof_bytes,
        a.out.display()
    );
    Ok(())
}

/// `run --split ... --engine ray`: the same code as Python's `zkonnx.ray.prove_split`, run by
/// `python -m zkonnx.ray run` (the interpreter: `$ZKONNX_PYTHON`, else `python3`).
fn run_on_ray(a: &RunCmdArgs, split: &str) -> Result<()> {
    let python = std::env::var_os("ZKONNX_PYTHON").unwrap_or_else(|| "python3".into());
    let mut cmd = std::process::Command::new(&python);
    cmd.args(["-m", "zkonnx.ray", "run", "-M"]).arg(&a.model).arg("-D").arg(&a.input).arg("--out").arg(&a.out).args([
        "--split",
        split,
        "--fan-in",
        &a.split_flags.fan_in.to_string(),
    ]);
    if let Some(m) = a.split_flags.max_memory {
        cmd.args(["--max-memory", &m.to_string()]);
    }
    if let Some(addr) = &a.ray_address {
        cmd.args(["--ray-address", addr]);
    }
    cmd.args(["--aggregate-on", &a.aggregate_on]);
    if let Some(dir) = &a.ray_shared_dir {
        cmd.arg("--shared-dir").arg(dir);
    }
    if let Some(srs) = &a.srs {
        cmd.arg("--srs").arg(srs);
    }
    if a.json {
        cmd.arg("--json");
    }
    let status = cmd.status().map_err(|e| {
        anyhow::anyhow!(
            "--engine ray runs `{} -m zkonnx.ray`: {e}; install the Python package with Ray (pip install './python[ray]') \
             or set ZKONNX_PYTHON",
            python.to_string_lossy()
        )
    })?;
    if !status.success() {
        anyhow::bail!("the Ray run failed ({status}); its error is above");
    }
    Ok(())
}
