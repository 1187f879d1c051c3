//! `gen-settings` and `calibrate`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx::lower::compiler::render_layer_stats;
use zkonnx::lower::verifier::artifact::write_atomic;
use zkonnx::lower::verifier::write_json;
use zkonnx::{Model, Target};

use crate::common::{read_inputs, RunArgsFlags};

#[derive(clap::Args, Debug)]
pub(crate) struct GenSettingsArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    model: PathBuf,
    /// Where to write settings.json.
    #[arg(short = 'O', long, default_value = "settings.json")]
    output: PathBuf,
    #[command(flatten)]
    flags: RunArgsFlags,
}

/// Default quantization; the layout optimizer picks lanes and logrows unless `--lanes` or
/// `--logrows` pins them (with `--lanes` alone, logrows is the smallest that fits).
pub(crate) fn gen_settings(a: GenSettingsArgs) -> Result<()> {
    let options = a.flags.options()?;
    let model = Model::load(&a.model, &options.dims)?;
    let settings = model.default_settings(&options)?;
    write_json(&a.output, &settings)?;
    eprintln!(
        "wrote {} (lanes {}, {} with lookups, logrows {}{})",
        a.output.display(),
        settings.run_args.lanes,
        settings.run_args.lookup_lanes.unwrap_or(settings.run_args.lanes),
        settings.run_args.logrows,
        settings.model.layout.as_ref().map_or(String::new(), |l| format!(", chosen by the {}", l.chosen_by))
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct CalibrateArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    model: PathBuf,
    /// Sample input files (EZKL format); every sample must fit the chosen ranges.
    #[arg(short = 'D', long = "data", required = true)]
    data: Vec<PathBuf>,
    /// `resources` (smallest circuit within the error tolerance) or `accuracy` (smallest error).
    #[arg(long, default_value = "resources")]
    target: String,
    /// Where to write settings.json.
    #[arg(short = 'O', long, default_value = "settings.json")]
    output: PathBuf,
    /// Where to write the per-layer table (JSON): each ONNX node's output scale, value range
    /// and largest error against float inference, under the chosen settings.
    #[arg(long, default_value = "calibration.json")]
    layers: PathBuf,
    #[command(flatten)]
    flags: RunArgsFlags,
}

pub(crate) fn calibrate(a: CalibrateArgs) -> Result<()> {
    let mut options = a.flags.options()?;
    options.target = a
        .target
        .parse::<Target>()
        .map_err(|_| anyhow::anyhow!("--target {}: expected `resources` or `accuracy`", a.target))?;
    let model = Model::load(&a.model, &options.dims)?;
    let samples = a.data.iter().map(|p| read_inputs(p)).collect::<Result<Vec<_>>>()?;
    let c = model.calibrate(&samples, &options).context("calibration")?;
    eprintln!(
        "{:>6} {:>6} {:>6} {:>6} {:>12} {:>12}  note",
        "scale", "param", "bits", "limbs", "max |err|", "max |out|"
    );
    for c in &c.candidates {
        eprintln!(
            "{:>6} {:>6} {:>6} {:>6} {:>12.6} {:>12.4}  {}",
            c.input_scale, c.param_scale, c.lookup_bits, c.range_limbs, c.max_abs_error, c.max_abs_output, c.note
        );
    }
    let args = &c.settings.run_args;
    if let Some(before) = c.more_precision_from {
        eprintln!(
            "more precision within the proving budget: input_scale={} param_scale={} lookup_bits={} \
             range_limbs={} (max |err| {:.6} instead of {before:.6})",
            args.input_scale, args.param_scale, args.lookup_bits, args.range_limbs, c.max_abs_error
        );
    }
    eprintln!(
        "chose input_scale={} param_scale={} lookup_bits={} range_limbs={} logrows={} lanes={} lookup_lanes={} (layout by {}) (max |err| {:.6} on {} sample(s))",
        args.input_scale,
        args.param_scale,
        args.lookup_bits,
        args.range_limbs,
        args.logrows,
        args.lanes,
        args.lookup_lanes.unwrap_or(args.lanes),
        c.settings.model.layout.as_ref().map_or("", |l| l.chosen_by.as_str()),
        c.max_abs_error,
        samples.len()
    );
    let layers = model.layer_stats(args, &samples).context("the per-layer table")?;
    eprint!("{}", render_layer_stats(&layers));
    let report = serde_json::json!({ "run_args": args, "layers": layers });
    write_atomic(&a.layers, &serde_json::to_vec_pretty(&report)?)?;
    write_json(&a.output, &c.settings)?;
    eprintln!("wrote {} and {}", a.output.display(), a.layers.display());
    Ok(())
}
