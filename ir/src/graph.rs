//! The quantized graph: nodes in topological order, each producing one fixed-point tensor.

use serde::{Deserialize, Serialize};

use crate::{Func, IrError};

/// A tensor is named by the index of the node that produces it.
pub type TensorId = usize;

/// A model as zkonnx proves it: integer ops on fixed-point tensors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graph {
    /// Nodes in topological order; node `i` produces tensor `i`.
    pub nodes: Vec<Node>,
    /// The model inputs, in ONNX order (each an [`Op::Input`] node).
    pub inputs: Vec<TensorId>,
    /// The model outputs, in ONNX order.
    pub outputs: Vec<TensorId>,
    /// Whether the inputs are carried from the previous segment of a split model (see
    /// [`crate::split`]) instead of being the model's own. A model's inputs are range-checked,
    /// like every value that enters the circuit from outside; a segment's inputs are not: they
    /// are bound to the previous segment's outputs by the linking commitment (the segment's
    /// inputs are `hashed`), and may hold any intermediate value, in range or not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub linked_inputs: bool,
}

/// One node: an op, the shape and scale of what it produces, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Name of the ONNX node (or tensor) this node was lowered from.
    pub name: String,
    /// The ONNX op type it was lowered from (`Conv`, `Relu`, ...), for tables and errors.
    pub origin: String,
    pub op: Op,
    /// Logical shape (row-major); the tensor is stored flat.
    pub shape: Vec<usize>,
    /// Fixed-point scale: the stored integer is `round(value * 2^scale)`.
    pub scale: u32,
}

/// The integer ops. Each maps to one layout in `circuits` and one arm of the interpreter.
///
/// Deliberately exhaustive (not `#[non_exhaustive]`): every crate dispatches on it with a
/// `match` that has no wildcard arm, so a new op fails to compile wherever it is not handled.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Model input number `index`; range-checked in the circuit.
    Input { index: usize },
    /// A constant tensor that is not a weight of a linear op (e.g. the `B` of `Add(x, B)`).
    Const { values: Vec<i64> },
    /// `out[o] = sum_t in[i_t] * w[j_t] (+ w[bias])`: Gemm, MatMul, Conv, AveragePool, BatchNorm.
    Linear(Linear),
    /// Element-wise `a ∘ b` over explicit index pairs (broadcasting is resolved by the compiler).
    Arith(Arith),
    /// `out = floor((x + 2^(shift-1)) / 2^shift)`: round-half-up division by a power of two.
    Rescale { input: TensorId, shift: u32 },
    /// `out = max(x, 0)`.
    Relu { input: TensorId },
    /// `out[o] = max over windows[o]` (each window non-empty).
    MaxPool { input: TensorId, windows: Vec<Vec<u32>> },
    /// `out[o] = in[indices[o]]`: reshape, transpose, flatten, identity. Costs no constraints.
    Gather { input: TensorId, indices: Vec<u32> },
    /// `out[o] = sum over (i, j) in rows[o] of a[i] * b[j]`: MatMul / Einsum with both operands
    /// computed (attention's `Q·Kᵀ` and `scores·V`). The result is at scale `sa + sb`.
    MatMul { a: TensorId, b: TensorId, rows: Vec<Vec<(u32, u32)>> },
    /// `out[o] = inputs[k][i]` for `picks[o] = (k, i)`: Concat, Pad (one input being a
    /// constant), Split. Costs no constraints.
    Select { inputs: Vec<TensorId>, picks: Vec<(u32, u32)> },
    /// `out = func(x)` element-wise, by lookup into `func`'s table: exp, tanh, erf, 1/x, ...
    /// Every input must lie in the table's domain `[func.lo, func.hi]` (the lookup checks it).
    Lookup { input: TensorId, func: Func },
}

/// A sparse linear map with its own weights (the model's parameters).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Linear {
    pub input: TensorId,
    /// All parameters of this op. Weights are at scale `node.scale - input.scale` (the param
    /// scale); biases are stored at the node's own scale.
    pub weights: Vec<i64>,
    /// One row per output element.
    pub rows: Vec<LinearRow>,
}

/// One output element of a [`Linear`] op.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinearRow {
    /// `(index into the input tensor, index into weights)`.
    pub terms: Vec<(u32, u32)>,
    /// Index into weights of the bias, if any.
    pub bias: Option<u32>,
}

/// Element-wise arithmetic on two tensors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Arith {
    pub a: TensorId,
    pub b: TensorId,
    /// For each output element, the indices into `a` and `b`.
    pub pairs: Vec<(u32, u32)>,
    pub kind: ArithKind,
}

