//! `verifier.json`: a compiled EVM verifier with what it was made for.

use serde::{Deserialize, Serialize};
use zkonnx_verifier::JsonArtifact;

use crate::solc::Bytecode;
use crate::ContractError;

/// A compiled verifier contract, ready to deploy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EvmVerifierArtifact {
    /// Which generator wrote the Solidity (e.g. snark-verifier's unrolled reference).
    pub generator: String,
    /// The contract's name in the source.
    pub contract: String,
    /// The compiler version and whether the optimizer ran.
    pub solc_version: String,
    pub optimizer: bool,
    /// `0x` + creation bytecode (what a deployment sends).
    pub creation: String,
    /// `0x` + runtime bytecode (what lives at the address).
    pub runtime: String,
    /// Bytes of runtime code (EIP-170 allows 24,576).
    pub runtime_size: usize,
    /// Bytes of the verifying-key data contract the constructor deploys (the reusable
    /// verifier only; EIP-170 applies to it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vk_data_size: Option<usize>,
    /// Public values the verifier expects in front of the proof.
    pub num_instances: usize,
    /// The circuit's `k` and the model the verifying key was made for.
    pub logrows: u32,
    pub model_hash: String,
    /// The SRS whose `[tau]G2` the verifier checks against: [`SRS_INSECURE_DEV`] (a known secret:
    /// proofs can be forged), [`SRS_OTHER`], or empty for a verifier written before this field.
    #[serde(default)]
    pub srs: String,
}

/// [`EvmVerifierArtifact::srs`] of a verifier made with zkonnx's insecure development SRS.
pub const SRS_INSECURE_DEV: &str = "insecure-dev";
/// [`EvmVerifierArtifact::srs`] of a verifier made with any other SRS (a ceremony's).
pub const SRS_OTHER: &str = "not-dev";

impl JsonArtifact for EvmVerifierArtifact {
    const FORMAT: &'static str = "zkonnx-evm-verifier";
    const VERSION: u32 = 1;
}

/// What a verifier artifact records besides its bytecode.
#[derive(Clone, Debug)]
pub struct VerifierInfo {
    pub generator: String,
    pub contract: String,
    pub optimizer: bool,
    pub num_instances: usize,
    pub logrows: u32,
    pub model_hash: String,
}

impl EvmVerifierArtifact {
    /// Packs compiled bytecode with its description.
    pub fn new(code: &Bytecode, info: VerifierInfo) -> Self {
        Self {
            generator: info.generator,
            contract: info.contract,
            solc_version: crate::SOLC_VERSION.into(),
            optimizer: info.optimizer,
            creation: format!("0x{}", hex::encode(&code.creation)),
            runtime: format!("0x{}", hex::encode(&code.runtime)),
            runtime_size: code.runtime.len(),
            vk_data_size: None,
            num_instances: info.num_instances,
            logrows: info.logrows,
            model_hash: info.model_hash,
            srs: String::new(),
        }
    }

    /// The bytecode, decoded.
    pub fn bytecode(&self) -> Result<Bytecode, ContractError> {
        let decode = |field: &str, s: &str| {
            hex::decode(s.trim_start_matches("0x")).map_err(|e| ContractError::Evm(format!("verifier {field}: {e}")))
        };
        Ok(Bytecode { creation: decode("creation", &self.creation)?, runtime: decode("runtime", &self.runtime)? })
    }
}
