//! Errors of circuit construction: everything that can be known wrong before halo2 runs.

use zkonnx_ir::IrError;

/// Why a model cannot be laid out as a circuit (or why a witness does not fit it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CircuitError {
    /// The layout needs more rows than `2^k` leaves after halo2's blinding rows.
    #[error("the circuit needs {needed} usable rows but k = {k} leaves {available}; raise logrows (see `min_k`)")]
    TooManyRows { needed: usize, available: usize, k: u32 },
    /// The `2^lookup_bits`-row range table does not fit in `2^k` rows.
    #[error("the 2^{lookup_bits}-row lookup table does not fit in k = {k} ({available} usable rows)")]
    TableTooLarge { lookup_bits: u32, available: usize, k: u32 },
    /// The function table (every looked-up function's domain, plus one row) does not fit.
    #[error("the function table needs {rows} rows but k = {k} leaves {available}; raise logrows or narrow the tables")]
    FunctionTableTooLarge { rows: usize, available: usize, k: u32 },
    /// The graph looks functions up but the params have no function table (or the reverse).
    #[error("the graph {has} lookup nodes but the circuit params say function_table = {flag}; build the params with `CircuitParams::for_graph`")]
    FunctionTableMismatch { has: &'static str, flag: bool },
    /// A rescale divides by more than the range table can check.
    #[error("node {node} (`{name}`): rescale by 2^{shift} needs a range of {shift} bits (lookup_bits times range_limbs), have {bits}")]
    ShiftTooLarge { node: usize, name: String, shift: u32, bits: u32 },
    /// A circuit parameter is out of its allowed range.
    #[error("invalid circuit params: {field} = {value}: {reason}")]
    InvalidParams { field: &'static str, value: String, reason: &'static str },
    /// halo2 refused the layout (a bug: the checks above should have named the cause).
    #[error("laying out the graph failed: {reason}")]
    Layout { reason: String },
    /// No width up to `max_lanes` fits the model in `2^max_k` rows.
    #[error("no layout of at most {max_lanes} lanes fits in k = {max_k}: use a smaller model, fewer lookup_bits or a coarser scale")]
    NoLayout { max_k: u32, max_lanes: usize },
    /// A segment's inputs (linked to the previous segment) that are not hashed: nothing would
    /// bind them.
    #[error("a segment's linked inputs must be hashed (they are bound by their commitment alone), got input visibility {visibility:?}")]
    UnlinkedInputs { visibility: zkonnx_ir::Visibility },
    /// The witness trace does not belong to the graph.
    #[error("trace does not match the graph at node {node}: expected {expected} values, got {got}")]
    TraceMismatch { node: usize, expected: usize, got: usize },
    /// The graph itself is malformed.
    #[error(transparent)]
    Graph(#[from] IrError),
}
