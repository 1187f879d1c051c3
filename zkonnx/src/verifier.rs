//! [`Verifier`]: a verifying key with its settings and the SRS points verification needs.

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_ir::Settings;
use zkonnx_verifier::srs::verifier_params;
use zkonnx_verifier::{read_json, verify_artifact, SrsOrigin};

use crate::progress::Progress;
use crate::{Artifacts, Proof, Result, SrsSource};

/// Checks proofs of one circuit natively. Cheap to keep (three SRS points), `Send + Sync`.
#[derive(Debug, Clone)]
pub struct Verifier {
    settings: Settings,
    vk: VerifyingKey<G1Affine>,
    srs: ParamsKZG<Bn256>,
    model_hash: String,
    insecure_srs: bool,
    origin: SrsOrigin,
}

impl Verifier {
    /// A verifier from its parts; `srs` must be at least the circuit's size.
    pub fn new(settings: Settings, vk: VerifyingKey<G1Affine>, srs: &ParamsKZG<Bn256>) -> Result<Self> {
        let insecure_srs = zkonnx_prover::is_dev_srs(srs);
        let srs = verifier_params(srs, settings.run_args.logrows)?;
        let model_hash = settings.model.model_hash.clone();
        Ok(Self { settings, vk, srs, model_hash, insecure_srs, origin: SrsOrigin::Imported })
    }

    /// Reads `settings.json` and `vk.key` (checked to belong together) and loads the SRS.
    pub fn from_artifacts(artifacts: &Artifacts, srs: &SrsSource, progress: &dyn Progress) -> Result<Self> {
        Self::from_files(&artifacts.settings_path(), &artifacts.vk_path(), srs, progress)
    }

    /// [`Self::from_artifacts`] from any two files.
    pub fn from_files(
        settings: &std::path::Path,
        vk: &std::path::Path,
        srs: &SrsSource,
        progress: &dyn Progress,
    ) -> Result<Self> {
        let settings: Settings = read_json(settings)?;
        let (key, meta) = zkonnx_verifier::keys::read_vk(vk)?;
        meta.check_for(vk, &settings)?;
        let (params, origin) = srs.load_with_origin(settings.run_args.logrows, progress)?;
        meta.check_srs(vk, &zkonnx_prover::srs_record(&params))?;
        let mut verifier = Self::new(settings, key, &params)?;
        verifier.origin = origin;
        if !meta.model_hash.is_empty() {
            verifier.model_hash = meta.model_hash;
        }
        Ok(verifier)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// SHA-256 of the compiled model the key was made for (as the key file records it).
    pub fn model_hash(&self) -> &str {
        &self.model_hash
    }

    /// Whether the SRS is zkonnx's insecure development SRS (a known secret: anyone can forge
    /// proofs that verify against it). Checked by its `[tau]G2`, whatever file it came from.
    pub fn insecure_dev_srs(&self) -> bool {
        self.insecure_srs
    }

    /// `dev` for the insecure development SRS, `perpetual-powers-of-tau` for one `srs fetch`
    /// checked, else `imported` (what `verify` and `run --json` report; a verifier made with
    /// [`Self::new`] from bare parameters knows no file, so says `dev` or `imported`).
    pub fn srs_label(&self) -> &'static str {
        crate::srs::label(self.insecure_srs, self.origin)
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        &self.vk
    }

    /// The SRS points verification uses, at the circuit's size.
    pub fn srs(&self) -> &ParamsKZG<Bn256> {
        &self.srs
    }

    /// Checks `proof`: the key, settings and proof must describe the same circuit, and the proof
    /// must verify for its public values. An `Err` names why not.
    pub fn verify(&self, proof: &Proof) -> Result<()> {
        Ok(verify_artifact(&self.settings, &self.vk, &self.srs, proof.artifact())?)
    }
}
