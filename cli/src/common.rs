//! Helpers shared by the subcommands: input files, SRS resolution, phase timing, memory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use indicatif::{ProgressBar, ProgressStyle};
use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::CircuitParams;
use zkonnx_ir::{RunArgs, Settings, Visibility};
use zkonnx_prover::{load_srs_for, SrsCache};
use zkonnx_verifier::keys::{read_vk, KeyMeta};
use zkonnx_verifier::{read_json, SrsOrigin};

/// Reads an input JSON file in EZKL's format (`{"input_data": [[floats], ...]}`).
pub(crate) fn read_inputs(path: &Path) -> Result<Vec<Vec<f32>>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading input file {}", path.display()))?;
    zkonnx_compiler::parse_inputs(&bytes).with_context(|| format!("input file {}", path.display()))
}

/// Parses `NAME=VALUE` pairs for symbolic dimensions.
pub(crate) fn parse_dims(dims: &[String]) -> Result<BTreeMap<String, usize>> {
    dims.iter()
        .map(|d| {
            let (k, v) = d.split_once('=').with_context(|| format!("--dim {d}: expected NAME=VALUE"))?;
            let v: usize = v.parse().with_context(|| format!("--dim {d}: `{v}` is not a size"))?;
            if v == 0 {
                bail!("--dim {d}: a dimension must be at least 1");
            }
            Ok((k.to_string(), v))
        })
        .collect()
}

/// Settings flags shared by `gen-settings`, `calibrate` and `run`.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct RunArgsFlags {
    /// Fractional bits of inputs and activations.
    #[arg(long)]
    pub input_scale: Option<u32>,
    /// Fractional bits of weights.
    #[arg(long)]
    pub param_scale: Option<u32>,
    /// Bits of the range table (activations live in [-2^(B-1), 2^(B-1))).
    #[arg(long)]
    pub lookup_bits: Option<u32>,
    /// Limbs of a range check: 2 checks activations in [-2^(2B-1), 2^(2B-1)) with the same 2^B-row
    /// table (two lookups per checked value instead of one).
    #[arg(long)]
    pub range_limbs: Option<u32>,
    /// log2 of the number of circuit rows.
    #[arg(long)]
    pub logrows: Option<u32>,
    /// Lanes of advice columns (circuit width).
    #[arg(long)]
    pub lanes: Option<usize>,
    /// Lanes (the first ones) with the range, rescale and function lookups; the others hold only
    /// dot products and sums. Chosen by the layout optimizer unless given.
    #[arg(long)]
    pub lookup_lanes: Option<usize>,
    /// `private` (default) or `public`.
    #[arg(long, value_parser = parse_visibility)]
    pub input_visibility: Option<Visibility>,
    /// `public` (default) or `private`.
    #[arg(long, value_parser = parse_visibility)]
    pub output_visibility: Option<Visibility>,
    /// `fixed` (default) or `private`.
    #[arg(long, value_parser = parse_visibility)]
    pub param_visibility: Option<Visibility>,
    /// Symbolic dimension value, e.g. `--dim N=4`; an unnamed one is `<input>.<axis>`, e.g.
    /// `--dim X.0=2` (unset ones default to 1).
    #[arg(long = "dim")]
    pub dims: Vec<String>,
}

fn parse_visibility(s: &str) -> Result<Visibility, String> {
    match s {
        "private" => Ok(Visibility::Private),
        "public" => Ok(Visibility::Public),
        "fixed" => Ok(Visibility::Fixed),
        _ => Err(format!("`{s}`: expected private, public or fixed")),
    }
}

impl RunArgsFlags {
    /// Applies the flags that were given on top of `base`.
    pub(crate) fn apply(&self, mut base: RunArgs) -> Result<RunArgs> {
        let set = |dst: &mut u32, v: Option<u32>| {
            if let Some(v) = v {
                *dst = v;
            }
        };
        set(&mut base.input_scale, self.input_scale);
        set(&mut base.param_scale, self.param_scale);
        set(&mut base.lookup_bits, self.lookup_bits);
        set(&mut base.range_limbs, self.range_limbs);
        set(&mut base.logrows, self.logrows);
        if let Some(l) = self.lanes {
            base.lanes = l;
        }
        if let Some(m) = self.lookup_lanes {
            base.lookup_lanes = Some(m);
        }
        if let Some(v) = self.input_visibility {
            base.input_visibility = v;
        }
        if let Some(v) = self.output_visibility {
            base.output_visibility = v;
        }
        if let Some(v) = self.param_visibility {
            base.param_visibility = v;
        }
        base.dims.extend(parse_dims(&self.dims)?);
        Ok(base)
    }
}

/// The SRS for `k`: from `--srs` if given, else the cached development SRS (with a warning).
pub(crate) fn load_srs(srs: Option<&Path>, k: u32) -> Result<ParamsKZG<Bn256>> {
    if let Some(path) = srs {
        let (params, origin) = load_srs_for(path, k).context("loading the SRS")?;
        if origin == SrsOrigin::InsecureDev {
            warn_insecure();
        }
        return Ok(params);
    }
    warn_insecure();
    let cache = srs_cache()?;
    let phase = Phase::start(&format!("SRS k={k} (cached in {})", cache.path(k).display()));
    let params = cache.dev_srs(k).context("preparing the development SRS")?;
    phase.finish();
    Ok(params)
}

/// The SRS file another process (the GPU prover) should read for `k`: `srs` when given, else the
/// cached development SRS for `k`, made first when missing.
pub(crate) fn srs_path(srs: Option<&Path>, k: u32) -> Result<PathBuf> {
    if let Some(path) = srs {
        return Ok(path.to_path_buf());
    }
    warn_insecure();
    srs_cache()?.ensure(k).context("preparing the development SRS")
}

