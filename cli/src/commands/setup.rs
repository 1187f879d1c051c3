//! `setup`: proving and verifying keys for a compiled model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_circuits::CircuitParams;
use zkonnx_prover::Keys;
use zkonnx_verifier::artifact::read_bytes;
use zkonnx_verifier::keys::{key_meta, pk_from_bytes, vk_from_bytes, write_pk, write_vk};
use zkonnx_verifier::CompiledModel;

use crate::commands::compile::load_compiled;
use crate::common::{check_memory, load_srs, MemoryStep, Phase};

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
    let compiled = load_compiled(&a.compiled)?;
    check_memory(&compiled.settings, MemoryStep::Setup, a.force)?;
    let params = CircuitParams::from_settings(&compiled.settings);
    let srs = load_srs(a.srs.as_deref(), params.k)?;
    let keys = setup_keys(&compiled, &srs)?;
    write_keys(&keys, &compiled.settings.model.model_hash, &a.vk, &a.pk)?;
    eprintln!("wrote {} and {}", a.vk.display(), a.pk.display());
    Ok(())
}

pub(crate) fn setup_keys(compiled: &CompiledModel, srs: &ParamsKZG<Bn256>) -> Result<Keys> {
    let params = CircuitParams::from_settings(&compiled.settings);
    let phase = Phase::start("generating keys");
    let keys = zkonnx_prover::keygen(srs, Arc::new(compiled.graph.clone()), params)?;
    phase.finish();
    Ok(keys)
}

/// Writes both key files, recording the compiled model's hash in their metadata.
pub(crate) fn write_keys(keys: &Keys, model_hash: &str, vk: &Path, pk: &Path) -> Result<()> {
    write_vk(vk, keys.pk.get_vk(), &keys.params, model_hash)?;
    write_pk(pk, &keys.pk, &keys.params, model_hash)?;
    Ok(())
}

/// The keys already in `vk`/`pk` if both files are whole, readable and were made for exactly
/// this compiled model (its hash) and circuit parameters; `None` means: regenerate them. A
/// half-written or corrupt file fails to read and is never reused.
pub(crate) fn reusable_keys(compiled: &CompiledModel, vk: &Path, pk: &Path) -> Option<Keys> {
    let params = CircuitParams::from_settings(&compiled.settings);
    let hash = &compiled.settings.model.model_hash;
    let belongs = |path: &Path| -> Option<Vec<u8>> {
        let bytes = read_bytes(path).ok()?;
        let meta = key_meta(path, &bytes).ok()?;
        (!hash.is_empty() && &meta.model_hash == hash && meta.params == params).then_some(bytes)
    };
    let vk_bytes = belongs(vk)?;
    let pk_bytes = belongs(pk)?;
    let (read_vk, _) = vk_from_bytes(vk, &vk_bytes).ok()?;
    let (read_pk, _) = pk_from_bytes(pk, &pk_bytes).ok()?;
    // the two files must hold the same key pair
    (read_vk.transcript_repr() == read_pk.get_vk().transcript_repr()).then_some(Keys { pk: read_pk, params })
}
