//! Loading an ONNX file into tract's typed graph, and float inference (the accuracy oracle).

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;

use tract_onnx::pb::ModelProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::Factoid;

use crate::CompileError;

/// The error for a model with nodes whose op no family lowers ([`crate::ops::supported_ops`]),
/// naming every such node in file order; `None` when there is none.
pub(crate) fn unsupported_nodes(onnx_nodes: &[(String, String)]) -> Option<CompileError> {
    let mut rejected = onnx_nodes.iter().filter(|(_, op)| !crate::ops::is_supported(op)).cloned();
    let (node, op) = rejected.next()?;
    Some(CompileError::UnsupportedOp { node, op, others: rejected.collect() })
}

/// An ONNX model with every dimension fixed, ready to compile or to run in float.
pub struct OnnxModel {
    /// tract's typed graph (before decluttering: see `lower.rs` for why).
    pub(crate) typed: TypedModel,
    /// The float plan, built once at load.
    plan: Arc<TypedRunnableModel>,
    /// ONNX node names (as tract names them) to ONNX op types, in file order.
    pub(crate) onnx_nodes: Vec<(String, String)>,
    /// Model input names and concrete shapes, in ONNX order.
    inputs: Vec<(String, Vec<usize>)>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("inputs", &self.inputs)
            .field("nodes", &self.onnx_nodes.len())
            .finish_non_exhaustive()
    }
}

impl OnnxModel {
    /// Loads an ONNX file. Symbolic dimensions take their value from `dims` (e.g. `N = 4`),
    /// or 1 when `dims` does not name them.
    pub fn load(path: &Path, dims: &BTreeMap<String, usize>) -> Result<Self, CompileError> {
        let bytes = std::fs::read(path)
            .map_err(|e| CompileError::Load { path: path.display().to_string(), reason: e.to_string() })?;
        let dir = path.parent().and_then(|d| d.to_str()).map(str::to_string);
        Self::build(&bytes, &path.display().to_string(), dir.as_deref(), dims)
    }

    /// Loads an ONNX model from memory; `name` is only used in errors.
    pub fn from_bytes(bytes: &[u8], name: &str, dims: &BTreeMap<String, usize>) -> Result<Self, CompileError> {
        Self::build(bytes, name, None, dims)
    }

    fn build(
        bytes: &[u8],
        name: &str,
        dir: Option<&str>,
        dims: &BTreeMap<String, usize>,
    ) -> Result<Self, CompileError> {
        let load_err = |reason: String| CompileError::Load { path: name.to_string(), reason };
        // tract indexes maps with names taken from the file, so a malformed graph can panic
        // inside it: contain that and report it as a load error.
        let guarded = |what: &str, f: &mut dyn FnMut() -> TractResult<()>| -> Result<(), CompileError> {
            match catch_unwind(AssertUnwindSafe(f)) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(load_err(crate::error::one_line(&format!("{what}: {e:#}")))),
                Err(_) => Err(load_err(format!("{what}: tract panicked on this graph"))),
            }
        };
        let onnx = tract_onnx::onnx();
        let mut proto: Option<ModelProto> = None;
        guarded("decoding protobuf", &mut || {
            proto = Some(onnx.proto_model_for_read(&mut &bytes[..])?);
            Ok(())
        })?;
        let mut proto = proto.ok_or_else(|| load_err("empty model".into()))?;
        // the original nodes name the layers; then the ops tract cannot load are rewritten
        let onnx_nodes = onnx_node_table(&proto);
        crate::legacy::rewrite(&mut proto)?;
        let mut inference: Option<InferenceModel> = None;
        guarded("building the graph", &mut || {
            let parsed = onnx.parse(&proto, dir)?;
            if !parsed.unresolved_inputs.is_empty() {
                return Err(TractError::msg(format!("unresolved inputs {:?}", parsed.unresolved_inputs)));
            }
            inference = Some(parsed.model);
            Ok(())
        })?;
        let mut inference = inference.ok_or_else(|| load_err("no graph".into()))?;
        let inputs = fix_input_shapes(&mut inference, dims)?;
        let mut typed: Option<TypedModel> = None;
        let typing = guarded("typing the graph", &mut || {
            typed = Some(inference.clone().into_typed()?);
            Ok(())
        });
        if let Err(e) = typing {
            // tract cannot type an op it does not know; name the op if it is one we reject anyway
            if let Some(unsupported) = unsupported_nodes(&onnx_nodes) {
                return Err(unsupported);
            }
            return Err(e);
        }
        let typed = typed.ok_or_else(|| load_err("no typed graph".into()))?;
        let mut plan: Option<Arc<TypedRunnableModel>> = None;
        let decluttered = guarded("planning float inference", &mut || {
            plan = Some(typed.clone().into_decluttered()?.into_runnable()?);
            Ok(())
        });
        if let Err(e) = decluttered {
            // tract's decluttering can fail on a graph it types (a large MLP); lowering reads the
            // typed graph, and the float oracle runs it undecluttered, only slower
            guarded("planning float inference", &mut || {
                plan = Some(typed.clone().into_runnable()?);
                Ok(())
            })
            .map_err(|_| e)?;
        }
        let plan = plan.ok_or_else(|| load_err("no plan".into()))?;
        Ok(OnnxModel { typed, plan, onnx_nodes, inputs })
    }

    /// Input names, in ONNX order.
    pub fn input_names(&self) -> Vec<String> {
        self.inputs.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Concrete input shapes, in ONNX order.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.inputs.iter().map(|(_, s)| s.clone()).collect()
    }

    /// Concrete output shapes, in ONNX order.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.typed
            .output_outlets()
            .unwrap_or(&[])
            .iter()
            .filter_map(|o| self.typed.outlet_fact(*o).ok())
            .map(|f| f.shape.as_concrete().map(<[usize]>::to_vec).unwrap_or_default())
            .collect()
    }

    /// Float inference with tract: one flat row-major vector per input, one per output.
    pub fn run_float(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>, CompileError> {
        let tensors = self.input_tensors(inputs)?;
        // tract panics on some inputs (an out-of-range OneHot index): report it, do not abort
        let run = catch_unwind(AssertUnwindSafe(|| self.plan.run(tensors)));
        let outputs = run
            .map_err(|_| CompileError::tract("running the float model", "tract panicked on this input"))?
            .map_err(|e| CompileError::tract("running the float model", e))?;
        flat_f32(&outputs, "reading an output")
    }
}

