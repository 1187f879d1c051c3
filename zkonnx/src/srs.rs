//! Where the structured reference string comes from: a file (a ceremony SRS imported from a
//! `.ptau`, or any zkonnx or raw halo2 SRS file), or the cache of the insecure development SRS.

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_prover::{load_srs_for, SrsCache};
use zkonnx_verifier::SrsOrigin;

use crate::progress::{timed, Level, Progress};
use crate::Result;

/// The warning every use of the development SRS reports.
pub const INSECURE_SRS_WARNING: &str = "using the INSECURE development SRS (known seed): fine for testing, \
     anyone can forge proofs against it. Pass --srs with a ceremony SRS in production.";

/// Where the SRS comes from.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum SrsSource {
    /// An SRS file (zkonnx or raw halo2 format), reduced to the circuit's size when larger.
    File(PathBuf),
    /// The insecure development SRS (known seed), generated once per size into a cache folder.
    Dev(SrsCache),
}

impl SrsSource {
    /// An SRS file.
    pub fn file(path: impl Into<PathBuf>) -> Self {
        SrsSource::File(path.into())
    }

    /// The development SRS cached in `dir`.
    pub fn dev_in(dir: impl Into<PathBuf>) -> Self {
        SrsSource::Dev(SrsCache::new(dir))
    }

    /// The development SRS in the default cache: `$ZKONNX_CACHE_DIR/srs` if set, else the
    /// user's cache folder (`~/.cache/zkonnx/srs`).
    pub fn dev() -> Result<Self> {
        Ok(SrsSource::Dev(dev_cache()?))
    }

    /// `Some(file)`, else the default development cache.
    pub fn file_or_dev(file: Option<&Path>) -> Result<Self> {
        match file {
            Some(p) => Ok(SrsSource::file(p)),
            None => Self::dev(),
        }
    }

    /// Whether this is the insecure development SRS (a file may be one too; [`Self::load`] says).
    pub fn is_dev(&self) -> bool {
        matches!(self, SrsSource::Dev(_))
    }

    /// The SRS for circuits of `2^k` rows, exactly of that size (a larger file is reduced).
    pub fn load(&self, k: u32, progress: &dyn Progress) -> Result<ParamsKZG<Bn256>> {
        Ok(self.load_with_origin(k, progress)?.0)
    }

    /// [`Self::load`], with where the SRS came from: [`SrsOrigin::InsecureDev`] for the development
    /// SRS whatever file holds it (checked by its `[tau]G2`), else what the file records.
    pub fn load_with_origin(&self, k: u32, progress: &dyn Progress) -> Result<(ParamsKZG<Bn256>, SrsOrigin)> {
        let (params, origin) = match self {
            SrsSource::File(path) => load_srs_for(path, k)?,
            SrsSource::Dev(cache) => {
                let (params, _) = timed(progress, "srs", || cache.dev_srs(k).map_err(crate::Error::from));
                (params?, SrsOrigin::InsecureDev)
            }
        };
        if origin == SrsOrigin::InsecureDev || zkonnx_prover::is_dev_srs(&params) {
            progress.note(Level::Warning, INSECURE_SRS_WARNING);
            return Ok((params, SrsOrigin::InsecureDev));
        }
        Ok((params, origin))
    }

    /// The file another process (the GPU prover) should read for `k`: the file itself, or the
    /// cached development SRS for `k`, made first when missing.
    pub fn path_for(&self, k: u32, progress: &dyn Progress) -> Result<PathBuf> {
        match self {
            SrsSource::File(path) => Ok(path.clone()),
            SrsSource::Dev(cache) => {
                progress.note(Level::Warning, INSECURE_SRS_WARNING);
                Ok(cache.ensure(k)?)
            }
        }
    }
}

/// The default development SRS cache (see [`SrsSource::dev`]).
pub fn dev_cache() -> Result<SrsCache> {
    match std::env::var_os("ZKONNX_CACHE_DIR") {
        Some(dir) => Ok(SrsCache::new(PathBuf::from(dir).join("srs"))),
        None => Ok(SrsCache::user_default()?),
    }
}

/// How `verify`, `run --json` and the service name an SRS: `dev` for the insecure development
/// one (whatever its file says), else its origin's label (`perpetual-powers-of-tau` for one
/// `srs fetch` checked, `imported` for any other file).
pub(crate) fn label(insecure_dev: bool, origin: SrsOrigin) -> &'static str {
    if insecure_dev {
        SrsOrigin::InsecureDev.label()
    } else {
        origin.label()
    }
}
