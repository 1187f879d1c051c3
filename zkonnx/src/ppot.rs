//! `zkonnx srs fetch`: a production SRS in one command, from the Perpetual Powers of Tau.
//!
//! The Perpetual Powers of Tau is the public BN254 ceremony (many independent contributors; it is
//! safe while any one of them destroyed their secret) that snarkjs, Hermez/Polygon and most halo2
//! and circom deployments use. Its `powersOfTau28_hez_final_PP.ptau` files are prepared for
//! phase 2 (they carry the Lagrange bases, so importing needs no FFT); the snarkjs README
//! publishes the download address and the BLAKE2b-512 hash of each, and [`PPOT_BLAKE2B`] pins
//! those hashes here (a test checks them against the README of the pinned snarkjs package).
//!
//! [`fetch`] streams the file into a temporary file in the cache folder while hashing it, refuses
//! a wrong hash or a short download, imports it as a zkonnx SRS file recording its origin
//! ([`SrsOrigin::PerpetualPowersOfTau`]) and renames that into place; the `.ptau` itself is
//! deleted. When it fails with an error, nothing half-written is left behind: the temporary
//! files are removed and the cache holds either the whole checked SRS or nothing. A download
//! killed outright (Ctrl-C, SIGKILL) leaves its temporary file, which the next `fetch` in that
//! cache removes before it starts.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use zkonnx_ir::limits::MAX_LOGROWS;
use zkonnx_prover::{reduce_srs, SrsCache};
use zkonnx_verifier::ptau::PtauFile;
use zkonnx_verifier::srs::{read_srs, write_srs};
use zkonnx_verifier::SrsOrigin;

use crate::progress::{Level, Phase, Progress};
use crate::{Error, Result};

/// Where the snarkjs README says the files are.
pub const PPOT_BASE_URL: &str = "https://storage.googleapis.com/zkevm/ptau/";

/// The smallest file published (power 8); smaller circuits use it, reduced.
pub const PPOT_MIN_POWER: u32 = 8;

/// BLAKE2b-512 of `powersOfTau28_hez_final_PP.ptau` for each power `PP`, from the snarkjs
/// README (up to [`MAX_LOGROWS`], the largest circuit zkonnx builds).
pub const PPOT_BLAKE2B: [(u32, &str); 19] = [
    (8, "d6a8fb3a04feb600096c3b791f936a578c4e664d262e4aa24beed1b7a9a96aa5eb72864d628db247e9293384b74b36ffb52ca8d148d6e1b8b51e279fdf57b583"),
    (9, "94f108a80e81b5d932d8e8c9e8fd7f46cf32457e31462deeeef37af1b71c2c1b3c71fb0d9b59c654ec266b042735f50311f9fd1d4cadce47ab234ad163157cb5"),
    (10, "6cfeb8cda92453099d20120bdd0e8a5c4e7706c2da9a8f09ccc157ed2464d921fd0437fb70db42104769efd7d6f3c1f964bcf448c455eab6f6c7d863e88a5849"),
    (11, "47c282116b892e5ac92ca238578006e31a47e7c7e70f0baa8b687f0a5203e28ea07bbbec765a98dcd654bad618475d4661bfaec3bd9ad2ed12e7abc251d94d33"),
    (12, "ded2694169b7b08e898f736d5de95af87c3f1a64594013351b1a796dbee393bd825f88f9468c84505ddd11eb0b1465ac9b43b9064aa8ec97f2b73e04758b8a4a"),
    (13, "58efc8bf2834d04768a3d7ffcd8e1e23d461561729beaac4e3e7a47829a1c9066d5320241e124a1a8e8aa6c75be0ba66f65bc8239a0542ed38e11276f6fdb4d9"),
    (14, "eeefbcf7c3803b523c94112023c7ff89558f9b8e0cf5d6cdcba3ade60f168af4a181c9c21774b94fbae6c90411995f7d854d02ebd93fb66043dbb06f17a831c1"),
    (15, "982372c867d229c236091f767e703253249a9b432c1710b4f326306bfa2428a17b06240359606cfe4d580b10a5a1f63fbed499527069c18ae17060472969ae6e"),
    (16, "6a6277a2f74e1073601b4f9fed6e1e55226917efb0f0db8a07d98ab01df1ccf43eb0e8c3159432acd4960e2f29fe84a4198501fa54c8dad9e43297453efec125"),
    (17, "6247a3433948b35fbfae414fa5a9355bfb45f56efa7ab4929e669264a0258976741dfbe3288bfb49828e5df02c2e633df38d2245e30162ae7e3bcca5b8b49345"),
    (18, "7e6a9c2e5f05179ddfc923f38f917c9e6831d16922a902b0b4758b8e79c2ab8a81bb5f29952e16ee6c5067ed044d7857b5de120a90704c1d3b637fd94b95b13e"),
    (19, "bca9d8b04242f175189872c42ceaa21e2951e0f0f272a0cc54fc37193ff6648600eaf1c555c70cdedfaf9fb74927de7aa1d33dc1e2a7f1a50619484989da0887"),
    (20, "89a66eb5590a1c94e3f1ee0e72acf49b1669e050bb5f93c73b066b564dca4e0c7556a52b323178269d64af325d8fdddb33da3a27c34409b821de82aa2bf1a27b"),
    (21, "9aef0573cef4ded9c4a75f148709056bf989f80dad96876aadeb6f1c6d062391f07a394a9e756d16f7eb233198d5b69407cca44594c763ab4a5b67ae73254678"),
    (22, "0d64f63dba1a6f11139df765cb690da69d9b2f469a1ddd0de5e4aa628abb28f787f04c6a5fb84a235ec5ea7f41d0548746653ecab0559add658a83502d1cb21b"),
    (23, "3063a0bd81d68711197c8820a92466d51aeac93e915f5136d74f63c394ee6d88c5e8016231ea6580bec02e25d491f319d92e77f5c7f46a9caa8f3b53c0ea544f"),
    (24, "fa404d140d5819d39984833ca5ec3632cd4995f81e82db402371a4de7c2eae8687c62bc632a95b0c6aadba3fb02680a94e09174b7233ccd26d78baca2647c733"),
    (25, "0377d860cdb09a8a31ea1b0b8c04335614c8206357181573bf294c25d5ca7dff72387224fbd868897e6769f7805b3dab02854aec6d69d7492883b5e4e5f35eeb"),
    (26, "418dee4a74b9592198bd8fd02ad1aea76f9cf3085f206dfd7d594c9e264ae919611b1459a1cc920c2f143417744ba9edd7b8d51e44be9452344a225ff7eead19"),
];

