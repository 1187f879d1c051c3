//! `zkonnx-verifier-contracts`: EVM verifiers for zkonnx proofs.
//!
//! - [`vkdata`]: a verifying key as data (SHPLONK query sets, constants, the constraints'
//!   formula as a postfix program), [`vkdata::native`], the data verifier in Rust, and
//!   [`vkdata::code`], the program compiled to EVM code (the program contract);
//! - [`vkdata::compiled`]: the whole verifier compiled from a key's data to straight-line EVM
//!   code in one contract (the cheapest to call; when it fits EIP-170);
//! - [`vk_verifier`]: `Halo2VerifierVk`, the one Solidity verifier for every circuit, which
//!   reads that data and calls that code, and its deployment with a key;
//! - [`reference`]: snark-verifier's generated (unrolled) Solidity verifier, the reference oracle;
//! - [`solc`]: offline compilation with the pinned solc-js (or a native solc 0.8.19);
//! - [`evm`]: an in-process EVM (revm) to deploy verifiers and call them with real proofs, and
//!   gas profiles by opcode and precompile;
//! - [`calldata`]: the calldata layout (public values, then the proof);
//! - [`rpc`]: a real chain over JSON-RPC: deploy, `eth_call`, and verifying transactions;
//! - [`EvmVerifierArtifact`]: `verifier.json`, a compiled verifier with what it was made for.
//!
//! Place in the crate map: `ir`, `verifier` <- `verifier-contracts` <- `cli`.

mod artifact;
pub mod calldata;
mod error;
pub mod evm;
pub mod hardhat;
pub mod reference;
pub mod rpc;
pub mod solc;
pub mod vk_verifier;
pub mod vkdata;

pub use artifact::{EvmVerifierArtifact, VerifierInfo, SRS_INSECURE_DEV, SRS_OTHER};
pub use calldata::encode_calldata;
pub use error::ContractError;
pub use evm::{CallOutcome, CallStatus, Evm};
pub use reference::reference_verifier;
pub use solc::{compile_contract, Bytecode, EIP170_LIMIT, SOLC_VERSION};
