//! Input JSON bytes -> `parse_inputs` -> `quantize_inputs` (and the interpreter) on the
//! compiled gemm fixture. Any panic is a finding.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(init: { zkonnx_fuzz::quiet_panics(); zkonnx_fuzz::gemm_graph(); }, |data: &[u8]| {
    let (graph, args) = zkonnx_fuzz::gemm_graph();
    zkonnx_fuzz::no_escape("parse_inputs / quantize_inputs / ir::run", || {
        if let Ok(inputs) = zkonnx::parse_inputs(data) {
            if let Ok(q) = zkonnx::quantize_inputs(graph, &inputs) {
                let _ = zkonnx::lower::ir::run(graph, &q, args.range_bits());
            }
        }
    });
});
