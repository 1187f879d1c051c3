//! The CUDA engine: sppark's BN254 Pippenger MSM and NTT (`cuda/*.cu`), with the CUDA runtime linked
//! statically, so the binary needs no CUDA library to start and fails cleanly without a GPU.

#![allow(unsafe_code, reason = "FFI to the CUDA kernels compiled by build.rs")]

use halo2curves::ff::PrimeField;
use halo2curves::group::prime::PrimeCurveAffine;
use halo2curves::serde::SerdeObject;

use crate::{log_len, probe, Direction, DriverInfo, Engine, Fr, G1Affine, GpuError, G1};

// keeps blst's C symbols (sppark's host-side field arithmetic calls them) in the link
#[allow(unused_extern_crates, reason = "linked for its C symbols only")]
extern crate blst;
// and sppark's device management (select_gpu, ngpus), compiled by its build script
#[allow(unused_extern_crates, reason = "linked for its C symbols only")]
extern crate sppark;

/// sppark's error, returned by value from C (`RustError::by_value`).
#[repr(C)]
struct RustError {
    code: i32,
    message: *mut std::ffi::c_char,
}

unsafe extern "C" {
    fn zkonnx_msm_bn254(out: *mut u8, points: *const u8, npoints: usize, scalars: *const u8) -> RustError;
    fn zkonnx_ntt_bn254(inout: *mut u8, lg_n: u32, inverse: bool) -> RustError;
    fn free(ptr: *mut std::ffi::c_void);
}

fn check(op: &'static str, e: RustError) -> Result<(), GpuError> {
    let message = if e.message.is_null() {
        String::new()
    } else {
        // SAFETY: sppark hands over a strdup'ed NUL-terminated string, which we free once here
        let s = unsafe { std::ffi::CStr::from_ptr(e.message) }.to_string_lossy().into_owned();
        unsafe { free(e.message.cast()) };
        s
    };
    if e.code == 0 {
        Ok(())
    } else {
        Err(GpuError::Cuda { op, code: e.code, message })
    }
}

/// MSM and NTT on the first NVIDIA GPU.
#[derive(Debug)]
pub struct CudaEngine {
    driver: DriverInfo,
}

impl CudaEngine {
    /// Finds a GPU through the driver first, so "no driver" and "no device" are the detection errors.
    pub fn new() -> Result<Self, GpuError> {
        Ok(Self { driver: probe()? })
    }

    pub fn driver(&self) -> &DriverInfo {
        &self.driver
    }
}

/// Field elements in their raw (Montgomery) layout, 32 bytes each.
fn raw_fr(values: &[Fr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * 32);
    for v in values {
        out.extend_from_slice(&v.to_raw_bytes());
    }
    out
}

impl Engine for CudaEngine {
    fn name(&self) -> String {
        self.driver.devices.first().map_or_else(|| "GPU".to_owned(), |d| d.name.clone())
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine]) -> Result<G1, GpuError> {
        if scalars.len() != bases.len() {
            return Err(GpuError::LengthMismatch { scalars: scalars.len(), bases: bases.len() });
        }
        if scalars.is_empty() {
            return Ok(G1::default());
        }
        let mut points = Vec::with_capacity(bases.len() * 64);
        for b in bases {
            points.extend_from_slice(&b.to_raw_bytes());
        }
        let mut canonical = Vec::with_capacity(scalars.len() * 32);
        for s in scalars {
            canonical.extend_from_slice(s.to_repr().as_ref());
        }
        let mut out = [0u8; 64];
        // SAFETY: `points` holds n affine points (64 bytes), `canonical` n scalars (32 bytes), `out` one point
        let status = unsafe { zkonnx_msm_bn254(out.as_mut_ptr(), points.as_ptr(), bases.len(), canonical.as_ptr()) };
        check("MSM", status)?;
        let sum = G1Affine::from_raw_bytes(&out).ok_or(GpuError::Cuda {
            op: "MSM",
            code: -1,
            message: "the GPU returned a point not on the curve".into(),
        })?;
        Ok(sum.to_curve())
    }

    fn ntt(&self, values: &mut [Fr], direction: Direction) -> Result<(), GpuError> {
        let log_n = log_len(values.len())?;
        let mut raw = raw_fr(values);
        let inverse = direction == Direction::Inverse;
        // SAFETY: `raw` holds 2^log_n field elements of 32 bytes, transformed in place
        check("NTT", unsafe { zkonnx_ntt_bn254(raw.as_mut_ptr(), log_n, inverse) })?;
        for (v, chunk) in values.iter_mut().zip(raw.chunks_exact(32)) {
            *v = Fr::from_raw_bytes(chunk).ok_or(GpuError::Cuda {
                op: "NTT",
                code: -1,
                message: "the GPU returned an unreduced field element".into(),
            })?;
        }
        Ok(())
    }
}
