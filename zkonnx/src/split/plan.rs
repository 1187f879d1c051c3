//! Where to cut a compiled model, and each segment's circuit.
//!
//! Every segment is a one-lane circuit (the narrowest: each advice column of a segment costs
//! the aggregation an in-circuit commitment multiplication), with the model's scales and tables,
//! the user's visibilities on the model's own inputs (first segment) and outputs (last), and
//! `hashed` boundaries between. Cuts fall only where a whole ONNX node ends
//! ([`zkonnx_ir::split::cut_points`]).

use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::{min_k_for_rows, try_rows_needed, CircuitParams};
use zkonnx_ir::limits::MAX_LOGROWS;
use zkonnx_ir::split::cut_points;
use zkonnx_ir::{Graph, RunArgs, Segment, Settings, Visibility};
use zkonnx_verifier::CompiledModel;

use crate::layout::finish_compiled;
use crate::{Error, Result};

/// How to choose the cuts.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum SplitPolicy {
    /// As few segments as keep each one's predicted proving memory within `max_memory_mb`
    /// (`None`: the memory available, [`crate::memory::available_mb`]).
    Auto { max_memory_mb: Option<f64> },
    /// Exactly this many segments, of about equal rows.
    Segments(usize),
    /// As few segments as keep each within `2^k` rows.
    MaxLogrows(u32),
    /// A cut after each named ONNX node, in the model's order.
    After(Vec<String>),
}

impl std::str::FromStr for SplitPolicy {
    type Err = Error;
    /// `auto` or a number of segments (the CLI's `--split`).
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(SplitPolicy::Auto { max_memory_mb: None }),
            n => match n.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(SplitPolicy::Segments(n)),
                _ => Err(Error::Option {
                    option: "--split".into(),
                    reason: format!("`{s}`: expected auto or a number of segments (at least 1)"),
                }),
            },
        }
    }
}

/// The visibilities of segment `j` of `n`: the user's on the model's own inputs and outputs,
/// `hashed` at every boundary.
fn visibilities(run_args: &RunArgs, first: bool, last: bool) -> (Visibility, Visibility) {
    let input = if first { run_args.input_visibility } else { Visibility::Hashed };
    let output = if last { run_args.output_visibility } else { Visibility::Hashed };
    (input, output)
}

/// A segment's run args (one lane, the smallest logrows that fits) and layout rows.
fn segment_args(graph: &Graph, whole: &RunArgs, first: bool, last: bool) -> Result<(RunArgs, usize)> {
    let mut args = whole.clone();
    (args.input_visibility, args.output_visibility) = visibilities(whole, first, last);
    args.lanes = 1;
    args.lookup_lanes = Some(1);
    args.logrows = MAX_LOGROWS;
    let params = CircuitParams::for_graph(&args, graph);
    let rows = try_rows_needed(graph, &params)?;
    args.logrows = min_k_for_rows(graph, &params, rows).max(args.lookup_bits + 1);
    Ok((args, rows))
}

/// The predicted cost of a segment: its logrows and peak proving memory (MiB).
fn segment_cost(graph: &Graph, whole: &RunArgs, first: bool, last: bool) -> Result<(u32, f64)> {
    let (args, rows) = segment_args(graph, whole, first, last)?;
    let shape = Shape::with_rows(&CircuitParams::for_graph(&args, graph), rows);
    Ok((args.logrows, shape.predicted_prove_mb().max(shape.predicted_setup_mb())))
}

/// The segment computing the nodes from cut position `a` to `b` (`b` = the graph's length for
/// the last), built alone.
fn segment_between(graph: &Graph, a: usize, b: usize) -> Result<Graph> {
    let n = graph.nodes.len();
    let cuts: Vec<usize> = [a, b].into_iter().filter(|&c| c > 0 && c < n).collect();
    let segments = zkonnx_ir::split(graph, &cuts)?;
    let index = usize::from(a > 0);
    segments
        .into_iter()
        .nth(index)
        .map(|s| s.graph)
        .ok_or_else(|| Error::Layout { reason: format!("no segment between positions {a} and {b}") })
}

/// The cut positions `policy` gives for `graph` compiled under `run_args`.
pub(crate) fn choose_cuts(graph: &Graph, run_args: &RunArgs, policy: &SplitPolicy) -> Result<Vec<usize>> {
    let n = graph.nodes.len();
    let points = cut_points(graph);
    match policy {
        SplitPolicy::After(names) => cuts_after(graph, &points, names),
        SplitPolicy::Segments(count) => balanced(graph, run_args, &points, *count),
        SplitPolicy::Auto { max_memory_mb } => {
            let budget = max_memory_mb.or_else(crate::memory::available_mb).unwrap_or(f64::INFINITY);
            greedy(graph, run_args, &points, |_, mb| mb <= budget, &format!("{budget:.0} MiB of memory"))
        }
        SplitPolicy::MaxLogrows(k) => {
            greedy(graph, run_args, &points, |logrows, _| logrows <= *k, &format!("logrows {k}"))
        }
    }
    .map(|cuts| cuts.into_iter().filter(|&c| c > 0 && c < n).collect())
}

