//! `verify`: check a proof natively.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx_verifier::{read_json, verify_artifact, ProofArtifact};

use crate::common::VkArgs;

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    #[command(flatten)]
    key: VkArgs,
}

pub(crate) fn run(a: VerifyArgs) -> Result<()> {
    let k = a.key.load()?;
    let proof: ProofArtifact = read_json(&a.proof)?;
    verify_artifact(&k.settings, &k.vk, &k.srs, &proof)
        .with_context(|| format!("{} against {}", a.proof.display(), a.key.vk.display()))?;
    eprintln!("verified: {} is a valid proof; public outputs {:?}", a.proof.display(), proof.outputs);
    Ok(())
}
