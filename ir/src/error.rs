//! Errors of graph validation and integer interpretation.

/// What can go wrong when checking or interpreting a graph.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IrError {
    /// A node reads a tensor that is not produced before it.
    #[error("node {node} (`{name}`) reads tensor {input}, which is not computed before it")]
    BadInput { node: usize, name: String, input: usize },
    /// An index inside an op points outside the tensor it indexes.
    #[error("node {node} (`{name}`): index {index} is outside its operand of length {len}")]
    IndexOutOfRange { node: usize, name: String, index: usize, len: usize },
    /// A node's data does not match its declared shape.
    #[error("node {node} (`{name}`): produces {got} values but its shape {shape:?} holds {expected}")]
    ShapeMismatch { node: usize, name: String, shape: Vec<usize>, expected: usize, got: usize },
    /// The caller gave the wrong number of inputs.
    #[error("the model takes {expected} input tensor(s), got {got}")]
    InputCount { expected: usize, got: usize },
    /// An input tensor has the wrong number of elements.
    #[error("input {index} (`{name}`) needs {expected} values (shape {shape:?}), got {got}")]
    InputLength { index: usize, name: String, shape: Vec<usize>, expected: usize, got: usize },
    /// A value left the range the circuit's lookup table can check.
    #[error(
        "node {node} (`{name}`, {op}): value {value} is outside the checked range \
         [{min}, {max}] ({bits}-bit range: lookup_bits times range_limbs); raise lookup_bits or range_limbs, \
         or lower the scales"
    )]
    OutOfRange { node: usize, name: String, op: &'static str, value: i128, min: i64, max: i64, bits: u32 },
    /// An intermediate value left the `i64` range the interpreter computes in.
    #[error("node {node} (`{name}`, {op}): intermediate value {value} overflows 62 bits; lower the scales")]
    Overflow { node: usize, name: String, op: &'static str, value: i128 },
    /// A rescale shift the circuit cannot check with the table at hand.
    #[error(
        "node {node} (`{name}`): rescale by 2^{shift} needs a range of at least {shift} bits (lookup_bits times \
         range_limbs), have {bits}"
    )]
    ShiftTooLarge { node: usize, name: String, shift: u32, bits: u32 },
    /// A lookup node whose table cannot be built.
    #[error("node {node} (`{name}`): lookup table rejected: {reason}")]
    BadLookup { node: usize, name: String, reason: &'static str },
    /// A value fell outside the domain of the function table it is looked up in.
    #[error(
        "node {node} (`{name}`, {func}): input {value} is outside the table's domain [{lo}, {hi}] \
         (real {real} at scale {scale}); calibrate on inputs like this one, widen the table's margin \
         (--table-margin) or lower the input's scale"
    )]
    OutOfTable { node: usize, name: String, func: String, value: i64, real: String, scale: u32, lo: i64, hi: i64 },
    /// Table domains (from settings) that do not fit the graph's lookups.
    #[error("table domains: {reason}")]
    TableDomains { reason: String },
    /// Cut positions that do not split the graph into segments that each compute something.
    #[error("cannot split the graph: {reason}")]
    BadSplit { reason: String },
    /// Input data that is not in the expected JSON format.
    #[error("input data: {reason}")]
    InputData { reason: String },
    /// A settings value is invalid.
    #[error("invalid settings: {field} = {value}: {reason}")]
    InvalidSettings { field: &'static str, value: String, reason: &'static str },
}