/// Where the files come from and the hashes they must have: the published ones by default; a
/// mirror (same file names) with [`Self::with_base_url`]; other hashes only for tests of this
/// module against a locally made ceremony.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PpotSource {
    base_url: String,
    hashes: BTreeMap<u32, String>,
}

impl Default for PpotSource {
    fn default() -> Self {
        Self {
            base_url: PPOT_BASE_URL.to_string(),
            hashes: PPOT_BLAKE2B.iter().map(|(p, h)| (*p, (*h).to_string())).collect(),
        }
    }
}

impl PpotSource {
    /// The published files at the published address.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same files (and hashes) from a mirror: `base_url` + the file name.
    pub fn with_base_url(mut self, base_url: impl Into<String>) -> Self {
        let mut url = base_url.into();
        if !url.ends_with('/') {
            url.push('/');
        }
        self.base_url = url;
        self
    }

    /// Replaces the expected BLAKE2b-512 (hex) of the file of `power`. The published hashes are
    /// what makes the download trustworthy: only tests (of a ceremony made locally) set this,
    /// and a file fetched with it is still labelled as the ceremony's.
    #[doc(hidden)]
    pub fn with_hash(mut self, power: u32, blake2b_hex: impl Into<String>) -> Self {
        self.hashes.insert(power, blake2b_hex.into().to_ascii_lowercase());
        self
    }

    /// The file name of `power` (`powersOfTau28_hez_final_PP.ptau`).
    pub fn file_name(power: u32) -> String {
        format!("powersOfTau28_hez_final_{power:02}.ptau")
    }

    /// The download address of `power`.
    pub fn url(&self, power: u32) -> String {
        format!("{}{}", self.base_url, Self::file_name(power))
    }

    /// The file's power for circuits of `2^k` rows (the smallest published one holds them).
    pub fn power_for(k: u32) -> u32 {
        k.max(PPOT_MIN_POWER)
    }
}

/// Path of the fetched SRS for `k` in `cache` (`ppot-k<K>.srs`, next to the development ones).
pub fn cached_path(cache: &SrsCache, k: u32) -> PathBuf {
    cache.dir().join(format!("ppot-k{k}.srs"))
}

/// The Perpetual Powers of Tau SRS for circuits of `2^k` rows, in `cache`: the cached file when
/// there is one (or one reduced from a larger cached one), else downloaded, checked against the
/// pinned hash, imported and cached. Returns its path (what `--srs` takes).
pub fn fetch(k: u32, source: &PpotSource, cache: &SrsCache, progress: &dyn Progress) -> Result<PathBuf> {
    if k == 0 || k > MAX_LOGROWS {
        return Err(Error::Option { option: "-k".into(), reason: format!("{k} is outside 1..={MAX_LOGROWS}") });
    }
    // only `fetch` writes these names, atomically and after the hash check (the origin the file
    // records is what `verify` reports when it is used)
    let path = cached_path(cache, k);
    if path.exists() {
        progress.note(Level::Info, &format!("{} is already cached", path.display()));
        return Ok(path);
    }
    if let Some(larger) = (k + 1..=MAX_LOGROWS).map(|k| cached_path(cache, k)).find(|p| p.exists()) {
        // an unreadable cached file is passed over: the download replaces what it would give
        if let Ok((params, SrsOrigin::PerpetualPowersOfTau)) = read_srs(&larger) {
            write_srs(&path, &reduce_srs(&params, k)?, SrsOrigin::PerpetualPowersOfTau)?;
            progress.note(Level::Info, &format!("reduced {} to k={k}", larger.display()));
            return Ok(path);
        }
    }
    let power = PpotSource::power_for(k);
    let url = source.url(power);
    let expected = source.hashes.get(&power).ok_or_else(|| Error::Option {
        option: "-k".into(),
        reason: format!("no published hash for the power-{power} file: the largest is {MAX_LOGROWS}"),
    })?;
    std::fs::create_dir_all(cache.dir()).map_err(|e| Error::io(cache.dir(), e))?;
    remove_stale_downloads(cache.dir());
    let ptau = {
        let _phase = Phase::start(progress, "download");
        download_checked(&url, expected, cache.dir())?
    };
    let _phase = Phase::start(progress, "import");
    let mut file = PtauFile::open(ptau.path())?;
    let params = file.read_params(k)?;
    write_srs(&path, &params, SrsOrigin::PerpetualPowersOfTau)?;
    Ok(path)
}

