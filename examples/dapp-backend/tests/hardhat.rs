//! The dApp example end to end on a local hardhat node: it proves with the library, deploys the
//! verifier and `ProvenArgmax`, submits the proof, and reads the proven class back from the chain.

#![allow(clippy::unwrap_used, reason = "a test: failures should be loud")]

use std::process::Command;

use zkonnx::evm::chain::{HardhatNode, DEV_KEYS};

#[test]
fn the_example_backend_puts_a_proven_prediction_on_chain() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = HardhatNode::start(dir.path()).unwrap();
    node.wait_ready().unwrap();
    std::fs::write(dir.path().join("key.txt"), DEV_KEYS[0]).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_dapp-backend"))
        .args(["--rpc-url", node.url(), "--private-key-file"])
        .arg(dir.path().join("key.txt"))
        .arg("--work")
        .arg(dir.path().join("work"))
        .env("ZKONNX_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "the example failed:\n{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // the embedded test image is a 7
    assert_eq!(report["predicted"], 7, "{report}");
    assert_eq!(report["on_chain_class"], 7, "{report}");
    assert_eq!(report["forged_rejected"], true);
    assert!(stderr.contains("INSECURE"), "the development SRS is labelled:\n{stderr}");
}
