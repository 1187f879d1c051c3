//! ONNX bytes -> tract load -> lowering to the IR. Any panic is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: zkonnx_fuzz::quiet_panics(), |data: &[u8]| {
    zkonnx_fuzz::no_escape("OnnxModel::from_bytes / compile", || {
        if let Ok(m) = zkonnx::Model::from_bytes(data, "fuzz", &Default::default()) {
            let _ = m.lower(&Default::default());
        }
    });
});
