//! Rewrites of ONNX ops that tract-onnx 0.23.9 does not load into equivalent ones it does, on
//! the protobuf, before parsing:
//!
//! - `LpPool(x; p, kernel, ...)` = `(k · AveragePool(|x|^p; count_include_pad))^(1/p)` with
//!   `k` the kernel's size: a zero pad contributes `|0|^p = 0`, as in `LpPool`;
//! - `Upsample` (deprecated in opset 10, still in models exported at opsets 7 to 9) is
//!   `Resize` of opset 10 with the same inputs (`scales` becomes an input at opsets 7 and 8),
//!   asymmetric coordinates and, for `nearest`, floor rounding. `Resize` needs opset 10, so such a
//!   model is raised to opset 10, and the two other ops whose signature changed at opset 10 are
//!   rewritten with it: `Slice` (attributes to inputs) and `TopK` (`k` to an input).
//!
//! - doubles and bfloat16 are computed as floats ([`floats`]);
//! - `Scatter` (opsets 9 and 10) is `ScatterElements`, its name from opset 11;
//! - a recurrent layer (`LSTM`, `GRU`, `RNN`) with `direction = "reverse"`, which tract runs
//!   forward (a silent wrong result), is the forward layer over the sequence reversed, its `Y`
//!   reversed back (`Y_h`, `Y_c` are the last step's either way);
//! - `Swish` with an `alpha` other than 1, which tract reads as `x · sigmoid(x)` whatever its
//!   alpha (a silent wrong result), is `x · sigmoid(alpha · x)`, and `Celu` with an `alpha` other
//!   than 1, whose negative side tract leaves unscaled, is `alpha · Elu(x / alpha)`, and
//!   `SpaceToDepth` in the `CRD` mode (opset 28), which tract runs as `DCR`, is written out;
//! - the ops ONNX defines as functions of other ops, which tract does not know: `Attention`
//!   ([`attention`]), `NegativeLogLikelihoodLoss` and `SoftmaxCrossEntropyLoss` ([`losses`]),
//!   `SwiGLU`, `Hardmax`, `CumProd`, `CenterCropPad`, `ReverseSequence` and `ReduceLogSumExp`
//!   in its stable form (tract's `log(Σ exp(x))` overflows) ([`functions`]), `RotaryEmbedding`
//!   and `CausalConvWithState` ([`sequence`]);
//! - the quantized ops (`QuantizeLinear`, `DequantizeLinear`, `DynamicQuantizeLinear`,
//!   `QLinearMatMul`, `MatMulInteger`) as float ops on the integers they hold ([`quant`]).
//!
//! The nodes a rewrite adds are named `<node>.<suffix>`, which the compiler maps back to the
//! original node, so errors and the per-layer table still name it and its op.

use tract_onnx::pb::attribute_proto::AttributeType;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto};

use crate::CompileError;

mod attention;
mod floats;
mod functions;
mod linear_attention;
mod losses;
mod quant;
mod sequence;

/// Applies the rewrites to `model` in place.
pub(crate) fn rewrite(model: &mut ModelProto) -> Result<(), CompileError> {
    let opset =
        model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(1, |o| o.version);
    let Some(graph) = model.graph.as_mut() else { return Ok(()) };
    floats::to_floats(graph);
    let mut fresh = Fresh(0);
    let nodes = std::mem::take(&mut graph.node);
    let upsample = opset < 10 && nodes.iter().any(|n| n.op_type == "Upsample" && n.domain.is_empty());
    for (ix, mut node) in nodes.into_iter().enumerate() {
        // named as tract would name it before the rewrites added nodes (see `onnx_node_table`)
        node.name = node_name(ix, &node);
        let standard = node.domain.is_empty() || node.domain == "ai.onnx";
        if let Some((_, _, rewrite)) =
            REWRITES.iter().find(|(op, applies, _)| standard && *op == node.op_type && applies(&node))
        {
            rewrite(&mut Emit::new(graph, &node, &mut fresh, opset))?;
            continue;
        }
        match node.op_type.as_str() {
            "LpPool" if standard => lp_pool(graph, node, &mut fresh)?,
            "Upsample" if upsample => upsample_to_resize(graph, node, opset, &mut fresh)?,
            "Slice" if upsample => slice_to_opset10(graph, node, &mut fresh),
            "TopK" if upsample => top_k_to_opset10(graph, node, &mut fresh),
            _ => graph.node.push(node),
        }
    }
    if upsample {
        for o in model.opset_import.iter_mut().filter(|o| o.domain.is_empty() || o.domain == "ai.onnx") {
            o.version = 10;
        }
    }
    Ok(())
}

