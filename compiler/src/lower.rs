//! Walks tract's typed graph and builds the IR graph.
//!
//! # Why the typed graph *before* `into_decluttered()`
//!
//! Decluttering is an optimizer: it removes size-1 axes (so `fc1` becomes `"mk,nk->n"` and
//! a Flatten disappears into an `EinSum "mkba,nk->mn"`), merges nodes under synthesized names
//! (`conv1.bn1.mul.kernel`), and swaps padding specs for equivalent ones. Walking the graph
//! right after `into_typed()` instead gives tensors with exactly the ONNX shapes (so the IR's
//! shapes, `table` output and errors match what the user sees in Netron), node names that are
//! the ONNX name plus a `.suffix`, and a small, stable set of core ops: `EinSum` (Gemm,
//! MatMul), `Conv`, `SumPool` (AveragePool), `MaxPool`, `Reduce<Sum>` + `Div`
//! (GlobalAveragePool), `TypedBinOp` (`Add`/`Sub`/`Mul`/`Div`, and `Max(x, 0)` for Relu),
//! `AxisOp` (Reshape, Flatten, Transpose, Unsqueeze) and `Identity`. The folding that
//! decluttering would do (BatchNorm and Gemm's alpha/beta into the weights) we do ourselves,
//! in float, before quantizing: a linear op stays *pending* (see [`PendingLinear`]) until
//! something other than a per-element constant `Mul`/`Add`/`Sub`/`Div` consumes it.
//!
//! The float oracle ([`crate::OnnxModel::run_float`]) does run the decluttered plan; the
//! differential tests check that both agree within the quantization bound.

use std::collections::{HashMap, HashSet};

use tract_onnx::prelude::*;
use zkonnx_ir::quant::quantize;
use zkonnx_ir::{Graph, Node, Op, RunArgs, TensorId};

use crate::ops::linear::PendingLinear;
use crate::{ops, CompileError, OnnxModel};

/// Most elements a tensor may have (`2^26`): more could never fit a circuit of at most `2^26`
/// rows, and refusing early keeps the compiler from allocating for it.
pub(crate) const MAX_TENSOR_ELEMENTS: usize = 1 << 26;
/// Most multiply-add terms one linear op (Gemm, MatMul, Conv, pooling) may have in total.
pub(crate) const MAX_LINEAR_TERMS: usize = 1 << 28;

/// `got` if it is at most `max`, else [`CompileError::TooLarge`] naming `node`.
pub(crate) fn check_size(node: &str, what: &'static str, got: usize, max: usize) -> Result<usize, CompileError> {
    if got > max {
        return Err(CompileError::TooLarge { node: node.to_string(), what, got, max });
    }
    Ok(got)
}

/// The product of `dims`, saturating at `usize::MAX` (which every limit refuses).
pub(crate) fn saturating_product(dims: impl IntoIterator<Item = usize>) -> usize {
    dims.into_iter().fold(1usize, |acc, d| acc.saturating_mul(d))
}

/// What a tract outlet has been lowered to so far.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// An IR tensor.
    Tensor(TensorId),
    /// A constant known at compile time (float, not yet quantized).
    Const(ConstVal),
    /// A linear map of an IR tensor whose float weights may still absorb a following
    /// constant scale or shift.
    Pending(Box<PendingLinear>),
}

/// A constant tensor in float.
#[derive(Clone, Debug)]
pub(crate) struct ConstVal {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f64>,
}

/// What an additive mask does to one element of the sum it masks (see [`Mask`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hidden {
    /// The element is kept.
    No,
    /// The mask adds -inf here.
    NegInf,
    /// The mask adds a finite value so far below the activation range that `exp` of the sum is
    /// 0 at every precision zkonnx proves.
    Far,
}

/// The positions of an IR tensor that an additive mask hides: the sum of a computed tensor and
/// a constant holding -inf (or values far below the activation range: `finfo.min`, `-1e4`), as
/// attention masks are written, or a `Where` choosing between -inf and a value. The tensor
/// holds the sum with 0 in place of the hidden terms; only a Softmax may read it (hiding those
/// positions), which [`Lowerer::run`] checks.
#[derive(Clone, Debug)]
pub(crate) struct Mask {
    /// The positions hidden whatever the input (a constant mask), by flat position.
    pub(crate) hidden: Vec<Hidden>,
    /// The positions kept, where the input decides (a mask computed at run time): 0/1 at scale
    /// 0, of the tensor's shape; `None` when the input decides nothing.
    pub(crate) keep: Option<TensorId>,
    /// The ONNX node that added the mask, and its op.
    pub(crate) node: String,
    pub(crate) op: String,
}

