//! Cutting a graph into segments: a model too big for one circuit is proved as consecutive
//! segments, each its own circuit, linked through the tensors that cross each cut.
//!
//! A cut at position `p` ends a segment before node `p`. Segment `j` holds the computing nodes
//! (every op but `Input` and `Const`) between its cuts; the model's `Input` nodes belong to the
//! first segment, and a `Const` node is copied into every segment that reads it (constants are
//! part of each circuit, never carried).
//!
//! The boundary after segment `j` is every tensor computed up to it (model inputs included)
//! that a later segment reads or that is a model output, in tensor order: segment `j` outputs
//! exactly these, and segment `j + 1` takes them as its inputs, in the same order. A tensor
//! read several segments later passes through the segments between, unchanged (an input of
//! theirs that is also an output). The last segment's outputs are the model's outputs.
//!
//! Every segment after the first has [`Graph::linked_inputs`]: its inputs are not range-checked
//! (a boundary may carry any intermediate value); the circuits hash both sides of each boundary
//! and the aggregation checks that the two digests agree.

use serde::{Deserialize, Serialize};

use crate::{Graph, IrError, Node, Op, TensorId};

/// One segment of a split graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    /// The segment's own graph: its inputs are what it reads across the cut before it (the
    /// first segment: the model inputs), its outputs what crosses the cut after it (the last
    /// segment: the model outputs).
    pub graph: Graph,
    /// For each input of `graph`, the tensor of the whole graph it holds.
    pub carries_in: Vec<TensorId>,
    /// For each output of `graph`, the tensor of the whole graph it holds.
    pub carries_out: Vec<TensorId>,
}

/// Whether node `op` computes (belongs to the segment its position falls in).
fn computes(op: &Op) -> bool {
    !matches!(op, Op::Input { .. } | Op::Const { .. })
}

/// Splits `graph` before each node position in `cuts` (strictly increasing, each in
/// `1..nodes.len()`), into `cuts.len() + 1` segments. Every segment must compute something.
pub fn split(graph: &Graph, cuts: &[usize]) -> Result<Vec<Segment>, IrError> {
    graph.validate()?;
    let n = graph.nodes.len();
    let bad = |reason: String| Err(IrError::BadSplit { reason });
    if cuts.windows(2).any(|w| w[0] >= w[1]) || cuts.iter().any(|&c| c == 0 || c >= n) {
        return bad(format!("cut positions {cuts:?} must be strictly increasing and within 1..{n}"));
    }
    let bounds: Vec<(usize, usize)> =
        std::iter::once(0).chain(cuts.iter().copied()).zip(cuts.iter().copied().chain(std::iter::once(n))).collect();
    // the segment that computes each tensor (inputs: the first; constants: none)
    let mut owner = vec![None; n];
    for (j, &(lo, hi)) in bounds.iter().enumerate() {
        for (id, node) in graph.nodes.iter().enumerate().take(hi).skip(lo) {
            if computes(&node.op) {
                owner[id] = Some(j);
            }
        }
        if !graph.nodes[lo..hi].iter().any(|node| computes(&node.op)) {
            return bad(format!("segment {j} (nodes {lo}..{hi}) computes nothing"));
        }
    }
    for &t in &graph.inputs {
        owner[t] = Some(0);
    }
    // the last segment that reads each tensor (model outputs: past the last)
    let last = bounds.len() - 1;
    let mut last_use = vec![None::<usize>; n];
    for (id, node) in graph.nodes.iter().enumerate() {
        if let Some(j) = owner[id].filter(|_| computes(&node.op)) {
            for t in node.op.inputs() {
                last_use[t] = last_use[t].max(Some(j));
            }
        }
    }
    for &t in &graph.outputs {
        last_use[t] = Some(last + 1);
    }
    // boundary j: computed by segment <= j, used after j
    let boundary = |j: usize| -> Vec<TensorId> {
        (0..n).filter(|&t| owner[t].is_some_and(|o| o <= j) && last_use[t].is_some_and(|u| u > j)).collect()
    };
    let mut segments = Vec::with_capacity(bounds.len());
    let mut carries_in = graph.inputs.clone();
    for (j, &(lo, hi)) in bounds.iter().enumerate() {
        let carries_out = if j == last { graph.outputs.clone() } else { boundary(j) };
        let seg_graph = segment_graph(graph, (lo, hi), &carries_in, &carries_out, j > 0);
        segments.push(Segment { graph: seg_graph, carries_in: carries_in.clone(), carries_out: carries_out.clone() });
        carries_in = carries_out;
    }
    Ok(segments)
}

