//! `verify`: check a proof natively.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_ir::Settings;
use zkonnx_verifier::keys::read_vk;
use zkonnx_verifier::{read_json, verify_artifact, ProofArtifact};

use crate::common::load_srs;

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    #[arg(long, default_value = "vk.key")]
    vk: PathBuf,
    #[arg(long, default_value = "settings.json")]
    settings: PathBuf,
    /// SRS file (default: the cached development SRS for the settings' logrows).
    #[arg(long)]
    srs: Option<PathBuf>,
}

pub(crate) fn run(a: VerifyArgs) -> Result<()> {
    let settings: Settings = read_json(&a.settings)?;
    let (vk, meta) = read_vk(&a.vk)?;
    meta.check_for(&a.vk, &settings)?;
    let proof: ProofArtifact = read_json(&a.proof)?;
    let srs = load_srs(a.srs.as_deref(), settings.run_args.logrows)?;
    verify_artifact(&settings, &vk, &srs, &proof)
        .with_context(|| format!("{} against {}", a.proof.display(), a.vk.display()))?;
    eprintln!("verified: {} is a valid proof; public outputs {:?}", a.proof.display(), proof.outputs);
    Ok(())
}
