//! `compile`: quantize an ONNX model into the compiled-model artifact.

use std::path::PathBuf;

use anyhow::Result;
use zkonnx::lower::verifier::{read_json, write_json};
use zkonnx::{Model, Settings};

#[derive(clap::Args, Debug)]
pub(crate) struct CompileArgs {
    /// The ONNX model.
    #[arg(short = 'M', long)]
    model: PathBuf,
    /// settings.json (from gen-settings or calibrate); updated with the compiled model's facts.
    #[arg(short = 'S', long, default_value = "settings.json")]
    settings: PathBuf,
    /// Where to write the compiled model.
    #[arg(short = 'O', long, default_value = "model.compiled")]
    output: PathBuf,
}

pub(crate) fn run(a: CompileArgs) -> Result<()> {
    let settings: Settings = read_json(&a.settings)?;
    let model = Model::load(&a.model, &settings.run_args.dims)?;
    let compiled = model.compile(settings)?;
    write_json(&a.output, &compiled)?;
    write_json(&a.settings, &compiled.settings)?;
    eprintln!(
        "compiled {} nodes, {} rows at logrows {}: wrote {} and updated {}",
        compiled.graph.nodes.len(),
        compiled.settings.model.rows_used,
        compiled.settings.run_args.logrows,
        a.output.display(),
        a.settings.display()
    );
    Ok(())
}
