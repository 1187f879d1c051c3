//! Tree ensembles (ONNX-ML `TreeEnsembleClassifier`, as skl2onnx exports random forests and
//! gradient boosting) and the class-label lookup after them, exact compositions of ReLU and
//! linear maps (no new constraints):
//!
//! - each branch `x[f] <= t` (or `<`, `>=`, `>`) is a 0/1 bit `[±x[f] + c >= 1]` on the
//!   quantized input, with the threshold rounded the way that keeps the comparison exact for
//!   every representable `x` (`x <= t` ⇔ `x_q <= ⌊t·2^s⌋`, `x < t` ⇔ `x_q < ⌈t·2^s⌉`);
//! - a leaf is reached when every branch on its path went its way: with `m` = the number of
//!   branches on the path, `s = Σ (went true ? bit : 1 - bit) - (m - 1)` is 1 on the reached
//!   leaf and at most 0 on every other one, so `relu(s)` is the leaf's exact one-hot
//!   (the hummingbird "GEMM" formulation, with an exact ReLU instead of a float equality);
//! - the scores are a linear map of the one-hots with the leaves' weights, summed over trees.
//!
//! Cost: per sample, two ReLU rows per branch and one per leaf, then one linear map.
//! `DirectLookup` (the class label of the arg-max) is the identity for labels `0..n`, and an
//! exact one-hot gather (see `embedding`) otherwise.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer};
use tract_onnx::tract_core::ops::EvalOp;
use tract_onnx_opl::ml::tree::{Aggregate, Cmp, TreeEnsemble};
use tract_onnx_opl::ml::tree_ensemble_classifier::TreeEnsembleClassifier;
use tract_onnx_opl::ml::DirectLookup;
use zkonnx_ir::{Linear, LinearRow, Op, TensorId};

use crate::lower::{ConstVal, Lowerer, NodeCx, Value};
use crate::ops::activation::relu;
use crate::ops::linear::{PendingLinear, RowF};
use crate::ops::logic::step;
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[OpSupport {
    op: "TreeEnsembleClassifier",
    family: "tree",
    forms: "[N, F] input, LEQ/LT/GTE/GT branches, exact; post_transform NONE, SOFTMAX, LOGISTIC",
    limits: "BRANCH_EQ / BRANCH_NEQ branches; class labels that are not numbers (UnsupportedAttribute)",
}];

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    if let Some(op) = node.op_as::<TreeEnsembleClassifier>() {
        return ensemble(lw, &op.ensemble, cx).map(Some);
    }
    if let Some(op) = node.op_as::<DirectLookup>() {
        return direct_lookup(lw, op, cx).map(Some);
    }
    Ok(None)
}

/// One tree node, read from tract's packed tables.
enum TreeNode {
    Branch {
        cmp: Cmp,
        feature: usize,
        value: f32,
        yes: usize,
        no: usize,
    },
    /// The range of this leaf's `(class, weight)` votes.
    Leaf {
        votes: std::ops::Range<usize>,
    },
}

/// The ensemble's nodes, tree roots and votes, checked.
struct Forest {
    nodes: Vec<TreeNode>,
    roots: Vec<usize>,
    votes: Vec<(usize, f64)>,
}

fn read_forest(e: &TreeEnsemble, cx: &NodeCx) -> Result<Forest, CompileError> {
    let bad = |what: String| cx.shape_err(format!("tree ensemble: {what}"));
    let u32s = |t: &Tensor| -> Result<Vec<u32>, CompileError> {
        let t = t.cast_to::<u32>().map_err(|e| bad(format!("{e}")))?;
        t.try_as_plain_ram().and_then(|r| r.as_slice::<u32>().map(<[u32]>::to_vec)).map_err(|e| bad(format!("{e}")))
    };
    let (raw_nodes, raw_leaves) = (u32s(&e.data.nodes)?, u32s(&e.data.leaves)?);
    let roots: Vec<usize> = u32s(&e.data.trees)?.into_iter().map(|r| r as usize).collect();
    let votes: Vec<(usize, f64)> =
        raw_leaves.chunks_exact(2).map(|v| (v[0] as usize, f64::from(f32::from_bits(v[1])))).collect();
    let mut nodes = Vec::with_capacity(raw_nodes.len() / 5);
    for row in raw_nodes.chunks_exact(5) {
        let cmp = match row[4] & 0xff {
            0 => None,
            5 => Some(Cmp::LessEqual),
            3 => Some(Cmp::Less),
            6 => Some(Cmp::GreaterEqual),
            4 => Some(Cmp::Greater),
            other => return Err(cx.unsupported(format!("tree branch mode {other} (BRANCH_EQ / BRANCH_NEQ)"))),
        };
        nodes.push(match cmp {
            Some(cmp) => TreeNode::Branch {
                cmp,
                feature: row[0] as usize,
                yes: row[1] as usize,
                no: row[2] as usize,
                value: f32::from_bits(row[3]),
            },
            None => TreeNode::Leaf { votes: row[0] as usize..row[1] as usize },
        });
    }
    let n = nodes.len();
    for node in &nodes {
        match node {
            TreeNode::Branch { yes, no, .. } if *yes >= n || *no >= n => return Err(bad("a branch to no node".into())),
            TreeNode::Leaf { votes: v } if v.start > v.end || v.end > votes.len() => {
                return Err(bad("a leaf with no votes table".into()))
            }
            _ => {}
        }
    }
    if roots.iter().any(|&r| r >= n) || votes.iter().any(|&(c, _)| c >= e.n_classes) {
        return Err(bad("a tree root or class out of range".into()));
    }
    Ok(Forest { nodes, roots, votes })
}

