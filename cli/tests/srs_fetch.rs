//! `zkonnx srs fetch` against a real HTTP server on a loopback port serving a `.ptau` that the
//! pinned snarkjs made (a one-contribution ceremony of power 8, prepared for phase 2 as the
//! published `_final_` files are). The library is pointed at the server with that file's hash in
//! place of the published one; the CLI keeps the published hashes, so the same file is refused.
//! Success, a cached second fetch, a reduction from a larger cached size, a wrong hash, a
//! truncated body, a missing file and an unreachable host are each checked, and every failure
//! leaves the cache folder empty.

#![allow(clippy::unwrap_used, reason = "helpers of tests: a failing tool or a broken fixture should fail loudly")]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use halo2_proofs::poly::commitment::{Params, ParamsProver};
use zkonnx::ppot::{cached_path, fetch, PpotSource, PPOT_BLAKE2B};
use zkonnx::Silent;
use zkonnx_prover::SrsCache;
use zkonnx_verifier::ptau::PtauFile;
use zkonnx_verifier::{read_srs, SrsOrigin};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A power-8 ceremony prepared for phase 2, made with the pinned snarkjs in `dir`.
fn ceremony(dir: &Path) -> Vec<u8> {
    let cli = repo_root().join("node_modules/snarkjs/build/cli.cjs");
    assert!(cli.exists(), "this test needs the pinned snarkjs ({}): run `npm ci`", cli.display());
    for args in [
        &["powersoftau", "new", "bn128", "8", "a.ptau"][..],
        &["powersoftau", "contribute", "a.ptau", "b.ptau", "--name=fetch test", "-e=fetch test entropy"],
        &["powersoftau", "prepare", "phase2", "b.ptau", "final.ptau"],
    ] {
        let o = Command::new("node").arg(&cli).args(args).current_dir(dir).output().unwrap();
        assert!(o.status.success(), "snarkjs {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    }
    std::fs::read(dir.join("final.ptau")).unwrap()
}

#[derive(Clone, Copy)]
enum Serve {
    /// The whole file.
    Whole,
    /// The full `Content-Length`, half the body, then the connection closes.
    Truncated,
}

/// An HTTP/1.1 server on a free loopback port serving `body` as the power-8 file; any other
/// path is a 404. Counts the requests it answered.
struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
}

fn serve(body: Vec<u8>, mode: Serve) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ptau/", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let count = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            count.fetch_add(1, Ordering::SeqCst);
            let _ = answer(stream, &body, mode);
        }
    });
    Server { url, requests }
}

fn answer(mut stream: TcpStream, body: &[u8], mode: Serve) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("");
    if path != format!("/ptau/{}", PpotSource::file_name(8)) {
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes())?;
    match mode {
        Serve::Whole => stream.write_all(body),
        Serve::Truncated => stream.write_all(&body[..body.len() / 2]),
    }
}

fn blake2b(bytes: &[u8]) -> String {
    blake2b_simd::blake2b(bytes).to_hex().to_string()
}

fn files_in(dir: &Path) -> Vec<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn pinned_hashes_are_the_ones_the_snarkjs_readme_publishes() {
    let readme = std::fs::read_to_string(repo_root().join("node_modules/snarkjs/README.md"))
        .expect("the pinned snarkjs package (run `npm ci`)");
    for (power, hash) in PPOT_BLAKE2B {
        let name = PpotSource::file_name(power);
        let row = readme.lines().find(|l| l.contains(&format!("[{name}]"))).unwrap_or_else(|| panic!("{name}"));
        assert!(row.contains(hash), "power {power}: the README row is {row}");
        assert!(row.contains(&PpotSource::new().url(power)), "power {power}: the README row is {row}");
    }
}

