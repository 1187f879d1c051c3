//! `verify`: check a proof natively.

use std::path::PathBuf;

use anyhow::{Context, Result};
use zkonnx::Proof;

use crate::common::{Spinners, VkArgs};

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// The proof (with `--split`: the aggregated proof, `aggregated.json`).
    #[arg(long, default_value = "proof.json")]
    proof: PathBuf,
    /// A split model's folder: verify an aggregated proof with its root key.
    #[arg(long)]
    split: Option<PathBuf>,
    #[command(flatten)]
    key: VkArgs,
}

pub(crate) fn run(a: VerifyArgs) -> Result<()> {
    if let Some(split) = &a.split {
        return crate::commands::split::verify(split, &a.proof, a.key.srs.as_deref());
    }
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
