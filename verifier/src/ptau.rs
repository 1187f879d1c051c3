//! Import of a KZG SRS from a snarkjs `.ptau` file: the Perpetual Powers of Tau ceremony files
//! (e.g. Hermez's `powersOfTau28_hez_final_XX.ptau`) and any other snarkjs ceremony on BN254
//! ("bn128").
//!
//! The format, as snarkjs writes it (`powersoftau_new.js`, `@iden3/binfileutils`; integers
//! little-endian):
//!
//! ```text
//! "ptau" | version u32 (= 1) | n_sections u32 | n_sections x (type u32 | size u64 | size bytes)
//! section 1, header:  n8 u32 (= 32) | base field prime q (n8 bytes LE) | power u32 | ceremony_power u32
//! section 2, tauG1:   2^(power+1) - 1 G1 points  [tau^i] G1
//! section 3, tauG2:   2^power G2 points          [tau^i] G2
//! sections 4..=7: alpha/beta powers, contributions (unused here)
//! section 12, only in files prepared for phase 2 (`powersoftau prepare phase2`, as the public
//!             `*_final.ptau` files are): tauG1 in Lagrange form, the bases of the domains of
//!             size 2^p for p = 0..=power+1 one after another (13..=15: the same for tauG2,
//!             alpha, beta; unused here)
//! ```
//!
//! Points are affine and uncompressed, every coordinate `n8` bytes of Montgomery form
//! (`x * 2^256 mod q`), little-endian; G1 is `x | y`, G2 is `x.c0 | x.c1 | y.c0 | y.c1`; the
//! point at infinity is all zeros. That is the same byte layout as halo2curves' raw field
//! encoding, so coordinates decode with [`SerdeObject::from_raw_bytes`] (which also refuses
//! values `>= q`); the check that `tauG1[0]` is the generator confirms the reading.
//!
//! [`PtauFile::open`] checks the structure (magic, version, the section table against the file
//! length, the curve, the section sizes against `power`) without reading any points;
//! [`PtauFile::read_params`] then reads only the first `2^k` tauG1 points and `tauG2[0..2]`,
//! checks every point (on the curve, G2 in the prime-order subgroup, none at infinity), that
//! `tauG1[0]` and `tauG2[0]` are the generators, that `e(tauG1[1], G2) = e(G1, tauG2[1])`, and
//! that all `2^k` tauG1 points are successive powers of that same tau (one random linear
//! combination, two pairings). halo2 also needs `g_lagrange`, tauG1 in the Lagrange basis of
//! its size-`2^k` domain: read from section 12 when the file has it (snarkjs's domain has
//! another generator, so the basis is reordered, then checked against tauG1 by one random
//! combination), else computed by an inverse FFT over G1 (`k 2^(k-1)` scalar
//! multiplications of ~0.3 ms: 8 s at k = 12, about a CPU-hour at k = 20). The import does not
//! replay the ceremony's contributions: `snarkjs powersoftau verify` does that.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use halo2_proofs::arithmetic::{g_to_lagrange, parallelize, CurveAffine};
use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fq2, G1Affine, G2Affine, G2};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::cofactor::CofactorGroup;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::pairing::Engine;
use halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::{SerdeCurveAffine, SerdeFormat};
use sha2::{Digest, Sha512};

use crate::srs::MAX_SRS_K;
use crate::ArtifactError;

const KIND: &str = "ptau";
const MAGIC: &[u8; 4] = b"ptau";
/// The only `.ptau` format version snarkjs writes (and reads).
pub const PTAU_VERSION: u32 = 1;
/// Largest `power` a `.ptau` file may declare: BN254's scalar field has roots of unity of order
/// up to `2^28`, and the Hermez ceremony stops there.
pub const MAX_PTAU_POWER: u32 = 28;
/// Bytes of one base-field element.
const N8: usize = 32;
const G1_BYTES: usize = 2 * N8;
const G2_BYTES: usize = 4 * N8;
/// The header section: `n8`, `q`, `power`, `ceremony_power`.
const HEADER_BYTES: u64 = 4 + N8 as u64 + 4 + 4;
const SECTION_HEADER: u32 = 1;
const SECTION_TAU_G1: u32 = 2;
const SECTION_TAU_G2: u32 = 3;
/// tauG1 in Lagrange form, written by `powersoftau prepare phase2` (the `*_final.ptau` files):
/// the bases of every domain size `2^p`, `p = 0..=power+1`, one after the other.
const SECTION_LAGRANGE_G1: u32 = 12;
/// tauG1 points read and decoded at a time (4 MiB).
const CHUNK_POINTS: usize = 1 << 16;

