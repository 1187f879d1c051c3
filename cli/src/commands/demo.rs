//! `demo`: prove the embedded digits model's prediction on an embedded test image.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::commands::run::{pipeline, RunCmdArgs};
use crate::common::RunArgsFlags;

/// The default model: a small CNN trained on scikit-learn's 8x8 digits (fixtures/digits_cnn).
const MODEL: &[u8] = include_bytes!("../../../fixtures/digits_cnn/model.onnx");
/// A held-out test image of a 7 (fixtures/digits_cnn/input.json).
const IMAGE: &[u8] = include_bytes!("../../../fixtures/digits_cnn/input.json");
const IMAGE_LABEL: usize = 7;

#[derive(clap::Args, Debug)]
pub(crate) struct DemoArgs {
    /// Keep the artifacts in this folder instead of a temporary one.
    #[arg(long)]
    keep: Option<PathBuf>,
}

pub(crate) fn run(a: DemoArgs) -> Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary folder")?;
    let dir = a.keep.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let (model, input) = (dir.join("digits_cnn.onnx"), dir.join("input.json"));
    std::fs::write(&model, MODEL)?;
    std::fs::write(&input, IMAGE)?;
    eprintln!("zkonnx demo: proving a CNN's prediction on an 8x8 handwritten digit (true label {IMAGE_LABEL})");
    let args = RunCmdArgs {
        model,
        input,
        out: dir.clone(),
        srs: None,
        json: false,
        force: false,
        gpu: zkonnx::gpu::GpuMode::default(),
        split: None,
        split_flags: Default::default(),
        engine: "local".into(),
        ray_address: None,
        aggregate_on: "driver".into(),
        ray_shared_dir: None,
        flags: RunArgsFlags::default(),
    };
    let report = pipeline(&args)?;
    let logits = report.outputs.first().context("the model has no output")?;
    let digit = argmax(logits);
    eprintln!(
        "proved: the model predicts digit {digit}; logrows {}, proof {} bytes, prove {:.2}s, verify {:.3}s",
        report.logrows, report.proof_bytes, report.phases.prove, report.phases.verify
    );
    if !report.ok {
        anyhow::bail!("the proof did NOT verify: {}", report.error.unwrap_or_default());
    }
    println!("predicted digit: {digit}");
    println!("verified");
    Ok(())
}

fn argmax(v: &[f64]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
}
