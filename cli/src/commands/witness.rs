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
    /// The witness file; with `--split`, the folder for the segments' witnesses
    /// (`witness-<j>.json`; default: the split folder).
    #[arg(short = 'O', long)]
    output: Option<PathBuf>,
    /// A split model's folder (`zkonnx split`): write every segment's witness, each boundary
    /// with a fresh random salt.
    #[arg(long)]
    split: Option<PathBuf>,
}

pub(crate) fn run(a: WitnessArgs) -> Result<()> {
    if let Some(split) = &a.split {
        let out = a.output.clone().unwrap_or_else(|| split.clone());
        return crate::commands::split::witnesses(split, &a.data, &out);
    }
    let output = a.output.clone().unwrap_or_else(|| PathBuf::from("witness.json"));
    let compiled = CompiledModel::read(&a.compiled)?;
    let w: Witness =
        zkonnx::witness_from_file(&compiled, &a.data).with_context(|| format!("input {}", a.data.display()))?;
    write_json(&output, &w)?;
    eprintln!("outputs: {:?}\nwrote {}", w.output_floats, output.display());
    Ok(())
}
