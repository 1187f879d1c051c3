//! `compile`: quantize an ONNX model into the compiled-model artifact.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use zkonnx_compiler::OnnxModel;
use zkonnx_ir::Settings;
use zkonnx_verifier::{read_json, write_json, CompiledModel, JsonArtifact};

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
    let model = OnnxModel::load(&a.model, &settings.run_args.dims)?;
    let (compiled, settings) = compile_model(&model, settings)?;
    save_compiled(&a.output, &compiled)?;
    write_json(&a.settings, &settings)?;
    eprintln!(
        "compiled {} nodes, {} rows at logrows {}: wrote {} and updated {}",
        compiled.graph.nodes.len(),
        settings.model.rows_used,
        settings.run_args.logrows,
        a.output.display(),
        a.settings.display()
    );
    Ok(())
}

/// Compiles and fills the settings' model facts (shapes, scales, rows, hash of the graph).
pub(crate) fn compile_model(model: &OnnxModel, mut settings: Settings) -> Result<(CompiledModel, Settings)> {
    settings.run_args.validate()?;
    let graph = zkonnx_compiler::compile(model, &settings.run_args)?;
    let params = zkonnx_circuits::CircuitParams::from_run_args(&settings.run_args);
    let rows = zkonnx_circuits::rows_needed(&graph, &params);
    let min_k = zkonnx_circuits::min_k(&graph, &params);
    if settings.run_args.logrows < min_k {
        anyhow::bail!(
            "the circuit needs logrows >= {min_k} ({rows} rows, lookup_bits {}), settings say {}: \
             raise --logrows or run `zkonnx calibrate`",
            settings.run_args.lookup_bits,
            settings.run_args.logrows
        );
    }
    let info = &mut settings.model;
    info.input_shapes = graph.input_shapes();
    info.input_scales = graph.inputs.iter().map(|&t| graph.nodes[t].scale).collect();
    info.output_shapes = graph.output_shapes();
    info.output_scales = graph.outputs.iter().map(|&t| graph.nodes[t].scale).collect();
    info.rows_used = rows;
    info.model_hash = hex::encode(Sha256::digest(serde_json::to_vec(&graph)?));
    let compiled = CompiledModel::new(settings.clone(), graph);
    Ok((compiled, settings))
}

/// Writes a compiled model.
pub(crate) fn save_compiled(path: &Path, compiled: &CompiledModel) -> Result<()> {
    write_json(path, compiled).with_context(|| format!("writing {}", path.display()))
}

/// Reads a compiled model and checks its graph.
pub(crate) fn load_compiled(path: &Path) -> Result<CompiledModel> {
    let c: CompiledModel = read_json(path)?;
    c.graph
        .validate()
        .with_context(|| format!("{}: the compiled {} is malformed", path.display(), CompiledModel::FORMAT))?;
    c.settings.run_args.validate().with_context(|| format!("{}: bad settings", path.display()))?;
    Ok(c)
}