/// A leaf's node and its path from the root: `(branch node, went the "true" way)`.
type LeafPath = (usize, Vec<(usize, bool)>);

/// Every leaf of the tree at `root` with its path.
fn leaves(forest: &Forest, root: usize, cx: &NodeCx) -> Result<Vec<LeafPath>, CompileError> {
    let mut out = Vec::new();
    let mut stack = vec![(root, Vec::new())];
    while let Some((id, path)) = stack.pop() {
        // a tree has fewer leaves than nodes; more paths means shared nodes or a cycle
        if path.len() > forest.nodes.len() || out.len() + stack.len() > forest.nodes.len() {
            return Err(cx.shape_err("tree ensemble: a tree with a cycle or shared nodes"));
        }
        match &forest.nodes[id] {
            TreeNode::Leaf { .. } => out.push((id, path)),
            TreeNode::Branch { yes, no, .. } => {
                for (next, way) in [(*no, false), (*yes, true)] {
                    let mut p = path.clone();
                    p.push((id, way));
                    stack.push((next, p));
                }
            }
        }
    }
    Ok(out)
}

/// The ensemble's class scores `[N, classes]` (before tract's base values and post-transform,
/// which follow as ordinary nodes).
fn ensemble(lw: &mut Lowerer<'_>, e: &TreeEnsemble, cx: &NodeCx) -> Result<Value, CompileError> {
    if e.aggregate_fn != Aggregate::Sum {
        return Err(cx.unsupported(format!("tree aggregation {:?}", e.aggregate_fn)));
    }
    let forest = read_forest(e, cx)?;
    let x_outlet = *cx.inputs.first().ok_or_else(|| cx.shape_err("a tree ensemble needs an input"))?;
    let x_shape = lw.outlet_shape(x_outlet)?;
    let [batch, features] = x_shape[..] else { return Err(cx.shape_err(format!("tree input {x_shape:?}"))) };
    let x = lw.operand(x_outlet, cx)?;
    let x = lw.rescale_to_activation(x);
    let branches: Vec<usize> =
        (0..forest.nodes.len()).filter(|&i| matches!(forest.nodes[i], TreeNode::Branch { .. })).collect();
    let mut slot = vec![0u32; forest.nodes.len()];
    for (k, &b) in branches.iter().enumerate() {
        slot[b] = k as u32;
    }
    let bits = branch_bits(lw, x, &forest, &branches, [batch, features], cx)?;
    // leaf selectors, then scores
    let mut paths = Vec::new();
    for &root in &forest.roots {
        paths.extend(leaves(&forest, root, cx)?);
    }
    let nb = branches.len();
    let mut weights = vec![1i64, -1];
    let mut rows = Vec::with_capacity(batch * paths.len());
    for b in 0..batch {
        for (_, path) in &paths {
            let terms = path.iter().map(|&(n, way)| ((b * nb) as u32 + slot[n], u32::from(!way))).collect();
            let bias = path.iter().filter(|(_, way)| !way).count() as i64 + 1 - path.len() as i64;
            weights.push(bias);
            rows.push(LinearRow { terms, bias: Some(weights.len() as u32 - 1) });
        }
    }
    let lcx = NodeCx { shape: vec![batch, paths.len()], ..cx.clone() };
    let s = lw.emit(&cx.name, &cx.origin, Op::Linear(Linear { input: bits, weights, rows }), lcx.shape.clone(), 0);
    let onehot = relu(lw, s, &lcx);
    let mut p = PendingLinear::new(onehot, cx.shape.clone(), cx);
    let classes = e.n_classes;
    let mut per_class = vec![vec![0f64; classes]; paths.len()];
    for (l, (leaf, _)) in paths.iter().enumerate() {
        if let TreeNode::Leaf { votes } = &forest.nodes[*leaf] {
            for &(c, w) in &forest.votes[votes.clone()] {
                per_class[l][c] += w;
            }
        }
    }
    p.weights = per_class.iter().flatten().copied().collect();
    for b in 0..batch {
        for c in 0..classes {
            let terms = (0..paths.len()).map(|l| ((b * paths.len() + l) as u32, (l * classes + c) as u32)).collect();
            p.rows.push(RowF { terms, bias: None });
        }
    }
    Ok(Value::Pending(Box::new(p)))
}