/// Where a section's bytes lie in the file.
#[derive(Clone, Copy, Debug)]
struct Section {
    pos: u64,
    size: u64,
}

/// A `.ptau` file whose structure has been checked; points are read on demand.
#[derive(Debug)]
pub struct PtauFile<R = File> {
    path: PathBuf,
    reader: R,
    power: u32,
    ceremony_power: u32,
    tau_g1: Section,
    tau_g2: Section,
    lagrange_g1: Option<Section>,
}

impl PtauFile<File> {
    /// Opens `path` and checks its structure (no points are read yet).
    pub fn open(path: &Path) -> Result<Self, ArtifactError> {
        let file = File::open(path).map_err(|source| ArtifactError::Io { path: path.to_path_buf(), error: source })?;
        Self::from_reader(path, file)
    }
}

impl<R: Read + Seek> PtauFile<R> {
    /// Checks the structure of the `.ptau` bytes in `reader`; `path` names it in errors.
    pub fn from_reader(path: &Path, mut reader: R) -> Result<Self, ArtifactError> {
        let path = path.to_path_buf();
        let len =
            reader.seek(SeekFrom::End(0)).map_err(|source| ArtifactError::Io { path: path.clone(), error: source })?;
        let sections = read_section_table(&path, &mut reader, len)?;
        let (power, ceremony_power) = read_header(&path, &mut reader, sections.header)?;
        let corrupt = |reason: String| ArtifactError::Corrupt { path: path.clone(), kind: KIND, reason };
        let n = 1u64 << power;
        let expected_g1 = (2 * n - 1) * G1_BYTES as u64;
        if sections.tau_g1.size != expected_g1 {
            return Err(corrupt(format!(
                "the tauG1 section is {} bytes, power {power} needs 2^{}-1 points = {expected_g1} bytes",
                sections.tau_g1.size,
                power + 1
            )));
        }
        let expected_g2 = n * G2_BYTES as u64;
        if sections.tau_g2.size != expected_g2 {
            return Err(corrupt(format!(
                "the tauG2 section is {} bytes, power {power} needs 2^{power} points = {expected_g2} bytes",
                sections.tau_g2.size
            )));
        }
        if let Some(l) = sections.lagrange_g1 {
            let expected = ((1u64 << (power + 2)) - 1) * G1_BYTES as u64;
            if l.size != expected {
                return Err(corrupt(format!(
                    "the Lagrange tauG1 section (12) is {} bytes, power {power} needs 2^{}-1 points = {expected} bytes",
                    l.size,
                    power + 2
                )));
            }
        }
        Ok(Self {
            path,
            reader,
            power,
            ceremony_power,
            tau_g1: sections.tau_g1,
            tau_g2: sections.tau_g2,
            lagrange_g1: sections.lagrange_g1,
        })
    }

    /// log2 of the number of tau powers this file holds (tauG2 has `2^power` points).
    pub fn power(&self) -> u32 {
        self.power
    }

    /// The power of the ceremony the file came from (larger than [`power`](Self::power) when
    /// the file was truncated from a bigger one).
    pub fn ceremony_power(&self) -> u32 {
        self.ceremony_power
    }

    /// The largest `k` [`read_params`](Self::read_params) accepts: `power`, at most
    /// [`MAX_SRS_K`].
    pub fn max_k(&self) -> u32 {
        self.power.min(MAX_SRS_K)
    }

    /// Whether the file carries tauG1 in Lagrange form (a prepared `*_final.ptau` file): then
    /// [`read_params`](Self::read_params) reads `g_lagrange` from it instead of computing an
    /// inverse FFT over G1 (`k 2^(k-1)` scalar multiplications; see the module docs).
    pub fn has_lagrange_basis(&self) -> bool {
        self.lagrange_g1.is_some()
    }

