//! SRS (KZG structured reference string) files.
//!
//! zkonnx's own SRS file is a [`container`](crate::container) whose metadata says where the SRS
//! came from ([`SrsOrigin`]): `srs gen` makes an **insecure** development SRS from a known seed,
//! fine for tests and never for production; `srs import` makes one from a public ceremony's
//! `.ptau` file ([`crate::ptau`]). A plain halo2 `ParamsKZG` file (raw bytes, as other halo2
//! tools write it) is read as well, and treated as imported.

use std::io::Cursor;
use std::path::Path;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};

use crate::artifact::{read_bytes, write_atomic};
use crate::container::{decode, encode, has_magic};
use crate::{ArtifactError, VerifyError};

const SRS_MAGIC: &[u8; 8] = b"ZKONNXSR";
/// Version of the SRS file format.
pub const SRS_VERSION: u32 = 1;
/// Largest `k` an SRS file may declare: the largest circuit zkonnx builds.
pub const MAX_SRS_K: u32 = zkonnx_ir::limits::MAX_LOGROWS;
const KIND: &str = "SRS";

/// Where an SRS came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SrsOrigin {
    /// Generated locally from a known seed: anyone can forge proofs against it. Development only.
    InsecureDev,
    /// Taken from a file made elsewhere (e.g. a public ceremony).
    Imported,
    /// Imported from a Perpetual Powers of Tau `_final_` file whose BLAKE2b hash matched the one
    /// the snarkjs README publishes (`zkonnx srs fetch`).
    PerpetualPowersOfTau,
}

impl SrsOrigin {
    /// How `verify` and `run --json` name an SRS of this origin.
    pub fn label(self) -> &'static str {
        match self {
            SrsOrigin::InsecureDev => "dev",
            SrsOrigin::Imported => "imported",
            SrsOrigin::PerpetualPowersOfTau => "perpetual-powers-of-tau",
        }
    }
}

/// Which SRS a key was made with, as key files record it: the hash of the SRS's G2 points and
/// whether it is the insecure development SRS. Keys and proofs only work with the SRS they were
/// made with, so readers compare the hash before proving or verifying; an empty hash (keys written
/// before keys recorded it) is not compared.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SrsRecord {
    /// Hex SHA-256 of `g2 || [tau]g2` (compressed): the same for every size of one SRS, and
    /// different for every other secret.
    pub g2_hash: String,
    /// Whether it is the insecure development SRS (a public secret).
    pub dev: bool,
}

impl SrsRecord {
    /// The record of `params`; `dev` as the caller determined it (`zkonnx_prover::is_dev_srs`).
    pub fn new(params: &ParamsKZG<Bn256>, dev: bool) -> Self {
        Self { g2_hash: g2_hash(params), dev }
    }

    /// Checks that `given` is this SRS (when this records one: keys from before the record are
    /// not compared); `path` names the key file in the error.
    pub fn check_same(&self, path: &Path, given: &SrsRecord) -> Result<(), ArtifactError> {
        if self.g2_hash.is_empty() || self.g2_hash == given.g2_hash {
            return Ok(());
        }
        Err(ArtifactError::OtherSrs { path: path.to_path_buf(), key: self.short(), given: given.short() })
    }

    /// A short form for messages: the first 16 hex digits and `(development SRS)` when it is one.
    pub fn short(&self) -> String {
        let head = self.g2_hash.get(..16).unwrap_or(&self.g2_hash);
        if self.dev {
            format!("{head}… (the insecure development SRS)")
        } else {
            format!("{head}…")
        }
    }
}

/// Hex SHA-256 of an SRS's G2 points (`g2` then `[tau]g2`, compressed).
pub fn g2_hash(params: &ParamsKZG<Bn256>) -> String {
    use halo2_proofs::halo2curves::group::GroupEncoding;
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(params.g2().to_bytes().as_ref());
    h.update(params.s_g2().to_bytes().as_ref());
    hex::encode(h.finalize())
}

#[derive(Serialize, Deserialize)]
struct SrsMeta {
    k: u32,
    origin: SrsOrigin,
    note: String,
}

/// Writes `params` as a zkonnx SRS file, atomically.
pub fn write_srs(path: &Path, params: &ParamsKZG<Bn256>, origin: SrsOrigin) -> Result<(), ArtifactError> {
    let note = match origin {
        SrsOrigin::InsecureDev => "INSECURE development SRS from a known seed: never use in production",
        SrsOrigin::Imported => "imported SRS",
        SrsOrigin::PerpetualPowersOfTau => "Perpetual Powers of Tau (snarkjs README hash checked)",
    };
    let meta = SrsMeta { k: params.k(), origin, note: note.into() };
    let mut body = Vec::new();
    let _ = params.write_custom(&mut body, SerdeFormat::RawBytesUnchecked);
    let meta = serde_json::to_vec(&meta).unwrap_or_default();
    write_atomic(path, &encode(SRS_MAGIC, SRS_VERSION, &meta, &body))
}