impl OnnxModel {
    /// The model inputs as tract tensors, checked against the model's input shapes.
    pub(crate) fn input_tensors(&self, inputs: &[Vec<f32>]) -> Result<TVec<TValue>, CompileError> {
        check_inputs(self.inputs.iter().map(|(n, s)| (n.as_str(), s.iter().product())), inputs.iter().map(Vec::len))?;
        let mut tensors = TVec::new();
        for (k, ((_, shape), data)) in self.inputs.iter().zip(inputs).enumerate() {
            let err = |e| CompileError::tract("building an input tensor", e);
            let mut t = Tensor::from_shape(shape, data).map_err(err)?;
            // an integer input (token ids) is given as floats, like every input
            if let Ok(fact) = self.typed.input_fact(k) {
                if fact.datum_type != f32::datum_type() {
                    t = t.cast_to_dt(fact.datum_type).map_err(err)?.into_owned();
                }
            }
            tensors.push(t.into_tvalue());
        }
        Ok(tensors)
    }
}

/// Tensors as flat row-major `f32` vectors (`what` labels a failure).
pub(crate) fn flat_f32(tensors: &[TValue], what: &str) -> Result<Vec<Vec<f32>>, CompileError> {
    tensors
        .iter()
        .map(|t| {
            let t = t.cast_to::<f32>().map_err(|e| CompileError::tract(what, e))?;
            let view = t.to_plain_array_view::<f32>().map_err(|e| CompileError::tract(what, e))?;
            Ok(view.iter().copied().collect())
        })
        .collect()
}

/// Checks the number and lengths of caller-supplied input tensors against `(name, len)` pairs.
pub(crate) fn check_inputs<'a>(
    expected: impl ExactSizeIterator<Item = (&'a str, usize)>,
    got: impl ExactSizeIterator<Item = usize>,
) -> Result<(), CompileError> {
    if expected.len() != got.len() {
        return Err(CompileError::InputCount { expected: expected.len(), got: got.len() });
    }
    for ((name, want), have) in expected.zip(got) {
        if want != have {
            return Err(CompileError::InputLength { input: name.to_string(), expected: want, got: have });
        }
    }
    Ok(())
}

/// `(node name as tract names it, op type)` for every ONNX node, in file order.
fn onnx_node_table(proto: &ModelProto) -> Vec<(String, String)> {
    let Some(graph) = &proto.graph else { return vec![] };
    graph
        .node
        .iter()
        .enumerate()
        // the same rule tract's parser uses to name a node
        .map(|(ix, n)| (crate::legacy::node_name(ix, n), n.op_type.clone()))
        .collect()
}

/// Replaces every model input fact by a concrete f32 shape: symbols take their value from
/// `dims`, or 1.
fn fix_input_shapes(
    model: &mut InferenceModel,
    dims: &BTreeMap<String, usize>,
) -> Result<Vec<(String, Vec<usize>)>, CompileError> {
    let shape_err = |tensor: &str, reason: String| CompileError::Shape { tensor: tensor.to_string(), reason };
    let outlets = model.input_outlets().map_err(|e| CompileError::tract("listing inputs", e))?.to_vec();
    let mut out = Vec::with_capacity(outlets.len());
    for (ix, outlet) in outlets.iter().enumerate() {
        let name = model.node(outlet.node).name.clone();
        let fact = model.outlet_fact(*outlet).map_err(|e| CompileError::tract("reading an input", e))?.clone();
        if fact.shape.is_open() {
            return Err(shape_err(&name, "input has no declared rank".into()));
        }
        let mut shape = Vec::new();
        for (axis, d) in fact.shape.dims().enumerate() {
            let Some(d) = d.concretize() else {
                // an unnamed dimension (skl2onnx's batch) is set as `<input>.<axis>`, default 1
                shape.push(dims.get(&format!("{name}.{axis}")).copied().unwrap_or(1));
                continue;
            };
            let mut values = SymbolValues::default();
            for s in d.symbols() {
                let v = dims.get(&s.to_string()).copied().unwrap_or(1);
                values.set(&s, v as i64);
            }
            let v = d
                .eval(&values)
                .to_i64()
                .map_err(|_| shape_err(&name, format!("dimension `{d}` does not evaluate to a number")))?;
            let v = usize::try_from(v).map_err(|_| shape_err(&name, format!("negative dimension {v}")))?;
            shape.push(v);
        }
        // float inputs are read as f32; an integer input (token ids, indices) or a boolean one (a
        // mask) keeps its type
        let dt = fact
            .datum_type
            .concretize()
            .filter(|dt| dt.is_integer() || *dt == DatumType::Bool)
            .unwrap_or(f32::datum_type());
        model.set_input_fact(ix, dt.fact(&shape).into()).map_err(|e| CompileError::tract("fixing input shapes", e))?;
        out.push((name, shape));
    }
    Ok(out)
}