/// Which element-wise function an [`Arith`] node computes (exhaustive, like [`Op`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArithKind {
    /// `ca * a + cb * b` (Add: 1, 1; Sub: 1, -1; a factor 2^k aligns scales).
    Add { ca: i64, cb: i64 },
    /// `a * b`; the output scale is the sum of the operand scales.
    Mul,
}

impl Op {
    /// Short name used in tables and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Input { .. } => "Input",
            Op::Const { .. } => "Const",
            Op::Linear(_) => "Linear",
            Op::Arith(Arith { kind: ArithKind::Add { .. }, .. }) => "Add",
            Op::Arith(Arith { kind: ArithKind::Mul, .. }) => "Mul",
            Op::Rescale { .. } => "Rescale",
            Op::Relu { .. } => "Relu",
            Op::MaxPool { .. } => "MaxPool",
            Op::Gather { .. } => "Gather",
            Op::Select { .. } => "Select",
            Op::MatMul { .. } => "MatMul",
            Op::Lookup { .. } => "Lookup",
        }
    }

    /// The tensors this op reads.
    pub fn inputs(&self) -> Vec<TensorId> {
        match self {
            Op::Input { .. } | Op::Const { .. } => vec![],
            Op::Linear(l) => vec![l.input],
            Op::Arith(a) => vec![a.a, a.b],
            Op::Rescale { input, .. }
            | Op::Relu { input }
            | Op::MaxPool { input, .. }
            | Op::Gather { input, .. }
            | Op::Lookup { input, .. } => vec![*input],
            Op::Select { inputs, .. } => inputs.clone(),
            Op::MatMul { a, b, .. } => vec![*a, *b],
        }
    }

    /// Replaces every tensor the op reads by `f(tensor)`, and the tensor a lookup's piece clamps
    /// ([`crate::Func::clamped_from`]).
    pub fn map_inputs(&mut self, mut f: impl FnMut(TensorId) -> TensorId) {
        match self {
            Op::Input { .. } | Op::Const { .. } => {}
            Op::Linear(l) => l.input = f(l.input),
            Op::Arith(a) => {
                a.a = f(a.a);
                a.b = f(a.b);
            }
            Op::Rescale { input, .. } | Op::Relu { input } | Op::MaxPool { input, .. } | Op::Gather { input, .. } => {
                *input = f(*input)
            }
            Op::Lookup { input, func } => {
                *input = f(*input);
                // the tensor a piece's input clamps (calibration reads its values)
                func.clamped_from = func.clamped_from.map(&mut f);
            }
            Op::Select { inputs, .. } => inputs.iter_mut().for_each(|t| *t = f(*t)),
            Op::MatMul { a, b, .. } => {
                *a = f(*a);
                *b = f(*b);
            }
        }
    }

    /// How many values the op produces, from its own data (`None` for `Input`).
    fn produced_len(&self, graph: &Graph) -> Option<usize> {
        match self {
            Op::Input { .. } => None,
            Op::Const { values } => Some(values.len()),
            Op::Linear(l) => Some(l.rows.len()),
            Op::Arith(a) => Some(a.pairs.len()),
            Op::Rescale { input, .. } | Op::Relu { input } | Op::Lookup { input, .. } => {
                Some(graph.nodes[*input].len())
            }
            Op::MaxPool { windows, .. } => Some(windows.len()),
            Op::Gather { indices, .. } => Some(indices.len()),
            Op::Select { picks, .. } => Some(picks.len()),
            Op::MatMul { rows, .. } => Some(rows.len()),
        }
    }
}

impl Node {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for a tensor with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Graph {
    /// A graph of the model's own inputs (not [`Graph::linked_inputs`]).
    pub fn new(nodes: Vec<Node>, inputs: Vec<TensorId>, outputs: Vec<TensorId>) -> Self {
        Self { nodes, inputs, outputs, linked_inputs: false }
    }

