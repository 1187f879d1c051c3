//! The compiler's error type.

use zkonnx_ir::IrError;

/// Everything that can go wrong between an ONNX file and a checked IR graph.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CompileError {
    /// The file cannot be read, is not ONNX, or is ONNX that tract cannot build a graph from.
    #[error("cannot load ONNX model `{path}`: {reason}")]
    Load { path: String, reason: String },
    /// An ONNX op this release does not lower: the first such node, and the others (node
    /// name, op type) in file order. `zkonnx ops` lists what is supported.
    #[error("node `{node}`: ONNX op {op} is not supported{}", also_unsupported(.others))]
    UnsupportedOp { node: String, op: String, others: Vec<(String, String)> },
    /// A supported op used with an attribute or form this release does not lower.
    #[error("node `{node}` ({op}): {what} is not supported")]
    UnsupportedAttribute { node: String, op: String, what: String },
    /// A shape that is not concrete, or that does not fit the op.
    #[error("tensor `{tensor}`: {reason}")]
    Shape { tensor: String, reason: String },
    /// The caller gave the wrong number of input tensors.
    #[error("the model takes {expected} input tensor(s), got {got}")]
    InputCount { expected: usize, got: usize },
    /// An input tensor has the wrong number of elements.
    #[error("input `{input}` needs {expected} values, got {got}")]
    InputLength { input: String, expected: usize, got: usize },
    /// An operand that must be a constant (a weight) is computed at run time.
    #[error("node `{node}`: {what} must be a constant in this version")]
    NonConstant { node: String, what: String },
    /// Calibration found no scale whose values fit the lookup table.
    #[error("calibration: {reason}")]
    Calibration { reason: String },
    /// IR validation or interpretation failed (e.g. a value outside the lookup range, naming the node).
    #[error(transparent)]
    Ir(#[from] IrError),
    /// A tensor or op larger than the compiler accepts, refused before any work on it.
    #[error("node `{node}`: {what} is {got}, above the limit of {max}")]
    TooLarge { node: String, what: &'static str, got: usize, max: usize },
    /// Any other tract failure (typing, running the float model).
    #[error("tract failed while {context}: {reason}")]
    Tract { context: String, reason: String },
}

impl CompileError {
    /// Wraps a tract (anyhow) error, keeping its whole cause chain as text.
    pub(crate) fn tract(context: &str, err: impl std::fmt::Display) -> Self {
        CompileError::Tract { context: context.to_string(), reason: one_line(&format!("{err:#}")) }
    }
}

/// The longest reason quoted from tract (its errors may carry a dump of the graph).
const MAX_REASON: usize = 400;

/// `reason` on one line (whitespace runs collapsed) and at most [`MAX_REASON`] characters.
pub(crate) fn one_line(reason: &str) -> String {
    let line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(MAX_REASON) {
        Some((cut, _)) => format!("{} …", &line[..cut]),
        None => line,
    }
}

/// `"; also node `b` (Bernoulli), ..."` for the other unsupported nodes: every one up to 32,
/// then their count.
fn also_unsupported(others: &[(String, String)]) -> String {
    const SHOWN: usize = 32;
    if others.is_empty() {
        return String::new();
    }
    let named: Vec<String> = others.iter().take(SHOWN).map(|(n, op)| format!("node `{n}` ({op})")).collect();
    let more = others.len().saturating_sub(SHOWN);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("; also {}{tail}", named.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tract_reasons_are_one_bounded_line() {
        assert_eq!(one_line("a\n  b\tc\n"), "a b c");
        let dump = format!("Failed analyse for node #3 \"fc\"\n{}", "graph line\n".repeat(500));
        let r = one_line(&dump);
        assert!(!r.contains('\n') && r.starts_with("Failed analyse for node #3 \"fc\" graph line"), "{r}");
        assert_eq!(r.chars().count(), MAX_REASON + 2);
        assert_eq!(one_line(&"é".repeat(MAX_REASON)), "é".repeat(MAX_REASON));
    }
}
