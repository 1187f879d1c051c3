//! `zkonnx srs import` on a real Powers of Tau file: a small ceremony run with snarkjs (the tool
//! the public ceremonies use; pinned in the repository's package.json), one contribution, then
//! imported. A fixture proved with the imported SRS verifies natively and on the EVM (the
//! reference verifier) and not under the development SRS; the SRS reduced with `srs reduce`
//! equals a direct import at that size and proves too; the file prepared for phase 2 (with
//! Lagrange bases, as the public `*_final.ptau` files are) gives the same SRS; a `.ptau` with
//! one byte of tauG1 or of a Lagrange basis flipped is refused with an error naming the file.

#![allow(clippy::unwrap_used, reason = "helpers of tests: a failing tool or a broken fixture should fail loudly")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{prove_fixture_with_srs, Proved};
use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use zkonnx_prover::load_srs_for;
use zkonnx_verifier::{read_srs, verify_proof_bytes, SrsOrigin};
use zkonnx_verifier_contracts::evm::CALL_GAS;
use zkonnx_verifier_contracts::vk_verifier::{compile_vk_verifier, creation_with_vk};
use zkonnx_verifier_contracts::vkdata::VkData;
use zkonnx_verifier_contracts::{compile_contract, encode_calldata, reference_verifier, Evm};

/// The ceremony's power: one more than the fixture needs (k = 10), so `srs reduce` has work to
/// do; small enough for snarkjs to run in seconds.
const POWER: u32 = 11;
const MODEL: (&str, &str) = ("tiny/relu.onnx", "tiny/relu.input.json");

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs snarkjs's CLI with `args` in `dir`; fails the test (never skips it) when node or the
/// pinned snarkjs is missing.
fn snarkjs(dir: &Path, args: &[&str]) {
    let cli = repo_root().join("node_modules/snarkjs/build/cli.cjs");
    let node_ok = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        node_ok && cli.exists(),
        "this test needs node and the pinned snarkjs ({}): run `npm ci` in the repository root",
        cli.display()
    );
    let o = Command::new("node").arg(&cli).args(args).current_dir(dir).output().unwrap();
    assert!(o.status.success(), "snarkjs {args:?} failed:\n{}{}", stdout(&o), stderr(&o));
}

fn zkonnx(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkonnx")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn params_bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
    let mut out = Vec::new();
    p.write_custom(&mut out, SerdeFormat::RawBytes).unwrap();
    out
}

/// A fixture proved with the SRS file at `srs` (reduced to the fixture's `k`).
fn prove_with(srs: &Path) -> Proved {
    prove_fixture_with_srs(
        MODEL.0,
        MODEL.1,
        |_| {},
        |k| {
            assert!(k <= POWER, "the fixture needs k = {k}, the test ceremony has power {POWER}: raise POWER");
            let (params, origin) = load_srs_for(srs, k).unwrap();
            assert_eq!(origin, SrsOrigin::Imported);
            params
        },
    )
}

fn verifies_natively(p: &Proved, srs: &ParamsKZG<Bn256>) -> bool {
    let (instances, proof) = (p.proof.instances().unwrap(), p.proof.proof_bytes().unwrap());
    verify_proof_bytes(srs, p.keys.pk.get_vk(), &instances, &proof).is_ok()
}

/// zkonnx's data verifier (on a chain with EIP-170) and the reference Solidity verifier of
/// `p`'s key, both built from `p`'s SRS, accept the honest proof and refuse it with one proof
/// word flipped.
fn check_on_evm(p: &Proved) {
    let sol = reference_verifier(&p.srs, p.keys.pk.get_vk(), p.settings.num_instances()).unwrap();
    let reference = compile_contract(&sol, "Halo2Verifier", None).unwrap();
    let data = VkData::new(&p.srs, p.keys.pk.get_vk(), p.settings.num_instances()).unwrap();
    let ours = creation_with_vk(&compile_vk_verifier().unwrap(), &data).unwrap();
    for (name, creation, mut evm) in
        [("reference", reference.creation, Evm::without_size_limits()), ("data verifier", ours, Evm::new())]
    {
        let at = evm.deploy(&creation).unwrap().address;
        let (instances, mut proof) = (p.proof.instances().unwrap(), p.proof.proof_bytes().unwrap());
        let honest = evm.call(at, &encode_calldata(&instances, &proof), CALL_GAS).unwrap();
        assert!(honest.accepted(), "{name}: EVM refused the proof made with the imported SRS: {honest:?}");
        eprintln!("  {name}: EVM verify gas {}", honest.gas_used);
        proof[31] ^= 1;
        assert!(!evm.call(at, &encode_calldata(&instances, &proof), CALL_GAS).unwrap().accepted());
    }
}