/// The 0/1 outcome of every branch on every sample, `[batch, branches]` at scale 0.
fn branch_bits(
    lw: &mut Lowerer<'_>,
    x: TensorId,
    forest: &Forest,
    branches: &[usize],
    [batch, features]: [usize; 2],
    cx: &NodeCx,
) -> Result<TensorId, CompileError> {
    let s = lw.scale(x);
    // the range the circuit checks activations to (two limbs: twice the table's bits)
    let half = 1i64 << (lw.args.range_bits().clamp(2, 62) - 1);
    let (lo, hi) = (-half, half - 1);
    // weights: +1 and -1 (scale 0), then the constants c at x's scale
    let mut weights = vec![1i64, -1];
    let mut rows = Vec::with_capacity(batch * branches.len());
    for b in 0..batch {
        for &n in branches {
            let TreeNode::Branch { cmp, feature, value, .. } = forest.nodes[n] else { continue };
            if feature >= features {
                return Err(cx.shape_err(format!("a branch reads feature {feature} of {features}")));
            }
            // a threshold beyond the activation range compares like one just outside it
            let t = f64::from(value) * f64::from(1u32 << s.min(31));
            let within = |v: f64| v.clamp(lo as f64 - 2.0, hi as f64 + 2.0) as i64;
            let (floor, ceil) = (within(t.floor()), within(t.ceil()));
            // bit = [±x + c >= 1]; `w` picks the +1 (index 0) or -1 (index 1) weight
            let (w, c) = match cmp {
                Cmp::LessEqual => (1, floor + 1),
                Cmp::Less => (1, ceil),
                Cmp::GreaterEqual => (0, 1 - ceil),
                _ => (0, -floor), // Greater
            };
            weights.push(c);
            let term = ((b * features + feature) as u32, w);
            rows.push(LinearRow { terms: vec![term], bias: Some(weights.len() as u32 - 1) });
        }
    }
    let bcx = NodeCx { shape: vec![batch, branches.len()], ..cx.clone() };
    let d = lw.emit(&cx.name, &cx.origin, Op::Linear(Linear { input: x, weights, rows }), bcx.shape.clone(), s);
    Ok(step(lw, d, &bcx))
}

/// `labels[i]` for a computed class index `i` (the arg-max of the scores).
fn direct_lookup(lw: &mut Lowerer<'_>, op: &DirectLookup, cx: &NodeCx) -> Result<Value, CompileError> {
    let idx = *cx.inputs.first().ok_or_else(|| cx.shape_err("a label lookup needs an index"))?;
    let n = index_bound(lw.model, idx)
        .ok_or_else(|| cx.unsupported("a label lookup by an index that is not an arg-max"))?;
    let probe = tract_onnx::prelude::tract_ndarray::Array1::from_iter(0..n as i32).into_tensor();
    let labels = op
        .eval_out_of_plan(tvec![probe.into_tvalue()])
        .ok()
        .flatten()
        .and_then(|out| out.first().and_then(|t| t.cast_to::<f64>().ok().map(|t| t.into_owned())))
        .and_then(|t| t.try_as_plain_ram().ok().and_then(|r| r.as_slice::<f64>().ok().map(<[f64]>::to_vec)))
        .ok_or_else(|| cx.unsupported("class labels that are not numbers"))?;
    if labels.iter().enumerate().all(|(i, &l)| l == i as f64) {
        let t = lw.operand(idx, cx)?;
        return Ok(Value::Tensor(t));
    }
    let table = ConstVal { shape: vec![n], data: labels };
    let gcx = NodeCx { inputs: vec![idx, idx], ..cx.clone() };
    crate::ops::embedding::gather_computed(lw, 0, Some(&table), &gcx)
}

/// The number of values an integer outlet can take when it is an arg-max / arg-min index
/// (through reshapes and casts): the reduced axis's length.
pub(crate) fn index_bound(model: &TypedModel, outlet: OutletId) -> Option<usize> {
    let mut outlet = outlet;
    for _ in 0..16 {
        let node = model.node(outlet.node);
        if let Some(r) = node.op_as::<Reduce>() {
            if !matches!(r.reducer, Reducer::ArgMax(_) | Reducer::ArgMin(_)) || r.axes.len() != 1 {
                return None;
            }
            let fact = model.outlet_fact(*node.inputs.first()?).ok()?;
            return fact.shape.as_concrete()?.get(r.axes[0]).copied();
        }
        let passes = node.op_as::<AxisOp>().is_some() || node.op_is::<tract_onnx::tract_core::ops::cast::Cast>();
        if !passes {
            return None;
        }
        outlet = *node.inputs.first()?;
    }
    None
}