#[test]
fn fetch_checks_imports_caches_and_leaves_nothing_behind_on_failure() {
    let work = tempfile::tempdir().unwrap();
    let ptau = ceremony(work.path());
    let hash = blake2b(&ptau);
    let server = serve(ptau.clone(), Serve::Whole);
    let local = PpotSource::new().with_base_url(&server.url).with_hash(8, &hash);

    // fetched, checked and imported: the same SRS as importing the file directly; what a killed
    // download left an hour ago is removed, one still being written (fresh) is not
    let cache = SrsCache::new(work.path().join("cache"));
    std::fs::create_dir_all(cache.dir()).unwrap();
    let old = std::fs::File::create(cache.dir().join(".ppot-download-killed.ptau")).unwrap();
    old.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600)).unwrap();
    drop(old);
    std::fs::write(cache.dir().join(".ppot-download-running.ptau"), b"in progress").unwrap();
    let path = fetch(4, &local, &cache, &Silent).unwrap();
    assert!(!cache.dir().join(".ppot-download-killed.ptau").exists(), "a stale download was kept");
    std::fs::remove_file(cache.dir().join(".ppot-download-running.ptau")).expect("a fresh download was removed");
    assert_eq!(path, cached_path(&cache, 4));
    let (srs, origin) = read_srs(&path).unwrap();
    assert_eq!((srs.k(), origin, origin.label()), (4, SrsOrigin::PerpetualPowersOfTau, "perpetual-powers-of-tau"));
    let direct = PtauFile::open(&work.path().join("final.ptau")).unwrap().read_params(4).unwrap();
    assert!(srs.get_g() == direct.get_g() && srs.s_g2() == direct.s_g2(), "fetched SRS differs from an import");
    assert_eq!(files_in(cache.dir()), vec!["ppot-k4.srs".to_string()], "temporary files left behind");
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    // cached: no second download; a smaller size is reduced from the cached one
    assert_eq!(fetch(4, &local, &cache, &Silent).unwrap(), path);
    let smaller = fetch(3, &local, &cache, &Silent).unwrap();
    assert_eq!(read_srs(&smaller).unwrap().0.get_g(), &srs.get_g()[..8]);
    assert_eq!(server.requests.load(Ordering::SeqCst), 1, "a cached size was downloaded again");
    // the front door reports the ceremony by name
    let (_, origin) = zkonnx::SrsSource::file(&path).load_with_origin(4, &Silent).unwrap();
    assert_eq!(origin, SrsOrigin::PerpetualPowersOfTau);

    let fails = |source: &PpotSource, what: &str| {
        let dir = work.path().join(what);
        let err = fetch(4, source, &SrsCache::new(&dir), &Silent).unwrap_err();
        assert!(matches!(err, zkonnx::Error::Fetch { .. }), "{what}: {err}");
        assert!(files_in(&dir).is_empty(), "{what}: left {:?}", files_in(&dir));
        err.to_string()
    };
    // a file whose hash is not the expected one
    let wrong = PpotSource::new().with_base_url(&server.url).with_hash(8, "00".repeat(64));
    let err = fails(&wrong, "wrong-hash");
    assert!(err.contains(&hash) && err.contains("published hash") && err.contains(&server.url), "{err}");
    // a body cut short
    let cut = serve(ptau.clone(), Serve::Truncated);
    let err = fails(&PpotSource::new().with_base_url(&cut.url).with_hash(8, &hash), "truncated");
    assert!(err.contains("truncated") || err.contains("broke off"), "{err}");
    // no such file on the server (the power-9 file)
    let dir = work.path().join("missing");
    let err = fetch(9, &local, &SrsCache::new(&dir), &Silent).unwrap_err().to_string();
    assert!(err.contains("404") && err.contains("_09.ptau") && files_in(&dir).is_empty(), "{err}");
    // nobody listening
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = fails(&PpotSource::new().with_base_url(format!("http://{closed}/")), "unreachable");
    assert!(err.contains(&closed.to_string()), "{err}");

    // the CLI checks the published hash, so the locally made file is refused, and nothing is kept
    let home = work.path().join("cli-cache");
    let o = Command::new(env!("CARGO_BIN_EXE_zkonnx"))
        .args(["srs", "fetch", "-k", "4", "--mirror", &server.url])
        .env("ZKONNX_CACHE_DIR", &home)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "the CLI accepted a file that is not the ceremony's");
    assert!(stderr.contains(PPOT_BLAKE2B[0].1) && stderr.contains("_08.ptau"), "{stderr}");
    assert!(files_in(&home.join("srs")).is_empty(), "the CLI left {:?}", files_in(&home.join("srs")));
}
