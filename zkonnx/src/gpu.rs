//! Where proofs are made: `--gpu on|auto|off`, and the hand-off to the GPU prover.
//!
//! The library never links CUDA, so it starts on any machine. With a GPU wanted, it finds the
//! NVIDIA driver at run time (`zkonnx_gpu::select`) and runs the separately built `zkonnx-gpu`
//! binary (Axiom's CUDA prover; `gpu-prover/`, built by `scripts/build-gpu.sh`) on the same
//! artifact files. That binary is found next to the running executable, or at
//! `$ZKONNX_GPU_PROVER`. Its proof is an ordinary proof file, checked by the same verifiers.
//! `$ZKONNX_CUDA_DRIVER` names another driver library than the installed `libcuda.so.1`.

use std::path::{Path, PathBuf};
use std::process::Command;

pub use zkonnx_gpu::GpuMode;
use zkonnx_gpu::{probe_library, select_with, DriverInfo, GpuError, Selection};

use crate::progress::{Level, Progress};
use crate::{Error, Result};

/// The GPU prover's binary name.
const GPU_PROVER: &str = "zkonnx-gpu";

/// Parses `on`, `auto` or `off`.
pub fn parse_mode(s: &str) -> Result<GpuMode> {
    Ok(s.parse()?)
}

/// A GPU and the binary that proves on it.
#[derive(Debug)]
pub struct GpuProver {
    exe: PathBuf,
    driver: DriverInfo,
    mode: GpuMode,
}

/// The artifact files one proof reads and writes.
#[derive(Debug)]
pub struct ProveFiles<'a> {
    /// `model.compiled`.
    pub compiled: &'a Path,
    /// `pk.key`.
    pub pk: &'a Path,
    /// `witness.json`.
    pub witness: &'a Path,
    /// The SRS file.
    pub srs: &'a Path,
    /// Where the proof goes.
    pub proof: &'a Path,
}

fn prover_exe() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKONNX_GPU_PROVER") {
        return Some(PathBuf::from(p));
    }
    let beside = std::env::current_exe().ok()?.with_file_name(GPU_PROVER);
    beside.is_file().then_some(beside)
}

/// Decides where to prove. `on`: a GPU and the GPU prover, or an error saying which is missing.
/// `auto`: the GPU when both are there, else the CPU (`None`), noting why when a GPU was found
/// but cannot be used. `off`: the CPU.
pub fn choose(mode: GpuMode, progress: &dyn Progress) -> Result<Option<GpuProver>> {
    let probe = || -> Result<DriverInfo, GpuError> {
        match std::env::var_os("ZKONNX_CUDA_DRIVER") {
            Some(library) => probe_library(library),
            None => zkonnx_gpu::probe(),
        }
    };
    let driver = match select_with(mode, probe) {
        Ok(Selection::Gpu(driver)) => driver,
        Ok(_) => return Ok(None),
        Err(e) => {
            return Err(Error::GpuProver { reason: format!("--gpu on: {e}; use --gpu auto to fall back to the CPU") })
        }
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
                return Err(Error::GpuProver { reason: format!("--gpu on: found {driver}, but {why}; {hint}") });
            }
            progress.note(Level::Info, &format!("found {driver}, but {why} ({hint}); proving on the CPU"));
            Ok(None)
        }
    }
}

impl GpuProver {
    /// Proves with the GPU prover: `Ok(true)` when the proof is at `files.proof`. When the GPU
    /// prover fails, `on` is an error and `auto` notes why and returns `Ok(false)` (prove on the
    /// CPU).
    pub fn prove(&self, files: &ProveFiles<'_>, progress: &dyn Progress) -> Result<bool> {
        match self.run(files, progress) {
            Ok(()) => Ok(true),
            Err(e) if self.mode == GpuMode::Auto => {
                progress.note(Level::Warning, &format!("{e}; proving on the CPU instead (--gpu auto)"));
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn run(&self, files: &ProveFiles<'_>, progress: &dyn Progress) -> Result<()> {
        progress.note(Level::Info, &format!("proving on the GPU: {} ({})", self.driver, self.exe.display()));
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
            .map_err(|e| Error::GpuProver { reason: format!("starting {}: {e}", self.exe.display()) })?;
        if !status.success() {
            return Err(Error::GpuProver { reason: format!("{} failed ({status})", self.exe.display()) });
        }
        Ok(())
    }
}
