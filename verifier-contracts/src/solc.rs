//! Offline Solidity compilation: the npm `solc` package (solc-js, pinned in the repo's
//! `package.json`) run by `node`, or a native `solc` of the same version.
//!
//! Lookup order: `$ZKONNX_SOLC` (a native solc binary), then solc-js from `$ZKONNX_SOLC_JS`
//! or the nearest `node_modules/solc` above the working directory, the executable or this
//! crate's checkout, then `solc` on `PATH` if it is version [`SOLC_VERSION`]. Nothing is
//! downloaded: solc-js carries its compiler in the package.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::ContractError;

/// The compiler version the generated sources are written for and tested with.
pub const SOLC_VERSION: &str = "0.8.19";
/// EIP-170: the most runtime code a contract may have.
pub const EIP170_LIMIT: usize = 24_576;

const SCRIPT: &str = include_str!("../js/solc-compile.cjs");

/// Creation and runtime bytecode of one compiled contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bytecode {
    /// What a deployment transaction sends (constructor + runtime code).
    pub creation: Vec<u8>,
    /// The code that lives at the contract's address.
    pub runtime: Vec<u8>,
}

/// The compiler a build used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compiler {
    /// A native `solc` binary.
    Native(PathBuf),
    /// solc-js: the `node_modules/solc` folder.
    SolcJs(PathBuf),
}

/// Finds a compiler (see the module docs for the order).
pub fn find_compiler() -> Result<Compiler, ContractError> {
    if let Some(p) = std::env::var_os("ZKONNX_SOLC") {
        return Ok(Compiler::Native(PathBuf::from(p)));
    }
    if let Some(dir) = solc_js_dir() {
        return Ok(Compiler::SolcJs(dir));
    }
    match native_version(Path::new("solc")) {
        Some(v) if v.contains(SOLC_VERSION) => Ok(Compiler::Native(PathBuf::from("solc"))),
        Some(v) => Err(ContractError::SolcNotFound { version: SOLC_VERSION, detail: format!("solc on PATH is {v}") }),
        None => Err(ContractError::SolcNotFound {
            version: SOLC_VERSION,
            detail: "no node_modules/solc above the working directory or the executable, no solc on PATH".into(),
        }),
    }
}

fn solc_js_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("ZKONNX_SOLC_JS") {
        return Some(PathBuf::from(p));
    }
    let starts = [
        std::env::current_dir().ok(),
        std::env::current_exe().ok().and_then(|e| e.parent().map(Path::to_path_buf)),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
    ];
    starts.into_iter().flatten().find_map(|start| {
        start.ancestors().map(|a| a.join("node_modules").join("solc")).find(|d| d.join("package.json").is_file())
    })
}

fn native_version(solc: &Path) -> Option<String> {
    let out = Command::new(solc).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines().find(|l| l.starts_with("Version:")).map(|l| l.trim_start_matches("Version:").trim().to_string())
}

/// Compiles `source` (one file) and returns contract `contract`'s bytecode. `optimizer_runs`
/// turns the optimizer on (snark-verifier's output needs it off).
pub fn compile_contract(source: &str, contract: &str, optimizer_runs: Option<u32>) -> Result<Bytecode, ContractError> {
    let compiler = find_compiler()?;
    let input = json!({
        "language": "Solidity",
        "sources": { "Verifier.sol": { "content": source } },
        "settings": {
            "optimizer": { "enabled": optimizer_runs.is_some(), "runs": optimizer_runs.unwrap_or(200) },
            "outputSelection": { "*": { "*": ["evm.bytecode.object", "evm.deployedBytecode.object"] } }
        }
    });
    let output = run_standard_json(&compiler, &input.to_string())
        .map_err(|reason| ContractError::Solc { contract: contract.into(), reason })?;
    parse_output(&output, contract)
}

fn run_standard_json(compiler: &Compiler, input: &str) -> Result<String, String> {
    let mut cmd = match compiler {
        Compiler::Native(solc) => {
            let mut c = Command::new(solc);
            c.arg("--standard-json");
            c
        }
        Compiler::SolcJs(dir) => {
            let mut c = Command::new("node");
            c.arg("-e").arg(SCRIPT).env("ZKONNX_SOLC_DIR", dir);
            c
        }
    };
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {compiler:?}: {e} (solc-js needs `node` on PATH)"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).map_err(|e| format!("writing to {compiler:?}: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("running {compiler:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{compiler:?} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{compiler:?} printed non-UTF-8 output: {e}"))
}

fn parse_output(output: &str, contract: &str) -> Result<Bytecode, ContractError> {
    let fail = |reason: String| ContractError::Solc { contract: contract.into(), reason };
    let v: Value = serde_json::from_str(output).map_err(|e| fail(format!("unreadable compiler output: {e}")))?;
    let errors: Vec<String> = v["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["severity"] == "error")
        .map(|e| e["formattedMessage"].as_str().or(e["message"].as_str()).unwrap_or("?").trim().to_string())
        .collect();
    if !errors.is_empty() {
        return Err(fail(errors.join("\n")));
    }
    let evm = &v["contracts"]["Verifier.sol"][contract]["evm"];
    let hex_of = |field: &str| -> Result<Vec<u8>, ContractError> {
        let s = evm[field]["object"].as_str().ok_or_else(|| fail(format!("no contract `{contract}` in the output")))?;
        hex::decode(s).map_err(|e| fail(format!("{field} is not hex: {e}")))
    };
    Ok(Bytecode { creation: hex_of("bytecode")?, runtime: hex_of("deployedBytecode")? })
}

/// Refuses runtime code over EIP-170, naming `what` and how to get a smaller one.
pub fn check_deployable(what: &str, code: &Bytecode, hint: &str) -> Result<(), ContractError> {
    if code.runtime.len() > EIP170_LIMIT {
        return Err(ContractError::TooLarge {
            what: what.into(),
            size: code.runtime.len(),
            limit: EIP170_LIMIT,
            hint: hint.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiler_errors_are_reported_with_the_message() {
        let out = r#"{"errors":[{"severity":"warning","message":"w"},{"severity":"error","formattedMessage":"ParserError: x"}]}"#;
        let err = parse_output(out, "V").unwrap_err().to_string();
        assert!(err.contains("ParserError: x") && !err.contains(": w"), "{err}");
        assert!(parse_output("{}", "V").unwrap_err().to_string().contains("no contract `V`"));
        assert!(parse_output("nope", "V").unwrap_err().to_string().contains("unreadable"));
    }

    #[test]
    fn oversize_runtime_is_refused_with_the_fix() {
        let code = Bytecode { creation: vec![], runtime: vec![0; EIP170_LIMIT + 1] };
        let err = check_deployable("verifier", &code, "use fewer lanes").unwrap_err().to_string();
        assert!(err.contains("24577 bytes") && err.contains("use fewer lanes"), "{err}");
        check_deployable("verifier", &Bytecode { creation: vec![], runtime: vec![0; EIP170_LIMIT] }, "").unwrap();
    }
}
