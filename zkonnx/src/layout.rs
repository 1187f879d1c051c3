//! The circuit's shape for a compiled graph: the layout optimizer's choice (or the caller's pins),
//! the smallest logrows that fits, and the settings' record of both. Needs no ONNX stack.

use sha2::{Digest, Sha256};
use zkonnx_circuits::cost::{choose_layout, public_value_count, LayoutChoice, Objective, Shape};
use zkonnx_circuits::CircuitParams;
use zkonnx_ir::limits::{MAX_LANES, MAX_LOGROWS};
use zkonnx_ir::{Graph, LayoutInfo, RunArgs, Settings};
use zkonnx_verifier::CompiledModel;

use crate::{Error, Result};

/// The optimizer's candidates for `graph` under `args` (one per width), with `lookup_lanes`
/// kept when pinned, and its choice for `objective`.
pub fn layout_candidates(
    graph: &Graph,
    args: &RunArgs,
    lookup_lanes: Option<usize>,
    objective: Objective,
) -> Result<LayoutChoice> {
    let params = CircuitParams { lookup_lanes, ..CircuitParams::for_graph(args, graph) };
    Ok(choose_layout(graph, &params, MAX_LANES, MAX_LOGROWS, objective)?)
}

/// How the settings name what the optimizer minimized (`LayoutInfo::optimized_for`).
pub(crate) fn objective_name(objective: Objective) -> &'static str {
    match objective {
        Objective::VerifyGas { .. } => "gas",
        _ => "time",
    }
}

/// The settings' record of a shape of `graph` and its predicted costs; `optimized_for` is
/// [`objective_name`] of the optimizer's objective, empty when the caller pinned the width.
pub(crate) fn layout_info(
    shape: &Shape,
    graph: &Graph,
    params: &CircuitParams,
    chosen_by: String,
    optimized_for: &str,
) -> LayoutInfo {
    let mut info = LayoutInfo::default();
    info.chosen_by = chosen_by;
    info.predicted_prove_ms = (shape.predicted_prove_seconds() * 1000.0).round() as u64;
    info.predicted_setup_mib = shape.predicted_setup_mb().round() as u64;
    info.predicted_prove_mib = shape.predicted_prove_mb().round() as u64;
    info.optimized_for = optimized_for.to_string();
    info.predicted_verify_gas = shape.predicted_verify_gas(public_value_count(graph, params)).round() as u64;
    info
}

/// Refuses a circuit above [`MAX_LOGROWS`], naming the logrows it needs.
pub(crate) fn check_k(min_k: u32, rows: usize, lookup_bits: u32) -> Result<()> {
    if min_k > MAX_LOGROWS {
        return Err(Error::Layout {
            reason: format!(
                "the circuit needs logrows = {min_k} ({rows} rows, lookup_bits {lookup_bits}), above the supported \
                 maximum of {MAX_LOGROWS}: use more lanes, fewer lookup bits or a smaller model"
            ),
        });
    }
    Ok(())
}

/// Checks that `graph` fits the settings' logrows and fills the settings' model facts
/// (shapes, scales, rows, the layout's predicted costs, the hash of the graph): the compiled
/// model artifact.
pub fn finish_compiled(graph: Graph, mut settings: Settings) -> Result<CompiledModel> {
    settings.run_args.validate()?;
    let params = CircuitParams::for_graph(&settings.run_args, &graph);
    let rows = zkonnx_circuits::try_rows_needed(&graph, &params)?;
    let min_k = zkonnx_circuits::min_k_for_rows(&graph, &params, rows);
    check_k(min_k, rows, settings.run_args.lookup_bits)?;
    if settings.run_args.logrows < min_k {
        return Err(Error::Layout {
            reason: format!(
                "the circuit needs logrows >= {min_k} ({rows} rows, lookup_bits {}), settings say {}: raise \
                 logrows or calibrate",
                settings.run_args.lookup_bits, settings.run_args.logrows
            ),
        });
    }
    let shape = Shape::with_rows(&params, rows);
    let (chosen_by, optimized_for) = match settings.model.layout.as_ref() {
        Some(l) => (l.chosen_by.clone(), l.optimized_for.clone()),
        None => ("flags".to_string(), String::new()),
    };
    let layout = layout_info(&shape, &graph, &params, chosen_by, &optimized_for);
    let info = &mut settings.model;
    info.layout = Some(layout);
    info.input_shapes = graph.input_shapes();
    info.input_scales = graph.inputs.iter().map(|&t| graph.nodes.get(t).map_or(0, |n| n.scale)).collect();
    info.output_shapes = graph.output_shapes();
    info.output_scales = graph.outputs.iter().map(|&t| graph.nodes.get(t).map_or(0, |n| n.scale)).collect();
    info.rows_used = rows;
    info.function_table = params.function_table;
    // with hashed params the keys serve every model of the architecture: they are bound to the
    // graph with its params zeroed, and the params' Poseidon commitment is a public value
    let hashed_params = settings.run_args.param_visibility == zkonnx_ir::Visibility::Hashed;
    let json = if hashed_params { serde_json::to_vec(&architecture(&graph)) } else { serde_json::to_vec(&graph) }
        .map_err(|e| Error::Json { what: "the compiled graph".into(), reason: e.to_string() })?;
    info.model_hash = hex::encode(Sha256::digest(json));
    settings.model.hashed_public_values = settings.hashed_values();
    Ok(CompiledModel::new(settings, graph))
}

/// The graph with every param (Linear weights, Const values) zeroed: what a key for hashed
/// params is bound to.
fn architecture(graph: &Graph) -> Graph {
    let mut g = graph.clone();
    for n in &mut g.nodes {
        match &mut n.op {
            zkonnx_ir::Op::Linear(l) => l.weights.iter_mut().for_each(|w| *w = 0),
            zkonnx_ir::Op::Const { values } => values.iter_mut().for_each(|v| *v = 0),
            _ => {}
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuits_above_the_maximum_are_refused_with_the_logrows_they_need() {
        check_k(MAX_LOGROWS, 1 << 25, 14).unwrap();
        for k in [27, 28, 40] {
            let err = check_k(k, 1 << 27, 14).unwrap_err().to_string();
            assert!(err.contains(&format!("logrows = {k}")) && err.contains("26"), "{err}");
        }
    }
}
