//! Models bigger than one circuit, end to end on a small one: the MLP fixture split into two
//! segments by the binary (`split`, `gen-witness --split`, `prove-segment`, `aggregate`,
//! `verify --split`, `create-evm-verifier --split`), then the one aggregated proof checked by
//! four verifiers that must agree on every proof: the native one (halo2 and the accumulator's
//! pairing), the compiled EVM verifier's Rust twin, the compiled verifier in revm and
//! snark-verifier's generated one in revm; and on a local hardhat node.
//!
//! Refused, each by name: every 32-byte word of the proof or of its public values flipped, other
//! public outputs, segment proofs in another order, a segment proof made from another input, a
//! boundary whose digests differ (another run's salts).
//!
//! One aggregation is proved (about 7 minutes and 11 GiB on 2 cores): the rejections of mixed
//! segment proofs happen before any aggregation proving, and the aggregation crate's unit tests
//! show the circuit's copy constraints on the boundary digests.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "a broken fixture or tool should fail the test loudly")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{fixture, zkonnx_in};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use zkonnx::split::{segment_proof_path, segment_witness_path, AggregatedProof, Split};
use zkonnx::Witness;
use zkonnx_verifier::{read_json, write_json};
use zkonnx_verifier_contracts::hardhat::{HardhatNode, DEV_KEYS};
use zkonnx_verifier_contracts::vkdata::{native, VkData};
use zkonnx_verifier_contracts::EvmVerifierArtifact;
use zkonnx_verifier_contracts::{encode_calldata, Evm};