/// The graph of the segment computing nodes `lo..hi`, reading `carries_in` and producing
/// `carries_out` (tensors of `graph`).
fn segment_graph(
    graph: &Graph,
    (lo, hi): (usize, usize),
    carries_in: &[TensorId],
    carries_out: &[TensorId],
    linked: bool,
) -> Graph {
    let mut nodes: Vec<Node> = Vec::new();
    let mut local = vec![None::<TensorId>; graph.nodes.len()];
    for (index, &t) in carries_in.iter().enumerate() {
        let src = &graph.nodes[t];
        local[t] = Some(nodes.len());
        nodes.push(Node { op: Op::Input { index }, ..src.clone() });
    }
    let inputs = (0..carries_in.len()).collect();
    for id in lo..hi {
        let node = &graph.nodes[id];
        if !computes(&node.op) {
            continue;
        }
        for t in node.op.inputs() {
            if local[t].is_none() {
                // only constants are read without being carried in (the split's invariant)
                local[t] = Some(nodes.len());
                nodes.push(graph.nodes[t].clone());
            }
        }
        let mut copy = node.clone();
        copy.op.map_inputs(|t| local[t].unwrap_or(t));
        local[id] = Some(nodes.len());
        nodes.push(copy);
    }
    let mut outputs = Vec::with_capacity(carries_out.len());
    for &t in carries_out {
        let id = match local[t] {
            Some(id) => id,
            // a model output that is a constant
            None => {
                local[t] = Some(nodes.len());
                nodes.push(graph.nodes[t].clone());
                nodes.len() - 1
            }
        };
        outputs.push(id);
    }
    Graph { nodes, inputs, outputs, linked_inputs: linked }
}

/// Positions where a cut leaves whole ONNX nodes on both sides: before node `p` when node `p - 1`
/// computes and was lowered from another ONNX node than node `p` (a cut inside one ONNX node's
/// lowering would carry its internal, unrescaled intermediates).
pub fn cut_points(graph: &Graph) -> Vec<usize> {
    let mut last_computing: Option<&Node> = None;
    let mut out = Vec::new();
    for (p, node) in graph.nodes.iter().enumerate() {
        if !computes(&node.op) {
            continue;
        }
        if let Some(prev) = last_computing {
            if prev.name != node.name {
                out.push(p);
            }
        }
        last_computing = Some(node);
    }
    out
}

/// Tensors that cross a cut at each position of `points` (what the boundary there would
/// carry), without building the segments.
pub fn boundary_sizes(graph: &Graph, points: &[usize]) -> Vec<usize> {
    let n = graph.nodes.len();
    let mut last_use = vec![0usize; n];
    for (id, node) in graph.nodes.iter().enumerate() {
        if computes(&node.op) {
            for t in node.op.inputs() {
                last_use[t] = last_use[t].max(id);
            }
        }
    }
    for &t in &graph.outputs {
        last_use[t] = n;
    }
    points
        .iter()
        .map(|&p| {
            (0..n)
                .filter(|&t| {
                    let node = &graph.nodes[t];
                    let before = matches!(node.op, Op::Input { .. }) || (t < p && computes(&node.op));
                    before && last_use[t] >= p
                })
                .map(|t| graph.nodes[t].len())
                .sum()
        })
        .collect()
}

#[cfg(test)]
mod tests;