/// What the op lowerers know about the node at hand.
#[derive(Clone, Debug)]
pub(crate) struct NodeCx {
    /// ONNX node name (the tract node name without tract's `.suffix`).
    pub(crate) name: String,
    /// ONNX op type, or tract's op name for a node with no ONNX counterpart.
    pub(crate) origin: String,
    /// Concrete shape of the node's (single) output.
    pub(crate) shape: Vec<usize>,
    pub(crate) inputs: Vec<OutletId>,
}

impl NodeCx {
    pub(crate) fn unsupported(&self, what: impl Into<String>) -> CompileError {
        CompileError::UnsupportedAttribute { node: self.name.clone(), op: self.origin.clone(), what: what.into() }
    }

    pub(crate) fn shape_err(&self, reason: impl Into<String>) -> CompileError {
        CompileError::Shape { tensor: self.name.clone(), reason: reason.into() }
    }

    pub(crate) fn non_constant(&self, what: impl Into<String>) -> CompileError {
        CompileError::NonConstant { node: self.name.clone(), what: what.into() }
    }

    /// Numpy broadcasting of an operand of ONNX shape `shape` to this node's output: the
    /// operand index each output element reads, or a shape error naming the node.
    pub(crate) fn broadcast_from(&self, shape: &[usize]) -> Result<Vec<u32>, CompileError> {
        crate::index::broadcast_map(shape, &self.shape)
            .ok_or_else(|| self.shape_err(format!("{shape:?} does not broadcast to {:?}", self.shape)))
    }
}

/// The state of one compilation.
pub(crate) struct Lowerer<'a> {
    pub(crate) model: &'a TypedModel,
    pub(crate) args: &'a RunArgs,
    onnx_nodes: HashMap<&'a str, &'a str>,
    pub(crate) graph: Graph,
    values: HashMap<OutletId, Value>,
    /// While unrolling a loop body (see [`Lowerer::lower_body`]): the ONNX node name and op
    /// that every node emitted for the body is labelled with.
    body_label: Option<(String, String)>,
    /// The masked sums (see [`Mask`]), by IR tensor.
    pub(crate) masks: HashMap<TensorId, Mask>,
    /// The IR nodes allowed to read a masked sum: the Softmax gathers of its kept positions.
    pub(crate) mask_readers: HashSet<TensorId>,
}

impl<'a> Lowerer<'a> {
    fn new(model: &'a OnnxModel, args: &'a RunArgs) -> Self {
        Lowerer {
            model: &model.typed,
            args,
            onnx_nodes: model.onnx_nodes.iter().map(|(n, o)| (n.as_str(), o.as_str())).collect(),
            graph: Graph::new(vec![], vec![], vec![]),
            values: HashMap::new(),
            body_label: None,
            masks: HashMap::new(),
            mask_readers: HashSet::new(),
        }
    }

    /// Lowers the whole model; also returns the IR tensor holding each outlet's value, where
    /// one does.
    pub(crate) fn run(
        model: &'a OnnxModel,
        args: &'a RunArgs,
    ) -> Result<(Graph, HashMap<OutletId, TensorId>), CompileError> {
        let mut lw = Lowerer::new(model, args);
        let typed = lw.model;
        let inputs = typed.input_outlets().map_err(|e| CompileError::tract("listing inputs", e))?;
        for (index, outlet) in inputs.iter().enumerate() {
            let node = typed.node(outlet.node);
            let shape = lw.concrete_shape(*outlet, &node.name)?;
            // an integer input (token ids, indices) or a boolean one (a mask) is exact at scale 0
            let integer =
                typed.outlet_fact(*outlet).is_ok_and(|f| f.datum_type.is_integer() || f.datum_type == DatumType::Bool);
            let scale = if integer { 0 } else { args.input_scale };
            let t = lw.emit(&node.name, "Input", Op::Input { index }, shape, scale);
            lw.graph.inputs.push(t);
            lw.values.insert(*outlet, Value::Tensor(t));
        }
        let order = typed.eval_order().map_err(|e| CompileError::tract("ordering the graph", e))?;
        for id in order {
            lw.lower_node(id)?;
        }
        let outputs = typed.output_outlets().map_err(|e| CompileError::tract("listing outputs", e))?;
        let (origin, scale) = ("Output", args.input_scale);
        for outlet in outputs {
            let name = typed.node(outlet.node).name.clone();
            let mut t = lw.tensor(*outlet, &name, origin, scale)?;
            let shape = lw.outlet_shape(*outlet)?;
            if lw.shape(t) != shape.as_slice() {
                // an aliased reshape: give the output its ONNX shape (a free, identity gather)
                let indices = (0..shape.iter().product::<usize>() as u32).collect();
                let origin = lw.graph.nodes[t].origin.clone();
                t = lw.emit(&name, &origin, Op::Gather { input: t, indices }, shape, lw.scale(t));
            }
            lw.graph.outputs.push(t);
        }
        lw.graph.validate()?;
        // drop what a fused pattern (e.g. Ln of Softmax) left unused
        let renumbered = lw.graph.prune();
        lw.check_masks(&renumbered)?;
        lw.check_constants()?;
        let tensors = lw
            .values
            .iter()
            .filter_map(|(&o, v)| match v {
                Value::Tensor(t) => renumbered[*t].map(|t| (o, t)),
                _ => None,
            })
            .collect();
        Ok((lw.graph, tensors))
    }