/// The name tract gives node `ix`: its name, or its first output's, or `<ix>-<op>`.
pub(crate) fn node_name(ix: usize, n: &NodeProto) -> String {
    if !n.name.is_empty() {
        n.name.clone()
    } else if n.output.first().is_some_and(|o| !o.is_empty()) {
        n.output[0].clone()
    } else {
        format!("{ix}-{}", n.op_type)
    }
}

/// A rewrite of one node through [`Emit`].
type Rewrite = fn(&mut Emit<'_>) -> Result<(), CompileError>;

/// Whether a rewrite applies to a node of its op type.
type Applies = fn(&NodeProto) -> bool;

fn always(_: &NodeProto) -> bool {
    true
}

/// Whether a `Pad` node has a `constant_value` operand.
fn has_pad_value(node: &NodeProto) -> bool {
    node.input.get(2).is_some_and(|v| !v.is_empty())
}

fn alpha_not_one(node: &NodeProto) -> bool {
    attr(node, "alpha").is_some_and(|a| a.f != 1.0)
}

/// The rewrites of standard-domain ops: the op type, when it applies, and the rewrite.
const REWRITES: &[(&str, Applies, Rewrite)] = &[
    ("LSTM", is_reverse, reverse_recurrent),
    ("GRU", is_reverse, reverse_recurrent),
    ("RNN", is_reverse, reverse_recurrent),
    ("SpaceToDepth", functions::is_crd, functions::space_to_depth_crd),
    ("Swish", alpha_not_one, functions::swish),
    ("Celu", alpha_not_one, functions::celu),
    ("SwiGLU", always, functions::swiglu),
    ("Hardmax", always, functions::hardmax),
    ("Scatter", always, functions::scatter),
    ("CenterCropPad", always, functions::center_crop_pad),
    ("ReverseSequence", always, functions::reverse_sequence),
    ("ReduceLogSumExp", always, functions::reduce_log_sum_exp),
    ("CumProd", always, functions::cumprod),
    ("Compress", always, functions::compress),
    ("Pad", has_pad_value, functions::scalar_pad_value),
    ("LRN", always, functions::lrn),
    ("RotaryEmbedding", always, sequence::rotary_embedding),
    ("CausalConvWithState", always, sequence::causal_conv),
    ("QuantizeLinear", always, quant::quantize_linear),
    ("DequantizeLinear", always, quant::dequantize_linear),
    ("DynamicQuantizeLinear", always, quant::dynamic_quantize_linear),
    ("QLinearMatMul", always, quant::qlinear_matmul),
    ("MatMulInteger", always, quant::matmul_integer),
    ("Attention", always, attention::rewrite),
    ("LinearAttention", always, linear_attention::rewrite),
    ("NegativeLogLikelihoodLoss", always, losses::nll),
    ("SoftmaxCrossEntropyLoss", always, losses::softmax_cross_entropy),
];

/// Names for the tensors the rewrites add.
struct Fresh(usize);

impl Fresh {
    fn name(&mut self, node: &NodeProto, what: &str) -> String {
        self.0 += 1;
        format!("{}.zkonnx_{what}_{}", node.name, self.0)
    }
}

/// Emits the nodes that replace one node: each named `<node>.<what>`, so the compiler maps it
/// back to the original node, with a fresh output tensor, or the original's output.
struct Emit<'g> {
    graph: &'g mut GraphProto,
    fresh: &'g mut Fresh,
    /// The node being replaced.
    node: NodeProto,
    /// Its name ([`node_name`]).
    base: String,
    /// The model's ONNX opset.
    opset: i64,
}