/// Reads an SRS file (zkonnx's, or a raw halo2 `ParamsKZG` file).
pub fn read_srs(path: &Path) -> Result<(ParamsKZG<Bn256>, SrsOrigin), ArtifactError> {
    let bytes = read_bytes(path)?;
    let corrupt = |reason: String| ArtifactError::Corrupt { path: path.to_path_buf(), kind: KIND, reason };
    if !has_magic(&bytes, SRS_MAGIC) {
        return read_raw_halo2(path, &bytes).map(|p| (p, SrsOrigin::Imported));
    }
    let (meta, body) = decode(path, KIND, SRS_MAGIC, SRS_VERSION, &bytes)?;
    let meta: SrsMeta = serde_json::from_slice(meta).map_err(|e| corrupt(format!("metadata: {e}")))?;
    let k = check_body(path, body)?;
    if k != meta.k {
        return Err(corrupt(format!("metadata says k = {}, the points say k = {k}", meta.k)));
    }
    // the checksum already vouched for the bytes we wrote, so skip the on-curve checks
    let params = ParamsKZG::<Bn256>::read_custom(&mut Cursor::new(body), SerdeFormat::RawBytesUnchecked)
        .map_err(|e| corrupt(e.to_string()))?;
    Ok((params, meta.origin))
}

/// A raw halo2 params file, as other halo2 tools write it.
fn read_raw_halo2(path: &Path, bytes: &[u8]) -> Result<ParamsKZG<Bn256>, ArtifactError> {
    check_body(path, bytes)?;
    // foreign bytes: check every point is on the curve
    ParamsKZG::<Bn256>::read_custom(&mut Cursor::new(bytes), SerdeFormat::RawBytes)
        .map_err(|e| ArtifactError::Corrupt { path: path.to_path_buf(), kind: KIND, reason: e.to_string() })
}

/// Checks a raw halo2 params body (`k u32 LE | g[n] | g_lagrange[n] | g2 | s_g2`, uncompressed)
/// has a sane `k` and exactly the length that `k` implies; returns `k`.
fn check_body(path: &Path, body: &[u8]) -> Result<u32, ArtifactError> {
    let k = match body.get(..4) {
        Some(b) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        None => {
            return Err(ArtifactError::WrongKind {
                path: path.to_path_buf(),
                expected: KIND,
                got: "a file too short to identify".into(),
            })
        }
    };
    if k == 0 || k > MAX_SRS_K {
        return Err(ArtifactError::TooLarge { path: path.to_path_buf(), kind: KIND, k, max: MAX_SRS_K });
    }
    let expected = 4 + (2usize << k) * 64 + 2 * 128;
    if body.len() != expected {
        return Err(ArtifactError::Corrupt {
            path: path.to_path_buf(),
            kind: KIND,
            reason: format!("k = {k} needs {expected} bytes, the file has {}", body.len()),
        });
    }
    Ok(k)
}

/// Parameters for verifying a circuit of size `2^k` from an SRS of at least that size.
/// Verification uses only `g[0]`, `g2` and `s_g2`, so this copies three points.
pub fn verifier_params(srs: &ParamsKZG<Bn256>, k: u32) -> Result<ParamsKZG<Bn256>, VerifyError> {
    if srs.k() < k {
        return Err(VerifyError::SrsTooSmall { srs_k: srs.k(), vk_k: k });
    }
    let g0: G1Affine = srs.get_g()[0];
    Ok(srs.from_parts(k, vec![g0], Some(vec![g0]), srs.g2(), srs.s_g2()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn zkonnx_and_raw_files_round_trip_and_corruption_is_caught() {
        let params = ParamsKZG::<Bn256>::setup(4, rand_chacha::ChaCha20Rng::seed_from_u64(1));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("dev.srs");
        write_srs(&p, &params, SrsOrigin::InsecureDev).unwrap();
        let (back, origin) = read_srs(&p).unwrap();
        assert_eq!((back.k(), origin), (4, SrsOrigin::InsecureDev));
        assert_eq!(back.get_g(), params.get_g());

        let raw = dir.path().join("raw.srs");
        let mut bytes = Vec::new();
        params.write_custom(&mut bytes, SerdeFormat::RawBytes).unwrap();
        std::fs::write(&raw, &bytes).unwrap();
        let (back, origin) = read_srs(&raw).unwrap();
        assert_eq!((back.k(), origin), (4, SrsOrigin::Imported));

        let mut bad = std::fs::read(&p).unwrap();
        let n = bad.len();
        bad[n - 5] ^= 1;
        std::fs::write(&p, &bad).unwrap();
        assert!(matches!(read_srs(&p), Err(ArtifactError::Corrupt { .. })));
        std::fs::write(&p, &bad[..n / 2]).unwrap();
        assert!(read_srs(&p).is_err());
        std::fs::write(&raw, [255u8, 255, 0, 0, 1, 2]).unwrap();
        assert!(matches!(read_srs(&raw), Err(ArtifactError::TooLarge { .. })));
    }
}
