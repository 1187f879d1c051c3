//! Versioned JSON artifacts and atomic file writes.
//!
//! Every JSON artifact carries `"format"` (what it is) and `"version"` keys; a reader refuses a
//! different kind or a version it does not know. Every write goes to a temporary file in the
//! target's folder and is renamed over the target, so a crash never leaves half a file.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zkonnx_ir::{Graph, Settings, SETTINGS_VERSION};

use crate::ArtifactError;

/// A JSON artifact type: its kind tag and the format version this build reads and writes.
pub trait JsonArtifact: Serialize + DeserializeOwned {
    const FORMAT: &'static str;
    const VERSION: u32;
}

impl JsonArtifact for Settings {
    const FORMAT: &'static str = "zkonnx-settings";
    const VERSION: u32 = SETTINGS_VERSION;
}

/// The compiled model: the quantized graph with the settings it was compiled under.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompiledModel {
    pub settings: Settings,
    pub graph: Graph,
}

impl CompiledModel {
    pub fn new(settings: Settings, graph: Graph) -> Self {
        Self { settings, graph }
    }

    /// Reads a compiled model and checks that its graph and settings are well formed.
    pub fn read(path: &Path) -> Result<Self, ArtifactError> {
        let c: Self = read_json(path)?;
        let corrupt = |reason: String| ArtifactError::Corrupt { path: path.to_path_buf(), kind: Self::FORMAT, reason };
        c.graph.validate().map_err(|e| corrupt(format!("malformed graph: {e}")))?;
        c.settings.run_args.validate().map_err(|e| corrupt(format!("bad settings: {e}")))?;
        Ok(c)
    }
}

impl JsonArtifact for CompiledModel {
    const FORMAT: &'static str = "zkonnx-compiled-model";
    const VERSION: u32 = 1;
}

/// `witness.json`: the quantized inputs and outputs of one inference.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Witness {
    /// Quantized model inputs, one flat vector per input.
    pub inputs: Vec<Vec<i64>>,
    /// Quantized model outputs, one flat vector per output.
    pub outputs: Vec<Vec<i64>>,
    /// The outputs dequantized, for people.
    pub output_floats: Vec<Vec<f64>>,
    /// The salts of hashed inputs, one per input (field elements, decimal or `0x` hex; a
    /// missing one is 0): private, like everything here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_salts: Vec<String>,
    /// The salts of hashed outputs, one per output.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub output_salts: Vec<String>,
}

impl Witness {
    pub fn new(inputs: Vec<Vec<i64>>, outputs: Vec<Vec<i64>>, output_floats: Vec<Vec<f64>>) -> Self {
        Self { inputs, outputs, output_floats, input_salts: vec![], output_salts: vec![] }
    }

    /// The same witness with these salts (see the fields).
    pub fn with_salts(mut self, input_salts: Vec<String>, output_salts: Vec<String>) -> Self {
        self.input_salts = input_salts;
        self.output_salts = output_salts;
        self
    }

