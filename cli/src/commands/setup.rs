//! `setup`: proving and verifying keys for a compiled model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_circuits::CircuitParams;
use zkonnx_prover::Keys;
use zkonnx_verifier::keys::{write_pk, write_vk};
use zkonnx_verifier::CompiledModel;

use crate::commands::compile::load_compiled;
use crate::common::{load_srs, Phase};

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
}

pub(crate) fn run(a: SetupArgs) -> Result<()> {
    let compiled = load_compiled(&a.compiled)?;
    let params = CircuitParams::from_run_args(&compiled.settings.run_args);
    let srs = load_srs(a.srs.as_deref(), params.k)?;
    let keys = setup_keys(&compiled, &srs)?;
    write_keys(&keys, &a.vk, &a.pk)?;
    eprintln!("wrote {} and {}", a.vk.display(), a.pk.display());
    Ok(())
}

pub(crate) fn setup_keys(compiled: &CompiledModel, srs: &ParamsKZG<Bn256>) -> Result<Keys> {
    let params = CircuitParams::from_run_args(&compiled.settings.run_args);
    let phase = Phase::start("generating keys");
    let keys = zkonnx_prover::keygen(srs, Arc::new(compiled.graph.clone()), params)?;
    phase.finish();
    Ok(keys)
}

pub(crate) fn write_keys(keys: &Keys, vk: &Path, pk: &Path) -> Result<()> {
    write_vk(vk, keys.pk.get_vk(), &keys.params)?;
    write_pk(pk, &keys.pk, &keys.params)?;
    Ok(())
}
