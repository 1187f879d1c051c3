//! `gen-settings` and `calibrate`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::CircuitParams;
use zkonnx_compiler::{
    calibrate as calibrate_model, layer_stats, render_layer_stats, CalibrationTarget, Candidate, OnnxModel,
};
use zkonnx_ir::{LayoutInfo, ModelInfo, RunArgs, Settings};
use zkonnx_verifier::artifact::write_atomic;
use zkonnx_verifier::write_json;

use crate::commands::compile::{fit_layout, LayoutPolicy};
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
    let mut run_args = a.flags.apply(RunArgs::default())?;
    if a.flags.logrows.is_none() {
        // the layout decides logrows; it only has to start above the table
        run_args.logrows = run_args.logrows.max(run_args.lookup_bits + 1);
    }
    run_args.validate()?;
    let model = OnnxModel::load(&a.model, &run_args.dims)?;
    let mut info = model_info(&model);
    if a.flags.logrows.is_none() {
        info.layout = Some(fit_layout(&model, &mut run_args, LayoutPolicy::from_flags(a.flags.lanes))?);
        run_args.validate()?;
    }
    let settings = Settings::new(run_args, info);
    write_json(&a.output, &settings)?;
    eprintln!(
        "wrote {} (lanes {}, logrows {}{})",
        a.output.display(),
        settings.run_args.lanes,
        settings.run_args.logrows,
        settings.model.layout.as_ref().map_or(String::new(), |l| format!(", chosen by the {}", l.chosen_by))
    );
    Ok(())
}

fn model_info(model: &OnnxModel) -> ModelInfo {
    let mut info = ModelInfo::default();
    info.input_shapes = model.input_shapes();
    info.output_shapes = model.output_shapes();
    info
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
    let target = match a.target.as_str() {
        "resources" => CalibrationTarget::Resources,
        "accuracy" => CalibrationTarget::Accuracy,
        t => anyhow::bail!("--target {t}: expected `resources` or `accuracy`"),
    };
    let base = a.flags.apply(RunArgs::default())?;
    let model = OnnxModel::load(&a.model, &base.dims)?;
    let samples = a.data.iter().map(|p| read_inputs(p)).collect::<Result<Vec<_>>>()?;
    let policy = LayoutPolicy::from_flags(a.flags.lanes);
    let settings = calibrated_settings(&model, &samples, base, target, policy, true)?;
    let layers = layer_stats(&model, &settings.run_args, &samples).context("the per-layer table")?;
    eprint!("{}", render_layer_stats(&layers));
    let report = serde_json::json!({ "run_args": settings.run_args, "layers": layers });
    write_atomic(&a.layers, &serde_json::to_vec_pretty(&report)?)?;
    write_json(&a.output, &settings)?;
    eprintln!("wrote {} and {}", a.output.display(), a.layers.display());
    Ok(())
}

/// Calibrates, then sets logrows to the smallest that fits the compiled circuit.
pub(crate) fn calibrated_settings(
    model: &OnnxModel,
    samples: &[Vec<Vec<f32>>],
    base: RunArgs,
    target: CalibrationTarget,
    policy: LayoutPolicy,
    print: bool,
) -> Result<Settings> {
    let report = calibrate_model(model, samples, &base, target).context("calibration")?;
    if print {
        eprintln!(
            "{:>6} {:>6} {:>6} {:>6} {:>12} {:>12}  note",
            "scale", "param", "bits", "limbs", "max |err|", "max |out|"
        );
        for c in &report.candidates {
            eprintln!(
                "{:>6} {:>6} {:>6} {:>6} {:>12.6} {:>12.4}  {}",
                c.input_scale, c.param_scale, c.lookup_bits, c.range_limbs, c.max_abs_error, c.max_abs_output, c.note
            );
        }
    }
    let mut run_args = report.run_args;
    let mut chosen_error = report.chosen_error;
    let mut layout = fit_layout(model, &mut run_args, policy)?;
    if target == CalibrationTarget::Resources {
        if let Some((args, finer, error)) =
            more_precision(model, &report.candidates, (&run_args, chosen_error), &layout, policy)
        {
            if print {
                eprintln!(
                    "more precision within the proving budget: input_scale={} param_scale={} lookup_bits={} \
                     range_limbs={} (max |err| {error:.6} instead of {chosen_error:.6})",
                    args.input_scale, args.param_scale, args.lookup_bits, args.range_limbs
                );
            }
            (run_args, layout, chosen_error) = (args, finer, error);
        }
    }
    run_args.validate()?;
    if print {
        eprintln!(
            "chose input_scale={} param_scale={} lookup_bits={} range_limbs={} logrows={} lanes={} (layout by {}) (max |err| {:.6} on {} sample(s))",
            run_args.input_scale,
            run_args.param_scale,
            run_args.lookup_bits,
            run_args.range_limbs,
            run_args.logrows,
            run_args.lanes,
            layout.chosen_by,
            chosen_error,
            samples.len()
        );
    }
    let mut info = model_info(model);
    info.layout = Some(layout);
    Ok(Settings::new(run_args, info))
}

/// Layouts `more_precision` fits at most (each compiles the model once).
const PRECISION_TRIES: usize = 6;
/// Predicted proving time (on the reference machine, 2 cores) that `resources` calibration
/// always allows for precision: a fraction of a second buys fine scales for a small model, and
/// stays below a quarter of the smallest proof EZKL makes on that machine (logrows 15, 4.5 s).
const PRECISION_BUDGET_MS: u64 = 1000;

/// The most accurate candidate whose circuit is predicted to prove within the larger of the
/// current circuit's time and [`PRECISION_BUDGET_MS`] (`None` if none beats `current`'s
/// error). The layout often needs more rows than the range table, and then a finer scale with a
/// larger table (or two-limb range checks) comes free; a small model gets fine scales for a
/// fraction of a second. Fits the layouts of the [`PRECISION_TRIES`] most accurate candidates
/// whose empty circuit (the table alone, one lane) fits the budget.
fn more_precision(
    model: &OnnxModel,
    candidates: &[Candidate],
    (args, current): (&RunArgs, f64),
    layout: &LayoutInfo,
    policy: LayoutPolicy,
) -> Option<(RunArgs, LayoutInfo, f64)> {
    let budget = layout.predicted_prove_ms.max(PRECISION_BUDGET_MS) as f64;
    let table_alone = |c: &Candidate| {
        let p = CircuitParams { k: c.lookup_bits + 1, lanes: 1, ..CircuitParams::from_run_args(args) };
        Shape::with_rows(&p, 0).predicted_prove_seconds() * 1000.0
    };
    let mut better: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.note.is_empty() && c.max_abs_error < current && table_alone(c) <= budget)
        .collect();
    better.sort_by(|a, b| a.max_abs_error.total_cmp(&b.max_abs_error));
    better.into_iter().take(PRECISION_TRIES).find_map(|c| {
        let mut finer = c.run_args(args);
        let l = fit_layout(model, &mut finer, policy).ok()?;
        let within = l.predicted_prove_ms as f64 <= budget;
        (within && finer.validate().is_ok()).then_some((finer, l, c.max_abs_error))
    })
}
