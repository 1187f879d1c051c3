//! With the `cuda` feature: compiles `cuda/*.cu` (sppark's BN254 MSM and NTT behind C entry points)
//! with nvcc and links the CUDA runtime statically. Without it: nothing (no toolkit needed).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    #[cfg(feature = "cuda")]
    cuda::build();
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::env;

    pub(super) fn build() {
        for f in ["cuda/msm.cu", "cuda/ntt.cu", "cuda/bn254_ntt_roots.h"] {
            println!("cargo::rerun-if-changed={f}");
        }
        for v in ["CUDA_ARCH", "CUDA_LIB_DIR", "NVCC"] {
            println!("cargo::rerun-if-env-changed={v}");
        }
        let sppark = env::var("DEP_SPPARK_ROOT").unwrap_or_else(|_| fail("sppark did not export its headers"));
        let blst = env::var("DEP_BLST_C_SRC").unwrap_or_else(|_| fail("blst did not export its headers"));
        // sm_90 (H100) machine code plus compute_90 PTX, which newer GPUs JIT; CUDA_ARCH=89,90 for more
        let archs = env::var("CUDA_ARCH").unwrap_or_else(|_| "90".into());
        // one translation unit per library: with several, cc compiles relocatable device code, and
        // nvlink then rejects sppark's register-count bounds
        for (file, lib) in [("cuda/msm.cu", "zkonnx_gpu_msm"), ("cuda/ntt.cu", "zkonnx_gpu_ntt")] {
            let mut nvcc = cc::Build::new();
            nvcc.cuda(true).cudart("static").flag("-std=c++17").define("__ADX__", None);
            for arch in archs.split(',').map(str::trim).filter(|a| !a.is_empty()) {
                nvcc.flag("-gencode").flag(format!("arch=compute_{arch},code=sm_{arch}"));
                nvcc.flag("-gencode").flag(format!("arch=compute_{arch},code=compute_{arch}"));
            }
            nvcc.include(&sppark).include(&blst).include("cuda").file(file).compile(lib);
        }
        match env::var("CUDA_LIB_DIR") {
            Ok(dir) => println!("cargo::rustc-link-search=native={dir}"),
            Err(_) => {
                println!("cargo::warning=CUDA_LIB_DIR unset: relying on the linker's search path for cudart_static")
            }
        }
        println!("cargo::rustc-link-lib=static=cudart_static");
        println!("cargo::rustc-link-lib=dylib=stdc++");
    }

    fn fail(msg: &str) -> ! {
        eprintln!("zkonnx-gpu build: {msg}");
        std::process::exit(1)
    }
}
