//! ONNX's losses as the ops they are defined by, which the compiler lowers one by one:
//!
//! - `NegativeLogLikelihoodLoss(x, target, weight?)`: `x` is `(N, C, d…)`, `target` `(N, d…)`.
//!   Each sample's loss is `-x[n, target, d…] · weight[target]`: a `GatherElements` along the
//!   classes by the run-time target (one lookup per sample), times a `Gather` of the weight. A
//!   target equal to `ignore_index` reads class 0 and weighs 0. `reduction` `none` keeps the
//!   losses, `sum` adds them, `mean` divides their sum by the sum of the weights (the number of
//!   samples not ignored, without a weight): a division by a computed value.
//! - `SoftmaxCrossEntropyLoss(scores, labels, weights?)` is the same loss of
//!   `LogSoftmax(scores)` over the classes, which its optional second output returns.
//!
//! A target outside `[0, C)` that is not `ignore_index` fails at proving time, naming the
//! gather's node (its index is outside the gather's table).

use super::{int_attr, Emit};
use crate::CompileError;

/// ONNX's `TensorProto.DataType.INT64`.
const INT64: i64 = 7;

/// Replaces the `NegativeLogLikelihoodLoss` node in `e`.
pub(super) fn nll(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let x = e.input(0).ok_or_else(|| e.unsupported("no input"))?;
    loss(e, &x)
}

/// Replaces the `SoftmaxCrossEntropyLoss` node in `e`.
pub(super) fn softmax_cross_entropy(e: &mut Emit<'_>) -> Result<(), CompileError> {
    let scores = e.input(0).ok_or_else(|| e.unsupported("no scores"))?;
    let log_prob = e.op("LogSoftmax", &[&scores], vec![int_attr("axis", 1)]);
    e.op_to_output(1, "Identity", &[&log_prob], vec![]);
    loss(e, &log_prob)
}

/// The loss of log-probabilities `x` against the node's inputs 1 (target) and 2 (weight).
fn loss(e: &mut Emit<'_>, x: &str) -> Result<(), CompileError> {
    let target = e.input(1).ok_or_else(|| e.unsupported("no target"))?;
    let reduction = e.string("reduction").unwrap_or_else(|| "mean".into());
    if !["none", "sum", "mean"].contains(&reduction.as_str()) {
        return Err(e.unsupported(&format!("reduction `{reduction}`")));
    }
    let axes = e.ints(&[1]);
    let t = e.op("Unsqueeze", &[&target, &axes], vec![]);
    let t = e.op("Cast", &[&t], vec![int_attr("to", INT64)]);
    // the samples not ignored, and their targets with ignored ones read as class 0
    let (index, kept) = match e.int("ignore_index") {
        Some(ii) => {
            let ii = e.int_scalar(ii);
            let hit = e.op("Equal", &[&t, &ii], vec![]);
            let kept = e.op("Not", &[&hit], vec![]);
            let zero = e.int_scalar(0);
            (e.op("Where", &[&kept, &t, &zero], vec![]), Some(kept))
        }
        None => (t, None),
    };
    let picked = e.op("GatherElements", &[x, &index], vec![int_attr("axis", 1)]);
    let zero = e.scalar(0.0);
    let weight = match (e.input(2), &kept) {
        (Some(w), Some(kept)) => {
            let w = e.op("Gather", &[&w, &index], vec![int_attr("axis", 0)]);
            Some(e.op("Where", &[kept, &w, &zero], vec![]))
        }
        (Some(w), None) => Some(e.op("Gather", &[&w, &index], vec![int_attr("axis", 0)])),
        (None, Some(kept)) => {
            let one = e.scalar(1.0);
            Some(e.op("Where", &[kept, &one, &zero], vec![]))
        }
        (None, None) => None,
    };
    let mut l = e.op("Neg", &[&picked], vec![]);
    if let Some(w) = &weight {
        l = e.op("Mul", &[&l, w], vec![]);
    }
    let keepdims = || vec![int_attr("keepdims", 0)];
    match (reduction.as_str(), &weight) {
        ("none", _) => e.op_to_output(0, "Squeeze", &[&l, &axes], vec![]),
        ("sum", _) => e.op_to_output(0, "ReduceSum", &[&l], keepdims()),
        (_, Some(w)) => {
            let total = e.op("ReduceSum", &[&l], keepdims());
            let weights = e.op("ReduceSum", &[w], keepdims());
            e.op_to_output(0, "Div", &[&total, &weights], vec![]);
        }
        (_, None) => e.op_to_output(0, "ReduceMean", &[&l], keepdims()),
    }
    Ok(())
}
