//! `prove`: prove a witness with a proving key.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use zkonnx_ir::Visibility;
use zkonnx_prover::{Keys, ProverError};
use zkonnx_verifier::keys::read_pk;
use zkonnx_verifier::{read_json, write_json, CompiledModel, ProofArtifact, Witness};

use crate::commands::compile::load_compiled;
use crate::common::{check_memory, load_srs, MemoryStep, Phase};

#[derive(clap::Args, Debug)]
pub(crate) struct ProveArgs {
    /// The compiled model.
    #[arg(short = 'C', long = "compiled", default_value = "model.compiled")]
    compiled: PathBuf,
    #[arg(long, default_value = "pk.key")]
    pk: PathBuf,
    #[arg(short = 'W', long, default_value = "witness.json")]
    witness: PathBuf,
    /// SRS file (default: the cached development SRS).
    #[arg(long)]
    srs: Option<PathBuf>,
    #[arg(short = 'O', long = "proof", default_value = "proof.json")]
    output: PathBuf,
    /// Run even when the estimated peak memory exceeds the memory available.
    #[arg(long)]
    force: bool,
}

pub(crate) fn run(a: ProveArgs) -> Result<()> {
    let compiled = load_compiled(&a.compiled)?;
    check_memory(&compiled.settings, MemoryStep::Prove, a.force)?;
    let (pk, meta) = read_pk(&a.pk)?;
    meta.check_for(&a.pk, &compiled.settings)?;
    let witness: Witness = read_json(&a.witness)?;
    let keys = Keys { pk, params: meta.params };
    let srs = load_srs(a.srs.as_deref(), keys.params.k)?;
    let proof = prove_witness(&compiled, &keys, &srs, &witness)?;
    write_json(&a.output, &proof)?;
    eprintln!("wrote {} ({} proof bytes)", a.output.display(), proof.proof.len() / 2 - 1);
    Ok(())
}

/// Recomputes the trace from the witness inputs (the witness outputs must agree), proves it.
pub(crate) fn prove_witness(
    compiled: &CompiledModel,
    keys: &Keys,
    srs: &halo2_proofs::poly::kzg::commitment::ParamsKZG<halo2_proofs::halo2curves::bn256::Bn256>,
    witness: &Witness,
) -> Result<ProofArtifact> {
    let graph = Arc::new(compiled.graph.clone());
    let run_args = &compiled.settings.run_args;
    let trace =
        zkonnx_prover::witness(&graph, &witness.inputs, run_args.lookup_bits).context("recomputing the witness")?;
    let outputs = trace.outputs(&graph);
    if let Some(output) = (0..outputs.len()).find(|&i| witness.outputs.get(i) != Some(&outputs[i])) {
        return Err(ProverError::WitnessMismatch { output }.into());
    }
    let phase = Phase::start("proving");
    let (proof, instances) = zkonnx_prover::prove(srs, keys, graph, Arc::new(trace))?;
    phase.finish();
    let public_outputs =
        if run_args.output_visibility == Visibility::Public { witness.output_floats.clone() } else { vec![] };
    Ok(ProofArtifact::new(
        run_args.logrows,
        &instances,
        &proof,
        public_outputs,
        compiled.settings.model.model_hash.clone(),
    ))
}
