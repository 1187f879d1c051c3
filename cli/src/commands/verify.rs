//! `verify`: check a proof natively.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx::Proof;

use crate::common::{Spinners, VkArgs};

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    #[command(flatten)]
    key: VkArgs,
}

pub(crate) fn run(a: VerifyArgs) -> Result<()> {
    let verifier = a.key.load(&Spinners::default())?;
    let proof = Proof::read(&a.proof)?;
    verifier.verify(&proof).with_context(|| format!("{} against {}", a.proof.display(), a.key.vk.display()))?;
    eprintln!(
        "verified: {} is a valid proof; public outputs {:?} (srs: {})",
        a.proof.display(),
        proof.outputs(),
        verifier.srs_label()
    );
    Ok(())
}
