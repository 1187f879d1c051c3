//! The per-layer table calibration prints: for every ONNX node, its output scale, the range of
//! values its quantized output took on the samples, and its largest error against tract's
//! float inference of the same node.
//!
//! A layer's quantized output is the IR tensor holding the value of the tract node of the same
//! name, compared with that node's float value. Where no IR tensor holds a node's own value (a
//! MatMul and the bias Add folded into it become one linear op, named after the MatMul; some
//! expansions rename their last tract node), the row shows the range of the last IR node
//! lowered from that ONNX node, without an error.

use std::collections::HashMap;

use serde::Serialize;
use tract_onnx::prelude::*;
use zkonnx_ir::quant::dequantize;
use zkonnx_ir::RunArgs;

use crate::{quantize_inputs, CompileError, OnnxModel};

/// One row of the per-layer table.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LayerStat {
    /// The ONNX node (or model input) name.
    pub node: String,
    /// The ONNX op type.
    pub op: String,
    /// Fixed-point scale of the layer's output.
    pub output_scale: u32,
    /// Smallest and largest output value seen (dequantized).
    pub min: f64,
    pub max: f64,
    /// Largest |quantized - float| over the samples, where the float value is known.
    pub max_abs_error: Option<f64>,
}

/// The per-layer table of `model` compiled under `args`, over `samples`. Fails like the
/// interpreter does, naming the node, when a sample does not fit the settings.
pub fn layer_stats(
    model: &OnnxModel,
    args: &RunArgs,
    samples: &[Vec<Vec<f32>>],
) -> Result<Vec<LayerStat>, CompileError> {
    let (graph, tensors) = crate::compile_mapped(model, args)?;
    // one row per ONNX name, in order of first appearance in the IR
    let mut order: Vec<&str> = Vec::new();
    let mut last: HashMap<&str, usize> = HashMap::new();
    for (id, n) in graph.nodes.iter().enumerate() {
        if last.insert(n.name.as_str(), id).is_none() {
            order.push(n.name.as_str());
        }
    }
    // a row's tensor: the one holding the value of the tract node of the same name (then its
    // float value is comparable), else the last IR node lowered from it
    let rows: Vec<(usize, Option<OutletId>)> = order
        .iter()
        .map(|name| {
            let outlet = model.typed.node_by_name(name).ok().map(|n| OutletId::new(n.id, 0));
            match outlet.and_then(|o| tensors.get(&o).map(|&t| (t, o))) {
                Some((t, o)) => (t, Some(o)),
                None => (last[name], None),
            }
        })
        .collect();
    let float = FloatProbe::new(model, rows.iter().filter_map(|r| r.1).collect())?;
    let mut stats: Vec<LayerStat> = order
        .iter()
        .zip(&rows)
        .map(|(name, &(t, _))| LayerStat {
            node: name.to_string(),
            op: graph.nodes[t].origin.clone(),
            output_scale: graph.nodes[t].scale,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            max_abs_error: None,
        })
        .collect();
    for sample in samples {
        let q = quantize_inputs(&graph, sample)?;
        let trace = zkonnx_ir::run(&graph, &q, args.range_bits())?;
        let floats = float.run(model, sample)?;
        let mut next_float = floats.iter();
        for (stat, &(t, outlet)) in stats.iter_mut().zip(&rows) {
            let scale = graph.nodes[t].scale;
            let values: Vec<f64> = trace.values[t].iter().map(|&v| dequantize(v, scale)).collect();
            for &v in &values {
                stat.min = stat.min.min(v);
                stat.max = stat.max.max(v);
            }
            let Some(f) = outlet.and_then(|_| next_float.next()) else { continue };
            if f.len() == values.len() {
                // a masked sum's hidden positions hold what no fixed-point value can (-inf,
                // finfo.min) in float, and are left out in the circuit
                let holdable = |x: f32| (f64::from(x) * 2f64.powi(scale as i32)).abs() < 2f64.powi(62);
                let finite = values.iter().zip(f).filter(|(_, &x)| holdable(x));
                let err = finite.fold(0f64, |m, (q, &x)| m.max((q - f64::from(x)).abs()));
                stat.max_abs_error = Some(stat.max_abs_error.map_or(err, |e: f64| e.max(err)));
            }
        }
    }
    Ok(stats)
}

/// tract's float inference with the given outlets as outputs.
struct FloatProbe {
    plan: Arc<TypedRunnableModel>,
}

impl FloatProbe {
    fn new(model: &OnnxModel, outlets: Vec<OutletId>) -> Result<Self, CompileError> {
        let mut typed = model.typed.clone();
        let err = |e| CompileError::tract("planning the per-layer float run", e);
        typed.select_output_outlets(&outlets).map_err(err)?;
        Ok(Self { plan: typed.into_runnable().map_err(err)? })
    }

    fn run(&self, model: &OnnxModel, sample: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, CompileError> {
        let outputs =
            self.plan.run(model.input_tensors(sample)?).map_err(|e| CompileError::tract("per-layer float run", e))?;
        crate::model::flat_f32(&outputs, "reading a layer output")
    }
}

/// The table as text: one line per layer.
pub fn render_layer_stats(stats: &[LayerStat]) -> String {
    let mut out =
        format!("{:<28} {:<20} {:>5} {:>12} {:>12} {:>12}\n", "layer", "op", "scale", "min", "max", "max |err|");
    for s in stats {
        let name: String = s.node.chars().take(28).collect();
        let err = s.max_abs_error.map_or("-".to_string(), |e| format!("{e:.6}"));
        out += &format!("{name:<28} {:<20} {:>5} {:>12.4} {:>12.4} {err:>12}\n", s.op, s.output_scale, s.min, s.max);
    }
    out
}
