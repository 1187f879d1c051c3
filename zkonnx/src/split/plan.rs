//! Where to cut a compiled model, and each segment's circuit.
//!
//! Every segment takes the narrowest width whose predicted peak memory fits the budget (each
//! advice column of a segment costs the aggregation an in-circuit commitment multiplication, so
//! narrow is cheap to aggregate; but a lane's fixed and table columns span all `2^k` rows, so a
//! segment too big for one lane is cheaper wide), with the model's scales and tables,
//! the user's visibilities on the model's own inputs (first segment) and outputs (last), and
//! `hashed` boundaries between. Cuts fall only where a whole ONNX node ends
//! ([`zkonnx_ir::split::cut_points`]).

use zkonnx_aggregation::cost::{estimate_node, ProofShape};
use zkonnx_aggregation::Interface;
use zkonnx_circuits::cost::{fit_lookup_lanes, job_rows, Shape};
use zkonnx_circuits::{min_k_for_rows, CircuitParams};
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

/// What a segment may cost: its predicted peak memory, and its logrows.
#[derive(Clone, Copy, Debug)]
struct Budget {
    memory_mb: f64,
    max_logrows: u32,
    aggregation_k: u32,
}

/// A segment's layout: run args (width, logrows, visibilities) and predicted peak MiB.
struct Layout {
    args: RunArgs,
    mb: f64,
}

/// Estimates segments of one compiled graph fast: each node's lane rows come from one dry
/// layout of the whole graph ([`zkonnx_circuits::node_rows`]); a segment's rows at `w` lanes are
/// about its nodes' rows over `w` (the Poseidon chip's and the tables' rows are exact).
struct Planner<'a> {
    graph: &'a Graph,
    whole: &'a RunArgs,
    node_rows: Vec<usize>,
    budget: Budget,
}

impl<'a> Planner<'a> {
    fn new(graph: &'a Graph, whole: &'a RunArgs, budget: Budget) -> Result<Self> {
        let mut args = whole.clone();
        args.logrows = MAX_LOGROWS;
        let params = CircuitParams::for_graph(&args, graph);
        let node_rows = zkonnx_circuits::node_rows(graph, &params)?;
        Ok(Self { graph, whole, node_rows, budget })
    }

    /// The args of a segment at `lanes` lanes, every lane with lookups (the final layout may need
    /// fewer).
    fn args_at(&self, first: bool, last: bool, lanes: usize) -> RunArgs {
        let mut args = self.whole.clone();
        (args.input_visibility, args.output_visibility) = visibilities(self.whole, first, last);
        args.lanes = lanes;
        args.lookup_lanes = None;
        args.logrows = MAX_LOGROWS;
        args
    }

    /// The lane rows of the nodes from position `a` to `b` (with the constants they read): the
    /// segment's rows at one lane.
    fn lane_rows(&self, seg_inputs_checked: bool, a: usize, b: usize) -> usize {
        let g = self.graph;
        let mut rows: usize = (a..b).filter(|&i| computes(&g.nodes[i].op)).map(|i| self.node_rows[i]).sum();
        let mut consts = std::collections::BTreeSet::new();
        for node in &g.nodes[a..b] {
            if computes(&node.op) {
                consts.extend(
                    node.op.inputs().into_iter().filter(|&t| matches!(g.nodes[t].op, zkonnx_ir::Op::Const { .. })),
                );
            }
        }
        rows += consts.iter().map(|&c| self.node_rows[c]).sum::<usize>();
        if seg_inputs_checked {
            rows += g.inputs.iter().map(|&t| self.node_rows[t]).sum::<usize>();
        }
        rows
    }

