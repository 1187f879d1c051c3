//! Replays the inputs the fuzzer once crashed on (`fuzz/regressions/`), so the test suite
//! catches a regression without running the fuzzer: each must give `Ok` or `Err`, never panic.

use std::path::{Path, PathBuf};

fn cases(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
    let mut out: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes)))
        .collect();
    out.sort();
    out
}

#[test]
fn onnx_compile_regressions_do_not_panic() {
    for (path, bytes) in cases("onnx_compile") {
        eprintln!("replaying {}", path.display());
        if let Ok(m) = zkonnx_compiler::OnnxModel::from_bytes(&bytes, "fuzz", &Default::default()) {
            let _ = zkonnx_compiler::compile(&m, &Default::default());
        }
    }
}

#[test]
fn input_json_regressions_do_not_panic() {
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/tiny/gemm.onnx");
    let model = zkonnx_compiler::OnnxModel::load(&onnx, &Default::default()).unwrap();
    let args = zkonnx_ir::RunArgs::default();
    let graph = zkonnx_compiler::compile(&model, &args).unwrap();
    for (path, bytes) in cases("input_json") {
        eprintln!("replaying {}", path.display());
        if let Ok(inputs) = zkonnx_compiler::parse_inputs(&bytes) {
            if let Ok(q) = zkonnx_compiler::quantize_inputs(&graph, &inputs) {
                let _ = zkonnx_ir::run(&graph, &q, args.lookup_bits);
            }
        }
    }
}
