//! Errors of generating, compiling and running EVM verifiers.

use std::path::PathBuf;

/// What can go wrong between a verifying key and an EVM verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    #[error("generating the Solidity verifier failed: {reason}")]
    Generate { reason: String },
    #[error(
        "no Solidity compiler found: run `npm ci` in the zkonnx checkout (installs the pinned solc-js), \
         set ZKONNX_SOLC_JS to a `node_modules/solc` folder, or put solc {version} on PATH ({detail})"
    )]
    SolcNotFound { version: &'static str, detail: String },
    #[error("compiling {contract} failed: {reason}")]
    Solc { contract: String, reason: String },
    #[error(
        "the {what} is {size} bytes, over the EIP-170 limit of {limit} bytes of runtime code, so no chain \
         would accept it; {hint}"
    )]
    TooLarge { what: String, size: usize, limit: usize, hint: String },
    #[error("verifying-key data: {reason}")]
    VkData { reason: String },
    #[error("proof rejected: {reason}")]
    Rejected { reason: String },
    #[error("EVM: {0}")]
    Evm(String),
    // the I/O error is shown, not chained as a `source`: chained, it would print twice
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("JSON-RPC at {url}: {reason}")]
    Rpc { url: String, reason: String },
    #[error("JSON-RPC at {url}: there is no contract code at {address} (wrong address, or the wrong chain?)")]
    NoCode { url: String, address: String },
    #[error(
        "JSON-RPC at {url}: the deployment transaction {tx} failed (status 0, {gas_used} gas used); the chain \
         may refuse a verifier over EIP-170"
    )]
    DeployFailed { url: String, tx: String, gas_used: u64 },
    #[error("the private key is not 32 bytes of hex (with or without 0x): {reason}")]
    PrivateKey { reason: String },
}
