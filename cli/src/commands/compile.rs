//! `compile`: quantize an ONNX model into the compiled-model artifact.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use zkonnx_circuits::cost::{choose_layout, fit_lookup_lanes, job_rows, Shape};
use zkonnx_circuits::{CircuitError, CircuitParams};
use zkonnx_compiler::OnnxModel;
use zkonnx_ir::{LayoutInfo, RunArgs, Settings};
use zkonnx_verifier::{read_json, write_json, CompiledModel};

use crate::common::RunArgsFlags;

#[derive(clap::Args, Debug)]
pub(crate) struct CompileArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    model: PathBuf,
    /// settings.json (from gen-settings or calibrate); updated with the compiled model's facts.
    #[arg(short = 'S', long, default_value = "settings.json")]
    settings: PathBuf,
    /// Where to write the compiled model.
    #[arg(short = 'O', long, default_value = "model.compiled")]
    output: PathBuf,
}

pub(crate) fn run(a: CompileArgs) -> Result<()> {
    let settings: Settings = read_json(&a.settings)?;
    let model = OnnxModel::load(&a.model, &settings.run_args.dims)?;
    let (compiled, settings) = compile_model(&model, settings)?;
    save_compiled(&a.output, &compiled)?;
    write_json(&a.settings, &settings)?;
    eprintln!(
        "compiled {} nodes, {} rows at logrows {}: wrote {} and updated {}",
        compiled.graph.nodes.len(),
        settings.model.rows_used,
        settings.run_args.logrows,
        a.output.display(),
        a.settings.display()
    );
    Ok(())
}

/// Compiles and fills the settings' model facts (shapes, scales, rows, hash of the graph).
pub(crate) fn compile_model(model: &OnnxModel, mut settings: Settings) -> Result<(CompiledModel, Settings)> {
    settings.run_args.validate()?;
    let graph = zkonnx_compiler::compile(model, &settings.run_args)?;
    let params = CircuitParams::for_graph(&settings.run_args, &graph);
    let rows = zkonnx_circuits::rows_needed(&graph, &params);
    let min_k = zkonnx_circuits::min_k_for_rows(&graph, &params, rows);
    check_k(min_k, rows, settings.run_args.lookup_bits)?;
    if settings.run_args.logrows < min_k {
        anyhow::bail!(
            "the circuit needs logrows >= {min_k} ({rows} rows, lookup_bits {}), settings say {}: \
             raise --logrows or run `zkonnx calibrate`",
            settings.run_args.lookup_bits,
            settings.run_args.logrows
        );
    }
    let shape = Shape::with_rows(&params, rows);
    let chosen_by = settings.model.layout.as_ref().map_or_else(|| "flags".to_string(), |l| l.chosen_by.clone());
    let info = &mut settings.model;
    info.layout = Some(layout_info(&shape, chosen_by));
    info.input_shapes = graph.input_shapes();
    info.input_scales = graph.inputs.iter().map(|&t| graph.nodes[t].scale).collect();
    info.output_shapes = graph.output_shapes();
    info.output_scales = graph.outputs.iter().map(|&t| graph.nodes[t].scale).collect();
    info.rows_used = rows;
    info.function_table = params.function_table;
    info.model_hash = hex::encode(Sha256::digest(serde_json::to_vec(&graph)?));
    let compiled = CompiledModel::new(settings.clone(), graph);
    Ok((compiled, settings))
}

/// Largest circuit size zkonnx builds: `2^26` rows. The circuit's constraints have degree 5, so
/// halo2 works on an extended domain of `2^(k + 2)` points, and BN254's scalar field has
/// 2-adicity 28: `k <= 26` keeps that domain within the field's roots of unity (and matches the
/// largest SRS zkonnx generates).
pub(crate) const MAX_LOGROWS: u32 = 26;

/// What the user pinned of the circuit's shape; the layout optimizer chooses the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LayoutPolicy {
    /// `--lanes` was given: the lanes in the run args stay (logrows becomes the smallest that
    /// fits); otherwise the optimizer picks lanes and logrows.
    pub(crate) keep_lanes: bool,
    /// `--lookup-lanes` was given: the lookup lanes in the run args stay; otherwise the
    /// optimizer picks them for the width.
    pub(crate) keep_lookup_lanes: bool,
}