    /// Reads and checks the first `2^k` tauG1 points and `tauG2[0..2]`, and builds halo2 KZG
    /// parameters from them: `g = tauG1[0..2^k]`, `g2 = tauG2[0]`, `s_g2 = tauG2[1]`, and
    /// `g_lagrange` from the file's Lagrange section when it has one (checked against `g`),
    /// else the inverse FFT of `g` over the size-`2^k` domain.
    pub fn read_params(&mut self, k: u32) -> Result<ParamsKZG<Bn256>, ArtifactError> {
        if k == 0 || k > self.max_k() {
            return Err(ArtifactError::TooLarge { path: self.path.clone(), kind: KIND, k, max: self.max_k() });
        }
        let n = 1usize << k;
        let mut transcript = Sha512::new();
        transcript.update(b"zkonnx ptau import");
        let mut g2_bytes = [0u8; 2 * G2_BYTES];
        self.read_at(self.tau_g2.pos, &mut g2_bytes)?;
        transcript.update(g2_bytes);
        let g2 = decode_g2(&g2_bytes[..G2_BYTES]).map_err(|why| self.corrupt(format!("tauG2[0]: {why}")))?;
        let s_g2 = decode_g2(&g2_bytes[G2_BYTES..]).map_err(|why| self.corrupt(format!("tauG2[1]: {why}")))?;
        let g = self.read_g1(self.tau_g1.pos, n, "tauG1", &mut transcript)?;
        if g[0] != G1Affine::generator() {
            return Err(self.corrupt("tauG1[0] is not the BN254 G1 generator".into()));
        }
        if g2 != G2Affine::generator() {
            return Err(self.corrupt("tauG2[0] is not the BN254 G2 generator".into()));
        }
        if Bn256::pairing(&g[1], &g2) != Bn256::pairing(&g[0], &s_g2) {
            return Err(self.corrupt(
                "tauG1[1] and tauG2[1] are not the same power of tau: e(tauG1[1], G2) != e(G1, tauG2[1])".into(),
            ));
        }
        let lagrange = match self.lagrange_g1 {
            // the size-2^k basis follows those of sizes 1, 2, ..., 2^(k-1): 2^k - 1 points
            Some(l) => Some(self.read_g1(l.pos + ((n - 1) * G1_BYTES) as u64, n, "Lagrange tauG1", &mut transcript)?),
            None => None,
        };
        let seed: [u8; 64] = transcript.finalize().into();
        if !checks::successive_powers(&g, &g2, &s_g2, &seed) {
            return Err(self.corrupt(format!(
                "tauG1[0..2^{k}] are not successive powers of the tau in tauG2[1] (random-combination pairing check)"
            )));
        }
        let g_lagrange = match lagrange {
            Some(l) => {
                let l = checks::snarkjs_to_halo2_order(l, k);
                if !checks::is_lagrange_basis_of(&l, &g, k, &seed) {
                    return Err(self.corrupt(format!(
                        "the Lagrange tauG1 section (12) for size 2^{k} is not the Lagrange basis of tauG1[0..2^{k}]"
                    )));
                }
                l
            }
            None => g_to_lagrange(g.iter().map(PrimeCurveAffine::to_curve).collect(), k),
        };
        params_from_parts(&self.path, k, g, g_lagrange, g2, s_g2)
    }

    /// Reads and decodes `n` G1 points from byte `pos` in chunks, feeding their bytes to
    /// `transcript`; `what` names them in errors.
    fn read_g1(
        &mut self,
        pos: u64,
        n: usize,
        what: &str,
        transcript: &mut Sha512,
    ) -> Result<Vec<G1Affine>, ArtifactError> {
        let mut points = Vec::with_capacity(n);
        let mut buf = vec![0u8; CHUNK_POINTS.min(n) * G1_BYTES];
        while points.len() < n {
            let m = CHUNK_POINTS.min(n - points.len());
            let bytes = &mut buf[..m * G1_BYTES];
            self.read_at(pos + (points.len() * G1_BYTES) as u64, bytes)?;
            transcript.update(&*bytes);
            let bytes = &*bytes;
            let mut decoded = vec![Err("not decoded"); m];
            parallelize(&mut decoded, |out, start| {
                for (j, p) in out.iter_mut().enumerate() {
                    let at = (start + j) * G1_BYTES;
                    *p = decode_g1(&bytes[at..at + G1_BYTES]);
                }
            });
            for p in decoded {
                let i = points.len();
                points.push(p.map_err(|why| self.corrupt(format!("{what}[{i}]: {why}")))?);
            }
        }
        Ok(points)
    }

    /// Fills `buf` from byte `pos` of the file (the section table vouched it lies inside).
    fn read_at(&mut self, pos: u64, buf: &mut [u8]) -> Result<(), ArtifactError> {
        let io = |source| ArtifactError::Io { path: self.path.clone(), error: source };
        self.reader.seek(SeekFrom::Start(pos)).map_err(io)?;
        self.reader.read_exact(buf).map_err(io)
    }

