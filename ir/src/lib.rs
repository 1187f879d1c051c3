//! `zkonnx-ir`: the quantized graph IR that every other zkonnx crate speaks, the run settings,
//! and the reference integer interpreter.
//!
//! Place in the crate map: the root. `compiler` lowers ONNX into a [`Graph`]; `circuits` lays the
//! same graph out as halo2 constraints; the [`interpreter`] computes exactly what the circuit
//! computes and is the oracle both sides are tested against. This crate has no workspace deps.
//!
//! Numbers are fixed point: a tensor with scale `s` stores `round(x * 2^s)` as an `i64`.
//! Every activation that leaves a range-checked op lies in `[-2^(R-1), 2^(R-1))`, where `R` is
//! [`RunArgs::range_bits`] (`lookup_bits`, or twice that with two-limb range checks); the
//! interpreter rejects a value outside it, naming the node.

mod error;
pub mod func;
mod graph;
pub mod inputs;
pub mod interpreter;
pub mod limits;
pub mod quant;
mod settings;
pub mod split;
pub mod tables;

pub use error::IrError;
pub use func::{Func, FuncKind};
pub use graph::{Arith, ArithKind, Graph, Linear, LinearRow, Node, Op, TensorId};
pub use inputs::{dequantize_outputs, parse_inputs, parse_salts, quantize_inputs};
pub use interpreter::{checked_magnitude, largest_checked, run, Trace};
pub use settings::{HashedValue, LayoutInfo, ModelInfo, RunArgs, Settings, Visibility, SETTINGS_VERSION};
pub use split::{split, Segment};
pub use tables::{sampled_domains, TableDomain, DEFAULT_TABLE_MARGIN};
