//! `zkonnx-gpu`: NVIDIA GPU support for zkonnx, with no halo2 frontend and no IR.
//!
//! - [`detect`]: the NVIDIA driver loaded at run time (`dlopen`), so any build starts anywhere; "no
//!   driver", "no device" and driver errors are clean [`GpuError`]s. [`select`] turns a user's
//!   [`GpuMode`] (`--gpu=on|auto|off`) into a decision: on fails without a GPU, auto falls back.
//! - [`Engine`]: the two kernels that dominate a KZG prover, multi-scalar multiplication over BN254 G1
//!   and the NTT over its scalar field, with the same conventions as halo2 (the NTT uses halo2's roots of
//!   unity). [`CpuEngine`] is the reference (halo2curves' own MSM and FFT); `CudaEngine` (feature `cuda`)
//!   runs sppark's Pippenger MSM and NTT, compiled by nvcc with the CUDA runtime linked statically, so
//!   a binary with it still starts, and fails cleanly, on a machine without a GPU. Tests compare the two
//!   exactly.
//!
//! End-to-end GPU proving does not go through [`Engine`]: halo2-axiom has no pluggable MSM/NTT, so
//! zkonnx proves on the GPU with Axiom's CUDA prover in a separately built binary (`gpu-prover/`); see
//! `gpu/README.md` for why.

mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
pub mod detect;
mod error;
pub mod roots;
pub mod sample;

pub use cpu::CpuEngine;
#[cfg(feature = "cuda")]
pub use cuda::CudaEngine;
pub use detect::{probe, probe_library, Device, DriverInfo};
pub use error::GpuError;
pub use halo2curves::bn256::{Fr, G1Affine, G1};

/// The largest NTT the engines take: BN254's scalar field has 2^28-th roots of unity.
pub const MAX_LOG_NTT: u32 = 28;

/// Forward NTT (coefficients to evaluations) or inverse (evaluations to coefficients, scaled by 1/n).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Forward,
    Inverse,
}

/// The MSM and NTT a KZG prover spends its time in.
pub trait Engine: std::fmt::Debug {
    /// What runs the kernels (for reports).
    fn name(&self) -> String;
    /// `Σ scalars[i]·bases[i]`; `scalars` and `bases` have the same length (0 gives the identity).
    fn msm(&self, scalars: &[Fr], bases: &[G1Affine]) -> Result<G1, GpuError>;
    /// In place, natural order in and out: forward `v[i] := Σ_j v[j]·ω^(ij)`, inverse
    /// `v[i] := n⁻¹·Σ_j v[j]·ω^(-ij)`, where `n = v.len()` is a power of two up to 2^28 and ω is
    /// halo2's n-th root of unity ([`roots::omega`]).
    fn ntt(&self, values: &mut [Fr], direction: Direction) -> Result<(), GpuError>;
}

/// Checks an NTT length and returns its log2.
pub(crate) fn log_len(len: usize) -> Result<u32, GpuError> {
    if !len.is_power_of_two() {
        return Err(GpuError::NotPowerOfTwo { len });
    }
    let log_n = len.trailing_zeros();
    if log_n > MAX_LOG_NTT {
        return Err(GpuError::TooLarge { log_n, max: MAX_LOG_NTT });
    }
    Ok(log_n)
}

/// Whether to prove on a GPU, as the user asked.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GpuMode {
    /// Never.
    Off,
    /// When a usable GPU is found, else on the CPU (saying why).
    #[default]
    Auto,
    /// Always; failing, with the reason, when no GPU is usable.
    On,
}

impl std::str::FromStr for GpuMode {
    type Err = GpuError;
    fn from_str(s: &str) -> Result<Self, GpuError> {
        match s {
            "off" => Ok(Self::Off),
            "auto" => Ok(Self::Auto),
            "on" => Ok(Self::On),
            other => Err(GpuError::BadMode(other.to_owned())),
        }
    }
}

/// Where proving will run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Selection {
    /// On the CPU; `reason` says why when a GPU was wanted (`auto` and none usable).
    Cpu { reason: Option<String> },
    /// On this driver's first device.
    Gpu(DriverInfo),
}

/// Decides where to prove: `Off` never probes; `Auto` probes and falls back with the reason; `On`
/// probes and returns the error when no GPU is usable.
pub fn select(mode: GpuMode) -> Result<Selection, GpuError> {
    select_with(mode, probe)
}

/// [`select`] with another probe (tests, or a driver at a non-standard path).
pub fn select_with(mode: GpuMode, probe: impl FnOnce() -> Result<DriverInfo, GpuError>) -> Result<Selection, GpuError> {
    match mode {
        GpuMode::Off => Ok(Selection::Cpu { reason: None }),
        GpuMode::Auto => Ok(probe().map_or_else(|e| Selection::Cpu { reason: Some(e.to_string()) }, Selection::Gpu)),
        GpuMode::On => probe().map(Selection::Gpu),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_driver() -> Result<DriverInfo, GpuError> {
        Err(GpuError::NoDriver { library: DRIVER.into(), reason: "not found".into() })
    }
    const DRIVER: &str = "libcuda.so.1";

    fn one_gpu() -> Result<DriverInfo, GpuError> {
        let device = Device { ordinal: 0, name: "H100".into(), memory_bytes: 80 << 30, compute_capability: (9, 0) };
        Ok(DriverInfo { cuda_version: (13, 0), devices: vec![device] })
    }

    #[test]
    fn modes_parse_and_reject_others() {
        assert_eq!("on".parse::<GpuMode>().unwrap(), GpuMode::On);
        assert_eq!("auto".parse::<GpuMode>().unwrap(), GpuMode::Auto);
        assert_eq!("off".parse::<GpuMode>().unwrap(), GpuMode::Off);
        assert_eq!("yes".parse::<GpuMode>().unwrap_err(), GpuError::BadMode("yes".into()));
    }

    #[test]
    fn on_fails_without_a_gpu_auto_falls_back_off_never_probes() {
        assert!(matches!(select_with(GpuMode::On, no_driver), Err(GpuError::NoDriver { .. })));
        let auto = select_with(GpuMode::Auto, no_driver).unwrap();
        assert!(matches!(&auto, Selection::Cpu { reason: Some(r) } if r.contains("no NVIDIA driver")), "{auto:?}");
        let off = select_with(GpuMode::Off, || panic!("off must not probe")).unwrap();
        assert_eq!(off, Selection::Cpu { reason: None });
        assert!(matches!(select_with(GpuMode::On, one_gpu).unwrap(), Selection::Gpu(_)));
        assert!(matches!(select_with(GpuMode::Auto, one_gpu).unwrap(), Selection::Gpu(_)));
    }

    #[test]
    fn ntt_lengths_are_checked() {
        assert_eq!(log_len(1).unwrap(), 0);
        assert_eq!(log_len(1 << 20).unwrap(), 20);
        assert_eq!(log_len(12).unwrap_err(), GpuError::NotPowerOfTwo { len: 12 });
        assert_eq!(log_len(0).unwrap_err(), GpuError::NotPowerOfTwo { len: 0 });
    }
}
