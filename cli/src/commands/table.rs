//! `table`: print the quantized graph.

use std::path::PathBuf;

use anyhow::{bail, Result};
use zkonnx_compiler::OnnxModel;
use zkonnx_ir::{Graph, RunArgs};

use crate::commands::compile::load_compiled;
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
    let graph = match (&a.model, &a.compiled) {
        (Some(m), None) => {
            let args = a.flags.apply(RunArgs::default())?;
            zkonnx_compiler::compile(&OnnxModel::load(m, &args.dims)?, &args)?
        }
        (None, Some(c)) => load_compiled(c)?.graph,
        _ => bail!("pass exactly one of --model and --compiled"),
    };
    print!("{}", render(&graph));
    Ok(())
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
