//! `--gpu on|auto|off`: where `prove` and `run` prove, and the hand-off to the GPU prover.
//!
//! `zkonnx` itself never links CUDA, so it starts on any machine. With a GPU wanted, it finds the
//! NVIDIA driver at run time (`zkonnx_gpu::select`) and runs the separately built `zkonnx-gpu` binary
//! (Axiom's CUDA prover; `gpu-prover/`, built by `scripts/build-gpu.sh`) on the same artifact files.
//! That binary is found next to `zkonnx`, or at `$ZKONNX_GPU_PROVER`. Its proof is an ordinary proof
//! file, checked by the same verifiers. `$ZKONNX_CUDA_DRIVER` names another driver library than the
//! installed `libcuda.so.1` (a driver outside the loader's path; the tests' stand-in driver).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use zkonnx_gpu::{probe_library, select_with, DriverInfo, GpuError, GpuMode, Selection};

/// The GPU prover's binary name.
const GPU_PROVER: &str = "zkonnx-gpu";

/// Parses `--gpu`.
pub(crate) fn parse_mode(s: &str) -> Result<GpuMode, String> {
    s.parse().map_err(|e: zkonnx_gpu::GpuError| e.to_string())
}

/// A GPU and the binary that proves on it.
#[derive(Debug)]
pub(crate) struct GpuProver {
    exe: PathBuf,
    driver: DriverInfo,
    mode: GpuMode,
}

/// The artifact files one proof reads and writes.
#[derive(Debug)]
pub(crate) struct ProveFiles<'a> {
    pub(crate) compiled: &'a Path,
    pub(crate) pk: &'a Path,
    pub(crate) witness: &'a Path,
    pub(crate) srs: &'a Path,
    pub(crate) proof: &'a Path,
}

fn prover_exe() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKONNX_GPU_PROVER") {
        return Some(PathBuf::from(p));
    }
    let beside = std::env::current_exe().ok()?.with_file_name(GPU_PROVER);
    beside.is_file().then_some(beside)
}

/// Decides where to prove. `on`: a GPU and the GPU prover, or an error saying which is missing.
/// `auto`: the GPU when both are there, else the CPU, saying why when a GPU was found but cannot be
/// used. `off`: the CPU.
pub(crate) fn choose(mode: GpuMode) -> Result<Option<GpuProver>> {
    let probe = || -> Result<DriverInfo, GpuError> {
        match std::env::var_os("ZKONNX_CUDA_DRIVER") {
            Some(library) => probe_library(library),
            None => zkonnx_gpu::probe(),
        }
    };
    let driver = match select_with(mode, probe) {
        Ok(Selection::Gpu(driver)) => driver,
        Ok(_) => return Ok(None),
        Err(e) => bail!("--gpu on: {e}; use --gpu auto to fall back to the CPU"),
    };
    match prover_exe() {
        Some(exe) if exe.is_file() => Ok(Some(GpuProver { exe, driver, mode })),
        found => {
            let why = match found {
                Some(exe) => format!("the GPU prover {} does not exist", exe.display()),
                None => format!("no `{GPU_PROVER}` binary beside zkonnx and ZKONNX_GPU_PROVER unset"),
            };
            let hint = "build it with `bash scripts/build-gpu.sh`";
            if mode == GpuMode::On {
                bail!("--gpu on: found {driver}, but {why}; {hint}");
            }
            eprintln!("note: found {driver}, but {why} ({hint}); proving on the CPU");
            Ok(None)
        }
    }
}

impl GpuProver {
    /// Proves with the GPU prover: `Ok(true)` when the proof is at `files.proof`. When the GPU prover
    /// fails, `--gpu on` is an error and `auto` says why and returns `Ok(false)` (prove on the CPU).
    pub(crate) fn prove(&self, files: &ProveFiles<'_>) -> Result<bool> {
        match self.run(files) {
            Ok(()) => Ok(true),
            Err(e) if self.mode == GpuMode::Auto => {
                eprintln!("warning: {e:#}; proving on the CPU instead (--gpu auto)");
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn run(&self, files: &ProveFiles<'_>) -> Result<()> {
        eprintln!("proving on the GPU: {} ({})", self.driver, self.exe.display());
        let status = Command::new(&self.exe)
            .arg("prove")
            .arg("--compiled")
            .arg(files.compiled)
            .arg("--pk")
            .arg(files.pk)
            .arg("--witness")
            .arg(files.witness)
            .arg("--srs")
            .arg(files.srs)
            .arg("--proof")
            .arg(files.proof)
            .status()
            .with_context(|| format!("starting the GPU prover {}", self.exe.display()))?;
        if !status.success() {
            bail!("the GPU prover {} failed ({status})", self.exe.display());
        }
        Ok(())
    }
}