    fn lower_node(&mut self, id: usize) -> Result<(), CompileError> {
        let model: &'a TypedModel = self.model;
        let node = model.node(id);
        let outlet = OutletId::new(id, 0);
        if self.values.contains_key(&outlet) {
            return Ok(()); // a model input, already emitted
        }
        let (name, origin) = self.onnx_name(&node.name, node.op.name().as_ref());
        if let Some(fact) = node.outputs.first() {
            if let Some(k) = &fact.fact.konst {
                self.values.insert(outlet, Value::Const(ops::shape::const_value(k, &name)?));
                return Ok(());
            }
        }
        if node.op.name() == "NonZero" {
            // a constant input was folded above (tract computes its output while typing)
            let what = "an input computed at run time (the output's shape would depend on the input values; a \
                        circuit's shapes are fixed)";
            return Err(CompileError::UnsupportedAttribute { node: name, op: origin, what: what.into() });
        }
        let cx = NodeCx { shape: self.concrete_shape(outlet, &name)?, name, origin, inputs: node.inputs.clone() };
        if let Some(values) = ops::lower_multi(self, node, &cx)? {
            for (slot, v) in values.into_iter().enumerate() {
                self.values.insert(OutletId::new(id, slot), v);
            }
            return Ok(());
        }
        // a supported ONNX op that tract built from a form we do not lower: name both
        let unsupported = |cx: NodeCx| {
            let tract_op = node.op.name();
            let op = if tract_op == cx.origin { cx.origin } else { format!("{} (tract's {tract_op})", cx.origin) };
            CompileError::UnsupportedOp { node: cx.name, op, others: vec![] }
        };
        if node.outputs.len() != 1 {
            return Err(unsupported(cx));
        }
        match ops::lower(self, node, &cx)? {
            Some(v) => {
                self.values.insert(outlet, v);
                Ok(())
            }
            None => Err(unsupported(cx)),
        }
    }

    /// Refuses a masked sum (see [`Mask`]) that anything but a Softmax reads, or that is an
    /// output: there the hidden terms would silently read as 0 instead of -inf.
    fn check_masks(&self, renumbered: &[Option<TensorId>]) -> Result<(), CompileError> {
        let readers: HashSet<TensorId> =
            self.mask_readers.iter().filter_map(|&r| renumbered.get(r).copied().flatten()).collect();
        for (&t, mask) in &self.masks {
            let Some(t) = renumbered.get(t).copied().flatten() else { continue };
            let reader = if self.graph.outputs.contains(&t) {
                Some("the model's output".to_string())
            } else {
                self.graph
                    .nodes
                    .iter()
                    .enumerate()
                    .find(|(id, n)| !readers.contains(id) && n.op.inputs().contains(&t))
                    .map(|(_, n)| format!("node `{}` ({})", n.name, n.origin))
            };
            if let Some(reader) = reader {
                let what = format!(
                    "an additive mask (a constant of -inf or far below the activation range) whose sum goes to {reader} \
                     rather than straight into a Softmax"
                );
                return Err(CompileError::UnsupportedAttribute { node: mask.node.clone(), op: mask.op.clone(), what });
            }
        }
        Ok(())
    }