    fn corrupt(&self, reason: String) -> ArtifactError {
        ArtifactError::Corrupt { path: self.path.clone(), kind: KIND, reason }
    }
}

/// The sections this importer needs.
struct Sections {
    header: Section,
    tau_g1: Section,
    tau_g2: Section,
    lagrange_g1: Option<Section>,
}

/// Reads magic, version and the section table, checking every section lies inside the file.
fn read_section_table<R: Read + Seek>(path: &Path, reader: &mut R, len: u64) -> Result<Sections, ArtifactError> {
    let io = |source| ArtifactError::Io { path: path.to_path_buf(), error: source };
    let corrupt = |reason: String| ArtifactError::Corrupt { path: path.to_path_buf(), kind: KIND, reason };
    let mut head = [0u8; 12];
    if len < 12 {
        return Err(ArtifactError::WrongKind {
            path: path.to_path_buf(),
            expected: KIND,
            got: "a file too short to identify".into(),
        });
    }
    reader.seek(SeekFrom::Start(0)).map_err(io)?;
    reader.read_exact(&mut head).map_err(io)?;
    if &head[..4] != MAGIC {
        let got = format!("a file starting with {:?}", String::from_utf8_lossy(&head[..4]));
        return Err(ArtifactError::WrongKind { path: path.to_path_buf(), expected: KIND, got });
    }
    let version = u32_at(&head, 4);
    if version != PTAU_VERSION {
        return Err(ArtifactError::Version {
            path: path.to_path_buf(),
            kind: KIND,
            expected: PTAU_VERSION,
            got: version,
        });
    }
    let n_sections = u32_at(&head, 8);
    let mut found: [Option<Section>; 4] = [None; 4];
    let mut pos = 12u64;
    // every section takes at least 12 bytes, so this loop ends within len / 12 rounds
    for i in 0..n_sections {
        if len - pos < 12 {
            return Err(corrupt(format!(
                "the header lists {n_sections} sections, the file ends after {i} (truncated?)"
            )));
        }
        let mut entry = [0u8; 12];
        reader.read_exact(&mut entry).map_err(io)?;
        let (kind, size) = (u32_at(&entry, 0), u64_at(&entry, 4));
        pos += 12;
        if size > len - pos {
            return Err(corrupt(format!(
                "section {i} (type {kind}) claims {size} bytes, the file has {} left (truncated?)",
                len - pos
            )));
        }
        let slot = match kind {
            SECTION_HEADER => Some(0),
            SECTION_TAU_G1 => Some(1),
            SECTION_TAU_G2 => Some(2),
            SECTION_LAGRANGE_G1 => Some(3),
            _ => None,
        };
        if let Some(slot) = slot {
            if found[slot].is_some() {
                return Err(corrupt(format!("section type {kind} appears twice")));
            }
            found[slot] = Some(Section { pos, size });
        }
        pos += size;
        reader.seek(SeekFrom::Start(pos)).map_err(io)?;
    }
    if pos != len {
        return Err(corrupt(format!("{} bytes after the last of the {n_sections} sections", len - pos)));
    }
    let names = ["header (1)", "tauG1 (2)", "tauG2 (3)"];
    let get = |slot: usize| found[slot].ok_or_else(|| corrupt(format!("no {} section", names[slot])));
    Ok(Sections { header: get(0)?, tau_g1: get(1)?, tau_g2: get(2)?, lagrange_g1: found[3] })
}

