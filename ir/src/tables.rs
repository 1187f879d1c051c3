//! Function tables sized to what calibration saw.
//!
//! The compiler gives each lookup the domain its input *can* reach (for a plain function, the
//! whole activation range: `2^B` rows), which on a small model is far more than the layout
//! needs: an InstanceNormalization's reciprocal square root alone set logrows 16 for 38 rows of
//! work. [`sampled_domains`] narrows each lookup to the range its input *did* reach on the
//! calibration samples, widened by a margin, and [`Graph::apply_table_domains`] puts those
//! domains into the graph (the settings carry them as [`RunArgs::table_domains`], so every
//! compile of the same settings builds the same tables and keys).
//!
//! The margin: with the sampled range `[a, b]`, the table covers
//! `[a - m·w, b + m·w]` with `w = max(b - a, 2^in_scale)` (at least one unit of the input), clipped
//! to the compiler's domain. [`DEFAULT_TABLE_MARGIN`] (1: three times the sampled width, and a unit
//! of headroom either side of a constant input) is the default; an infinite margin keeps the
//! compiler's domains. For `log`, `sqrt` and `1/sqrt`, whose tables hold a placeholder 0 below
//! 0, the margin stops at 0 when no sample was negative.
//!
//! Pieces: a function tabulated point by point next to a pole and interpolated beside it (the
//! compiler's `fine_region`) reads `x` clamped to each piece; each piece names `x`
//! ([`Func::clamped_from`]), and its domain is `x`'s sampled range widened by the margin, then
//! clamped to the piece. A piece that range does not reach keeps the one row where it parks.
//!
//! Soundness does not depend on the domain: a lookup proves `(x, f(x))` is a row of the table,
//! so a narrower table only rejects more inputs. An input outside the sampled domain at proving
//! time fails in the interpreter (and the circuit would not accept it) with
//! [`IrError::OutOfTable`], which names the node and the domain.
//!
//! Sharing: several lookups of the same function (same kind, scales, constant and compiler
//! domain) whose narrowed domains overlap or touch get their union, so the graph has one table
//! for them ([`Graph::funcs`] lists each distinct function once). Disjoint domains stay apart:
//! the union of two disjoint intervals costs the gap between them in rows, two tables cost
//! nothing extra (the circuit holds every function in one tagged table).
//! [`RunArgs::table_domains`]: crate::RunArgs::table_domains

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Func, FuncKind, Graph, IrError, Op, Trace};

/// The default safety margin around sampled table domains (see the module docs).
pub const DEFAULT_TABLE_MARGIN: f64 = 1.0;

/// The domain of one lookup's table, in the order of the graph's lookup nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDomain {
    /// The function (checked against the lookup node it is applied to).
    pub kind: FuncKind,
    /// Smallest input in the table.
    pub lo: i64,
    /// Largest input in the table.
    pub hi: i64,
}

/// Each lookup node's table domain from `traces` (runs of `graph` on calibration samples):
/// the sampled range widened by `margin`, clipped to the compiler's domain, then merged with
/// the overlapping domains of the same function (see the module docs). A lookup that no trace
/// reached keeps the compiler's domain. `None` when the graph has no lookups.
pub fn sampled_domains(graph: &Graph, traces: &[Trace], margin: f64) -> Option<Vec<TableDomain>> {
    let lookups = lookup_nodes(graph);
    if lookups.is_empty() {
        return None;
    }
    let mut domains: Vec<(Func, i64, i64)> = lookups
        .iter()
        .map(|&(input, func)| {
            let source = func.clamped_from.unwrap_or(input);
            let seen = traces.iter().filter_map(|t| t.values.get(source)).flatten().copied();
            let range =
                seen.fold(None, |r: Option<(i64, i64)>, v| Some(r.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))));
            let (lo, hi) = match range {
                Some((a, b)) if margin.is_finite() && margin >= 0.0 => match func.clamped_from {
                    None => widen(&func, a, b, margin),
                    Some(x) => {
                        let x_scale = graph.nodes.get(x).map_or(func.in_scale, |n| n.scale);
                        piece_of_widened(&func, x_scale, (a, b), margin)
                    }
                },
                _ => (func.lo, func.hi),
            };
            (func, lo, hi)
        })
        .collect();
    merge_overlapping(&mut domains);
    Some(domains.into_iter().map(|(f, lo, hi)| TableDomain { kind: f.kind, lo, hi }).collect())
}

/// `[a, b]` widened by `margin` times its width (at least one unit of the input's scale) and
/// clipped to `func`'s domain; not below 0 for a function undefined there when no sample was
/// ([`undefined_below_zero`]).
fn widen(func: &Func, a: i64, b: i64, margin: f64) -> (i64, i64) {
    let unit = 1i128 << func.in_scale.min(62);
    let width = (i128::from(b) - i128::from(a)).max(unit);
    let m = (margin * width as f64).ceil().min(1e30) as i128;
    let floor = if undefined_below_zero(func.kind) && a >= 0 { 0 } else { i128::from(func.lo) };
    let lo = (i128::from(a) - m).max(i128::from(func.lo)).max(floor);
    let hi = (i128::from(b) + m).min(i128::from(func.hi));
    // both lie within func's domain, so they fit an i64
    (lo as i64, hi as i64)
}

