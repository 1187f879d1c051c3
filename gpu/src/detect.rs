//! NVIDIA driver and device detection through the driver API, loaded at run time.
//!
//! Nothing here links CUDA: `libcuda.so.1` (installed with the NVIDIA driver, never with a toolkit) is
//! opened with `dlopen` when asked, so a binary built with this crate starts on any machine, and "no
//! driver", "no device" and a driver error are each a clean [`GpuError`], never an abort.

use std::ffi::{c_char, c_int, c_uint, CStr, OsStr};
use std::path::Path;

use libloading::{Library, Symbol};

use crate::GpuError;

/// The driver library's name on Linux (the versioned soname the driver installs).
pub const DRIVER_LIBRARY: &str = "libcuda.so.1";

/// `CUDA_ERROR_NO_DEVICE`: the driver loaded but sees no GPU.
const CUDA_ERROR_NO_DEVICE: c_int = 100;
const ATTRIBUTE_CC_MAJOR: c_int = 75;
const ATTRIBUTE_CC_MINOR: c_int = 76;

/// One GPU the driver reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Device {
    /// The driver's ordinal (what `CUDA_VISIBLE_DEVICES` renumbers).
    pub ordinal: u32,
    pub name: String,
    pub memory_bytes: u64,
    /// Compute capability, e.g. (9, 0) for an H100.
    pub compute_capability: (u32, u32),
}

/// What the driver reports: its CUDA version and the devices it sees (at least one).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverInfo {
    /// The newest CUDA version the driver supports, e.g. (13, 0).
    pub cuda_version: (u32, u32),
    pub devices: Vec<Device>,
}

impl std::fmt::Display for DriverInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (major, minor) = self.cuda_version;
        write!(f, "NVIDIA driver (CUDA {major}.{minor})")?;
        for d in &self.devices {
            let (ccmaj, ccmin) = d.compute_capability;
            let gib = d.memory_bytes as f64 / f64::from(1u32 << 30);
            write!(f, "; GPU {}: {} ({gib:.0} GiB, sm_{ccmaj}{ccmin})", d.ordinal, d.name)?;
        }
        Ok(())
    }
}

/// Loads the installed NVIDIA driver and lists its devices.
pub fn probe() -> Result<DriverInfo, GpuError> {
    probe_library(DRIVER_LIBRARY)
}

/// [`probe`] with the driver library at `library` (a path or a soname the loader searches).
pub fn probe_library(library: impl AsRef<OsStr>) -> Result<DriverInfo, GpuError> {
    let library = library.as_ref();
    let name = Path::new(library).display().to_string();
    // SAFETY: loading the NVIDIA driver runs its initializers, which have no preconditions; a
    // library that is not the driver fails the symbol lookups below with a clean error.
    #[allow(unsafe_code, reason = "dlopen of the NVIDIA driver: the only way to use it without linking it")]
    let lib = unsafe { Library::new(library) }
        .map_err(|e| GpuError::NoDriver { library: name.clone(), reason: e.to_string() })?;
    let api = DriverApi::load(&lib, &name)?;
    api.info()
}

type CuInit = unsafe extern "C" fn(c_uint) -> c_int;
type CuIntOut = unsafe extern "C" fn(*mut c_int) -> c_int;
type CuDeviceGet = unsafe extern "C" fn(*mut c_int, c_int) -> c_int;
type CuDeviceGetName = unsafe extern "C" fn(*mut c_char, c_int, c_int) -> c_int;
type CuDeviceTotalMem = unsafe extern "C" fn(*mut usize, c_int) -> c_int;
type CuDeviceGetAttribute = unsafe extern "C" fn(*mut c_int, c_int, c_int) -> c_int;
type CuGetErrorName = unsafe extern "C" fn(c_int, *mut *const c_char) -> c_int;

/// The few driver-API entry points detection needs, with their C signatures (from `cuda.h`).
struct DriverApi<'lib> {
    init: Symbol<'lib, CuInit>,
    driver_version: Symbol<'lib, CuIntOut>,
    device_count: Symbol<'lib, CuIntOut>,
    device_get: Symbol<'lib, CuDeviceGet>,
    device_name: Symbol<'lib, CuDeviceGetName>,
    total_mem: Symbol<'lib, CuDeviceTotalMem>,
    attribute: Symbol<'lib, CuDeviceGetAttribute>,
    error_name: Symbol<'lib, CuGetErrorName>,
}

#[allow(unsafe_code, reason = "calls into the NVIDIA driver's C API")]
impl<'lib> DriverApi<'lib> {
    fn load(lib: &'lib Library, library: &str) -> Result<Self, GpuError> {
        fn sym<'l, T>(lib: &'l Library, library: &str, name: &'static str) -> Result<Symbol<'l, T>, GpuError> {
            // SAFETY: each type alias above is the symbol's C signature from cuda.h
            unsafe { lib.get::<T>(name.as_bytes()) }.map_err(|e| GpuError::NoDriver {
                library: library.to_owned(),
                reason: format!("{} is missing: {e}", name.trim_end_matches('\0')),
            })
        }
        Ok(Self {
            init: sym(lib, library, "cuInit\0")?,
            driver_version: sym(lib, library, "cuDriverGetVersion\0")?,
            device_count: sym(lib, library, "cuDeviceGetCount\0")?,
            device_get: sym(lib, library, "cuDeviceGet\0")?,
            device_name: sym(lib, library, "cuDeviceGetName\0")?,
            total_mem: sym(lib, library, "cuDeviceTotalMem_v2\0")?,
            attribute: sym(lib, library, "cuDeviceGetAttribute\0")?,
            error_name: sym(lib, library, "cuGetErrorName\0")?,
        })
    }