fn ok(o: &Output, what: &str) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{what}: {err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The four verifiers of the aggregated proofs of one split.
struct Verifiers {
    split: Split,
    srs: halo2_proofs::poly::kzg::commitment::ParamsKZG<halo2_proofs::halo2curves::bn256::Bn256>,
    twin: VkData,
    evm: Evm,
    compiled: zkonnx_verifier_contracts::evm::Address,
    reference: zkonnx_verifier_contracts::evm::Address,
}

impl Verifiers {
    fn new(dir: &Path, compiled: &EvmVerifierArtifact, reference: &EvmVerifierArtifact) -> Self {
        let split = Split::open(dir).unwrap();
        let srs = common::srs(split.manifest().aggregation_k);
        let vk = split.root_vk().unwrap();
        let params = zkonnx_verifier::srs::verifier_params(&srs, vk.get_domain().k()).unwrap();
        let twin = VkData::with_accumulator(&params, &vk, split.root_interface().unwrap().len()).unwrap();
        // snark-verifier's verifier is over EIP-170: deploy both without the limits
        let mut evm = Evm::without_size_limits();
        let compiled = evm.deploy(&compiled.bytecode().unwrap().creation).unwrap().address;
        let reference = evm.deploy(&reference.bytecode().unwrap().creation).unwrap().address;
        Self { split, srs, twin, evm, compiled, reference }
    }

    /// Each verifier's verdict on `proof` (native, twin, compiled EVM, reference EVM) and the
    /// compiled verifier's gas.
    fn verdicts(&mut self, proof: &AggregatedProof) -> ([bool; 4], u64) {
        let native = self.split.verify(proof, &self.srs).is_ok();
        let (instances, bytes) = (proof.instances().unwrap(), proof.proof_bytes().unwrap());
        let twin = native::verify(&self.twin, &instances, &bytes).is_ok();
        let calldata = encode_calldata(&instances, &bytes);
        let c = self.evm.call(self.compiled, &calldata, 30_000_000).unwrap();
        let r = self.evm.call(self.reference, &calldata, 30_000_000).unwrap();
        ([native, twin, c.accepted(), r.accepted()], c.gas_used)
    }
}

/// `word` of the calldata (public values, then the proof) with its last byte changed.
fn flipped(proof: &AggregatedProof, word: usize) -> AggregatedProof {
    let mut p = proof.clone();
    let n = p.instances.len();
    if word < n {
        let v = &p.instances[word];
        let last = u8::from_str_radix(&v[v.len() - 2..], 16).unwrap() ^ 1;
        p.instances[word] = format!("{}{last:02x}", &v[..v.len() - 2]);
    } else {
        let mut bytes = p.proof_bytes().unwrap();
        bytes[32 * (word - n) + 31] ^= 1;
        p.proof = format!("0x{}", hex::encode(bytes));
    }
    p
}

/// The input file with its first value moved by `delta`.
fn other_input(input: &Path, out: &Path, delta: f64) {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(input).unwrap()).unwrap();
    let first = v["input_data"][0][0].as_f64().unwrap();
    v["input_data"][0][0] = (first + delta).into();
    std::fs::write(out, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn a_split_model_proves_as_one_aggregated_proof_that_every_verifier_checks() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, run) = (tmp.path().join("split"), tmp.path().join("run"));
    let (model, input) = (fixture("mlp/model.onnx"), fixture("mlp/input.json"));
    let mut node = HardhatNode::start(tmp.path()).unwrap(); // boots while the proofs are made

    // the binary: split in two (with the segments' keys), witnesses, segment proofs, aggregation.
    // The root at 2^20 rows (its cells need 17 advice columns there) rather than the default
    // 2^21 (9): the same cells, in fewer row-column slots, the cheapest shape for a lone root.
    // Pinned to one more advice column than that, as a bench pins a model's roots to one shape:
    // the cells are spread over all 18 (the Python tests use the same split, so the aggregation
    // keys are made once per suite). Its compiled verifier stays within EIP-170 (24 columns would
    // not).
    let t = std::time::Instant::now();
    let split_args = ["--out", s(&dir), "--segments", "2", "--aggregation-logrows", "20", "--root-advice", "18"];
    let o = zkonnx_in(tmp.path(), &[&["split", "-M", s(&model), "-D", s(&input)][..], &split_args].concat());
    let said = ok(&o, "split");
    assert!(said.contains("2 segments") && said.contains("node 0: [Segment(0), Segment(1)], logrows 20"), "{said}");
    ok(&zkonnx_in(tmp.path(), &["gen-witness", "--split", s(&dir), "-D", s(&input), "-O", s(&run)]), "gen-witness");
    for j in ["0", "1"] {
        let w = run.join(format!("witness-{j}.json"));
        ok(
            &zkonnx_in(tmp.path(), &["prove-segment", "--split", s(&dir), "--segment", j, "-W", s(&w)]),
            "prove-segment",
        );
    }
    // the job resumes: a proof that belongs and verifies is kept
    let w0 = run.join("witness-0.json");
    let again =
        ok(&zkonnx_in(tmp.path(), &["prove-segment", "--split", s(&dir), "--segment", "0", "-W", s(&w0)]), "again");
    assert!(again.contains("kept the proof already"), "{again}");
    let before_aggregation = t.elapsed().as_secs_f64();
    let said = ok(&zkonnx_in(tmp.path(), &["aggregate", "--split", s(&dir), "--proofs", s(&run)]), "aggregate");
    eprintln!(
        "{said}\nsplit, witnesses and segment proofs {before_aggregation:.1} s, aggregation {:.1} s",
        t.elapsed().as_secs_f64() - before_aggregation
    );
    let aggregated = run.join("aggregated.json");
    ok(&zkonnx_in(tmp.path(), &["verify", "--split", s(&dir), "--proof", s(&aggregated)]), "verify --split");
    let (compiled_json, reference_json) = (tmp.path().join("agg.json"), tmp.path().join("agg-ref.json"));
    let said = ok(
        &zkonnx_in(
            tmp.path(),
            &[
                "create-evm-verifier",
                "--split",
                s(&dir),
                "--allow-insecure-srs",
                "--proof",
                s(&aggregated),
                "--bytecode-path",
                s(&compiled_json),
                "--sol-code-path",
                s(&tmp.path().join("agg.sol")),
            ],
        ),
        "create-evm-verifier --split",
    );
    assert!(said.contains("measured in revm"), "{said}");
    ok(
        &zkonnx_in(
            tmp.path(),
            &[
                "create-evm-verifier",
                "--split",
                s(&dir),
                "--allow-insecure-srs",
                "--verifier",
                "reference",
                "--allow-oversize",
                "--bytecode-path",
                s(&reference_json),
                "--sol-code-path",
                s(&tmp.path().join("agg-ref.sol")),
            ],
        ),
        "create-evm-verifier --split --verifier reference",
    );

    // the aggregated proof's public outputs are what the whole model computes
    let proof: AggregatedProof = read_json(&aggregated).unwrap();
    let split = Split::open(&dir).unwrap();
    // every pinned column holds cells: no gate selector commits to the identity point (an empty
    // column's would, and the EVM verifier would skip its multiplication: the gas would depend
    // on how many columns the root happens to fill)
    let root = split.root_vk().unwrap();
    assert!(root.cs().num_advice_columns() >= 18, "{}", root.cs().num_advice_columns());
    let empty = root.fixed_commitments().iter().filter(|c| bool::from(c.is_identity())).count();
    assert_eq!(empty, 0, "fixed commitments at the identity: empty columns in the pinned root");
    let whole = split.whole().unwrap();
    let expected = zkonnx::witness(&whole, &common::read_inputs(&input)).unwrap();
    assert_eq!(proof.outputs, expected.output_floats);
    assert_eq!(proof.instances.len(), zkonnx_verifier_contracts::reference::ACCUMULATOR_VALUES + 10);

    // four verifiers, one verdict: honest accepted, every flipped word and other outputs refused
    let compiled: EvmVerifierArtifact = read_json(&compiled_json).unwrap();
    let reference: EvmVerifierArtifact = read_json(&reference_json).unwrap();
    assert!(compiled.runtime_size <= zkonnx::evm::EIP170_LIMIT, "{}", compiled.runtime_size);
    let mut v = Verifiers::new(&dir, &compiled, &reference);
    let (honest, gas) = v.verdicts(&proof);
    assert_eq!(honest, [true; 4]);
    eprintln!("compiled aggregated verifier: {} bytes, {gas} gas", compiled.runtime_size);
    let words = proof.instances.len() + proof.proof_bytes().unwrap().len() / 32;
    for word in 0..words {
        let (verdicts, _) = v.verdicts(&flipped(&proof, word));
        assert_eq!(verdicts, [false; 4], "word {word} flipped");
    }
    let mut other = proof.clone();
    let last = other.instances.len() - 1;
    other.instances[last] = format!("0x{}", hex::encode(zkonnx_verifier::transcript::fr_to_be(&Fr::from(7))));
    assert_eq!(v.verdicts(&other).0, [false; 4], "other public outputs");

    // on a real chain
    eprintln!("hardhat answered after {:.1} s", node.wait_ready().unwrap());
    let url = node.url().to_string();
    std::fs::write(tmp.path().join("key.txt"), format!("{}\n", DEV_KEYS[0])).unwrap();
    let deploy = [
        "deploy-evm",
        "--rpc-url",
        &url,
        "--private-key-file",
        "key.txt",
        "--allow-insecure-srs",
        "--bytecode-path",
        s(&compiled_json),
    ];
    ok(&zkonnx_in(tmp.path(), &deploy), "deploy-evm");
    let addr = std::fs::read_to_string(tmp.path().join("addr.txt")).unwrap().trim().to_string();
    let verify = |p: &Path| zkonnx_in(tmp.path(), &["verify-evm", "--rpc-url", &url, "--addr", &addr, "--proof", s(p)]);
    ok(&verify(&aggregated), "verify-evm on hardhat");
    let bad = tmp.path().join("bad.json");
    write_json(&bad, &flipped(&proof, proof.instances.len() + 3)).unwrap();
    assert!(!verify(&bad).status.success(), "hardhat accepted a flipped aggregated proof");

    // segment proofs that do not belong together are refused before any aggregation work
    let mixed = tmp.path().join("mixed");
    std::fs::create_dir_all(&mixed).unwrap();
    std::fs::copy(segment_proof_path(&run, 0), segment_proof_path(&mixed, 1)).unwrap();
    std::fs::copy(segment_proof_path(&run, 1), segment_proof_path(&mixed, 0)).unwrap();
    let srs = common::srs(split.max_logrows());
    let err = split.aggregate(&mixed, &srs, &zkonnx::Silent).unwrap_err().to_string();
    assert!(err.contains("out of order"), "{err}");
    let rerun = |inputs: &Path, label: &str| -> String {
        // segment 1 proved from another run's witness, beside this run's segment 0
        let ws: Vec<Witness> = split.witnesses(&common::read_inputs(inputs)).unwrap();
        let folder = tmp.path().join(label);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(segment_proof_path(&run, 0), segment_proof_path(&folder, 0)).unwrap();
        write_json(&segment_witness_path(&folder, 1), &ws[1]).unwrap();
        split.prove_segment(1, &ws[1], &srs, &segment_proof_path(&folder, 1), &zkonnx::Silent).unwrap();
        split.aggregate(&folder, &srs, &zkonnx::Silent).unwrap_err().to_string()
    };
    let shifted = tmp.path().join("other-input.json");
    other_input(&input, &shifted, 0.5);
    for (inputs, label) in [(shifted.as_path(), "another input"), (input.as_path(), "other salts")] {
        let err = rerun(inputs, label);
        assert!(err.contains("boundary 0") && err.contains("digests differ"), "{label}: {err}");
    }
    // a segment proof whose public values were edited no longer verifies
    let edited = tmp.path().join("edited");
    std::fs::create_dir_all(&edited).unwrap();
    std::fs::copy(segment_proof_path(&run, 0), segment_proof_path(&edited, 0)).unwrap();
    let mut p1: zkonnx::split::SegmentProofFile = read_json(&segment_proof_path(&run, 1)).unwrap();
    p1.proof.instances[3] += Fr::from(1);
    write_json(&segment_proof_path(&edited, 1), &p1).unwrap();
    let err = split.aggregate(&edited, &srs, &zkonnx::Silent).unwrap_err().to_string();
    assert!(err.contains("segment 1's proof") && err.contains("does not verify"), "{err}");
}

