//! Verifying and proving key files: a [`container`](crate::container) holding the key metadata
//! (JSON: the circuit parameters and the hash of the compiled model the key was made for) and
//! halo2's key bytes. The parameters are needed to rebuild the constraint system when reading
//! the key, so the key file is self-describing; the model hash lets a caller check that a key
//! on disk belongs to a given compiled model before reusing it.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use zkonnx_circuits::{CircuitParams, ModelCircuit};
use zkonnx_ir::Settings;

use crate::artifact::{read_bytes, write_atomic};
use crate::container::{decode, encode, has_magic};
use crate::key_layout::{check_pk_tail, check_vk_header};
use crate::srs::SrsRecord;
use crate::ArtifactError;

const VK_MAGIC: &[u8; 8] = b"ZKONNXVK";
const PK_MAGIC: &[u8; 8] = b"ZKONNXPK";
const VK_KIND: &str = "verifying key";
const PK_KIND: &str = "proving key";
/// Version of the key file format.
pub const KEY_VERSION: u32 = 1;
/// Largest `k` a key may declare: the largest circuit zkonnx builds.
pub const MAX_K: u32 = zkonnx_ir::limits::MAX_LOGROWS;

/// The metadata block of a key file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct KeyMeta {
    /// The circuit parameters the key was generated for.
    pub params: CircuitParams,
    /// Hex SHA-256 of the compiled model's graph (`settings.model.model_hash`).
    pub model_hash: String,
    /// The SRS the key was made with (empty in keys written before keys recorded it).
    #[serde(default)]
    pub srs: SrsRecord,
}

impl KeyMeta {
    /// The metadata of a key for `params` and the compiled model `model_hash`, made with `srs`.
    pub fn new(params: CircuitParams, model_hash: impl Into<String>, srs: SrsRecord) -> Self {
        Self { params, model_hash: model_hash.into(), srs }
    }

    /// Checks that the key at `path` was made with the SRS `srs` records (when the key records
    /// one): proofs made or checked with another SRS never verify, so this names the cause first.
    pub fn check_srs(&self, path: &Path, srs: &SrsRecord) -> Result<(), ArtifactError> {
        self.srs.check_same(path, srs)
    }

    /// Checks that the key at `path` was made for the model and circuit `settings` describe:
    /// the same model hash (when both record one) and the same circuit parameters. A key for
    /// other parameters may still parse (e.g. another `lookup_bits` keeps the same columns), so
    /// `prove` and `verify` call this before using a key.
    pub fn check_for(&self, path: &Path, settings: &Settings) -> Result<(), ArtifactError> {
        let kind = "key";
        let want = CircuitParams::from_settings(settings);
        if self.params != want {
            let reason = format!("its circuit parameters are {:?}, the settings give {want:?}", self.params);
            return Err(ArtifactError::Mismatch { path: path.to_path_buf(), kind, reason });
        }
        let hash = &settings.model.model_hash;
        if !hash.is_empty() && !self.model_hash.is_empty() && &self.model_hash != hash {
            let reason = format!("it belongs to model {}, the settings to model {hash}", self.model_hash);
            return Err(ArtifactError::Mismatch { path: path.to_path_buf(), kind, reason });
        }
        Ok(())
    }
}

fn meta_bytes(meta: &KeyMeta) -> Vec<u8> {
    serde_json::to_vec(meta).unwrap_or_default()
}

fn parse_meta(path: &Path, kind: &'static str, meta: &[u8]) -> Result<KeyMeta, ArtifactError> {
    let meta: KeyMeta = serde_json::from_slice(meta).map_err(|e| ArtifactError::Corrupt {
        path: path.to_path_buf(),
        kind,
        reason: format!("key metadata: {e}"),
    })?;
    let params = &meta.params;
    // bound what `configure` will allocate before handing the parameters to halo2
    if params.k == 0 || params.k > MAX_K {
        return Err(ArtifactError::TooLarge { path: path.to_path_buf(), kind, k: params.k, max: MAX_K });
    }
    params.validate().map_err(|e| ArtifactError::Corrupt {
        path: path.to_path_buf(),
        kind,
        reason: format!("circuit parameters: {e}"),
    })?;
    Ok(meta)
}

/// Runs a halo2 deserializer, turning both its errors and its panics into [`ArtifactError`]
/// (`kind` names the file's kind): every key reader's guard, aggregation keys' included.
pub fn guarded<T>(path: &Path, kind: &'static str, f: impl FnOnce() -> std::io::Result<T>) -> Result<T, ArtifactError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(ArtifactError::Corrupt { path: path.to_path_buf(), kind, reason: e.to_string() }),
        Err(_) => Err(ArtifactError::Corrupt {
            path: path.to_path_buf(),
            kind,
            reason: "the key does not match its circuit parameters".into(),
        }),
    }
}

/// Serializes a verifying key with its metadata (circuit parameters, model hash, SRS).
pub fn vk_to_bytes(vk: &VerifyingKey<G1Affine>, meta: &KeyMeta) -> Vec<u8> {
    let mut body = Vec::new();
    // writing into a Vec cannot fail
    let _ = vk.write(&mut body, SerdeFormat::RawBytes);
    encode(VK_MAGIC, KEY_VERSION, &meta_bytes(meta), &body)
}

