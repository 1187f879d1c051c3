//! Errors of GPU detection and of the engines.

/// What went wrong finding or using a GPU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    #[error("no NVIDIA driver: cannot load {library} ({reason})")]
    NoDriver { library: String, reason: String },
    #[error("the NVIDIA driver reports no GPU")]
    NoDevice,
    #[error("NVIDIA driver call {call} failed: {name} (code {code})")]
    Driver { call: &'static str, code: i32, name: String },
    #[error("CUDA {op} failed: {message} (code {code})")]
    Cuda { op: &'static str, code: i32, message: String },
    #[error("--gpu takes on, auto or off, not {0:?}")]
    BadMode(String),
    #[error("MSM given {scalars} scalars for {bases} bases")]
    LengthMismatch { scalars: usize, bases: usize },
    #[error("NTT length {len} is not a power of two")]
    NotPowerOfTwo { len: usize },
    #[error("NTT of size 2^{log_n} exceeds the field's largest, 2^{max}")]
    TooLarge { log_n: u32, max: u32 },
}