#[test]
fn bad_split_requests_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (model, input) = (fixture("mlp/model.onnx"), fixture("mlp/input.json"));
    let out = PathBuf::from(tmp.path()).join("s");
    let cases: [(&[&str], &str); 4] = [
        (&["--segments", "40"], "places to cut"),
        (&["--cut", "no_such_node"], "no node named `no_such_node`"),
        (&["--cut", "output"], "last node"),
        (&["--fan-in", "1"], "at least 2"),
    ];
    for (extra, says) in cases {
        let mut args = vec!["split", "-M", s(&model), "-D", s(&input), "--out", s(&out), "--no-setup"];
        args.extend_from_slice(extra);
        let o = zkonnx_in(tmp.path(), &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains(says), "{extra:?}: {err}");
    }
    let o = zkonnx_in(tmp.path(), &["run", "-M", s(&model), "-D", s(&input), "--split", "many"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("expected auto or a number of segments"));
    // a model split by name, after its first layer: two segments, written without keys
    let o = zkonnx_in(
        tmp.path(),
        &["split", "-M", s(&model), "-D", s(&input), "--out", s(&out), "--no-setup", "--cut", "relu1"],
    );
    ok(&o, "split --cut relu1");
    let split = Split::open(&out).unwrap();
    assert_eq!(split.len(), 2);
    assert_eq!(split.segment_model(0).unwrap().graph.nodes.last().unwrap().name, "relu1");
}

