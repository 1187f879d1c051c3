//! Raw proof bytes -> `verify_proof_bytes` against the real gemm VK, SRS and instances. A
//! panic escaping the verifier is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { zkonnx_fuzz::quiet_panics(); zkonnx_fuzz::proved(); }, |data: &[u8]| {
    let p = zkonnx_fuzz::proved();
    zkonnx_fuzz::no_escape("verify_proof_bytes", || {
        let _ = zkonnx::lower::verifier::verify_proof_bytes(&p.srs, &p.vk, &p.instances, data);
    });
});