/// [`fetch`], then a copy of the cached file at `dest` when given (written to a temporary file
/// next to it and renamed, so `dest` is whole or untouched). Returns where the SRS is: `dest`,
/// else the cached file.
pub fn fetch_to(
    k: u32,
    source: &PpotSource,
    cache: &SrsCache,
    dest: Option<&Path>,
    progress: &dyn Progress,
) -> Result<PathBuf> {
    let cached = fetch(k, source, cache, progress)?;
    let Some(dest) = dest else { return Ok(cached) };
    let dir = match dest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new().prefix(".srs-copy-").tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::copy(&cached, tmp.path()).map_err(|e| Error::io(&cached, e))?;
    tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    Ok(dest.to_path_buf())
}

/// Removes what killed downloads left in `dir`: their temporary files, once untouched for ten
/// minutes (a download in progress in another process writes to its file all the time). Best
/// effort: a file that cannot be removed stays.
fn remove_stale_downloads(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let stale = |e: &std::fs::DirEntry| {
        let age = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
        age.is_some_and(|a| a > Duration::from_secs(600))
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(DOWNLOAD_PREFIX) && stale(&e) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The name prefix of a download's temporary file.
const DOWNLOAD_PREFIX: &str = ".ppot-download-";

/// Downloads `url` into a temporary file in `dir`, hashing it on the way; the file is returned
/// only when the whole body arrived and its BLAKE2b-512 is `expected_hex` (dropped, it is deleted).
fn download_checked(url: &str, expected_hex: &str, dir: &Path) -> Result<tempfile::NamedTempFile> {
    let fail = |reason: String| Error::Fetch { url: url.to_string(), reason };
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(20))
        // the files are up to 72 GiB: no overall limit, but a stalled connection fails
        .timeout(None::<Duration>)
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let mut response = client.get(url).send().map_err(|e| fail(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(fail(format!("the server answered {status}")));
    }
    let length = response.content_length();
    let mut tmp = tempfile::Builder::new()
        .prefix(DOWNLOAD_PREFIX)
        .suffix(".ptau")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    let mut hasher = blake2b_simd::State::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut got: u64 = 0;
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => return Err(fail(format!("the download broke off after {got} bytes: {e}"))),
        };
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n]).map_err(|e| Error::io(tmp.path(), e))?;
        got += n as u64;
    }
    if let Some(want) = length {
        if got != want {
            return Err(fail(format!("truncated: received {got} of {want} bytes")));
        }
    }
    tmp.flush().map_err(|e| Error::io(tmp.path(), e))?;
    let actual = hasher.finalize().to_hex().to_string();
    if !actual.eq_ignore_ascii_case(expected_hex) {
        return Err(fail(format!(
            "BLAKE2b-512 of the {got} bytes received is {actual}, the published hash is {expected_hex}: not the \
             ceremony's file (a broken mirror or a tampered download); nothing was kept"
        )));
    }
    Ok(tmp)
}

/// An error with its causes (reqwest's top-level message alone says only "error sending request").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_powers_follow_the_published_pattern() {
        let s = PpotSource::new();
        assert_eq!(s.url(17), "https://storage.googleapis.com/zkevm/ptau/powersOfTau28_hez_final_17.ptau");
        assert_eq!(PpotSource::file_name(8), "powersOfTau28_hez_final_08.ptau");
        assert_eq!((PpotSource::power_for(3), PpotSource::power_for(20)), (8, 20));
        let m = PpotSource::new().with_base_url("http://127.0.0.1:1");
        assert_eq!(m.url(9), "http://127.0.0.1:1/powersOfTau28_hez_final_09.ptau");
        // one hash per power from the smallest file to the largest circuit
        let powers: Vec<u32> = PPOT_BLAKE2B.iter().map(|(p, _)| *p).collect();
        assert_eq!(powers, (PPOT_MIN_POWER..=MAX_LOGROWS).collect::<Vec<_>>());
        assert!(PPOT_BLAKE2B.iter().all(|(_, h)| h.len() == 128 && h.bytes().all(|b| b.is_ascii_hexdigit())));
    }
}