    /// The layout of the segment between `a` and `b`: of the widths within the budget (its own
    /// peak, and that of a node aggregating two of it), the one with the least predicted time to
    /// prove it and to verify it in the aggregation (a wider segment proves faster but costs the
    /// aggregation more cells per commitment); the one with the least memory if none fits.
    /// `exact` lays the chosen width out for real (a search only estimates).
    fn layout(&self, a: usize, b: usize, exact: bool) -> Result<(Layout, bool)> {
        let n = self.graph.nodes.len();
        let seg = segment_between(self.graph, a, b)?;
        let (first, last) = (a == 0, b == n);
        let rows1 = self.lane_rows(first, a, b);
        let (mut best_fit, mut least): (Option<(f64, Layout)>, Option<Layout>) = (None, None);
        for lanes in 1..=zkonnx_ir::limits::MAX_LANES {
            let mut args = self.args_at(first, last, lanes);
            let params = CircuitParams::for_graph(&args, &seg);
            let est_rows = rows1.div_ceil(lanes) + FIRST_ROWS;
            let needs = est_rows.max(zkonnx_circuits::poseidon_rows(&seg, &params) + FIRST_ROWS);
            let k = min_k_for_rows(&seg, &params, needs);
            let shape = Shape::with_rows(&CircuitParams { k, ..params.clone() }, est_rows);
            let mb = shape.predicted_prove_mb().max(shape.predicted_setup_mb());
            let child = proof_shape(&shape);
            let node = estimate_node(&[child, child], self.budget.aggregation_k, 0);
            let share = estimate_node(&[child], self.budget.aggregation_k, 0);
            let seconds = shape.predicted_prove_seconds() + share.prove_seconds + share.keygen_seconds;
            args.logrows = k;
            let layout = Layout { args, mb: mb.max(node.prove_mb) };
            if k <= self.budget.max_logrows && layout.mb <= self.budget.memory_mb {
                if best_fit.as_ref().is_none_or(|(t, _)| seconds < *t) {
                    best_fit = Some((seconds, layout));
                }
            } else if least.as_ref().is_none_or(|l| layout.mb < l.mb) {
                least = Some(layout);
            }
            // wider only helps while the rows still set logrows
            if k <= self.whole.lookup_bits + 1 {
                break;
            }
        }
        let (layout, fits) = match (best_fit, least) {
            (Some((_, l)), _) => (l, true),
            (None, Some(l)) => (l, false),
            (None, None) => return Err(Error::Layout { reason: "no width to try".into() }),
        };
        Ok((if exact { self.exact(&seg, layout)? } else { layout }, fits))
    }

    /// `layout`'s width laid out for real: the fewest lookup lanes and the smallest logrows.
    fn exact(&self, seg: &Graph, layout: Layout) -> Result<Layout> {
        let params = CircuitParams::for_graph(&layout.args, seg);
        let lookup_rows = job_rows(seg, &params)?[0];
        let (params, rows) = fit_lookup_lanes(seg, params, Some(lookup_rows))?;
        let mut args = layout.args;
        args.logrows = params.k.max(args.lookup_bits + 1);
        args.lookup_lanes = Some(params.lookup_lane_count());
        let shape = Shape::with_rows(&params, rows);
        Ok(Layout { args, mb: shape.predicted_prove_mb().max(shape.predicted_setup_mb()) })
    }

    fn fits(&self, a: usize, b: usize) -> Result<bool> {
        Ok(self.layout(a, b, false)?.1)
    }
}

/// The empty first row every lane keeps.
const FIRST_ROWS: usize = 1;

/// What the aggregation's cost model needs of a segment's circuit.
fn proof_shape(s: &Shape) -> ProofShape {
    ProofShape::new(s.commitments(), s.fixed_columns + s.permutation_columns, Interface::segment(0, 0, 0))
}

