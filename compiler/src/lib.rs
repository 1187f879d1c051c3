//! `zkonnx-compiler`: lowers an ONNX model into the quantized [`zkonnx_ir::Graph`] that the
//! rest of zkonnx proves.
//!
//! Place in the crate map: `ir <- compiler`. This is the only crate that links tract; it
//! depends on `ir` alone, and nothing but `cli` (and tests/benches) depends on it, so a proving
//! server needs no ONNX stack. No tract type appears in the public API.
//!
//! Pipeline: [`OnnxModel::load`] parses the file with tract and fixes every symbolic dimension;
//! [`compile`] walks tract's typed graph (see `lower.rs` for why before decluttering) and
//! lowers each op family (`ops/linear.rs` with `ops/deconv.rs`, `ops/elementwise.rs`,
//! `ops/activation.rs`, `ops/nonlinear.rs`, `ops/logic.rs`, `ops/reduce.rs`, `ops/pool.rs`,
//! `ops/movement.rs`, `ops/shape.rs`, `ops/embedding.rs`, `ops/indexing.rs`, `ops/recurrent.rs`
//! for loops unrolled per step, `ops/tree.rs` for tree ensembles, `ops/bits.rs` for BitShift,
//! `ops/division.rs` for exact integer division and rounding; each file's docs say how its ops
//! are built) to IR ops
//! under EZKL-style uniform scales:
//!
//! - model inputs and activations at `S = input_scale` bits, weights at `P = param_scale`;
//! - a linear op (Gemm, MatMul, Conv, AveragePool, GlobalAveragePool, with BatchNorm and any
//!   constant per-element `Mul`/`Add` after it folded in, in float) runs at `S + P`, its bias
//!   quantized at that scale, and is followed by `Rescale { shift: P }` back to `S`;
//! - `Mul` of two tensors runs at `sa + sb` and is rescaled back to `S`; `Add`/`Sub` align
//!   scales with `2^diff` factors;
//! - Relu, MaxPool and data movement (Reshape, Flatten, Transpose, Identity, Concat, Slice,
//!   Pad, Gather, Trilu, ...) keep the scale; comparisons, logic and ArgMax/ArgMin give exact
//!   integers at scale 0 (or an index map);
//! - a table-lookup function (`Op::Lookup`: Exp, Tanh, Erf, ...) reads its input at `S` and
//!   writes its output at `S`, except reciprocals, at `min(2S, lookup_bits)` with one-limb range
//!   checks; with two limbs a continuous function is looked up at coarser knots and
//!   interpolated (a rescale, two lookups, a product and sums; see `ops/nonlinear.rs`).
//!
//! [`calibrate`] chooses the scales, `lookup_bits` and the range limbs from samples; [`layer_stats`] is the
//! per-layer table it is reported with.
//!
//! [`OnnxModel::run_float`] is the float oracle: tests check the IR interpreter against it
//! within [`float_error_bound`].

mod calibrate;
mod error;
mod index;
mod layers;
mod legacy;
mod lower;
mod model;
mod ops;

/// Input files, quantization and dequantization live in `zkonnx_ir::inputs` (proving needs no
/// ONNX stack); re-exported here for the compiler's callers.
pub use zkonnx_ir::inputs::{dequantize_outputs, parse_inputs, quantize_inputs};
use zkonnx_ir::{Graph, RunArgs};

pub use calibrate::{calibrate, tolerance, CalibrationReport, CalibrationTarget, Candidate, MAX_ACCURACY_BITS};
pub use error::CompileError;
pub use layers::{layer_stats, render_layer_stats, LayerStat};
pub use model::OnnxModel;
pub use ops::{supported_ops, OpSupport};

/// Lowers `model` to a validated IR graph under the scales of `args`.
///
/// Fails with [`CompileError::UnsupportedOp`] naming every ONNX node (in file order) whose op
/// type this release does not lower, and with [`CompileError::NonConstant`] where a weight
/// operand (MatMul's second operand, Conv's kernel) is computed at run time.
pub fn compile(model: &OnnxModel, args: &RunArgs) -> Result<Graph, CompileError> {
    compile_mapped(model, args).map(|(graph, _)| graph)
}

/// [`compile`], with the IR tensor holding the value of each tract outlet that got one (an
/// outlet folded into its consumer, e.g. a MatMul into its bias Add, has none).
pub(crate) fn compile_mapped(
    model: &OnnxModel,
    args: &RunArgs,
) -> Result<(Graph, std::collections::HashMap<tract_onnx::prelude::OutletId, zkonnx_ir::TensorId>), CompileError> {
    args.validate()?;
    if let Some(unsupported) = model::unsupported_nodes(&model.onnx_nodes) {
        return Err(unsupported);
    }
    let (mut graph, map) = lower::Lowerer::run(model, args)?;
    if !args.table_domains.is_empty() {
        graph.apply_table_domains(&args.table_domains)?;
    }
    Ok((graph, map))
}

/// The largest difference between float inference and the dequantized integer result that
/// the tests accept for an output whose float values reach `max_abs_output` in magnitude:
/// `6.4 * 2^-min(S, P) * (1 + max_abs_output)`, i.e. `0.05 * (1 + max|y|)` at the default
/// scales `S = P = 7`.
///
/// Why this shape: every quantized weight is off by at most half a step, `2^-(P+1)`, and every
/// rescaled activation by `2^-(S+1)`. Through one linear layer with fan-in `n` this gives an
/// absolute error of about `2^-(P+1) * sum|x_i| + 2^-(S+1)` (the weight errors are independent,
/// so they add like `sqrt(n)` in practice), which is a relative error proportional to the size
/// of the layer's output; the next layers carry it forward multiplied by their gain. For the
/// small networks zkonnx targets (depth up to ~6, weights of magnitude below 1, fan-in up to a
/// few hundred) the measured worst case stays several times below this bound (see
/// `tests/float_vs_ir.rs`, which prints the measured errors); it is an empirical bound, not a
/// guarantee for arbitrary models: very deep or badly conditioned models need larger scales.
pub fn float_error_bound(args: &RunArgs, max_abs_output: f64) -> f64 {
    6.4 * 2f64.powi(-(args.input_scale.min(args.param_scale) as i32)) * (1.0 + max_abs_output)
}
