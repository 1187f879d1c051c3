//! `setup`: proving and verifying keys for a compiled model.

use std::path::PathBuf;

use anyhow::Result;
use zkonnx::memory::{self, Step};
use zkonnx::CompiledModel;

use crate::common::{srs_source, Phase, Spinners};

#[derive(clap::Args, Debug)]
pub(crate) struct SetupArgs {
    /// The compiled model.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    /// SRS file (default: the cached development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    #[arg(long, default_value = "vk.key")]
    vk: PathBuf,
    #[arg(long, default_value = "pk.key")]
    pk: PathBuf,
    /// Run even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(a: SetupArgs) -> Result<()> {
    let progress = Spinners::default();
    let compiled = CompiledModel::read(&a.compiled)?;
    memory::check(&compiled.settings, Step::Setup, a.force, &progress)?;
    let srs = srs_source(a.srs.as_deref())?.load(compiled.settings.run_args.logrows, &progress)?;
    let phase = Phase::start("generating keys");
    let keys = zkonnx::keygen(&compiled, &srs);
    phase.finish();
    zkonnx::write_keys(&keys?, &compiled.settings.model.model_hash, &a.vk, &a.pk)?;
    eprintln!("wrote {} and {}", a.vk.display(), a.pk.display());
    Ok(())
}