#[test]
fn snarkjs_ceremony_file_imports_and_proves_natively_and_on_the_evm() {
    let dir = tempfile::tempdir().unwrap();
    let d = |f: &str| dir.path().join(f);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let power = POWER.to_string();
    let t = std::time::Instant::now();
    snarkjs(dir.path(), &["powersoftau", "new", "bn128", &power, "a.ptau"]);
    snarkjs(dir.path(), &["powersoftau", "contribute", "a.ptau", "b.ptau", "--name=test", "-e=zkonnx test entropy"]);
    eprintln!("snarkjs ceremony of power {POWER}: {:.1}s", t.elapsed().as_secs_f64());

    // import at the file's full power (the default k)
    let t = std::time::Instant::now();
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("b.ptau")), "-O", &s(&d("imported.srs"))]);
    assert!(o.status.success(), "srs import failed: {}", stderr(&o));
    eprintln!("srs import k={POWER}: {:.1}s", t.elapsed().as_secs_f64());
    let report = stderr(&o);
    assert!(report.contains(&format!("k={POWER}")) && report.contains(&format!("power {POWER}")), "{report}");
    assert!(report.contains("imported.srs"), "{report}");
    let (imported, origin) = read_srs(&d("imported.srs")).unwrap();
    assert_eq!((imported.k(), origin), (POWER, SrsOrigin::Imported));

    // a proof made with it verifies natively and on the EVM, and not under the dev SRS
    let p = prove_with(&d("imported.srs"));
    let k = p.settings.run_args.logrows;
    eprintln!("{} proved with the imported SRS at k={k}", MODEL.0);
    assert!(verifies_natively(&p, &p.srs), "the proof made with the imported SRS does not verify");
    assert!(!verifies_natively(&p, &common::srs(k)), "the proof verifies under the development SRS too");
    check_on_evm(&p);
    // the keys record the SRS they were made with: proving or verifying them with the development
    // SRS is refused, naming both, before any proof is made or checked
    let err = p.keys.check_srs(Path::new("pk.key"), &common::srs(k)).unwrap_err().to_string();
    assert!(err.contains("pk.key: the key was made with the SRS") && err.contains("development"), "{err}");
    let (vk_path, settings_path) = (d("vk.key"), d("settings.json"));
    zkonnx_verifier::keys::write_vk(&vk_path, p.keys.pk.get_vk(), &p.keys.meta("")).unwrap();
    zkonnx_verifier::write_json(&settings_path, &p.settings).unwrap();
    let dev = zkonnx::SrsSource::dev_in(d("dev-cache"));
    let err = zkonnx::Verifier::from_files(&settings_path, &vk_path, &dev, &zkonnx::Silent).err().unwrap().to_string();
    assert!(err.contains("vk.key") && err.contains("--srs"), "{err}");
    let file = zkonnx::SrsSource::file(d("imported.srs"));
    let v = zkonnx::Verifier::from_files(&settings_path, &vk_path, &file, &zkonnx::Silent).unwrap();
    assert_eq!(v.srs_label(), "imported");
    // the front door makes an EVM verifier for it without being told to allow an insecure SRS,
    // and refuses the development SRS's
    let make = |srs: &ParamsKZG<Bn256>| {
        let v = zkonnx::Verifier::new(p.settings.clone(), p.keys.pk.get_vk().clone(), srs).unwrap();
        let options = zkonnx::evm::VerifierOptions::new(zkonnx::evm::VerifierKind::KeyAsData);
        (v.srs_label(), zkonnx::evm::create_verifier(&v, &options, &zkonnx::Silent).map(|v| v.artifact.srs))
    };
    let (label, made) = make(&p.srs);
    assert_eq!((label, made.unwrap().as_str()), ("imported", zkonnx::evm::SRS_OTHER));
    let (label, made) = make(&common::srs(k));
    assert!(label == "dev" && matches!(made, Err(zkonnx::Error::InsecureSrs { .. })), "{made:?}");

    // `srs reduce` of the imported file equals a direct import at k, and proves too
    let o = zkonnx(&["srs", "reduce", "--srs", &s(&d("imported.srs")), "-k", &k.to_string(), "-O", &s(&d("r.srs"))]);
    assert!(o.status.success(), "srs reduce failed: {}", stderr(&o));
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("b.ptau")), "-k", &k.to_string(), "-O", &s(&d("k.srs"))]);
    assert!(o.status.success(), "srs import -k {k} failed: {}", stderr(&o));
    let (reduced, direct) = (read_srs(&d("r.srs")).unwrap().0, read_srs(&d("k.srs")).unwrap().0);
    assert_eq!(reduced.k(), k);
    assert!(params_bytes(&reduced) == params_bytes(&direct), "reduced and directly imported SRS differ");
    assert_eq!(reduced.get_g(), &imported.get_g()[..1 << k]);
    let p = prove_with(&d("r.srs"));
    assert!(verifies_natively(&p, &reduced), "the proof made with the reduced SRS does not verify");
}