/// The SRS cache: `$ZKONNX_CACHE_DIR/srs` if set, else the user's cache folder.
pub(crate) fn srs_cache() -> Result<SrsCache> {
    match std::env::var_os("ZKONNX_CACHE_DIR") {
        Some(dir) => Ok(SrsCache::new(PathBuf::from(dir).join("srs"))),
        None => Ok(SrsCache::user_default()?),
    }
}

fn warn_insecure() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        eprintln!(
            "warning: using the INSECURE development SRS (known seed): fine for testing, \
             anyone can forge proofs against it. Pass --srs with a ceremony SRS in production."
        )
    });
}

/// A timed phase with a spinner on stderr (drawn only on a terminal).
pub(crate) struct Phase {
    bar: ProgressBar,
    start: Instant,
}

impl Phase {
    pub(crate) fn start(name: &str) -> Self {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(name.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Self { bar, start: Instant::now() }
    }

    /// Stops the spinner; returns the elapsed seconds.
    pub(crate) fn finish(self) -> f64 {
        self.bar.finish_and_clear();
        self.start.elapsed().as_secs_f64()
    }
}

/// Peak resident memory of this process in MiB (Linux `VmHWM`; 0 elsewhere).
pub(crate) fn peak_rss_mb() -> f64 {
    proc_mb("/proc/self/status", "VmHWM:").unwrap_or(0.0)
}

/// A `key: N kB` line of a `/proc` file, in MiB.
fn proc_mb(file: &str, key: &str) -> Option<f64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse::<f64>().ok().map(|kb| kb / 1024.0)
}

/// A verifying key with the settings it must belong to and the SRS to check against: the
/// arguments of `verify` and `create-evm-verifier`.
#[derive(clap::Args, Debug)]
pub(crate) struct VkArgs {
    #[arg(long, default_value = "vk.key")]
    pub(crate) vk: PathBuf,
    #[arg(long, default_value = "settings.json")]
    pub(crate) settings: PathBuf,
    /// SRS file (default: the cached development SRS for the settings' logrows).
    #[arg(long)]
    pub(crate) srs: Option<PathBuf>,
}

/// What [`VkArgs::load`] reads.
pub(crate) struct LoadedVk {
    pub(crate) settings: Settings,
    pub(crate) vk: VerifyingKey<G1Affine>,
    pub(crate) meta: KeyMeta,
    pub(crate) srs: ParamsKZG<Bn256>,
}

impl VkArgs {
    /// Reads the settings and the key, checks that the key was made for them, loads the SRS.
    pub(crate) fn load(&self) -> Result<LoadedVk> {
        let settings: Settings = read_json(&self.settings)?;
        let (vk, meta) = read_vk(&self.vk)?;
        meta.check_for(&self.vk, &settings)?;
        let srs = load_srs(self.srs.as_deref(), settings.run_args.logrows)?;
        Ok(LoadedVk { settings, vk, meta, srs })
    }
}

/// The memory zkonnx may use, MiB: the smallest of `$ZKONNX_MAX_MEMORY_MB`, what the kernel
/// says can be allocated without swapping (`MemAvailable`) and what the cgroup (a container's
/// limit) leaves; `None` when none of them is known.
pub(crate) fn available_mb() -> Option<f64> {
    let env = std::env::var("ZKONNX_MAX_MEMORY_MB").ok().and_then(|v| v.parse::<f64>().ok());
    let meminfo = proc_mb("/proc/meminfo", "MemAvailable:");
    let read = |f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{f}")).ok()?.trim().parse::<f64>().ok();
    let cgroup = read("memory.max").map(|max| (max - read("memory.current").unwrap_or(0.0)) / (1024.0 * 1024.0));
    [env, meminfo, cgroup].into_iter().flatten().reduce(f64::min)
}

/// Which step a memory estimate is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MemoryStep {
    Setup,
    Prove,
}

/// The circuit's shape as the settings describe it (params and the layout's rows).
pub(crate) fn settings_shape(settings: &Settings) -> Shape {
    Shape::with_rows(&CircuitParams::from_settings(settings), settings.model.rows_used)
}

/// The predicted peak memory of `step` for these settings, in MiB (the cost model of
/// `zkonnx_circuits::cost`).
pub(crate) fn estimated_peak_mb(settings: &Settings, step: MemoryStep) -> f64 {
    let shape = settings_shape(settings);
    match step {
        MemoryStep::Setup => shape.predicted_setup_mb(),
        MemoryStep::Prove => shape.predicted_prove_mb(),
    }
}

/// Prints the estimate for `step` and refuses, naming it, when it exceeds the memory available
/// (unless `force`).
pub(crate) fn check_memory(settings: &Settings, step: MemoryStep, force: bool) -> Result<f64> {
    let need = estimated_peak_mb(settings, step);
    let name = match step {
        MemoryStep::Setup => "setup",
        MemoryStep::Prove => "proving",
    };
    let Some(have) = available_mb() else {
        eprintln!("{name}: estimated peak memory {need:.0} MiB");
        return Ok(need);
    };
    eprintln!("{name}: estimated peak memory {need:.0} MiB ({have:.0} MiB available)");
    if need > have && !force {
        bail!(
            "{name} needs an estimated {need:.0} MiB of memory but only {have:.0} MiB is available \
             (logrows {}, {} lanes): free memory, use a smaller model or coarser settings, or pass --force to try anyway \
             (the limit is the least of MemAvailable, the cgroup's memory.max and $ZKONNX_MAX_MEMORY_MB)",
            settings.run_args.logrows,
            settings.run_args.lanes
        );
    }
    Ok(need)
}
