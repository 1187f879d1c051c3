//! What the subcommands share: the settings flags, the SRS flag, and the progress observer that
//! draws spinners and prints the library's notes on stderr.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use zkonnx::{Level, Optimize, Options, Progress, SrsSource, Visibility};

/// Reads an input JSON file in EZKL's format (`{"input_data": [[floats], ...]}`).
pub(crate) fn read_inputs(path: &Path) -> Result<Vec<Vec<f32>>> {
    Ok(zkonnx::read_inputs(path)?)
}

/// Settings flags shared by `gen-settings`, `calibrate`, `table` and `run`.
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
    /// `private` (default), `public` or `hashed` (only each input's Poseidon commitment is public,
    /// salted by the input file's `input_salts`).
    #[arg(long, value_parser = parse_visibility)]
    pub input_visibility: Option<Visibility>,
    /// `public` (default), `private` or `hashed` (salted by `output_salts`).
    #[arg(long, value_parser = parse_visibility)]
    pub output_visibility: Option<Visibility>,
    /// `fixed` (default), `private` or `hashed` (the weights are witnessed and only their Poseidon
    /// commitment is public: one verifying key serves every model of the architecture).
    #[arg(long, value_parser = parse_visibility)]
    pub param_visibility: Option<Visibility>,
    /// Symbolic dimension value, e.g. `--dim N=4`; an unnamed one is `<input>.<axis>`, e.g.
    /// `--dim X.0=2` (unset ones default to 1).
    #[arg(long = "dim")]
    pub dims: Vec<String>,
    /// What the layout optimizer minimizes: `time` (predicted prove time) or `gas` (predicted
    /// verify gas of the EVM verifier, for proofs checked on-chain).
    #[arg(long, default_value = "time", value_parser = parse_optimize)]
    pub optimize: Optimize,
    /// With `--optimize gas`: the longest predicted prove time, in seconds, a layout may take.
    #[arg(long, value_name = "SECONDS")]
    pub max_prove_secs: Option<f64>,
    /// How far beyond the range the calibration input(s) reach each function table extends, as a
    /// multiple of that range's width on each side (default 1); `full`: tables over the whole
    /// activation range. A proving input outside a table fails with an error naming the node.
    #[arg(long, value_name = "MARGIN", value_parser = parse_table_margin)]
    pub table_margin: Option<f64>,
}

fn parse_table_margin(s: &str) -> Result<f64, String> {
    zkonnx::parse_table_margin(s).map_err(|e| e.to_string())
}

fn parse_optimize(s: &str) -> Result<Optimize, String> {
    s.parse::<Optimize>().map_err(|e| e.to_string())
}

fn parse_visibility(s: &str) -> Result<Visibility, String> {
    zkonnx::parse_visibility(s).map_err(|e| e.to_string())
}

impl RunArgsFlags {
    /// The library's options for these flags.
    pub(crate) fn options(&self) -> Result<Options> {
        let mut o = Options::new();
        o.input_scale = self.input_scale;
        o.param_scale = self.param_scale;
        o.lookup_bits = self.lookup_bits;
        o.range_limbs = self.range_limbs;
        o.logrows = self.logrows;
        o.lanes = self.lanes;
        o.lookup_lanes = self.lookup_lanes;
        o.input_visibility = self.input_visibility;
        o.output_visibility = self.output_visibility;
        o.param_visibility = self.param_visibility;
        o.dims = zkonnx::parse_dims(&self.dims)?;
        o.optimize = self.optimize;
        o.table_margin = self.table_margin;
        o.max_prove_ms = match self.max_prove_secs {
            Some(_) if self.optimize != Optimize::Gas => {
                anyhow::bail!("--max-prove-secs bounds the gas objective: pass it with --optimize gas")
            }
            Some(s) if s.is_finite() && s > 0.0 => Some((s * 1000.0).round() as u64),
            Some(s) => anyhow::bail!("--max-prove-secs {s}: expected a positive number of seconds"),
            None => None,
        };
        Ok(o)
    }
}

/// `--srs FILE`, else the cached development SRS.
pub(crate) fn srs_source(srs: Option<&Path>) -> Result<SrsSource> {
    SrsSource::file_or_dev(srs).context("the SRS cache")
}

/// Draws a spinner on stderr for each phase (only on a terminal) and prints notes; the
/// insecure-SRS warning once per process.
#[derive(Default, Debug)]
pub(crate) struct Spinners {
    bar: Mutex<Option<ProgressBar>>,
}

/// The insecure-SRS warning is printed once per process.
static WARNED_SRS: std::sync::Once = std::sync::Once::new();

impl Progress for Spinners {
    fn started(&self, phase: &str) {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            bar.set_style(style);
        }
        bar.set_message(phase.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut b) = self.bar.lock() {
            if let Some(old) = b.replace(bar) {
                old.finish_and_clear();
            }
        }
    }

    fn finished(&self, _phase: &str, _seconds: f64) {
        if let Ok(mut b) = self.bar.lock() {
            if let Some(bar) = b.take() {
                bar.finish_and_clear();
            }
        }
    }

    fn note(&self, level: Level, message: &str) {
        if message == zkonnx::INSECURE_SRS_WARNING {
            WARNED_SRS.call_once(|| eprintln!("warning: {message}"));
            return;
        }
        match level {
            Level::Warning => eprintln!("warning: {message}"),
            _ => eprintln!("{message}"),
        }
    }
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

impl VkArgs {
    /// Reads the settings and the key (checked to belong together) and loads the SRS.
    pub(crate) fn load(&self, progress: &dyn Progress) -> Result<zkonnx::Verifier> {
        Ok(zkonnx::Verifier::from_files(&self.settings, &self.vk, &srs_source(self.srs.as_deref())?, progress)?)
    }
}

/// A timed phase with a spinner on stderr, for the commands that call lower crates directly.
pub(crate) struct Phase {
    spinners: Spinners,
    name: String,
    start: std::time::Instant,
}

impl Phase {
    pub(crate) fn start(name: &str) -> Self {
        let spinners = Spinners::default();
        spinners.started(name);
        Self { spinners, name: name.to_string(), start: std::time::Instant::now() }
    }

    /// Stops the spinner; returns the elapsed seconds.
    pub(crate) fn finish(self) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        self.spinners.finished(&self.name, secs);
        secs
    }
}