/// Reads the header section; checks the curve is BN254 and `power` is in range. Returns
/// `(power, ceremony_power)`.
fn read_header<R: Read + Seek>(path: &Path, reader: &mut R, header: Section) -> Result<(u32, u32), ArtifactError> {
    let io = |source| ArtifactError::Io { path: path.to_path_buf(), error: source };
    let parse = |reason: String| ArtifactError::Parse { path: path.to_path_buf(), kind: KIND, reason };
    let corrupt = |reason: String| ArtifactError::Corrupt { path: path.to_path_buf(), kind: KIND, reason };
    if header.size < 4 {
        return Err(corrupt(format!("the header section is {} bytes", header.size)));
    }
    reader.seek(SeekFrom::Start(header.pos)).map_err(io)?;
    let mut n8 = [0u8; 4];
    reader.read_exact(&mut n8).map_err(io)?;
    let n8 = u32::from_le_bytes(n8);
    if n8 as usize != N8 {
        return Err(parse(format!(
            "base field elements are {n8} bytes, BN254's are {N8}: the file is for another curve (only bn128 is supported)"
        )));
    }
    if header.size != HEADER_BYTES {
        return Err(corrupt(format!("the header section is {} bytes, expected {HEADER_BYTES}", header.size)));
    }
    let mut rest = [0u8; HEADER_BYTES as usize - 4];
    reader.read_exact(&mut rest).map_err(io)?;
    let q = &rest[..N8];
    if q != bn254_base_modulus_le() {
        let hex_be: String = q.iter().rev().map(|b| format!("{b:02x}")).collect();
        return Err(parse(format!(
            "the base field prime is 0x{hex_be}, not BN254's: the file is for another curve (only bn128 is supported)"
        )));
    }
    let power = u32_at(&rest, N8);
    let ceremony_power = u32_at(&rest, N8 + 4);
    if power == 0 || power > MAX_PTAU_POWER {
        return Err(corrupt(format!("power {power} is outside 1..={MAX_PTAU_POWER}")));
    }
    Ok((power, ceremony_power))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(w)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// BN254's base field modulus q, little-endian: `(q - 1) + 1` from halo2curves' `Fq`.
fn bn254_base_modulus_le() -> [u8; N8] {
    let mut q = (-Fq::ONE).to_repr();
    for b in q.iter_mut() {
        let (v, carry) = b.overflowing_add(1);
        *b = v;
        if !carry {
            break;
        }
    }
    q
}

/// One Montgomery-form coordinate (see the module docs).
fn decode_fq(bytes: &[u8]) -> Result<Fq, &'static str> {
    Fq::from_raw_bytes(bytes).ok_or("a coordinate is not below the field modulus")
}

/// A G1 point; the point at infinity is refused (no power of a non-zero tau is infinity).
fn decode_g1(bytes: &[u8]) -> Result<G1Affine, &'static str> {
    if bytes.iter().all(|&b| b == 0) {
        return Err("the point at infinity");
    }
    let (x, y) = (decode_fq(&bytes[..N8])?, decode_fq(&bytes[N8..])?);
    // BN254's G1 has cofactor 1: on the curve means in the group
    Option::from(G1Affine::from_xy(x, y)).ok_or("not on the BN254 G1 curve")
}

/// A G2 point, checked to be on the twist and in the prime-order subgroup.
fn decode_g2(bytes: &[u8]) -> Result<G2Affine, &'static str> {
    if bytes.iter().all(|&b| b == 0) {
        return Err("the point at infinity");
    }
    let fq2 = |at: usize| -> Result<Fq2, &'static str> {
        Ok(Fq2 { c0: decode_fq(&bytes[at..at + N8])?, c1: decode_fq(&bytes[at + N8..at + 2 * N8])? })
    };
    let p: G2Affine = Option::from(G2Affine::from_xy(fq2(0)?, fq2(2 * N8)?)).ok_or("not on the BN254 G2 curve")?;
    if !bool::from(G2::from(p).is_torsion_free()) {
        return Err("on the curve but outside the prime-order subgroup");
    }
    Ok(p)
}

/// A `ParamsKZG` from its points. halo2-axiom builds one only from bytes or from another
/// instance (`from_parts` takes `&self`), so a one-point instance is read from bytes first.
fn params_from_parts(
    path: &Path,
    k: u32,
    g: Vec<G1Affine>,
    g_lagrange: Vec<G1Affine>,
    g2: G2Affine,
    s_g2: G2Affine,
) -> Result<ParamsKZG<Bn256>, ArtifactError> {
    let io = |source| ArtifactError::Io { path: path.to_path_buf(), error: source };
    let mut seed = 0u32.to_le_bytes().to_vec();
    for p in [g[0], g[0]] {
        p.write(&mut seed, SerdeFormat::RawBytes).map_err(io)?;
    }
    for p in [g2, s_g2] {
        p.write(&mut seed, SerdeFormat::RawBytes).map_err(io)?;
    }
    let base = ParamsKZG::<Bn256>::read_custom(&mut seed.as_slice(), SerdeFormat::RawBytes).map_err(io)?;
    Ok(base.from_parts(k, g, Some(g_lagrange), g2, s_g2))
}

mod checks;
#[cfg(test)]
mod tests;