    /// Refuses a constant beyond any fixed-point value (±inf, `finfo.min`) that reached the
    /// circuit, naming the node it feeds: outside an attention mask (see `ops::mask`; e.g. a
    /// `Where` of a computed condition between -inf at some positions only and a value) no proof
    /// could hold it, and the interpreter would only report an overflow.
    fn check_constants(&self) -> Result<(), CompileError> {
        const BEYOND: i64 = 1 << 62;
        for node in &self.graph.nodes {
            if let Op::Const { values } = &node.op {
                if let Some(v) = values.iter().find(|v| v.unsigned_abs() >= BEYOND as u64) {
                    let inf = if *v < 0 { "-inf" } else { "+inf" };
                    let what = format!(
                        "a constant of {inf} (or beyond the fixed-point range) that is not an attention mask taken \
                         straight into a Softmax"
                    );
                    return Err(CompileError::UnsupportedAttribute {
                        node: node.name.clone(),
                        op: node.origin.clone(),
                        what,
                    });
                }
            }
        }
        Ok(())
    }

    /// Maps a tract node name back to the ONNX node it came from: tract names the nodes it
    /// synthesizes `<onnx name>.<suffix>` (`fc1.ab`, `bn1.slope`, `relu1.low`).
    fn onnx_name(&self, tract_name: &str, tract_op: &str) -> (String, String) {
        if let Some(label) = &self.body_label {
            return label.clone();
        }
        let mut candidate = tract_name;
        loop {
            if let Some(op) = self.onnx_nodes.get(candidate) {
                return (candidate.to_string(), op.to_string());
            }
            match candidate.rsplit_once('.') {
                Some((head, _)) => candidate = head,
                None => return (tract_name.to_string(), tract_op.to_string()),
            }
        }
    }

    /// Lowers one pass of a loop body (tract's `Scan`, e.g. an unrolled LSTM step): `bound`
    /// holds the value of each of the body's inputs, in order; returns its outputs' values.
    /// Everything emitted is labelled with `label` (the loop's ONNX node name and op).
    pub(crate) fn lower_body(
        &mut self,
        body: &'a TypedModel,
        bound: Vec<Value>,
        label: (String, String),
    ) -> Result<Vec<Value>, CompileError> {
        let tract = |what| move |e| CompileError::tract(what, e);
        let inputs = body.input_outlets().map_err(tract("listing a loop body's inputs"))?;
        if inputs.len() != bound.len() {
            return Err(CompileError::Shape {
                tensor: label.0,
                reason: format!("the loop body has {} inputs, {} were bound", inputs.len(), bound.len()),
            });
        }
        let values = inputs.iter().copied().zip(bound).collect();
        let outer = (
            std::mem::replace(&mut self.model, body),
            std::mem::replace(&mut self.values, values),
            self.body_label.replace(label),
        );
        let result = self.lower_body_nodes(body);
        let body_values = std::mem::replace(&mut self.values, outer.1);
        (self.model, self.body_label) = (outer.0, outer.2);
        let outputs = result?;
        outputs.iter().map(|o| body_values.get(o).cloned().ok_or_else(|| self.unlowered(body, *o))).collect()
    }

    fn lower_body_nodes(&mut self, body: &TypedModel) -> Result<Vec<OutletId>, CompileError> {
        let order = body.eval_order().map_err(|e| CompileError::tract("ordering a loop body", e))?;
        for id in order {
            self.lower_node(id)?;
        }
        body.output_outlets()
            .map(<[OutletId]>::to_vec)
            .map_err(|e| CompileError::tract("listing a loop body's outputs", e))
    }

    fn unlowered(&self, model: &TypedModel, outlet: OutletId) -> CompileError {
        CompileError::Shape {
            tensor: model.node(outlet.node).name.clone(),
            reason: "used before it was lowered (graph not in topological order)".into(),
        }
    }

    /// The ONNX (tract) shape of an outlet. Use this, not the IR tensor's shape, for operands:
    /// a reshape is lowered as an alias of its input's IR tensor.
    pub(crate) fn outlet_shape(&self, outlet: OutletId) -> Result<Vec<usize>, CompileError> {
        self.concrete_shape(outlet, &self.model.node(outlet.node).name)
    }

    fn concrete_shape(&self, outlet: OutletId, name: &str) -> Result<Vec<usize>, CompileError> {
        let fact = self.model.outlet_fact(outlet).map_err(|e| CompileError::tract("reading a shape", e))?;
        let shape = fact.shape.as_concrete().map(<[usize]>::to_vec).ok_or_else(|| CompileError::Shape {
            tensor: name.to_string(),
            reason: format!("shape {:?} is not concrete", fact.shape),
        })?;
        let elements = saturating_product(shape.iter().copied());
        check_size(name, "the tensor's element count", elements, MAX_TENSOR_ELEMENTS)?;
        Ok(shape)
    }

    /// The lowered value of an outlet.
    pub(crate) fn value(&self, outlet: OutletId) -> Result<&Value, CompileError> {
        self.values.get(&outlet).ok_or_else(|| self.unlowered(self.model, outlet))
    }

