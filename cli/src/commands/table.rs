//! `table`: print the quantized graph.

use std::path::PathBuf;

use anyhow::{bail, Result};
use zkonnx::lower::circuits::cost::{public_value_count, LayoutChoice};
use zkonnx::lower::circuits::CircuitParams;
use zkonnx::lower::ir::Graph;
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
    #[command(flatten)]
    flags: RunArgsFlags,
}

pub(crate) fn run(a: TableArgs) -> Result<()> {
    let objective = a.flags.options()?.objective();
    // the optimizer picks lookup lanes for every width unless `--lookup-lanes` pins them
    let (graph, args, pinned) = match (&a.model, &a.compiled) {
        (Some(m), None) => {
            let args = a.flags.options()?.run_args();
            (Model::load(m, &args.dims)?.lower(&args)?, args, a.flags.lookup_lanes)
        }
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
            print!("{}", render_layouts(&choice, &params, public_value_count(&graph, &params), objective))
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