#[test]
fn an_input_out_of_range_fails_before_any_key_is_made() {
    let tmp = tempfile::tempdir().unwrap();
    let model = fixture("mlp/model.onnx");
    let mut data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("mlp/input.json")).unwrap()).unwrap();
    let pixels = data["input_data"][0].as_array_mut().unwrap();
    pixels[0] = serde_json::json!(1000.0);
    let input = tmp.path().join("big.json");
    std::fs::write(&input, serde_json::to_vec(&data).unwrap()).unwrap();
    let out = tmp.path().join("s");
    // pinned settings: 2^7 of scale and an 8-bit range cannot hold 1000
    let args = ["--input-scale", "7", "--param-scale", "7", "--lookup-bits", "8", "--range-limbs", "1"];
    let mut run = vec!["run", "-M", s(&model), "-D", s(&input), "--out", s(&out), "--split", "2"];
    run.extend(args);
    let o = zkonnx_in(tmp.path(), &run);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    // named once: the lower error is the message, not also its source
    assert_eq!(err.matches("node 0 (`input`, Input): value 128000 is outside the checked range").count(), 1, "{err}");
    let keys: Vec<_> = walk(&out).into_iter().filter(|p| p.extension().is_some_and(|e| e == "key")).collect();
    assert!(keys.is_empty(), "keys made before the witness failed: {keys:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(walk(&p));
        } else {
            found.push(p);
        }
    }
    found
}