/// Serializes a proving key with its metadata (circuit parameters, model hash, SRS).
pub fn pk_to_bytes(pk: &ProvingKey<G1Affine>, meta: &KeyMeta) -> Vec<u8> {
    let mut body = Vec::new();
    let _ = pk.write(&mut body, SerdeFormat::RawBytes);
    encode(PK_MAGIC, KEY_VERSION, &meta_bytes(meta), &body)
}

/// The metadata of a verifying or proving key file's bytes, after checking magic, version and
/// checksum, without parsing the key itself.
pub fn key_meta(path: &Path, bytes: &[u8]) -> Result<KeyMeta, ArtifactError> {
    let (magic, kind) = if has_magic(bytes, PK_MAGIC) { (PK_MAGIC, PK_KIND) } else { (VK_MAGIC, VK_KIND) };
    let (meta, _) = decode(path, kind, magic, KEY_VERSION, bytes)?;
    parse_meta(path, kind, meta)
}

/// Parses a verifying key file's bytes; `path` only names the source in errors.
pub fn vk_from_bytes(path: &Path, bytes: &[u8]) -> Result<(VerifyingKey<G1Affine>, KeyMeta), ArtifactError> {
    let (meta, body) = decode(path, VK_KIND, VK_MAGIC, KEY_VERSION, bytes)?;
    let meta = parse_meta(path, VK_KIND, meta)?;
    let (vk, len) = read_vk_body(path, VK_KIND, body, &meta.params)?;
    if len != body.len() {
        return Err(corrupt(path, VK_KIND, format!("{} unexpected bytes after the key", body.len() - len)));
    }
    Ok((vk, meta))
}

fn corrupt(path: &Path, kind: &'static str, reason: String) -> ArtifactError {
    ArtifactError::Corrupt { path: path.to_path_buf(), kind, reason }
}

/// Reads the verifying key at the start of `body` (a VK or PK body) after checking its header
/// against the metadata; returns the key and the number of bytes it took.
fn read_vk_body(
    path: &Path,
    kind: &'static str,
    body: &[u8],
    params: &CircuitParams,
) -> Result<(VerifyingKey<G1Affine>, usize), ArtifactError> {
    check_vk_header(body, params.k).map_err(|r| corrupt(path, kind, r))?;
    let p = params.clone();
    let mut cursor = Cursor::new(body);
    let vk = guarded(path, kind, || {
        VerifyingKey::<G1Affine>::read::<_, ModelCircuit>(&mut cursor, SerdeFormat::RawBytes, p)
    })?;
    // halo2 takes the number of fixed commitments from the body; the circuit decides it
    let (got, want) = (vk.fixed_commitments().len(), vk.cs().num_fixed_columns());
    if got != want {
        return Err(corrupt(
            path,
            kind,
            format!("{got} fixed-column commitments, but the circuit parameters in the key give {want}"),
        ));
    }
    // the cursor never moves past the slice it reads
    Ok((vk, cursor.position() as usize))
}

/// Writes a verifying key file atomically.
pub fn write_vk(path: &Path, vk: &VerifyingKey<G1Affine>, meta: &KeyMeta) -> Result<(), ArtifactError> {
    write_atomic(path, &vk_to_bytes(vk, meta))
}

/// Reads a verifying key file.
pub fn read_vk(path: &Path) -> Result<(VerifyingKey<G1Affine>, KeyMeta), ArtifactError> {
    vk_from_bytes(path, &read_bytes(path)?)
}

/// Writes a proving key file atomically.
pub fn write_pk(path: &Path, pk: &ProvingKey<G1Affine>, meta: &KeyMeta) -> Result<(), ArtifactError> {
    write_atomic(path, &pk_to_bytes(pk, meta))
}

/// Parses a proving key file's bytes; `path` only names the source in errors. The body's
/// layout is checked before halo2 parses it, so a forged length is an error, not an abort.
pub fn pk_from_bytes(path: &Path, bytes: &[u8]) -> Result<(ProvingKey<G1Affine>, KeyMeta), ArtifactError> {
    let (meta, body) = decode(path, PK_KIND, PK_MAGIC, KEY_VERSION, bytes)?;
    let meta = parse_meta(path, PK_KIND, meta)?;
    let (_, vk_len) = read_vk_body(path, PK_KIND, body, &meta.params)?;
    check_pk_tail(&body[vk_len..], meta.params.k).map_err(|r| corrupt(path, PK_KIND, r))?;
    let p = meta.params.clone();
    let pk = guarded(path, PK_KIND, || {
        ProvingKey::<G1Affine>::read::<_, ModelCircuit>(&mut Cursor::new(body), SerdeFormat::RawBytes, p)
    })?;
    Ok((pk, meta))
}

/// Reads a proving key file.
pub fn read_pk(path: &Path) -> Result<(ProvingKey<G1Affine>, KeyMeta), ArtifactError> {
    pk_from_bytes(path, &read_bytes(path)?)
}
