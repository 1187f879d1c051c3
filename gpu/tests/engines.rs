//! The GPU engine against the CPU reference, exactly. Runs with `--features cuda` on a machine with an
//! NVIDIA GPU; elsewhere each test says loudly that it skipped, and fails instead when
//! `ZKONNX_REQUIRE_GPU=1` (what the GPU box runs).

use zkonnx_gpu::{CpuEngine, Direction, Engine};

fn require_gpu() -> bool {
    std::env::var("ZKONNX_REQUIRE_GPU").is_ok_and(|v| v == "1")
}

/// The GPU engine, or None after printing why (panicking instead when a GPU is required).
fn gpu() -> Option<Box<dyn Engine>> {
    #[cfg(feature = "cuda")]
    let found: Result<Box<dyn Engine>, String> =
        zkonnx_gpu::CudaEngine::new().map(|e| Box::new(e) as Box<dyn Engine>).map_err(|e| e.to_string());
    #[cfg(not(feature = "cuda"))]
    let found: Result<Box<dyn Engine>, String> = Err("built without the `cuda` feature".to_owned());
    match found {
        Ok(engine) => Some(engine),
        Err(reason) if require_gpu() => panic!("ZKONNX_REQUIRE_GPU=1 but no GPU engine: {reason}"),
        Err(reason) => {
            eprintln!("SKIPPED: GPU engine test: {reason}");
            None
        }
    }
}

#[cfg(feature = "cuda")]
mod on_gpu {
    use halo2curves::ff::Field;
    use halo2curves::group::prime::PrimeCurveAffine;
    use halo2curves::group::{Curve, Group};
    use zkonnx_gpu::sample::{points, scalars};
    use zkonnx_gpu::{Fr, G1Affine, G1};

    use super::*;

    fn same_msm(gpu: &dyn Engine, s: &[Fr], p: &[G1Affine], what: &str) {
        let want = CpuEngine.msm(s, p).map(|p| p.to_affine());
        let got = gpu.msm(s, p).map(|p| p.to_affine());
        assert!(want.is_ok(), "{what}: the CPU failed");
        assert_eq!(got, want, "{what}");
    }

    #[test]
    fn msm_equals_the_cpu_on_edge_cases() {
        let Some(gpu) = gpu() else { return };
        for n in [1usize, 2, 3, 7, 100, 1000, 4097] {
            same_msm(gpu.as_ref(), &scalars(n, n as u64), &points(n, n as u64), &format!("n = {n}"));
        }
        let n = 1 << 12;
        let p = points(n, 1);
        same_msm(gpu.as_ref(), &vec![Fr::ZERO; n], &p, "all scalars zero");
        let mut s = scalars(n, 2);
        s.iter_mut().step_by(3).for_each(|x| *x = Fr::ZERO);
        s[5] = -Fr::ONE;
        same_msm(gpu.as_ref(), &s, &p, "some zero, one -1");
        let mut q = p.clone();
        q.iter_mut().step_by(7).for_each(|x| *x = G1Affine::identity());
        same_msm(gpu.as_ref(), &s, &q, "some points at infinity");
        let dup = vec![p[0]; n];
        same_msm(gpu.as_ref(), &s, &dup, "one point repeated");
        let g = G1::generator().to_affine();
        same_msm(gpu.as_ref(), &[Fr::ONE, -Fr::ONE], &[g, g], "a sum that is the identity");
    }

    #[test]
    fn msm_equals_the_cpu_from_2_pow_10_to_2_pow_24() {
        let Some(gpu) = gpu() else { return };
        for log_n in (10..=24).step_by(2) {
            let n = 1usize << log_n;
            same_msm(gpu.as_ref(), &scalars(n, 3), &points(n, 3), &format!("2^{log_n}"));
        }
    }

    #[test]
    fn ntt_equals_the_cpu_both_ways_from_2_pow_0_to_2_pow_24() {
        let Some(gpu) = gpu() else { return };
        for log_n in 0u32..=24 {
            let values = scalars(1 << log_n, u64::from(log_n));
            for direction in [Direction::Forward, Direction::Inverse] {
                let (mut got, mut want) = (values.clone(), values.clone());
                gpu.ntt(&mut got, direction).unwrap_or_else(|e| panic!("2^{log_n} {direction:?}: {e}"));
                CpuEngine.ntt(&mut want, direction).unwrap();
                assert!(got == want, "NTT 2^{log_n} {direction:?} differs from the CPU");
            }
            let mut zeros = vec![Fr::ZERO; 1 << log_n];
            gpu.ntt(&mut zeros, Direction::Forward).unwrap();
            assert!(zeros.iter().all(|z| bool::from(z.is_zero())), "NTT of zeros, 2^{log_n}");
        }
    }

    #[test]
    fn bad_sizes_are_errors_not_crashes() {
        let Some(gpu) = gpu() else { return };
        assert!(gpu.ntt(&mut scalars(12, 0), Direction::Forward).is_err());
        assert!(gpu.msm(&scalars(3, 0), &points(2, 0)).is_err());
        assert_eq!(gpu.msm(&[], &[]).unwrap(), G1::identity());
    }
}

/// Without the feature there is nothing to compare; still say so (or fail when a GPU is required).
#[cfg(not(feature = "cuda"))]
#[test]
fn gpu_engine_needs_the_cuda_feature() {
    assert!(gpu().is_none());
    let _ = (CpuEngine, Direction::Forward);
}