/// Where the body of section `kind` starts in a `.ptau` file.
fn section_start(bytes: &[u8], kind: u32) -> usize {
    let word = |at: usize, n: usize| bytes[at..at + n].iter().rev().fold(0usize, |v, b| v << 8 | usize::from(*b));
    let mut pos = 12;
    for _ in 0..word(8, 4) {
        let (t, size) = (word(pos, 4), word(pos + 4, 8));
        if t == kind as usize {
            return pos + 12;
        }
        pos += 12 + size;
    }
    panic!("no section {kind}");
}

#[test]
fn prepared_ptau_gives_the_same_srs_and_flipped_bytes_or_too_large_k_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = |f: &str| dir.path().join(f);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    snarkjs(dir.path(), &["powersoftau", "new", "bn128", "4", "a.ptau"]);
    snarkjs(dir.path(), &["powersoftau", "contribute", "a.ptau", "b.ptau", "--name=test", "-e=more entropy"]);
    let good = std::fs::read(d("b.ptau")).unwrap();

    // flip a bit of tauG1[3]'s x coordinate
    let mut bad = good.clone();
    bad[section_start(&good, 2) + 3 * 64 + 5] ^= 1;
    std::fs::write(d("bad.ptau"), &bad).unwrap();
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("bad.ptau")), "-O", &s(&d("bad.srs"))]);
    let err = stderr(&o);
    assert!(!o.status.success(), "a corrupted ptau was imported");
    assert!(err.contains(&s(&d("bad.ptau"))) && err.contains("tauG1[3]"), "unclear error: {err}");
    assert!(!d("bad.srs").exists(), "a refused import left an output file");

    // the same file prepared for phase 2 (as the public `*_final.ptau` files are) carries the
    // Lagrange bases: imported from them, the SRS is the same as the one computed by FFT
    snarkjs(dir.path(), &["powersoftau", "prepare", "phase2", "b.ptau", "final.ptau"]);
    for k in ["2", "4"] {
        for f in ["b", "final"] {
            let o = zkonnx(&["srs", "import", "--ptau", &s(&d(&format!("{f}.ptau"))), "-k", k, "-O", &s(&d(f))]);
            assert!(o.status.success(), "{}", stderr(&o));
            let read_from_file = stderr(&o).contains("Lagrange basis read from the file");
            assert_eq!(read_from_file, f == "final", "{}", stderr(&o));
        }
        let (computed, read) = (read_srs(&d("b")).unwrap().0, read_srs(&d("final")).unwrap().0);
        assert!(params_bytes(&computed) == params_bytes(&read), "k = {k}: Lagrange bases differ");
    }
    // a flipped byte in the final file's size-16 Lagrange basis (after the 15 points of the
    // smaller sizes), found through the section table
    let mut bad = std::fs::read(d("final.ptau")).unwrap();
    let at = section_start(&bad, 12) + 15 * 64 + 7 * 64 + 3;
    bad[at] ^= 1;
    std::fs::write(d("bad.ptau"), &bad).unwrap();
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("bad.ptau")), "-O", &s(&d("bad.srs"))]);
    assert!(!o.status.success() && stderr(&o).contains("Lagrange tauG1[7]"), "{}", stderr(&o));

    // k beyond the file's power
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("b.ptau")), "-k", "5", "-O", &s(&d("big.srs"))]);
    assert!(!o.status.success() && stderr(&o).contains("outside the supported range 1..=4"), "{}", stderr(&o));
    // the untouched file imports
    let o = zkonnx(&["srs", "import", "--ptau", &s(&d("b.ptau")), "-O", &s(&d("ok.srs"))]);
    assert!(o.status.success(), "{}", stderr(&o));
}
