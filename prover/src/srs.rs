//! SRS generation (insecure, for development), caching and reduction.

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G2Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkonnx_verifier::srs::{read_srs, write_srs, SrsOrigin, MAX_SRS_K};

use crate::ProverError;

mod fast;

/// The public seed of the development SRS. Because it is public, **anyone can forge proofs
/// against an SRS made from it**: it exists so tests and demos run offline, nothing more.
const DEV_SEED: [u8; 32] = *b"zkonnx insecure development srs!";

/// Generates the insecure development SRS of size `2^k` (in parallel, from [`DEV_SEED`]).
/// Every `k` derives from the same secret, so a smaller one equals a reduced larger one.
///
/// The points are exactly those of halo2's `ParamsKZG::setup` with the same random source (the
/// secret `tau` is its first draw), computed faster: halo2 multiplies the generator by every
/// power of `tau` and every Lagrange coefficient with a generic scalar multiplication, this
/// multiplies with a table of the generator's multiples (`fast`), about 15x fewer curve
/// additions. That is what makes the `2^21`-row SRS of an aggregation circuit seconds of work
/// instead of minutes.
pub fn generate_dev_srs(k: u32) -> Result<ParamsKZG<Bn256>, ProverError> {
    if k == 0 || k > MAX_SRS_K {
        return Err(ProverError::BadK { k, max: MAX_SRS_K });
    }
    let tau = Fr::random(ChaCha20Rng::from_seed(DEV_SEED));
    Ok(fast::setup(k, tau))
}

/// Whether `srs` is (a reduction of) the insecure development SRS: its `[tau]G2` is the one the
/// development seed gives (the same for every size), so it also catches a development SRS
/// written to a file without its label.
pub fn is_dev_srs(srs: &ParamsKZG<Bn256>) -> bool {
    static DEV_S_G2: std::sync::OnceLock<Option<G2Affine>> = std::sync::OnceLock::new();
    DEV_S_G2.get_or_init(|| generate_dev_srs(1).ok().map(|p| p.s_g2())).is_some_and(|dev| srs.s_g2() == dev)
}

/// `srs` reduced to size `2^k`.
pub fn reduce_srs(srs: &ParamsKZG<Bn256>, k: u32) -> Result<ParamsKZG<Bn256>, ProverError> {
    if k == 0 || k > srs.k() {
        return Err(ProverError::SrsTooSmall { have: srs.k(), need: k });
    }
    if k == srs.k() {
        return Ok(srs.clone());
    }
    // The development SRS's smaller sizes come from the same secret: made directly (a fixed-base
    // multiplication per point, seconds) rather than by halo2's `downsize`, whose new Lagrange
    // basis is an FFT over G1 points (many minutes at k = 19 on 2 cores). The same bytes.
    if is_dev_srs(srs) {
        return generate_dev_srs(k);
    }
    let mut out = srs.clone();
    out.downsize(k);
    Ok(out)
}

/// The on-disk cache of development SRS files, one per `k` (`dev-k<K>.srs`).
#[derive(Clone, Debug)]
pub struct SrsCache {
    dir: PathBuf,
}

impl SrsCache {
    /// A cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The user's cache folder (`~/.cache/zkonnx/srs` on Linux).
    pub fn user_default() -> Result<Self, ProverError> {
        dirs::cache_dir().map(|d| Self::new(d.join("zkonnx").join("srs"))).ok_or(ProverError::NoCacheDir)
    }

    /// The cache's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the cached development SRS for `k`.
    pub fn path(&self, k: u32) -> PathBuf {
        self.dir.join(format!("dev-k{k}.srs"))
    }

    /// The development SRS for exactly `k`: read from the cache, else generated (faster than
    /// reading and reducing a larger one, see [`reduce_srs`]) and written back.
    pub fn dev_srs(&self, k: u32) -> Result<ParamsKZG<Bn256>, ProverError> {
        let exact = self.path(k);
        if exact.exists() {
            return Ok(read_srs(&exact)?.0);
        }
        let params = generate_dev_srs(k)?;
        write_srs(&exact, &params, SrsOrigin::InsecureDev)?;
        Ok(params)
    }

    /// The path of the cached development SRS for `k`, generated first when missing; an existing
    /// file is not read.
    pub fn ensure(&self, k: u32) -> Result<PathBuf, ProverError> {
        let path = self.path(k);
        if !path.exists() {
            self.dev_srs(k)?;
        }
        Ok(path)
    }
}

/// Reads an SRS file and reduces it to `k` if it is larger.
pub fn load_srs_for(path: &Path, k: u32) -> Result<(ParamsKZG<Bn256>, SrsOrigin), ProverError> {
    let (srs, origin) = read_srs(path)?;
    Ok((reduce_srs(&srs, k)?, origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::poly::commitment::ParamsProver;

    fn bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
        let mut b = vec![];
        p.write_custom(&mut b, halo2_proofs::SerdeFormat::RawBytes).unwrap();
        b
    }

    #[test]
    fn reduced_dev_srs_equals_directly_generated_one() {
        let big = generate_dev_srs(5).unwrap();
        let small = generate_dev_srs(3).unwrap();
        let reduced = reduce_srs(&big, 3).unwrap();
        // halo2's own reduction (a G1 FFT for the Lagrange basis) is the oracle, byte for byte
        let mut downsized = big.clone();
        downsized.downsize(3);
        assert_eq!(bytes(&reduced), bytes(&downsized));
        assert_eq!(bytes(&reduced), bytes(&small));
        assert_eq!(bytes(&reduce_srs(&big, 5).unwrap()), bytes(&big));
        // another SRS is reduced by halo2
        let other_big = ParamsKZG::<Bn256>::setup(4, ChaCha20Rng::from_seed([7; 32]));
        let mut other_small = other_big.clone();
        other_small.downsize(2);
        assert_eq!(bytes(&reduce_srs(&other_big, 2).unwrap()), bytes(&other_small));
        assert!(matches!(reduce_srs(&small, 4), Err(ProverError::SrsTooSmall { have: 3, need: 4 })));
        assert!(matches!(generate_dev_srs(40), Err(ProverError::BadK { .. })));
        assert!(is_dev_srs(&big) && is_dev_srs(&reduced));
        let other = ParamsKZG::<Bn256>::setup(3, ChaCha20Rng::from_seed([7; 32]));
        assert!(!is_dev_srs(&other));
    }

    #[test]
    fn the_fast_generator_gives_halo2s_points() {
        // halo2's own setup from the same random source is the oracle
        for k in [1, 4, 9] {
            let ours = generate_dev_srs(k).unwrap();
            let theirs = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(DEV_SEED));
            // g, the Lagrange basis, g2 and [tau]g2, byte for byte
            assert_eq!(bytes(&ours), bytes(&theirs), "k = {k}");
        }
    }

    #[test]
    fn cache_generates_once_and_every_size_is_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let cache = SrsCache::new(dir.path());
        let a = cache.dev_srs(4).unwrap();
        assert!(cache.path(4).exists());
        let b = cache.dev_srs(3).unwrap();
        assert_eq!(b.get_g(), &a.get_g()[..8]);
        assert_eq!(bytes(&cache.dev_srs(4).unwrap()), bytes(&a), "read back");
        assert!(cache.path(3).exists());
        assert_eq!(cache.ensure(4).unwrap(), cache.path(4));
        assert!(cache.ensure(2).unwrap().exists(), "made when missing");
    }
}
