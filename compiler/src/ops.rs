//! Lowering of tract's typed ops, one module per op family.
//!
//! Dispatch is a table: each family looks at the node (downcasting with `op_as::<T>()`) and
//! either lowers it or says it is not one of its ops. A node no family claims is reported as
//! [`crate::CompileError::UnsupportedOp`] with its ONNX name and op type.

use tract_onnx::prelude::*;

use crate::lower::{Lowerer, NodeCx, Value};
use crate::CompileError;

pub(crate) mod activation;
pub(crate) mod deconv;
pub(crate) mod elementwise;
pub(crate) mod embedding;
pub(crate) mod indexing;
pub(crate) mod linear;
pub(crate) mod logic;
pub(crate) mod movement;
pub(crate) mod nonlinear;
pub(crate) mod pool;
pub(crate) mod recurrent;
pub(crate) mod reduce;
pub(crate) mod shape;
pub(crate) mod tree;

/// A family's entry point: `Ok(None)` when the node's op is not one of the family's.
type LowerFn = fn(&mut Lowerer<'_>, &TypedNode, &NodeCx) -> Result<Option<Value>, CompileError>;

/// The op families, tried in order.
const FAMILIES: &[(&str, LowerFn)] = &[
    ("linear", linear::lower),
    ("activation", activation::lower),
    ("nonlinear", nonlinear::lower),
    ("logic", logic::lower),
    ("elementwise", elementwise::lower),
    ("pool", pool::lower),
    ("reduce", reduce::lower),
    ("shape", shape::lower),
    ("movement", movement::lower),
    ("tree", tree::lower),
    ("indexing", indexing::lower),
];

/// Lowers one node, or returns `Ok(None)` when no family supports its op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    for (_family, lower) in FAMILIES {
        if let Some(v) = lower(lw, node, cx)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Lowers one node with several outputs (loops, recurrent cells, TopK), or `Ok(None)` when it
/// is not one of those.
pub(crate) fn lower_multi<'a>(
    lw: &mut Lowerer<'a>,
    node: &'a TypedNode,
    cx: &NodeCx,
) -> Result<Option<Vec<Value>>, CompileError> {
    if let Some(v) = recurrent::lower_multi(lw, node, cx)? {
        return Ok(Some(v));
    }
    indexing::lower_multi(lw, node, cx)
}
