//! Memory: what a step is predicted to need (the cost model of `zkonnx_circuits::cost`), what
//! the machine has, and the check that refuses a step that would not fit.

use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::CircuitParams;
use zkonnx_ir::Settings;

use crate::progress::{Level, Progress};
use crate::{Error, Result};

/// Which step a memory estimate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Key generation.
    Setup,
    /// Proving one input.
    Prove,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::Setup => "setup",
            Step::Prove => "proving",
        }
    }
}

/// The circuit's shape as the settings describe it (params and the layout's rows).
pub fn settings_shape(settings: &Settings) -> Shape {
    Shape::with_rows(&CircuitParams::from_settings(settings), settings.model.rows_used)
}

/// The predicted peak memory of `step` for these settings, MiB.
pub fn estimated_peak_mb(settings: &Settings, step: Step) -> f64 {
    let shape = settings_shape(settings);
    match step {
        Step::Setup => shape.predicted_setup_mb(),
        Step::Prove => shape.predicted_prove_mb(),
    }
}

/// The memory zkonnx may use, MiB: the least of `$ZKONNX_MAX_MEMORY_MB`, what the kernel says can
/// be allocated without swapping (`MemAvailable`) and what the cgroup (a container's limit)
/// leaves; `None` when none of them is known.
pub fn available_mb() -> Option<f64> {
    let env = std::env::var("ZKONNX_MAX_MEMORY_MB").ok().and_then(|v| v.parse::<f64>().ok());
    let meminfo = proc_mb("/proc/meminfo", "MemAvailable:");
    let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok()?.trim().parse::<f64>().ok();
    let cgroup = read("memory.max").map(|max| (max - read("memory.current").unwrap_or(0.0)) / (1024.0 * 1024.0));
    [env, meminfo, cgroup].into_iter().flatten().reduce(f64::min)
}

/// Peak resident memory of this process, MiB (Linux `VmHWM`; 0 elsewhere).
pub fn peak_rss_mb() -> f64 {
    proc_mb("/proc/self/status", "VmHWM:").unwrap_or(0.0)
}

/// Resident memory of this process now, MiB (Linux `VmRSS`; 0 elsewhere).
pub fn rss_mb() -> f64 {
    proc_mb("/proc/self/status", "VmRSS:").unwrap_or(0.0)
}

/// A `key: N kB` line of a `/proc` file, in MiB.
fn proc_mb(file: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

/// Reports an estimate of `need` MiB for the step `name` (of circuits up to `logrows`) and refuses
/// it when it exceeds the memory available (unless `force`).
pub fn check_mb(name: &'static str, need: f64, logrows: u32, force: bool, progress: &dyn Progress) -> Result<f64> {
    let Some(have) = available_mb() else {
        progress.note(Level::Info, &format!("{name}: estimated peak memory {need:.0} MiB"));
        return Ok(need);
    };
    progress.note(Level::Info, &format!("{name}: estimated peak memory {need:.0} MiB ({have:.0} MiB available)"));
    if need > have && !force {
        return Err(Error::Memory { step: name, need_mb: need, have_mb: have, logrows, lanes: 1 });
    }
    Ok(need)
}

/// Reports the estimate for `step` and refuses, naming it, when it exceeds the memory available
/// (unless `force`). Returns the estimate, MiB.
pub fn check(settings: &Settings, step: Step, force: bool, progress: &dyn Progress) -> Result<f64> {
    let need = estimated_peak_mb(settings, step);
    let name = step.name();
    let Some(have) = available_mb() else {
        progress.note(Level::Info, &format!("{name}: estimated peak memory {need:.0} MiB"));
        return Ok(need);
    };
    progress.note(Level::Info, &format!("{name}: estimated peak memory {need:.0} MiB ({have:.0} MiB available)"));
    if need > have && !force {
        return Err(Error::Memory {
            step: name,
            need_mb: need,
            have_mb: have,
            logrows: settings.run_args.logrows,
            lanes: settings.run_args.lanes,
        });
    }
    Ok(need)
}
