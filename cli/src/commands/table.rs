//! `table`: print the quantized graph.

use std::path::PathBuf;

use anyhow::{bail, Result};
use zkonnx::lower::circuits::cost::{public_value_count, LayoutChoice, Shape};
use zkonnx::lower::circuits::{CircuitParams, RowNeeds};
use zkonnx::lower::ir::{Func, FuncKind, Graph, Op};
use zkonnx::{CompiledModel, Model, Objective};

use crate::common::RunArgsFlags;

#[derive(clap::Args, Debug)]
pub(crate) struct TableArgs {
    /// An ONNX model (compiled with default settings and the flags below) ...
    #[arg(short = 'M', long)]
    model: Option<PathBuf>,
    /// ... or a compiled model.
    #[arg(short = 'C', long = "compiled")]
    compiled: Option<PathBuf>,
    /// With --model: an input to calibrate on, as `run` does (scales, table bits and each function
    /// table's domain from the range this input reaches); without it the defaults and flags
    /// apply and function tables span the activation range.
    #[arg(short = 'D', long = "data")]
    data: Option<PathBuf>,
    #[command(flatten)]
    flags: RunArgsFlags,
}

pub(crate) fn run(a: TableArgs) -> Result<()> {
    let objective = a.flags.options()?.objective();
    // the optimizer picks lookup lanes for every width unless `--lookup-lanes` pins them
    let (graph, args, pinned) = match (&a.model, &a.compiled) {
        (Some(m), None) => {
            let options = a.flags.options()?;
            let model = Model::load(m, &options.dims)?;
            let args = match &a.data {
                Some(d) => model.settings(&[crate::common::read_inputs(d)?], &options)?.run_args,
                None => options.run_args(),
            };
            (model.lower(&args)?, args, a.flags.lookup_lanes)
        }
        (None, Some(_)) if a.data.is_some() => bail!("--data calibrates an ONNX model: pass it with --model"),
        (None, Some(c)) => {
            let c = CompiledModel::read(c)?;
            (c.graph, c.settings.run_args, None)
        }
        _ => bail!("pass exactly one of --model and --compiled"),
    };
    print!("{}", render(&graph));
    match zkonnx::layout_candidates(&graph, &args, pinned, objective) {
        Ok(choice) => {
            let params = CircuitParams::for_graph(&args, &graph);
            print!("{}", render_layouts(&choice, &params, public_value_count(&graph, &params), objective));
            print!("{}", render_tables(&graph, &params, &choice.chosen, !args.table_domains.is_empty()));
        }
        Err(e) => println!("layout: {e}"),
    }
    Ok(())
}

/// The optimizer's candidates, one line per width: `*` marks its choice for `objective`, `=`
/// the layout of `current` (lanes, lookup lanes and logrows) when it is among them.
pub(crate) fn render_layouts(
    choice: &LayoutChoice,
    current: &CircuitParams,
    public_values: usize,
    objective: Objective,
) -> String {
    let goal = match objective {
        Objective::VerifyGas { max_prove_ms: Some(ms) } => {
            format!("the least verify gas within {:.2} s of proving", ms as f64 / 1000.0)
        }
        Objective::VerifyGas { .. } => "the least verify gas".to_string(),
        _ => "the fastest prove".to_string(),
    };
    let mut out = format!(
        "layouts (the optimizer's candidates; * its choice: {goal}; = these settings):\n  {:>5} {:>7} {:>7} {:>9} {:>13} {:>11} {:>11} {:>15}\n",
        "lanes", "lookup", "logrows", "rows", "prove s (est)", "setup MiB", "prove MiB", "verify gas (est)"
    );
    let here = (current.lanes, current.lookup_lane_count(), current.k);
    for (s, secs) in &choice.candidates {
        let mark = if *s == choice.chosen {
            '*'
        } else if (s.lanes, s.lookup_lanes, s.k) == here {
            '='
        } else {
            ' '
        };
        out += &format!(
            "{mark} {:>5} {:>7} {:>7} {:>9} {:>13.2} {:>11.0} {:>11.0} {:>16.0}\n",
            s.lanes,
            s.lookup_lanes,
            s.k,
            s.rows,
            secs,
            s.predicted_setup_mb(),
            s.predicted_prove_mb(),
            s.predicted_verify_gas(public_values)
        );
    }
    out
}