/// The domain of a piece ([`Func::clamped_from`]) whose source tensor, at `x_scale`, was sampled
/// in `[a, b]`: that range widened as a plain lookup's would be ([`widen`], at the source's scale
/// and without the piece's bounds), clamped to the piece (its bounds read at the source's scale)
/// and read back at the piece's input scale (a piece at knots `2^k` source units apart takes
/// `floor(x / 2^k)`). A piece the widened range misses keeps the one row where it parks.
fn piece_of_widened(piece: &Func, x_scale: u32, (a, b): (i64, i64), margin: f64) -> (i64, i64) {
    let shift = x_scale.saturating_sub(piece.in_scale).min(62);
    let whole = Func { in_scale: x_scale, lo: i64::MIN, hi: i64::MAX, ..*piece };
    let (lo, hi) = widen(&whole, a, b, margin);
    let (from, to) = (i128::from(piece.lo) << shift, (i128::from(piece.hi) << shift) + (1i128 << shift) - 1);
    let clamp = |v: i64| ((i128::from(v).clamp(from, to)) >> shift) as i64;
    (clamp(lo).max(piece.lo), clamp(hi).min(piece.hi))
}

/// Whether `kind` has no real value below 0 (its table holds 0 there, see [`crate::func`]): a
/// margin below 0 would only add rows of that placeholder (the log's margin once doubled its
/// table).
fn undefined_below_zero(kind: FuncKind) -> bool {
    matches!(kind, FuncKind::Log | FuncKind::Sqrt | FuncKind::Rsqrt)
}

/// Merges, per function (the compiler's [`Func`], domain included), the domains that overlap
/// or touch, in place.
fn merge_overlapping(domains: &mut [(Func, i64, i64)]) {
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..domains.len() {
        let first = (0..=i).find(|&j| domains[j].0 == domains[i].0).unwrap_or(i);
        groups.entry(first).or_default().push(i);
    }
    for members in groups.values() {
        let mut sorted = members.clone();
        sorted.sort_by_key(|&i| domains[i].1);
        let mut run: Vec<usize> = Vec::new();
        let mut run_hi = i64::MIN;
        for &i in &sorted {
            let (_, lo, hi) = domains[i];
            if !run.is_empty() && i128::from(lo) > i128::from(run_hi) + 1 {
                set_union(domains, &run);
                run.clear();
            }
            run_hi = if run.is_empty() { hi } else { run_hi.max(hi) };
            run.push(i);
        }
        set_union(domains, &run);
    }
}

fn set_union(domains: &mut [(Func, i64, i64)], run: &[usize]) {
    let lo = run.iter().map(|&i| domains[i].1).min();
    let hi = run.iter().map(|&i| domains[i].2).max();
    if let (Some(lo), Some(hi)) = (lo, hi) {
        for &i in run {
            domains[i].1 = lo;
            domains[i].2 = hi;
        }
    }
}

/// The lookup nodes' inputs and functions, in node order.
fn lookup_nodes(graph: &Graph) -> Vec<(usize, Func)> {
    graph
        .nodes
        .iter()
        .filter_map(|n| match &n.op {
            Op::Lookup { input, func } => Some((*input, *func)),
            _ => None,
        })
        .collect()
}

impl Graph {
    /// Narrows each lookup's table to `domains` (one per lookup node, in node order, as
    /// [`sampled_domains`] gives them). Each must be the same function and lie within the
    /// domain the compiler gave it: settings cannot widen a table beyond what the compiler
    /// allows, and settings made for another model or other scales are refused.
    pub fn apply_table_domains(&mut self, domains: &[TableDomain]) -> Result<(), IrError> {
        let lookups = lookup_nodes(self).len();
        if domains.len() != lookups {
            return Err(IrError::TableDomains {
                reason: format!(
                    "the settings list {} table domains, the model has {lookups} lookups (settings made for another \
                     model or other scales: calibrate again)",
                    domains.len()
                ),
            });
        }
        let mut next = domains.iter();
        for (id, node) in self.nodes.iter_mut().enumerate() {
            let Op::Lookup { func, .. } = &mut node.op else { continue };
            let Some(d) = next.next() else { break };
            let fits = d.kind == func.kind && func.lo <= d.lo && d.lo <= d.hi && d.hi <= func.hi;
            if !fits {
                return Err(IrError::TableDomains {
                    reason: format!(
                        "node {id} (`{}`): the settings' domain {:?} [{}, {}] does not fit its {:?} table over [{}, {}]",
                        node.name, d.kind, d.lo, d.hi, func.kind, func.lo, func.hi
                    ),
                });
            }
            func.lo = d.lo;
            func.hi = d.hi;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