    /// The outlet's value if it is a compile-time constant.
    pub(crate) fn const_of(&self, outlet: OutletId) -> Option<&ConstVal> {
        match self.values.get(&outlet) {
            Some(Value::Const(c)) => Some(c),
            _ => None,
        }
    }

    /// True when `outlet` feeds exactly one node and is not a model output, so a consumer
    /// may fold itself into it.
    pub(crate) fn sole_use(&self, outlet: OutletId) -> bool {
        let is_output = self.model.output_outlets().map(|o| o.contains(&outlet)).unwrap_or(true);
        !is_output && self.model.outlet_successors(outlet).len() == 1
    }

    /// The IR tensor holding `outlet`'s value, emitting the pending linear op or the constant
    /// (at `const_scale`) if needed. `name`/`origin` label an emitted constant.
    pub(crate) fn tensor(
        &mut self,
        outlet: OutletId,
        name: &str,
        origin: &str,
        const_scale: u32,
    ) -> Result<TensorId, CompileError> {
        let t = match self.value(outlet)?.clone() {
            Value::Tensor(t) => return Ok(t),
            Value::Const(c) => self.const_tensor(&c, const_scale, name, origin),
            Value::Pending(p) => p.materialize(self),
        };
        self.values.insert(outlet, Value::Tensor(t));
        Ok(t)
    }

    /// A constant quantized at `scale` as an IR constant, labelled `name`/`origin`.
    pub(crate) fn const_tensor(&mut self, c: &ConstVal, scale: u32, name: &str, origin: &str) -> TensorId {
        let values = c.data.iter().map(|&x| quantize(x, scale)).collect();
        self.emit(name, origin, Op::Const { values }, c.shape.clone(), scale)
    }

    /// The IR tensor for a computed operand (constants land at the input scale).
    pub(crate) fn operand(&mut self, outlet: OutletId, cx: &NodeCx) -> Result<TensorId, CompileError> {
        let scale = self.args.input_scale;
        self.tensor(outlet, &cx.name, &cx.origin, scale)
    }

    /// Appends a node and returns its tensor id.
    pub(crate) fn emit(&mut self, name: &str, origin: &str, op: Op, shape: Vec<usize>, scale: u32) -> TensorId {
        self.graph.nodes.push(Node { name: name.to_string(), origin: origin.to_string(), op, shape, scale });
        self.graph.nodes.len() - 1
    }

    pub(crate) fn scale(&self, t: TensorId) -> u32 {
        self.graph.nodes[t].scale
    }

    pub(crate) fn shape(&self, t: TensorId) -> &[usize] {
        &self.graph.nodes[t].shape
    }

    /// Brings `t` back to the activation scale `S` with a rescale, if it is above it.
    pub(crate) fn rescale_to_activation(&mut self, t: TensorId) -> TensorId {
        let (scale, target) = (self.scale(t), self.args.input_scale);
        self.rescale_by(t, scale.saturating_sub(target))
    }

    /// `t` divided by `2^shift` (round half up) into scale `scale - shift`, labelled like `t`;
    /// `t` itself for a shift of 0.
    /// `t` at scale 0: for a tensor that holds integers (`k·2^s` at scale `s`), the rescale is
    /// exact.
    pub(crate) fn rescale_to_integer(&mut self, t: TensorId) -> TensorId {
        self.rescale_by(t, self.scale(t))
    }

    pub(crate) fn rescale_by(&mut self, t: TensorId, shift: u32) -> TensorId {
        if shift == 0 {
            return t;
        }
        let node = &self.graph.nodes[t];
        let (name, origin, shape, scale) = (node.name.clone(), node.origin.clone(), node.shape.clone(), node.scale);
        self.emit(&name, &origin, Op::Rescale { input: t, shift }, shape, scale - shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_above_the_limits_are_refused_naming_the_node() {
        assert_eq!(check_size("fc1", "terms", MAX_LINEAR_TERMS, MAX_LINEAR_TERMS).unwrap(), MAX_LINEAR_TERMS);
        let got = saturating_product([1 << 20, 1 << 20, 1 << 30, 1 << 30]);
        assert_eq!(got, usize::MAX);
        let err = check_size("fc1", "the op's multiply-add terms", got, MAX_LINEAR_TERMS).unwrap_err();
        assert!(
            matches!(err, CompileError::TooLarge { ref node, max: MAX_LINEAR_TERMS, .. } if node == "fc1"),
            "{err}"
        );
        assert!(err.to_string().contains("fc1") && err.to_string().contains("268435456"), "{err}");
    }
}
