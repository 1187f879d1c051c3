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
        info.layout = Some(fit_layout(&model, &mut run_args, LayoutPolicy::from_flags(&a.flags))?);
        run_args.validate()?;
    }
    let settings = Settings::new(run_args, info);
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
    let policy = LayoutPolicy::from_flags(&a.flags);
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
            "chose input_scale={} param_scale={} lookup_bits={} range_limbs={} logrows={} lanes={} lookup_lanes={} (layout by {}) (max |err| {:.6} on {} sample(s))",
            run_args.input_scale,
            run_args.param_scale,
            run_args.lookup_bits,
            run_args.range_limbs,
            run_args.logrows,
            run_args.lanes,
            run_args.lookup_lanes.unwrap_or(run_args.lanes),
            layout.chosen_by,
            chosen_error,
            samples.len()
        );
    }
    let mut info = model_info(model);
    info.layout = Some(layout);
    Ok(Settings::new(run_args, info))
}

/// Layouts `more_precision` fits at most per pass (each compiles the model once).
const PRECISION_TRIES: usize = 6;
/// Predicted proving time (on the reference machine, 2 cores) that `resources` calibration
/// always allows for precision. A few seconds buy fine scales for a small model: with function
/// tables (exp, tanh, ...) two-limb circuits need logrows 13 to 14 for `2^-13`-scale outputs,
/// 1 to 2.5 s here. It stays below a quarter of the smallest proof EZKL makes with function
/// tables on that machine (the tiny LSTM, 11.7 s); EZKL's smallest proof of all is 4.5 s
/// (logrows 15), but a model without function tables reaches fine precision far below the
/// budget, where the search stops (see [`FINE_ERROR`]).
const PRECISION_BUDGET_MS: u64 = 2500;
/// Output error, relative to the largest output magnitude (at least 1), that counts as fine:
/// among the candidates at or below it, `more_precision` takes the cheapest, not the most
/// accurate, so precision nobody needs costs no proving time.
const FINE_ERROR: f64 = 1e-5;

/// A more accurate candidate within the proving budget: the larger of the current circuit's
/// predicted time and [`PRECISION_BUDGET_MS`] (`None` if none beats `current`'s error). The
/// layout often needs more rows than the range table, and then a finer scale with a larger
/// table (or two-limb range checks) comes free.
///
/// Takes the predicted-fastest candidate whose error is fine ([`FINE_ERROR`]) if one fits the
/// budget (fitting the layouts of the [`PRECISION_TRIES`] least accurate fine ones), else the
/// most accurate that does (fitting at most three times as many, skipping those no smaller than
/// one that did not fit). Only candidates whose empty circuit (the table alone, one lane) fits
/// the budget are tried.
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
    let fit = |c: &&Candidate| {
        let mut finer = c.run_args(args);
        let l = fit_layout(model, &mut finer, policy).ok()?;
        let within = l.predicted_prove_ms as f64 <= budget;
        (within && finer.validate().is_ok()).then_some((finer, l, c.max_abs_error))
    };
    let fine = |c: &&&Candidate| c.max_abs_error <= FINE_ERROR * c.max_abs_output.max(1.0);
    // the least accurate fine candidates first: they tend to be the cheapest
    let cheapest_fine = better
        .iter()
        .rev()
        .filter(fine)
        .take(PRECISION_TRIES)
        .filter_map(fit)
        .min_by_key(|(_, l, _)| l.predicted_prove_ms);
    cheapest_fine.or_else(|| {
        // the most accurate of the rest that fits; a candidate with the same limbs and at
        // least the table bits and scale of one that did not fit is skipped unfitted (its
        // circuit is no smaller)
        let mut failed: Vec<&Candidate> = Vec::new();
        let mut tries = 0;
        for c in better.iter().filter(|c| !fine(c)) {
            let dominated = failed.iter().any(|f| {
                f.range_limbs == c.range_limbs && f.lookup_bits <= c.lookup_bits && f.input_scale <= c.input_scale
            });
            if dominated {
                continue;
            }
            if tries == 3 * PRECISION_TRIES {
                return None;
            }
            tries += 1;
            match fit(c) {
                Some(found) => return Some(found),
                None => failed.push(c),
            }
        }
        None
    })
}