    /// Checks that the graph is well formed: topological order, every index in range, every
    /// node's data matching its shape. Call it on any graph read from disk.
    pub fn validate(&self) -> Result<(), IrError> {
        for (id, node) in self.nodes.iter().enumerate() {
            let err_idx =
                |index: usize, len: usize| IrError::IndexOutOfRange { node: id, name: node.name.clone(), index, len };
            for input in node.op.inputs() {
                if input >= id {
                    return Err(IrError::BadInput { node: id, name: node.name.clone(), input });
                }
            }
            if let Some(got) = node.op.produced_len(self) {
                if got != node.len() {
                    return Err(IrError::ShapeMismatch {
                        node: id,
                        name: node.name.clone(),
                        shape: node.shape.clone(),
                        expected: node.len(),
                        got,
                    });
                }
            }
            let len_of = |t: TensorId| self.nodes[t].len();
            let check = |idx: u32, len: usize| {
                if (idx as usize) < len {
                    Ok(())
                } else {
                    Err(err_idx(idx as usize, len))
                }
            };
            match &node.op {
                Op::Input { .. } | Op::Const { .. } => {}
                Op::Linear(l) => {
                    let (n_in, n_w) = (len_of(l.input), l.weights.len());
                    for row in &l.rows {
                        for &(i, w) in &row.terms {
                            check(i, n_in)?;
                            check(w, n_w)?;
                        }
                        if let Some(b) = row.bias {
                            check(b, n_w)?;
                        }
                    }
                }
                Op::Arith(a) => {
                    let (na, nb) = (len_of(a.a), len_of(a.b));
                    for &(i, j) in &a.pairs {
                        check(i, na)?;
                        check(j, nb)?;
                    }
                }
                Op::Rescale { .. } | Op::Relu { .. } => {}
                Op::Lookup { input, func } => {
                    let bad = |reason: &'static str| IrError::BadLookup { node: id, name: node.name.clone(), reason };
                    if func.table_rows().is_none() {
                        return Err(bad("its table domain is empty or larger than 2^24 values"));
                    }
                    if func.in_scale != self.nodes[*input].scale || func.out_scale != node.scale {
                        return Err(bad("its table's scales differ from its input's or its own scale"));
                    }
                }
                Op::MaxPool { input, windows } => {
                    for w in windows {
                        if w.is_empty() {
                            return Err(err_idx(0, 0));
                        }
                        for &i in w {
                            check(i, len_of(*input))?;
                        }
                    }
                }
                Op::Gather { input, indices } => {
                    for &i in indices {
                        check(i, len_of(*input))?;
                    }
                }
                Op::MatMul { a, b, rows } => {
                    for &(i, j) in rows.iter().flatten() {
                        check(i, len_of(*a))?;
                        check(j, len_of(*b))?;
                    }
                }
                Op::Select { inputs, picks } => {
                    for &(k, i) in picks {
                        let input = inputs.get(k as usize).ok_or_else(|| err_idx(k as usize, inputs.len()))?;
                        check(i, len_of(*input))?;
                    }
                }
            }
        }
        for (k, &t) in self.inputs.iter().enumerate() {
            match self.nodes.get(t).map(|n| &n.op) {
                Some(Op::Input { index }) if *index == k => {}
                _ => return Err(IrError::BadInput { node: t, name: format!("input {k}"), input: t }),
            }
        }
        for &t in &self.outputs {
            if t >= self.nodes.len() {
                return Err(IrError::BadInput { node: t, name: "graph output".into(), input: t });
            }
        }
        Ok(())
    }

    /// Removes the nodes no output depends on (model inputs always stay), renumbering the
    /// rest in order; returns each old tensor's new id (`None` if removed). The graph must be
    /// valid.
    pub fn prune(&mut self) -> Vec<Option<TensorId>> {
        let mut live = vec![false; self.nodes.len()];
        for &t in self.outputs.iter().chain(&self.inputs) {
            live[t] = true;
        }
        for id in (0..self.nodes.len()).rev() {
            if live[id] {
                for t in self.nodes[id].op.inputs() {
                    live[t] = true;
                }
            }
        }
        let mut new_id = vec![usize::MAX; self.nodes.len()];
        let mut kept = Vec::with_capacity(self.nodes.len());
        for (id, mut node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if live[id] {
                node.op.map_inputs(|t| new_id[t]);
                new_id[id] = kept.len();
                kept.push(node);
            }
        }
        self.nodes = kept;
        self.inputs.iter_mut().chain(self.outputs.iter_mut()).for_each(|t| *t = new_id[*t]);
        new_id.into_iter().map(|t| (t != usize::MAX).then_some(t)).collect()
    }

    /// Whether any node is an [`Op::Lookup`].
    pub fn has_lookups(&self) -> bool {
        self.nodes.iter().any(|n| matches!(n.op, Op::Lookup { .. }))
    }

    /// The largest [`Op::Rescale`] shift (0 without rescales): the range table needs at least
    /// that many bits for the remainder's check.
    pub fn max_rescale_shift(&self) -> u32 {
        self.nodes
            .iter()
            .filter_map(|n| match n.op {
                Op::Rescale { shift, .. } => Some(shift),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The distinct functions the graph looks up, in order of first use: a function's table
    /// tag in the circuit is its position here plus one.
    pub fn funcs(&self) -> Vec<Func> {
        let mut out: Vec<Func> = Vec::new();
        for node in &self.nodes {
            if let Op::Lookup { func, .. } = &node.op {
                if !out.contains(func) {
                    out.push(*func);
                }
            }
        }
        out
    }

    /// Shapes of the model inputs.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs.iter().map(|&t| self.nodes[t].shape.clone()).collect()
    }

    /// Shapes of the model outputs.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.outputs.iter().map(|&t| self.nodes[t].shape.clone()).collect()
    }
}
