//! `hash`: the Poseidon commitments a proof with `hashed` visibility exposes, computed natively.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx::hash::Commitment;
use zkonnx::lower::verifier::read_json;
use zkonnx::{CompiledModel, Witness};

#[derive(clap::Args, Debug)]
pub(crate) struct HashArgs {
    /// The compiled model: its params' commitment, and the model the inputs are quantized for.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    /// An input file (EZKL format, with optional `input_salts`/`output_salts`): each input's
    /// commitment, and each output's (the model run on it).
    #[arg(short = 'D', long = "data", conflicts_with = "witness")]
    data: Option<PathBuf>,
    /// A witness file: each input's and output's commitment, with its salts.
    #[arg(short = 'W', long)]
    witness: Option<PathBuf>,
    /// Print one JSON array instead of lines.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(a: HashArgs) -> Result<()> {
    let compiled = CompiledModel::read(&a.compiled)?;
    let witness: Option<Witness> = match (&a.data, &a.witness) {
        (Some(data), _) => {
            Some(zkonnx::witness_from_file(&compiled, data).with_context(|| format!("input {}", data.display()))?)
        }
        (None, Some(path)) => Some(read_json(path)?),
        (None, None) => None,
    };
    let all = zkonnx::hash::commitments(&compiled, witness.as_ref())?;
    if a.json {
        println!("{}", serde_json::to_string(&all)?);
    } else {
        for Commitment { of, field, word, .. } in &all {
            println!("{of}: {field} ({word})");
        }
    }
    Ok(())
}