/// Whether node `op` computes (belongs to the segment its position falls in).
fn computes(op: &zkonnx_ir::Op) -> bool {
    !matches!(op, zkonnx_ir::Op::Input { .. } | zkonnx_ir::Op::Const { .. })
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

/// The share of the available memory the planner gives one step when the policy names no budget.
const AVAILABLE_SHARE: f64 = 0.9;

/// The memory the planner may give one step: the policy's, else most of what is available.
fn budget_of(policy: &SplitPolicy, aggregation_k: u32) -> Budget {
    let available = crate::memory::available_mb().unwrap_or(f64::INFINITY);
    // by default 90% of what is available: the cost model's predictions err by about that much
    let available = AVAILABLE_SHARE * available;
    let (memory_mb, max_logrows) = match policy {
        SplitPolicy::Auto { max_memory_mb } => (max_memory_mb.unwrap_or(available), MAX_LOGROWS),
        SplitPolicy::MaxLogrows(k) => (available, *k),
        SplitPolicy::Segments(_) | SplitPolicy::After(_) => (available, MAX_LOGROWS),
    };
    Budget { memory_mb, max_logrows, aggregation_k }
}

/// The cut positions `policy` gives for `graph` compiled under `run_args`.
pub(crate) fn choose_cuts(
    graph: &Graph,
    run_args: &RunArgs,
    policy: &SplitPolicy,
    aggregation_k: u32,
) -> Result<Vec<usize>> {
    let n = graph.nodes.len();
    let points = cut_points(graph);
    let planner = Planner::new(graph, run_args, budget_of(policy, aggregation_k))?;
    match policy {
        SplitPolicy::After(names) => cuts_after(graph, &points, names),
        SplitPolicy::Segments(count) => balanced(&planner, &points, *count),
        SplitPolicy::Auto { .. } => {
            greedy(&planner, &points, &format!("{:.0} MiB of memory", planner.budget.memory_mb))
        }
        SplitPolicy::MaxLogrows(k) => greedy(&planner, &points, &format!("logrows {k}")),
    }
    .map(|cuts| cuts.into_iter().filter(|&c| c > 0 && c < n).collect())
}

/// As few segments as the budget allows: each segment extended to the furthest cut point at
/// which it still fits (a binary search; a segment's cost grows with its end).
fn greedy(planner: &Planner<'_>, points: &[usize], budget: &str) -> Result<Vec<usize>> {
    let graph = planner.graph;
    let n = graph.nodes.len();
    let mut ends: Vec<usize> = points.to_vec();
    ends.push(n);
    let mut cuts = Vec::new();
    let mut start = 0;
    while start < n {
        let candidates: Vec<usize> = ends.iter().copied().filter(|&e| e > start).collect();
        let (mut lo, mut hi) = (0usize, candidates.len());
        // the largest index whose end fits, if any: invariant fits(lo - 1), !fits(hi)
        while lo < hi {
            let mid = (lo + hi) / 2;
            if planner.fits(start, candidates[mid])? {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let Some(&end) = lo.checked_sub(1).and_then(|i| candidates.get(i)) else {
            let first = candidates.first().copied().unwrap_or(n);
            let name = graph.nodes.get(start..first).and_then(|s| s.iter().find(|node| computes(&node.op)));
            return Err(Error::Layout {
                reason: format!(
                    "cannot split within {budget}: nodes {start}..{first} (`{}`) alone do not fit; raise the budget, \
                     lower the scales or the lookup bits",
                    name.map_or("?", |node| node.name.as_str())
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

/// `count` segments of about equal lane rows.
fn balanced(planner: &Planner<'_>, points: &[usize], count: usize) -> Result<Vec<usize>> {
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
    let n = planner.graph.nodes.len();
    let rows = |a: usize, b: usize| planner.lane_rows(a == 0, a, b);
    let mut cuts = Vec::with_capacity(count - 1);
    let mut start = 0;
    for j in 0..count - 1 {
        let left = count - j;
        let target = rows(start, n) / left;
        // leave enough cut points for the segments after this one
        let usable: Vec<usize> = points.iter().copied().filter(|&p| p > start).collect();
        let usable = &usable[..usable.len().saturating_sub(left - 2)];
        let below = usable.iter().copied().take_while(|&p| rows(start, p) <= target).last();
        let above = usable.iter().copied().find(|&p| rows(start, p) > target);
        let end = match (below, above) {
            (Some(b), Some(a)) => {
                if target.abs_diff(rows(start, b)) <= rows(start, a).abs_diff(target) {
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

/// The compiled models of the segments `cuts` make of `whole`: each at the narrowest width within
/// the policy's budget.
pub(crate) fn compile_segments(
    whole: &CompiledModel,
    cuts: &[usize],
    policy: &SplitPolicy,
    aggregation_k: u32,
) -> Result<Vec<(Segment, CompiledModel)>> {
    let segments = zkonnx_ir::split(&whole.graph, cuts)?;
    let planner = Planner::new(&whole.graph, &whole.settings.run_args, budget_of(policy, aggregation_k))?;
    let n = whole.graph.nodes.len();
    let bounds: Vec<usize> = std::iter::once(0).chain(cuts.iter().copied()).chain(std::iter::once(n)).collect();
    segments
        .into_iter()
        .zip(bounds.windows(2))
        .map(|(s, w)| {
            let (layout, _) = planner.layout(w[0], w[1], true)?;
            let compiled = finish_compiled(s.graph.clone(), Settings::new(layout.args, Default::default()))?;
            Ok((s, compiled))
        })
        .collect()
}
