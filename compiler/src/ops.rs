//! Lowering of tract's typed ops, one module per op family.
//!
//! Dispatch is a table: each family looks at the node (downcasting with `op_as::<T>()`) and
//! either lowers it or says it is not one of its ops. A node no family claims is reported as
//! [`crate::CompileError::UnsupportedOp`] with its ONNX name and op type.
//!
//! Each family also lists the ONNX op types it lowers ([`OpSupport`]: the forms it takes and
//! its known limits) in its `OPS`; [`supported_ops`] gathers them, so the op list a user sees
//! (`zkonnx ops`) and the list the loader checks a model against are the families' own.

use tract_onnx::prelude::*;

use crate::lower::{Lowerer, NodeCx, Value};
use crate::CompileError;

pub(crate) mod activation;
pub(crate) mod bits;
pub(crate) mod deconv;
pub(crate) mod division;
pub(crate) mod elementwise;
pub(crate) mod embedding;
pub(crate) mod indexing;
pub(crate) mod linear;
pub(crate) mod logic;
pub(crate) mod mask;
pub(crate) mod movement;
pub(crate) mod nonlinear;
pub(crate) mod pool;
pub(crate) mod recurrent;
pub(crate) mod reduce;
pub(crate) mod shape;
pub(crate) mod tree;

/// One ONNX op type a family lowers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpSupport {
    /// The ONNX op type (`Conv`, `Softmax`).
    pub op: &'static str,
    /// The family that lowers it (`linear`, `nonlinear`).
    pub family: &'static str,
    /// The forms supported: attributes, ranks, operands that may be computed at run time.
    pub forms: &'static str,
    /// Known limits (what fails with a named error), or empty.
    pub limits: &'static str,
}

/// A family's entry point: `Ok(None)` when the node's op is not one of the family's.
type LowerFn = fn(&mut Lowerer<'_>, &TypedNode, &NodeCx) -> Result<Option<Value>, CompileError>;

/// The op families, tried in order by [`lower`].
const FAMILIES: &[(LowerFn, &[OpSupport])] = &[
    (linear::lower, linear::OPS),
    (activation::lower, activation::OPS),
    (nonlinear::lower, nonlinear::OPS),
    (logic::lower, logic::OPS),
    (elementwise::lower, elementwise::OPS),
    (pool::lower, pool::OPS),
    (reduce::lower, reduce::OPS),
    (shape::lower, shape::OPS),
    (movement::lower, movement::OPS),
    (tree::lower, tree::OPS),
    (indexing::lower, indexing::OPS),
    (bits::lower, bits::OPS),
];

/// The families reached through another's entry point or through [`lower_multi`].
const OTHER_OPS: &[&[OpSupport]] = &[deconv::OPS, embedding::OPS, recurrent::OPS];

/// Every ONNX op type this release lowers, in family order.
pub fn supported_ops() -> impl Iterator<Item = &'static OpSupport> {
    FAMILIES.iter().map(|(_, ops)| *ops).chain(OTHER_OPS.iter().copied()).flatten()
}

/// Whether some family lowers the ONNX op type `op`.
pub(crate) fn is_supported(op: &str) -> bool {
    supported_ops().any(|s| s.op == op)
}

/// Lowers one node, or returns `Ok(None)` when no family supports its op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    for (lower, _ops) in FAMILIES {
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
    if let Some(v) = shape::dropout(lw, node, cx)? {
        return Ok(Some(v));
    }
    indexing::lower_multi(lw, node, cx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_op_is_listed_once_with_its_forms() {
        let mut seen = std::collections::BTreeSet::new();
        for s in supported_ops() {
            assert!(seen.insert(s.op), "{} is listed twice", s.op);
            assert!(!s.forms.is_empty() && !s.family.is_empty(), "{} has no forms or family", s.op);
        }
        for op in ["Conv", "Gemm", "Softmax", "LSTM", "TreeEnsembleClassifier", "NonZero", "Constant"] {
            assert!(is_supported(op), "{op}");
        }
        assert!(!is_supported("BitwiseAnd") && !is_supported("conv"));
    }
}
