//! Structure-aware proving key target: rebuilds a valid container (magic, version,
//! metadata, checksum) around fuzzed metadata and key body, so the input passes the checksum
//! and reaches halo2's `ProvingKey::read`. Input layout: see `zkonnx_fuzz::split_key_input`.
//! A panic escaping `pk_from_bytes` is a finding.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { zkonnx_fuzz::quiet_panics(); zkonnx_fuzz::gemm_graph(); }, |data: &[u8]| {
    let Some((meta, body)) = zkonnx_fuzz::split_key_input(data) else { return };
    let bytes = zkonnx_fuzz::key_container(b"ZKONNXPK", &meta, body);
    zkonnx_fuzz::no_escape("pk_from_bytes (structured)", || {
        let _ = zkonnx::lower::verifier::keys::pk_from_bytes(Path::new("fuzz"), &bytes);
    });
});
