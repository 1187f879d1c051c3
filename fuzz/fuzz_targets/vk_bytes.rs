//! Raw verifying key file bytes -> `vk_from_bytes`. Any panic escaping it is a finding.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: zkonnx_fuzz::quiet_panics(), |data: &[u8]| {
    zkonnx_fuzz::no_escape("vk_from_bytes", || {
        let _ = zkonnx::lower::verifier::keys::vk_from_bytes(Path::new("fuzz"), data);
    });
});