    /// The salts as field elements; a string that is not a canonical field element is an error
    /// naming it.
    pub fn salts(&self) -> Result<zkonnx_circuits::Salts, ArtifactError> {
        let parse = |field: &'static str, vs: &[String]| {
            vs.iter()
                .enumerate()
                .map(|(index, v)| {
                    zkonnx_circuits::poseidon::parse_field(v).ok_or_else(|| ArtifactError::BadSalt {
                        field,
                        index,
                        value: v.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(zkonnx_circuits::Salts {
            inputs: parse("input_salts", &self.input_salts)?,
            outputs: parse("output_salts", &self.output_salts)?,
        })
    }
}

impl JsonArtifact for Witness {
    const FORMAT: &'static str = "zkonnx-witness";
    const VERSION: u32 = 1;
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ArtifactError> {
    let io = |source| ArtifactError::Io { path: path.to_path_buf(), error: source };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new().prefix(".zkonnx-").suffix(".tmp").tempfile_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Reads a whole file, naming it in the error.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, ArtifactError> {
    std::fs::read(path).map_err(|source| ArtifactError::Io { path: path.to_path_buf(), error: source })
}

/// `value` as JSON with its format tag and version: the content of its artifact file.
pub fn to_json_value<T: JsonArtifact>(value: &T) -> Result<serde_json::Value, serde_json::Error> {
    let mut v = serde_json::to_value(value)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("format".into(), T::FORMAT.into());
        obj.insert("version".into(), T::VERSION.into());
    }
    Ok(v)
}

/// Serializes `value` with its format tag and version, and writes it atomically.
pub fn write_json<T: JsonArtifact>(path: &Path, value: &T) -> Result<(), ArtifactError> {
    let parse = |e: serde_json::Error| ArtifactError::Parse {
        path: path.to_path_buf(),
        kind: T::FORMAT,
        reason: e.to_string(),
    };
    let v = to_json_value(value).map_err(parse)?;
    let text = serde_json::to_string_pretty(&v).map_err(parse)?;
    write_atomic(path, text.as_bytes())
}

/// Reads a JSON artifact, checking its format tag and version.
pub fn read_json<T: JsonArtifact>(path: &Path) -> Result<T, ArtifactError> {
    parse_json(path, &read_bytes(path)?)
}

/// Parses JSON artifact bytes; `path` only names the source in errors.
pub fn parse_json<T: JsonArtifact>(path: &Path, bytes: &[u8]) -> Result<T, ArtifactError> {
    let parse = |reason: String| ArtifactError::Parse { path: path.to_path_buf(), kind: T::FORMAT, reason };
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| parse(e.to_string()))?;
    let format = v.get("format").and_then(|f| f.as_str()).unwrap_or("(none)");
    if format != T::FORMAT {
        return Err(ArtifactError::WrongKind {
            path: path.to_path_buf(),
            expected: T::FORMAT,
            got: format.to_string(),
        });
    }
    let version = v.get("version").and_then(|f| f.as_u64()).unwrap_or(0);
    if version != u64::from(T::VERSION) {
        return Err(ArtifactError::Version {
            path: path.to_path_buf(),
            kind: T::FORMAT,
            expected: T::VERSION,
            got: u32::try_from(version).unwrap_or(u32::MAX),
        });
    }
    serde_json::from_value(v).map_err(|e| parse(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkonnx_ir::{ModelInfo, RunArgs};

    #[test]
    fn settings_round_trip_and_version_check() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("settings.json");
        let s = Settings::new(RunArgs::default(), ModelInfo::default());
        write_json(&p, &s).unwrap();
        assert_eq!(read_json::<Settings>(&p).unwrap(), s);

        let text = std::fs::read_to_string(&p).unwrap().replace("\"version\": 1", "\"version\": 99");
        std::fs::write(&p, text).unwrap();
        let err = read_json::<Settings>(&p).unwrap_err();
        assert!(matches!(err, ArtifactError::Version { got: 99, expected: 1, .. }), "{err}");
    }

    #[test]
    fn wrong_kind_and_garbage_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.json");
        write_json(&p, &Witness::new(vec![vec![1]], vec![vec![2]], vec![vec![0.5]])).unwrap();
        let err = read_json::<Settings>(&p).unwrap_err();
        assert!(matches!(err, ArtifactError::WrongKind { expected: "zkonnx-settings", .. }), "{err}");
        std::fs::write(&p, b"{not json").unwrap();
        assert!(matches!(read_json::<Witness>(&p).unwrap_err(), ArtifactError::Parse { .. }));
        let missing = dir.path().join("missing.json");
        let err = read_json::<Witness>(&missing).unwrap_err();
        assert!(err.to_string().contains("missing.json"), "{err}");
    }

    #[test]
    fn atomic_write_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }
}
