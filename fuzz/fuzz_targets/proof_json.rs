//! Proof JSON bytes -> `parse_json::<ProofArtifact>` -> `instances`, `proof_bytes` ->
//! `verify_proof_bytes` against the real gemm VK and dev SRS. A panic escaping the verifier is
//! a finding; so is a proof that verifies but differs from the real one.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use zkonnx::ProofArtifact;

fuzz_target!(init: { zkonnx_fuzz::quiet_panics(); zkonnx_fuzz::proved(); }, |data: &[u8]| {
    let p = zkonnx_fuzz::proved();
    zkonnx_fuzz::no_escape("parse_json::<ProofArtifact> / verify_proof_bytes", || {
        let Ok(a) = zkonnx::lower::verifier::artifact::parse_json::<ProofArtifact>(Path::new("fuzz"), data) else { return };
        let (Ok(instances), Ok(proof)) = (a.instances(), a.proof_bytes()) else { return };
        if zkonnx::lower::verifier::verify_proof_bytes(&p.srs, &p.vk, &instances, &proof).is_ok() {
            assert!(instances == p.instances, "a proof verified for other public values");
        }
    });
});