impl<'g> Emit<'g> {
    fn new(graph: &'g mut GraphProto, node: &NodeProto, fresh: &'g mut Fresh, opset: i64) -> Self {
        Emit { graph, fresh, node: node.clone(), base: node.name.clone(), opset }
    }

    /// The replaced node's `ix`-th input, `None` when absent or empty.
    fn input(&self, ix: usize) -> Option<String> {
        self.node.input.get(ix).filter(|n| !n.is_empty()).cloned()
    }

    /// The replaced node's `ix`-th output, `None` when absent or empty.
    fn output(&self, ix: usize) -> Option<String> {
        self.node.output.get(ix).filter(|n| !n.is_empty()).cloned()
    }

    fn int(&self, name: &str) -> Option<i64> {
        attr(&self.node, name).map(|a| a.i)
    }

    fn string(&self, name: &str) -> Option<String> {
        attr(&self.node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    fn float(&self, name: &str) -> Option<f32> {
        attr(&self.node, name).map(|a| a.f)
    }

    /// The error for a form of the replaced node this rewrite does not take.
    fn unsupported(&self, what: &str) -> CompileError {
        CompileError::UnsupportedAttribute { node: self.base.clone(), op: self.node.op_type.clone(), what: what.into() }
    }

    /// Adds `op(inputs)` with a fresh output; returns the output's name.
    fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) -> String {
        let out = self.fresh.name(&self.node, &op.to_lowercase());
        self.op_to(op, inputs, attribute, out.clone(), &format!("{}.{}", self.base, self.fresh.0));
        out
    }

    /// Adds `op(inputs)` writing `output`, as the node `name`.
    fn op_to(&mut self, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>, output: String, name: &str) {
        let inputs = inputs.iter().map(|s| s.to_string()).collect();
        self.graph.node.push(node(name, op, inputs, output, attribute));
    }

    /// Adds `op(inputs)` writing the replaced node's `ix`-th output (if it has one), as the node
    /// itself for output 0 or `<node>.<ix>`.
    fn op_to_output(&mut self, ix: usize, op: &str, inputs: &[&str], attribute: Vec<AttributeProto>) {
        if let Some(out) = self.output(ix) {
            let name = if ix == 0 { self.base.clone() } else { format!("{}.out{ix}", self.base) };
            self.op_to(op, inputs, attribute, out, &name);
        }
    }

    /// A 1-D int64 constant.
    fn ints(&mut self, values: &[i64]) -> String {
        let name = self.fresh.name(&self.node, "ints");
        int_const(self.graph, name, values.to_vec())
    }

    /// A scalar int64 constant.
    fn int_scalar(&mut self, value: i64) -> String {
        let name = self.fresh.name(&self.node, "int");
        let t = TensorProto { data_type: DataType::Int64 as i32, int64_data: vec![value], ..Default::default() };
        initializer(self.graph, name, t)
    }

    /// A float constant of shape `dims`.
    fn floats(&mut self, dims: &[i64], values: Vec<f32>) -> String {
        let name = self.fresh.name(&self.node, "floats");
        float_const(self.graph, name, dims.to_vec(), values)
    }

    /// A scalar float constant.
    fn scalar(&mut self, value: f32) -> String {
        let name = self.fresh.name(&self.node, "float");
        float_const(self.graph, name, vec![], vec![value])
    }

    /// The tensor type (element type and shape) the graph declares for `name`: a model input's,
    /// or its value info's.
    fn declared(&self, name: &str) -> Option<&tract_onnx::pb::type_proto::Tensor> {
        use tract_onnx::pb::type_proto::Value;
        let g = &*self.graph;
        let vi = g.input.iter().chain(&g.value_info).find(|vi| vi.name == name)?;
        let Value::TensorType(t) = vi.r#type.as_ref()?.value.as_ref()?;
        Some(t)
    }

    /// The rank of tensor `name` as the graph declares it, or of the initializer.
    fn declared_rank(&self, name: &str) -> Option<usize> {
        match self.initializer(name) {
            Some(t) => Some(t.dims.len()),
            None => Some(self.declared(name)?.shape.as_ref()?.dim.len()),
        }
    }

    /// Dimension `axis` of tensor `name` as the graph declares it (a model input, or its value
    /// info), or of the initializer, when it is a number.
    fn declared_dim(&self, name: &str, axis: usize) -> Option<i64> {
        use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
        if let Some(t) = self.initializer(name) {
            return t.dims.get(axis).copied();
        }
        match self.declared(name)?.shape.as_ref()?.dim.get(axis)?.value.as_ref()? {
            Dim::DimValue(v) => Some(*v),
            Dim::DimParam(_) => None,
        }
    }

    /// The element type (`DataType`) of tensor `name`: declared in the graph, or that of the op
    /// that makes it when it always makes one type (a comparison, a Cast); `None` when unknown.
    fn elem_type(&self, name: &str) -> Option<i32> {
        if let Some(t) = self.declared(name) {
            return Some(t.elem_type);
        }
        if let Some(t) = self.initializer(name) {
            return Some(t.data_type);
        }
        let maker = self.graph.node.iter().find(|n| n.output.iter().any(|o| o == name))?;
        match maker.op_type.as_str() {
            "Equal" | "Less" | "LessOrEqual" | "Greater" | "GreaterOrEqual" | "Not" | "And" | "Or" | "Xor"
            | "IsNaN" | "IsInf" => Some(DataType::Bool as i32),
            "Cast" => attr(maker, "to").map(|a| a.i as i32),
            _ => None,
        }
    }

    /// The `starts`, `ends`, `axes` and `steps` of a Slice that reverses `axis`.
    fn reverse_args(&mut self, axis: i64) -> [String; 4] {
        [self.ints(&[-1]), self.ints(&[i64::MIN]), self.ints(&[axis]), self.ints(&[-1])]
    }

    /// The initializer `name`.
    fn initializer(&self, name: &str) -> Option<&TensorProto> {
        self.graph.initializer.iter().find(|t| t.name == name)
    }

    /// The values of the integer initializer `name` (int32, int64 or bool, typed or raw).
    fn const_ints(&self, name: &str) -> Option<Vec<i64>> {
        let t = self.initializer(name)?;
        let raw = |width: usize| -> Vec<i64> {
            t.raw_data
                .chunks_exact(width)
                .map(|c| {
                    if width == 8 {
                        i64::from_le_bytes(c.try_into().unwrap_or([0; 8]))
                    } else {
                        i64::from(i32::from_le_bytes(c.try_into().unwrap_or([0; 4])))
                    }
                })
                .collect()
        };
        match DataType::try_from(t.data_type).ok()? {
            DataType::Int64 if t.raw_data.is_empty() => Some(t.int64_data.clone()),
            DataType::Int64 => Some(raw(8)),
            DataType::Int32 if t.raw_data.is_empty() => Some(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
            DataType::Int32 => Some(raw(4)),
            DataType::Bool if t.raw_data.is_empty() => Some(t.int32_data.iter().map(|&v| i64::from(v)).collect()),
            DataType::Bool => Some(t.raw_data.iter().map(|&b| i64::from(b)).collect()),
            _ => None,
        }
    }

    /// A constant of `value` with the element type `dtype` (float, int32 or int64), shaped `[]`.
    fn scalar_of(&mut self, value: f32, dtype: Option<i32>) -> String {
        match dtype.and_then(|d| DataType::try_from(d).ok()) {
            Some(DataType::Int64) => self.int_scalar(value as i64),
            Some(DataType::Int32) => {
                let name = self.fresh.name(&self.node, "int");
                let t = TensorProto {
                    data_type: DataType::Int32 as i32,
                    int32_data: vec![value as i32],
                    ..Default::default()
                };
                initializer(self.graph, name, t)
            }
            _ => self.scalar(value),
        }
    }

    /// `Shape(x)[start..end]`, a 1-D int64 tensor.
    fn shape(&mut self, x: &str, start: i64, end: i64) -> String {
        self.op("Shape", &[x], vec![int_attr("start", start), int_attr("end", end)])
    }
}

fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn float_const(graph: &mut GraphProto, name: String, dims: Vec<i64>, values: Vec<f32>) -> String {
    let t = TensorProto { dims, data_type: DataType::Float as i32, float_data: values, ..Default::default() };
    initializer(graph, name, t)
}

fn int_const(graph: &mut GraphProto, name: String, values: Vec<i64>) -> String {
    let dims = vec![values.len() as i64];
    let t = TensorProto { dims, data_type: DataType::Int64 as i32, int64_data: values, ..Default::default() };
    initializer(graph, name, t)
}

/// Adds `t` to the graph's initializers as `name`; returns the name.
fn initializer(graph: &mut GraphProto, name: String, mut t: TensorProto) -> String {
    t.name = name.clone();
    graph.initializer.push(t);
    name
}

fn node(name: &str, op: &str, inputs: Vec<String>, output: String, attribute: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: name.to_string(),
        op_type: op.into(),
        input: inputs,
        output: vec![output],
        attribute,
        ..Default::default()
    }
}

fn int_attr(name: &str, i: i64) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i, ..Default::default() }
}