/// What a function's table holds besides values at points: the differences of an interpolated
/// function, the fractions of a split `exp` (`[0, 2^b)` at the input scale, beside knots `2^b`
/// inputs apart), or only 0 (a check that a value is 0).
fn table_role(f: &Func, funcs: &[Func]) -> &'static str {
    let fractions = f.kind == FuncKind::Exp
        && f.lo == 0
        && funcs.iter().any(|k| {
            k.kind == FuncKind::Exp
                && k.out_scale == f.out_scale
                && k.in_scale < f.in_scale
                && f.hi.checked_add(1) == 1i64.checked_shl(f.in_scale - k.in_scale)
        });
    // an assertion that a value is 0 (an exact division's remainder check, a product mask's
    // sign check): a step function's table of the one input 0
    let zero_check = !f.interpolates() && f.lo == 0 && f.hi == 0;
    // the region next to a pole, tabulated at the input's own scale; the sides it parks are
    // tabulated at knots, at a coarser scale
    let point_by_point = f.clamped_from.is_some()
        && funcs.iter().any(|k| k.kind == f.kind && k.clamped_from == f.clamped_from && k.in_scale < f.in_scale);
    match (f.difference, fractions, zero_check, point_by_point) {
        (true, ..) => " (differences)",
        (false, true, ..) => " (fractions)",
        (false, false, true, _) => " (zero check)",
        (false, false, false, true) => " (point by point)",
        (false, false, false, false) => "",
    }
}

/// The lookup tables and what else needs rows, and which of them sets the chosen layout's
/// logrows: the range table, each function's table (function, scales, domain, rows, nodes
/// sharing it), where the domains come from (`sampled`: calibration's), the layout (the lanes
/// and, with hashed visibilities, the Poseidon chip's rows) and the public values.
pub(crate) fn render_tables(graph: &Graph, params: &CircuitParams, chosen: &Shape, sampled: bool) -> String {
    let needs = RowNeeds::of(graph, params, chosen.rows);
    let mut out = format!("tables and rows (at the chosen logrows {}):\n", chosen.k);
    out += &format!("  range table          {:>9} rows (2^{} values)\n", needs.range_table, params.lookup_bits);
    let funcs = graph.funcs();
    for &f in &funcs {
        let rows = f.table_rows().unwrap_or(u64::MAX);
        let nodes = graph.nodes.iter().filter(|n| matches!(&n.op, Op::Lookup { func, .. } if *func == f)).count();
        out += &format!(
            "  {:<20} {rows:>9} rows (x in [{}, {}] at scale {}, out scale {}; {nodes} node{})\n",
            format!("{:?}{}", f.kind, table_role(&f, &funcs)),
            f.lo,
            f.hi,
            f.in_scale,
            f.out_scale,
            if nodes == 1 { "" } else { "s" }
        );
    }
    if needs.function_table > 0 {
        let source = if sampled {
            "domains: the calibration samples' range and its margin"
        } else {
            "domains: what the input can reach (no calibration samples)"
        };
        out += &format!(
            "  function tables      {:>9} rows in all (one table, a row per point; {source})\n",
            needs.function_table
        );
    }
    if params.hashes() {
        out += &format!("  poseidon chip        {:>9} rows (its own columns, beside the lanes)\n", needs.poseidon);
    }
    out += &format!("  layout               {:>9} rows ({} lanes)\n", needs.layout, chosen.lanes);
    out += &format!("  public values        {:>9}\n", needs.public_values);
    let (what, rows) = needs.largest();
    out += &format!("  logrows {} is set by {what} ({rows} rows)\n", chosen.k);
    out
}

/// One line per node: id, op, ONNX origin and name, shape, scale, inputs.
pub(crate) fn render(graph: &Graph) -> String {
    let mut out =
        format!("{:>4}  {:<8} {:<20} {:<28} {:<16} {:>5}  inputs\n", "id", "op", "onnx op", "name", "shape", "scale");
    for (id, n) in graph.nodes.iter().enumerate() {
        let name: String = n.name.chars().take(28).collect();
        out += &format!(
            "{id:>4}  {:<8} {:<20} {:<28} {:<16} {:>5}  {:?}\n",
            n.op.kind(),
            n.origin,
            name,
            format!("{:?}", n.shape),
            n.scale,
            n.op.inputs()
        );
    }
    out += &format!("inputs {:?}, outputs {:?}\n", graph.inputs, graph.outputs);
    out
}