impl LayoutPolicy {
    /// The optimizer for whatever the flags leave open.
    pub(crate) fn from_flags(flags: &RunArgsFlags) -> Self {
        Self { keep_lanes: flags.lanes.is_some(), keep_lookup_lanes: flags.lookup_lanes.is_some() }
    }
}

/// Chooses the circuit's shape for `model` compiled under `args`: the layout optimizer sets
/// `args.lanes` (unless the policy keeps them), `args.lookup_lanes` (unless kept) and
/// `args.logrows`, the smallest that fits the chosen shape. Refuses a circuit above the
/// supported maximum. Returns the layout record for the settings.
pub(crate) fn fit_layout(model: &OnnxModel, args: &mut RunArgs, policy: LayoutPolicy) -> Result<LayoutInfo> {
    let graph = zkonnx_compiler::compile(model, args)?;
    if !policy.keep_lookup_lanes {
        args.lookup_lanes = None;
    }
    let params = CircuitParams::for_graph(args, &graph);
    if !policy.keep_lanes {
        return match choose_layout(&graph, &params, 16, MAX_LOGROWS) {
            Ok(choice) => {
                args.lanes = choice.chosen.lanes;
                args.lookup_lanes = Some(choice.chosen.lookup_lanes);
                args.logrows = choice.chosen.k;
                Ok(layout_info(&choice.chosen, "optimizer".into()))
            }
            // nothing fits: report the smallest k the widest layout needs
            Err(CircuitError::NoLayout { .. }) => {
                args.lanes = 16;
                fit_layout(model, args, LayoutPolicy { keep_lanes: true, ..policy })
            }
            Err(e) => Err(e.into()),
        };
    }
    let lookup_rows = if policy.keep_lookup_lanes { None } else { Some(job_rows(&graph, &params)?[0]) };
    let (params, rows) = fit_lookup_lanes(&graph, params, lookup_rows)?;
    args.logrows = params.k;
    args.lookup_lanes = Some(params.lookup_lane_count());
    check_k(args.logrows, rows, args.lookup_bits)?;
    let shape = Shape::with_rows(&params, rows);
    Ok(layout_info(&shape, "flags".into()))
}

/// The settings' record of a shape and its predicted costs.
pub(crate) fn layout_info(shape: &Shape, chosen_by: String) -> LayoutInfo {
    let mut info = LayoutInfo::default();
    info.chosen_by = chosen_by;
    info.predicted_prove_ms = (shape.predicted_prove_seconds() * 1000.0).round() as u64;
    info.predicted_setup_mib = shape.predicted_setup_mb().round() as u64;
    info.predicted_prove_mib = shape.predicted_prove_mb().round() as u64;
    info
}

pub(crate) fn check_k(min_k: u32, rows: usize, lookup_bits: u32) -> Result<()> {
    if min_k > MAX_LOGROWS {
        anyhow::bail!(
            "the circuit needs logrows = {min_k} ({rows} rows, lookup_bits {lookup_bits}), above the supported \
             maximum of {MAX_LOGROWS}: use more --lanes, fewer --lookup-bits or a smaller model"
        );
    }
    Ok(())
}

/// Writes a compiled model.
pub(crate) fn save_compiled(path: &Path, compiled: &CompiledModel) -> Result<()> {
    write_json(path, compiled).with_context(|| format!("writing {}", path.display()))
}

/// Reads a compiled model and checks its graph.
pub(crate) fn load_compiled(path: &Path) -> Result<CompiledModel> {
    Ok(CompiledModel::read(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuits_above_k_26_are_refused_with_the_k_they_need() {
        check_k(MAX_LOGROWS, 1 << 25, 14).unwrap();
        for k in [27, 28, 40] {
            let err = check_k(k, 1 << 27, 14).unwrap_err().to_string();
            assert!(err.contains(&format!("logrows = {k}")) && err.contains("26"), "{err}");
        }
    }
}
