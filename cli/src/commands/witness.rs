//! `gen-witness`: run the quantized model on an input.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx::lower::verifier::write_json;
use zkonnx::{CompiledModel, Witness};

#[derive(clap::Args, Debug)]
pub(crate) struct WitnessArgs {
    /// The compiled model.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    /// Input file (EZKL format; optional `input_salts`/`output_salts` for hashed tensors).
    #[arg(short = 'D', long = "data")]
    data: PathBuf,
    #[arg(short = 'O', long, default_value = "witness.json")]
    output: PathBuf,
}

pub(crate) fn run(a: WitnessArgs) -> Result<()> {
    let compiled = CompiledModel::read(&a.compiled)?;
    let w: Witness =
        zkonnx::witness_from_file(&compiled, &a.data).with_context(|| format!("input {}", a.data.display()))?;
    write_json(&a.output, &w)?;
    eprintln!("outputs: {:?}\nwrote {}", w.output_floats, a.output.display());
    Ok(())
}