fn ints_attr(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: ints.to_vec(), ..Default::default() }
}

fn string_attr(name: &str, s: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: s.as_bytes().to_vec(),
        ..Default::default()
    }
}

fn lp_pool(graph: &mut GraphProto, lp: NodeProto, fresh: &mut Fresh) -> Result<(), CompileError> {
    let bad = |what: &str| CompileError::UnsupportedAttribute {
        node: lp.name.clone(),
        op: "LpPool".into(),
        what: what.into(),
    };
    let p = attr(&lp, "p").map_or(2, |a| a.i);
    if p < 1 {
        return Err(bad("p below 1"));
    }
    if attr(&lp, "dilations").is_some_and(|a| a.ints.iter().any(|&d| d != 1)) {
        return Err(bad("dilations"));
    }
    let kernel: i64 =
        attr(&lp, "kernel_shape").map(|a| a.ints.iter().product()).ok_or_else(|| bad("no kernel_shape"))?;
    let (x, y) = match (lp.input.first(), lp.output.first()) {
        (Some(x), Some(y)) => (x.clone(), y.clone()),
        _ => return Err(bad("no input or output")),
    };
    let name = lp.name.clone();
    let abs = fresh.name(&lp, "abs");
    graph.node.push(node(&format!("{name}.abs"), "Abs", vec![x], abs.clone(), vec![]));
    let pow = fresh.name(&lp, "pow");
    let pc = float_const(graph, fresh.name(&lp, "p"), vec![], vec![p as f32]);
    graph.node.push(node(&format!("{name}.pow"), "Pow", vec![abs, pc], pow.clone(), vec![]));
    let mut pool_attrs: Vec<AttributeProto> = lp
        .attribute
        .iter()
        .filter(|a| ["kernel_shape", "strides", "pads", "auto_pad", "ceil_mode"].contains(&a.name.as_str()))
        .cloned()
        .collect();
    pool_attrs.push(int_attr("count_include_pad", 1));
    let mean = fresh.name(&lp, "mean");
    graph.node.push(node(&format!("{name}.pool"), "AveragePool", vec![pow], mean.clone(), pool_attrs));
    let sum = fresh.name(&lp, "sum");
    let kc = float_const(graph, fresh.name(&lp, "k"), vec![], vec![kernel as f32]);
    graph.node.push(node(&format!("{name}.sum"), "Mul", vec![mean, kc], sum.clone(), vec![]));
    let inv = float_const(graph, fresh.name(&lp, "inv_p"), vec![], vec![1.0 / p as f32]);
    graph.node.push(node(&name, "Pow", vec![sum, inv], y, vec![]));
    Ok(())
}