/// As few segments as `fits(logrows, MiB)` allows: each segment extended to the furthest cut
/// point at which it still fits (a binary search; a segment's cost grows with its end).
fn greedy(
    graph: &Graph,
    run_args: &RunArgs,
    points: &[usize],
    fits: impl Fn(u32, f64) -> bool,
    budget: &str,
) -> Result<Vec<usize>> {
    let n = graph.nodes.len();
    let mut ends: Vec<usize> = points.to_vec();
    ends.push(n);
    let mut cuts = Vec::new();
    let mut start = 0;
    while start < n {
        let candidates: Vec<usize> = ends.iter().copied().filter(|&e| e > start).collect();
        let ok = |e: usize| -> Result<bool> {
            let g = segment_between(graph, start, e)?;
            let (logrows, mb) = segment_cost(&g, run_args, start == 0, e == n)?;
            Ok(fits(logrows, mb))
        };
        let (mut lo, mut hi) = (0usize, candidates.len());
        // the largest index whose end fits, if any: invariant fits(lo - 1), !fits(hi)
        while lo < hi {
            let mid = (lo + hi) / 2;
            if ok(candidates[mid])? {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some(&end) = lo.checked_sub(1).and_then(|i| candidates.get(i)) else {
            let first = candidates.first().copied().unwrap_or(n);
            let names: Vec<&str> = graph.nodes[start..first].iter().map(|node| node.name.as_str()).collect();
            return Err(Error::Layout {
                reason: format!(
                    "cannot split within {budget}: nodes {start}..{first} ({}) alone do not fit; raise the budget, \
                     lower the scales or the lookup bits",
                    names.first().copied().unwrap_or("?")
                ),
            });
        };
        if end < n {
            cuts.push(end);
        }
        start = end;
    }
    Ok(cuts)
}

/// `count` segments of about equal layout rows.
fn balanced(graph: &Graph, run_args: &RunArgs, points: &[usize], count: usize) -> Result<Vec<usize>> {
    if count == 0 || count > points.len() + 1 {
        return Err(Error::Option {
            option: "--split".into(),
            reason: format!(
                "{count} segments: the model has {} places to cut (at most {} segments)",
                points.len(),
                points.len() + 1
            ),
        });
    }
    let n = graph.nodes.len();
    let rows = |a: usize, b: usize| -> Result<usize> {
        let g = segment_between(graph, a, b)?;
        Ok(segment_args(&g, run_args, a == 0, b == n)?.1)
    };
    let mut cuts = Vec::with_capacity(count - 1);
    let mut start = 0;
    for j in 0..count - 1 {
        let left = count - j;
        let target = rows(start, n)? / left;
        // leave enough cut points for the segments after this one
        let usable: Vec<usize> = points.iter().copied().filter(|&p| p > start).collect();
        let usable = &usable[..usable.len().saturating_sub(left - 2)];
        let (mut lo, mut hi) = (0usize, usable.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if rows(start, usable[mid])? <= target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        // the end nearest the target: the last at or below it, or the first above
        let below = lo.checked_sub(1).map(|i| usable[i]);
        let above = usable.get(lo).copied();
        let end = match (below, above) {
            (Some(b), Some(a)) => {
                let (rb, ra) = (rows(start, b)?, rows(start, a)?);
                if target.abs_diff(rb) <= ra.abs_diff(target) {
                    b
                } else {
                    a
                }
            }
            (Some(b), None) => b,
            (None, Some(a)) => a,
            (None, None) => return Err(Error::Layout { reason: format!("no cut point left for segment {j}") }),
        };
        cuts.push(end);
        start = end;
    }
    Ok(cuts)
}

/// A cut after the last node lowered from each named ONNX node.
fn cuts_after(graph: &Graph, points: &[usize], names: &[String]) -> Result<Vec<usize>> {
    let mut cuts = Vec::with_capacity(names.len());
    for name in names {
        let last = graph.nodes.iter().rposition(|n| &n.name == name).ok_or_else(|| Error::Option {
            option: "--cut".into(),
            reason: format!("no node named `{name}` (`zkonnx table` lists the model's nodes)"),
        })?;
        // the first cut point after it (constants may follow the node)
        let cut = points.iter().copied().find(|&p| p > last).ok_or_else(|| Error::Option {
            option: "--cut".into(),
            reason: format!("`{name}` is the model's last node: nothing to cut after it"),
        })?;
        if cuts.last().is_some_and(|&c| c >= cut) {
            return Err(Error::Option {
                option: "--cut".into(),
                reason: format!("`{name}` does not come after the cut before it: name the cuts in the model's order"),
            });
        }
        cuts.push(cut);
    }
    Ok(cuts)
}

/// The compiled models of the segments `cuts` make of `whole`.
pub(crate) fn compile_segments(whole: &CompiledModel, cuts: &[usize]) -> Result<Vec<(Segment, CompiledModel)>> {
    let segments = zkonnx_ir::split(&whole.graph, cuts)?;
    let n = segments.len();
    segments
        .into_iter()
        .enumerate()
        .map(|(j, s)| {
            let (args, _) = segment_args(&s.graph, &whole.settings.run_args, j == 0, j + 1 == n)?;
            let compiled = finish_compiled(s.graph.clone(), Settings::new(args, Default::default()))?;
            Ok((s, compiled))
        })
        .collect()
}