    /// Turns a driver status into a result, naming the call and the driver's name for the code.
    fn check(&self, call: &'static str, code: c_int) -> Result<(), GpuError> {
        if code == 0 {
            return Ok(());
        }
        if code == CUDA_ERROR_NO_DEVICE {
            return Err(GpuError::NoDevice);
        }
        let mut name: *const c_char = std::ptr::null();
        // SAFETY: cuGetErrorName writes a pointer to a static string, or fails for unknown codes
        let known = unsafe { (self.error_name)(code, &mut name) } == 0 && !name.is_null();
        let name = if known {
            // SAFETY: a NUL-terminated static string owned by the driver
            unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned()
        } else {
            "unknown error".to_owned()
        };
        Err(GpuError::Driver { call, code, name })
    }

    fn info(&self) -> Result<DriverInfo, GpuError> {
        // SAFETY (every call below): out-pointers are to live locals of the declared C types
        self.check("cuInit", unsafe { (self.init)(0) })?;
        let mut version: c_int = 0;
        self.check("cuDriverGetVersion", unsafe { (self.driver_version)(&mut version) })?;
        let mut count: c_int = 0;
        self.check("cuDeviceGetCount", unsafe { (self.device_count)(&mut count) })?;
        if count <= 0 {
            return Err(GpuError::NoDevice);
        }
        let devices = (0..count).map(|ordinal| self.device(ordinal)).collect::<Result<Vec<_>, _>>()?;
        let version = u32::try_from(version).unwrap_or(0);
        Ok(DriverInfo { cuda_version: (version / 1000, (version % 1000) / 10), devices })
    }

    fn device(&self, ordinal: c_int) -> Result<Device, GpuError> {
        let mut dev: c_int = 0;
        self.check("cuDeviceGet", unsafe { (self.device_get)(&mut dev, ordinal) })?;
        let mut buf = [0 as c_char; 256];
        self.check("cuDeviceGetName", unsafe { (self.device_name)(buf.as_mut_ptr(), 255, dev) })?;
        // SAFETY: the driver wrote a NUL-terminated string into the zeroed buffer (at most 255 bytes)
        let name = unsafe { CStr::from_ptr(buf.as_ptr()) }.to_string_lossy().into_owned();
        let mut bytes: usize = 0;
        self.check("cuDeviceTotalMem_v2", unsafe { (self.total_mem)(&mut bytes, dev) })?;
        let (mut major, mut minor): (c_int, c_int) = (0, 0);
        self.check("cuDeviceGetAttribute", unsafe { (self.attribute)(&mut major, ATTRIBUTE_CC_MAJOR, dev) })?;
        self.check("cuDeviceGetAttribute", unsafe { (self.attribute)(&mut minor, ATTRIBUTE_CC_MINOR, dev) })?;
        Ok(Device {
            ordinal: u32::try_from(ordinal).unwrap_or(0),
            name,
            memory_bytes: bytes as u64,
            compute_capability: (u32::try_from(major).unwrap_or(0), u32::try_from(minor).unwrap_or(0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_driver_library_is_a_clean_error_naming_it() {
        let err = probe_library("/nonexistent/libcuda.so.1").unwrap_err();
        assert!(matches!(&err, GpuError::NoDriver { library, .. } if library == "/nonexistent/libcuda.so.1"));
        assert!(err.to_string().contains("no NVIDIA driver"), "{err}");
    }

    #[test]
    fn a_library_that_is_not_the_driver_is_a_clean_error() {
        // libc loads but has none of the driver's symbols
        let err = probe_library("libc.so.6").unwrap_err();
        assert!(matches!(&err, GpuError::NoDriver { reason, .. } if reason.contains("cuInit")), "{err}");
    }

    /// The stand-in driver the CLI tests use (`tests/fake_driver.c`) reports one GPU: read in full.
    #[test]
    fn a_working_driver_reports_its_devices() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("libcuda.so.1");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_driver.c");
        let status = std::process::Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(&lib).arg(&src).status();
        assert!(status.unwrap().success(), "compiling the stand-in driver");
        let info = probe_library(&lib).unwrap();
        let device =
            Device { ordinal: 0, name: "Stand-in GPU".into(), memory_bytes: 80 << 30, compute_capability: (9, 0) };
        assert_eq!(info, DriverInfo { cuda_version: (13, 0), devices: vec![device] });
        assert_eq!(info.to_string(), "NVIDIA driver (CUDA 13.0); GPU 0: Stand-in GPU (80 GiB, sm_90)");
    }

    /// A stand-in driver whose every call fails the way the toolkit's link stub does
    /// (CUDA_ERROR_STUB_LIBRARY, 34): the error names the call and the code.
    #[test]
    fn a_failing_driver_is_a_clean_error_naming_the_call() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("stub.c");
        let names = [
            "cuInit",
            "cuDriverGetVersion",
            "cuDeviceGetCount",
            "cuDeviceGet",
            "cuDeviceGetName",
            "cuDeviceTotalMem_v2",
            "cuDeviceGetAttribute",
            "cuGetErrorName",
        ];
        let body: String = names.iter().map(|n| format!("int {n}(void) {{ return 34; }}\n")).collect();
        std::fs::write(&src, body).unwrap();
        let lib = dir.path().join("libcuda.so.1");
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&lib)
            .arg(&src)
            .status()
            .expect("a C compiler (cc) to build the stub driver");
        assert!(status.success());
        let err = probe_library(&lib).unwrap_err();
        assert_eq!(err, GpuError::Driver { call: "cuInit", code: 34, name: "unknown error".into() });
    }
}