fn upsample_to_resize(
    graph: &mut GraphProto,
    mut up: NodeProto,
    opset: i64,
    fresh: &mut Fresh,
) -> Result<(), CompileError> {
    if opset < 9 {
        // opsets 7 and 8: the scales are an attribute
        let scales =
            attr(&up, "scales").map(|a| a.floats.clone()).ok_or_else(|| CompileError::UnsupportedAttribute {
                node: up.name.clone(),
                op: "Upsample".into(),
                what: "no scales".into(),
            })?;
        let name = fresh.name(&up, "scales");
        let dims = vec![scales.len() as i64];
        let input = float_const(graph, name, dims, scales);
        up.input.truncate(1);
        up.input.push(input);
        up.attribute.retain(|a| a.name != "scales");
    }
    let nearest = attr(&up, "mode").is_none_or(|a| a.s == b"nearest");
    up.op_type = "Resize".into();
    up.attribute.retain(|a| a.name == "mode");
    up.attribute.push(string_attr("coordinate_transformation_mode", "asymmetric"));
    if nearest {
        up.attribute.push(string_attr("nearest_mode", "floor"));
    }
    graph.node.push(up);
    Ok(())
}

fn is_reverse(node: &NodeProto) -> bool {
    attr(node, "direction").is_some_and(|a| a.s == b"reverse")
}

