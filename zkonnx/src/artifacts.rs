//! The artifacts folder: exactly the files `zkonnx run` writes (`settings.json`,
//! `model.compiled`, `vk.key`, `pk.key`, `witness.json`, `proof.json`), written atomically and
//! read back with their checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_circuits::CircuitParams;
use zkonnx_ir::Settings;
use zkonnx_prover::{srs_record, Keys};
use zkonnx_verifier::artifact::read_bytes;
use zkonnx_verifier::keys::{key_meta, pk_from_bytes, read_pk, read_vk, vk_from_bytes, write_pk, write_vk};
use zkonnx_verifier::{read_json, write_json, CompiledModel, Witness};

use crate::progress::{timed, Progress};
use crate::{Error, Proof, Result};

/// A folder of artifacts. Creating the value touches nothing; the methods read and write the
/// files (every write is a temp file and a rename, so a crash leaves the old file or the new).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifacts {
    dir: PathBuf,
}

impl Artifacts {
    /// The artifacts in `dir` (which need not exist yet).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The artifacts in `dir`, creating the folder if it is missing.
    pub fn create(dir: impl Into<PathBuf>) -> Result<Self> {
        let a = Self::new(dir);
        std::fs::create_dir_all(&a.dir).map_err(|e| Error::io(&a.dir, e))?;
        Ok(a)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `settings.json`.
    pub fn settings_path(&self) -> PathBuf {
        self.dir.join("settings.json")
    }
    /// `model.compiled`.
    pub fn compiled_path(&self) -> PathBuf {
        self.dir.join("model.compiled")
    }
    /// `vk.key`.
    pub fn vk_path(&self) -> PathBuf {
        self.dir.join("vk.key")
    }
    /// `pk.key`.
    pub fn pk_path(&self) -> PathBuf {
        self.dir.join("pk.key")
    }
    /// `witness.json`.
    pub fn witness_path(&self) -> PathBuf {
        self.dir.join("witness.json")
    }
    /// `proof.json`.
    pub fn proof_path(&self) -> PathBuf {
        self.dir.join("proof.json")
    }

    /// Writes the compiled model and its settings.
    pub fn write_compiled(&self, compiled: &CompiledModel) -> Result<()> {
        write_json(&self.compiled_path(), compiled)?;
        write_json(&self.settings_path(), &compiled.settings)?;
        Ok(())
    }

    /// Reads and checks the compiled model.
    pub fn read_compiled(&self) -> Result<CompiledModel> {
        Ok(CompiledModel::read(&self.compiled_path())?)
    }

    /// Reads the settings.
    pub fn read_settings(&self) -> Result<Settings> {
        Ok(read_json(&self.settings_path())?)
    }

    /// Writes both key files, recording the compiled model's hash in their metadata.
    pub fn write_keys(&self, keys: &Keys, model_hash: &str) -> Result<()> {
        write_keys(keys, model_hash, &self.vk_path(), &self.pk_path())
    }

    /// Reads the proving key, checked against the compiled model's settings.
    pub fn read_keys(&self, compiled: &CompiledModel) -> Result<Keys> {
        read_keys(&self.pk_path(), compiled)
    }

    /// Reads the verifying key, checked against `settings`.
    pub fn read_vk(&self, settings: &Settings) -> Result<VerifyingKey<G1Affine>> {
        let path = self.vk_path();
        let (vk, meta) = read_vk(&path)?;
        meta.check_for(&path, settings)?;
        Ok(vk)
    }

    /// The keys already in the folder if both files are whole, readable and were made for exactly
    /// this compiled model (its hash), circuit parameters and SRS; `None` means: regenerate them.
    /// A half-written or corrupt file fails to read and is never reused.
    pub fn reusable_keys(&self, compiled: &CompiledModel, srs: &ParamsKZG<Bn256>) -> Option<Keys> {
        let params = CircuitParams::from_settings(&compiled.settings);
        let hash = &compiled.settings.model.model_hash;
        let srs = srs_record(srs);
        let belongs = |path: &Path| -> Option<Vec<u8>> {
            let bytes = read_bytes(path).ok()?;
            let meta = key_meta(path, &bytes).ok()?;
            (!hash.is_empty() && &meta.model_hash == hash && meta.params == params && meta.srs == srs).then_some(bytes)
        };
        let (vk, pk) = (self.vk_path(), self.pk_path());
        let vk_bytes = belongs(&vk)?;
        let pk_bytes = belongs(&pk)?;
        let (read_vk, _) = vk_from_bytes(&vk, &vk_bytes).ok()?;
        let (read_pk, _) = pk_from_bytes(&pk, &pk_bytes).ok()?;
        // the two files must hold the same key pair
        (read_vk.transcript_repr() == read_pk.get_vk().transcript_repr()).then_some(Keys { pk: read_pk, params, srs })
    }

    /// The keys for `compiled`: reused from the folder when they belong to it (`true`), else
    /// generated with `srs` and written (`false`). Reports the phase `setup`.
    pub fn setup(
        &self,
        compiled: &CompiledModel,
        srs: &ParamsKZG<Bn256>,
        progress: &dyn Progress,
    ) -> Result<(Keys, bool)> {
        if let Some(keys) = self.reusable_keys(compiled, srs) {
            return Ok((keys, true));
        }
        let (keys, _) = timed(progress, "setup", || keygen(compiled, srs));
        let keys = keys?;
        self.write_keys(&keys, &compiled.settings.model.model_hash)?;
        Ok((keys, false))
    }

    /// Writes a witness.
    pub fn write_witness(&self, witness: &Witness) -> Result<()> {
        Ok(write_json(&self.witness_path(), witness)?)
    }

    /// Reads the witness.
    pub fn read_witness(&self) -> Result<Witness> {
        Ok(read_json(&self.witness_path())?)
    }

    /// Writes a proof.
    pub fn write_proof(&self, proof: &Proof) -> Result<()> {
        proof.write(&self.proof_path())
    }

    /// Reads the proof.
    pub fn read_proof(&self) -> Result<Proof> {
        Proof::read(&self.proof_path())
    }
}

/// Generates the proving and verifying keys of a compiled model.
pub fn keygen(compiled: &CompiledModel, srs: &ParamsKZG<Bn256>) -> Result<Keys> {
    let params = CircuitParams::from_settings(&compiled.settings);
    Ok(zkonnx_prover::keygen(srs, Arc::new(compiled.graph.clone()), params)?)
}

/// Writes the verifying and the proving key to any two files, recording the compiled model's
/// hash and the SRS in their metadata.
pub fn write_keys(keys: &Keys, model_hash: &str, vk: &Path, pk: &Path) -> Result<()> {
    let meta = keys.meta(model_hash);
    write_vk(vk, keys.pk.get_vk(), &meta)?;
    write_pk(pk, &keys.pk, &meta)?;
    Ok(())
}

/// Reads a proving key file, checked against the compiled model's settings.
pub fn read_keys(pk: &Path, compiled: &CompiledModel) -> Result<Keys> {
    let (key, meta) = read_pk(pk)?;
    meta.check_for(pk, &compiled.settings)?;
    Ok(Keys { pk: key, params: meta.params, srs: meta.srs })
}
