//! [`Prover`]: built once from artifacts, it holds the compiled circuit, the proving key and the
//! SRS, and proves any number of inputs, from any number of threads, without reloading anything.

use std::path::Path;
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_ir::{dequantize_outputs, quantize_inputs, Graph, Settings};
use zkonnx_prover::{Backend, Keys, ProverError};
use zkonnx_verifier::{CompiledModel, Witness};

use crate::memory::{estimated_peak_mb, Step};
use crate::progress::{timed, Progress, Silent};
use crate::{Artifacts, Error, Proof, Result, SrsSource, Verifier};

/// Proves inferences of one compiled model. `Send + Sync`: share it (in an `Arc`) between
/// threads or requests; each [`Prover::prove`] call is independent.
#[derive(Debug)]
pub struct Prover {
    graph: Arc<Graph>,
    settings: Settings,
    keys: Keys,
    srs: ParamsKZG<Bn256>,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<Prover>();
};

impl Prover {
    /// A prover from its parts; `srs` must be at least the circuit's size (a larger one is
    /// reduced once, here). Checks that the keys were made for the compiled model's circuit.
    pub fn new(compiled: CompiledModel, keys: Keys, srs: ParamsKZG<Bn256>) -> Result<Self> {
        let settings = compiled.settings;
        let want = zkonnx_circuits::CircuitParams::from_settings(&settings);
        if keys.params != want {
            return Err(Error::Option {
                option: "keys".into(),
                reason: format!(
                    "the proving key was made for other circuit parameters ({:?}, the settings say {want:?})",
                    keys.params
                ),
            });
        }
        keys.check_srs(std::path::Path::new("the proving key"), &srs)?;
        let k = settings.run_args.logrows;
        let srs = match srs.k() {
            have if have == k => srs,
            have if have > k => zkonnx_prover::reduce_srs(&srs, k)?,
            have => return Err(ProverError::SrsTooSmall { have, need: k }.into()),
        };
        Ok(Self { graph: Arc::new(compiled.graph), settings, keys, srs })
    }

    /// Reads the compiled model and proving key from an artifacts folder and loads the SRS.
    pub fn from_artifacts(artifacts: &Artifacts, srs: &SrsSource, progress: &dyn Progress) -> Result<Self> {
        let compiled = artifacts.read_compiled()?;
        let keys = artifacts.read_keys(&compiled)?;
        let srs = srs.load(compiled.settings.run_args.logrows, progress)?;
        Self::new(compiled, keys, srs)
    }

    /// The settings of the model this prover proves.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The compiled graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The keys (the proving key holds the verifying key).
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// The keys, giving the prover up.
    pub fn into_keys(self) -> Keys {
        self.keys
    }

    /// Whether the SRS is zkonnx's insecure development SRS.
    pub fn insecure_dev_srs(&self) -> bool {
        zkonnx_prover::is_dev_srs(&self.srs)
    }

    /// The SRS, at the circuit's size.
    pub fn srs(&self) -> &ParamsKZG<Bn256> {
        &self.srs
    }

    /// The cost model's predicted peak memory of one proof, MiB.
    pub fn estimated_peak_mb(&self) -> f64 {
        estimated_peak_mb(&self.settings, Step::Prove)
    }

    /// A verifier for this prover's proofs (its verifying key, settings and SRS).
    pub fn verifier(&self) -> Result<Verifier> {
        Verifier::new(self.settings.clone(), self.keys.pk.get_vk().clone(), &self.srs)
    }

    /// Runs the quantized model on float inputs (one flat row-major vector per model input):
    /// the witness, with every output (public or not) dequantized.
    pub fn witness(&self, inputs: &[Vec<f32>]) -> Result<Witness> {
        graph_witness(&self.graph, self.settings.run_args.range_bits(), inputs)
    }

    /// Proves the model on float inputs.
    pub fn prove(&self, inputs: &[Vec<f32>]) -> Result<Proof> {
        self.prove_with(inputs, &Silent)
    }

    /// [`Self::prove`], reporting the phases `witness` and `prove`.
    pub fn prove_with(&self, inputs: &[Vec<f32>], progress: &dyn Progress) -> Result<Proof> {
        let (witness, _) = timed(progress, "witness", || self.witness(inputs));
        let (proof, _) = timed(progress, "prove", || self.prove_witness(&witness?));
        proof
    }

    /// Proves a witness (from [`Self::witness`] or a `witness.json`): the trace is recomputed from
    /// its inputs, and its outputs must agree.
    pub fn prove_witness(&self, witness: &Witness) -> Result<Proof> {
        let artifact = zkonnx_prover::prove_witness_of(
            &self.settings,
            self.graph.clone(),
            &self.keys,
            &self.srs,
            witness,
            Backend::Cpu,
        )?;
        Ok(Proof::from_artifact(artifact))
    }
}

/// The witness of a compiled model on an input file, with the file's salts.
pub fn witness_from_file(compiled: &CompiledModel, path: &Path) -> Result<Witness> {
    let (inputs, (input_salts, output_salts)) = crate::read_input_file(path)?;
    Ok(witness(compiled, &inputs)?.with_salts(input_salts, output_salts))
}

/// Runs a compiled model on float inputs: its witness (see [`Prover::witness`]); needs no key.
pub fn witness(compiled: &CompiledModel, inputs: &[Vec<f32>]) -> Result<Witness> {
    graph_witness(&compiled.graph, compiled.settings.run_args.range_bits(), inputs)
}

fn graph_witness(graph: &Graph, range_bits: u32, inputs: &[Vec<f32>]) -> Result<Witness> {
    let q = quantize_inputs(graph, inputs)?;
    let trace = zkonnx_prover::witness(graph, &q, range_bits)?;
    let outputs = trace.outputs(graph);
    let floats = dequantize_outputs(graph, &outputs);
    Ok(Witness::new(q, outputs, floats))
}