/// A reverse recurrent layer as the forward one over the reversed sequence (see the module doc).
fn reverse_recurrent(e: &mut Emit<'_>) -> Result<(), CompileError> {
    if e.input(4).is_some() {
        return Err(e.unsupported("direction reverse with sequence_lens"));
    }
    if e.opset < 10 {
        return Err(e.unsupported("direction reverse below opset 10 (Slice takes no steps there)"));
    }
    let x = e.input(0).ok_or_else(|| e.unsupported("no input X"))?;
    // the sequence axis: 0, or 1 in the batch-first layout (X and Y alike)
    let axis = e.int("layout").unwrap_or(0);
    let args = e.reverse_args(axis);
    let reversed = e.op("Slice", &[&x, &args[0], &args[1], &args[2], &args[3]], vec![]);
    let mut forward = e.node.clone();
    for a in forward.attribute.iter_mut().filter(|a| a.name == "direction") {
        a.s = b"forward".to_vec();
    }
    forward.input[0] = reversed;
    forward.name = format!("{}.forward", e.base);
    let y = e.output(0).map(|_| e.fresh.name(&e.node, "y_reversed"));
    if let Some(y) = &y {
        forward.output[0] = y.clone();
    }
    e.graph.node.push(forward);
    if let Some(y) = y {
        e.op_to_output(0, "Slice", &[&y, &args[0], &args[1], &args[2], &args[3]], vec![]);
    }
    Ok(())
}

fn slice_to_opset10(graph: &mut GraphProto, mut s: NodeProto, fresh: &mut Fresh) {
    if s.input.len() > 1 {
        graph.node.push(s); // already in the input form
        return;
    }
    for key in ["starts", "ends", "axes"] {
        if let Some(a) = attr(&s, key).map(|a| a.ints.clone()) {
            let name = fresh.name(&s, key);
            let input = int_const(graph, name, a);
            s.input.push(input);
        }
    }
    s.attribute.retain(|a| !["starts", "ends", "axes"].contains(&a.name.as_str()));
    graph.node.push(s);
}

fn top_k_to_opset10(graph: &mut GraphProto, mut t: NodeProto, fresh: &mut Fresh) {
    if let Some(k) = attr(&t, "k").map(|a| a.i) {
        let name = fresh.name(&t, "k");
        let input = int_const(graph, name, vec![k]);
        t.input.push(input);
        t.attribute.retain(|a| a.name != "k");
    }
    graph.node.push(t);
}

#[cfg(test)]
mod tests {
    /// A model whose ops are all rewritten passes the loader's check: each is listed
    /// (`zkonnx ops` shows it).
    #[test]
    fn every_rewritten_op_is_listed_as_supported() {
        for (op, _, _) in super::REWRITES {
            assert!(crate::ops::is_supported(op), "{op} is rewritten but not listed");
        }
    }
}
