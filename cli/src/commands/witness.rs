//! `gen-witness`: run the quantized model on an input.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_compiler::{dequantize_outputs, quantize_inputs};
use zkonnx_ir::Graph;
use zkonnx_verifier::{write_json, Witness};

use crate::commands::compile::load_compiled;
use crate::common::read_inputs;

#[derive(clap::Args, Debug)]
pub(crate) struct WitnessArgs {
    /// The compiled model.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    /// Input file (EZKL format).
    #[arg(short = 'D', long = "data")]
    data: PathBuf,
    #[arg(short = 'O', long, default_value = "witness.json")]
    output: PathBuf,
}

pub(crate) fn run(a: WitnessArgs) -> Result<()> {
    let compiled = load_compiled(&a.compiled)?;
    let inputs = read_inputs(&a.data)?;
    let w = make_witness(&compiled.graph, compiled.settings.run_args.range_bits(), &inputs)
        .with_context(|| format!("input {}", a.data.display()))?;
    write_json(&a.output, &w)?;
    eprintln!("outputs: {:?}\nwrote {}", w.output_floats, a.output.display());
    Ok(())
}

pub(crate) fn make_witness(graph: &Graph, range_bits: u32, inputs: &[Vec<f32>]) -> Result<Witness> {
    let q = quantize_inputs(graph, inputs)?;
    let trace = zkonnx_prover::witness(graph, &q, range_bits)?;
    let outputs = trace.outputs(graph);
    let floats = dequantize_outputs(graph, &outputs);
    Ok(Witness::new(q, outputs, floats))
}
