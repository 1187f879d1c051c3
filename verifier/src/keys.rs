//! Verifying and proving key files: a [`container`](crate::container) holding the circuit
//! parameters (JSON) and halo2's key bytes. The parameters are needed to rebuild the
//! constraint system when reading the key, so the key file is self-describing.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_proofs::SerdeFormat;
use zkonnx_circuits::{CircuitParams, ModelCircuit};

use crate::artifact::{read_bytes, write_atomic};
use crate::container::{decode, encode};
use crate::ArtifactError;

const VK_MAGIC: &[u8; 8] = b"ZKONNXVK";
const PK_MAGIC: &[u8; 8] = b"ZKONNXPK";
/// Version of the key file format.
pub const KEY_VERSION: u32 = 1;
/// Largest `k` a key may declare (the field's 2-adicity allows 28; the SRS tooling 26).
pub const MAX_K: u32 = 26;

fn meta(params: &CircuitParams) -> Vec<u8> {
    serde_json::to_vec(params).unwrap_or_default()
}

fn parse_params(path: &Path, kind: &'static str, meta: &[u8]) -> Result<CircuitParams, ArtifactError> {
    let params: CircuitParams = serde_json::from_slice(meta).map_err(|e| ArtifactError::Corrupt {
        path: path.to_path_buf(),
        kind,
        reason: format!("circuit parameters: {e}"),
    })?;
    // bound what `configure` will allocate before handing the parameters to halo2
    if params.k == 0 || params.k > MAX_K {
        return Err(ArtifactError::TooLarge { path: path.to_path_buf(), kind, k: params.k, max: MAX_K });
    }
    params.validate().map_err(|e| ArtifactError::Corrupt {
        path: path.to_path_buf(),
        kind,
        reason: format!("circuit parameters: {e}"),
    })?;
    Ok(params)
}

/// Runs a halo2 deserializer, turning both its errors and its panics into [`ArtifactError`].
fn guarded<T>(path: &Path, kind: &'static str, f: impl FnOnce() -> std::io::Result<T>) -> Result<T, ArtifactError> {
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

/// Serializes a verifying key with its circuit parameters.
pub fn vk_to_bytes(vk: &VerifyingKey<G1Affine>, params: &CircuitParams) -> Vec<u8> {
    let mut body = Vec::new();
    // writing into a Vec cannot fail
    let _ = vk.write(&mut body, SerdeFormat::RawBytes);
    encode(VK_MAGIC, KEY_VERSION, &meta(params), &body)
}

/// Parses a verifying key file's bytes; `path` only names the source in errors.
pub fn vk_from_bytes(path: &Path, bytes: &[u8]) -> Result<(VerifyingKey<G1Affine>, CircuitParams), ArtifactError> {
    const KIND: &str = "verifying key";
    let (meta, body) = decode(path, KIND, VK_MAGIC, KEY_VERSION, bytes)?;
    let params = parse_params(path, KIND, meta)?;
    let p = params.clone();
    let vk = guarded(path, KIND, || {
        VerifyingKey::<G1Affine>::read::<_, ModelCircuit>(&mut Cursor::new(body), SerdeFormat::RawBytes, p)
    })?;
    Ok((vk, params))
}

/// Writes a verifying key file atomically.
pub fn write_vk(path: &Path, vk: &VerifyingKey<G1Affine>, params: &CircuitParams) -> Result<(), ArtifactError> {
    write_atomic(path, &vk_to_bytes(vk, params))
}

/// Reads a verifying key file.
pub fn read_vk(path: &Path) -> Result<(VerifyingKey<G1Affine>, CircuitParams), ArtifactError> {
    vk_from_bytes(path, &read_bytes(path)?)
}

/// Writes a proving key file atomically.
pub fn write_pk(path: &Path, pk: &ProvingKey<G1Affine>, params: &CircuitParams) -> Result<(), ArtifactError> {
    let mut body = Vec::new();
    let _ = pk.write(&mut body, SerdeFormat::RawBytes);
    write_atomic(path, &encode(PK_MAGIC, KEY_VERSION, &meta(params), &body))
}

/// Reads a proving key file.
pub fn read_pk(path: &Path) -> Result<(ProvingKey<G1Affine>, CircuitParams), ArtifactError> {
    const KIND: &str = "proving key";
    let bytes = read_bytes(path)?;
    let (meta, body) = decode(path, KIND, PK_MAGIC, KEY_VERSION, &bytes)?;
    let params = parse_params(path, KIND, meta)?;
    let p = params.clone();
    let pk = guarded(path, KIND, || {
        ProvingKey::<G1Affine>::read::<_, ModelCircuit>(&mut Cursor::new(body), SerdeFormat::RawBytes, p)
    })?;
    Ok((pk, params))
}
