//! Settings JSON bytes -> `parse_json::<Settings>` -> `RunArgs::validate`. Any panic is a finding.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: zkonnx_fuzz::quiet_panics(), |data: &[u8]| {
    zkonnx_fuzz::no_escape("parse_json::<Settings> / validate", || {
        if let Ok(s) = zkonnx::lower::verifier::artifact::parse_json::<zkonnx::Settings>(Path::new("fuzz"), data) {
            let _ = s.run_args.validate();
        }
    });
});
