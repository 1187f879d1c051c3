//! The reusable verifier: `contracts/Halo2VerifierVk.sol` with a key's [`VkData`].
//!
//! Its constructor takes the data and deploys it as a separate data contract (runtime code
//! `0x00 || data`), so one deployment transaction yields a verifier at one address, whose own
//! code is the same for every circuit. Both contracts must fit EIP-170 on their own: the
//! verifier's code is constant, the data grows with the circuit (about 64 bytes per fixed or
//! permutation column plus the gates' formula).

use crate::solc::{compile_contract, Bytecode};
use crate::vkdata::VkData;
use crate::ContractError;

/// The verifier's Solidity source.
pub const VK_VERIFIER_SOURCE: &str = include_str!("../contracts/Halo2VerifierVk.sol");
/// Its contract name.
pub const VK_VERIFIER_CONTRACT: &str = "Halo2VerifierVk";
/// How [`EvmVerifierArtifact`](crate::EvmVerifierArtifact)s name this generator.
pub const VK_VERIFIER_GENERATOR: &str = "zkonnx Halo2VerifierVk (verifying key as data)";
/// Optimizer runs it is compiled with.
pub const VK_VERIFIER_OPTIMIZER_RUNS: u32 = 200;

/// The compiled verifier, without a key.
pub fn compile_vk_verifier() -> Result<Bytecode, ContractError> {
    compile_contract(VK_VERIFIER_SOURCE, VK_VERIFIER_CONTRACT, Some(VK_VERIFIER_OPTIMIZER_RUNS))
}

/// The deployment of `verifier` for `vk`: its creation code followed by the ABI-encoded
/// constructor argument `bytes vk`. The runtime code is `verifier.runtime` (plus the data
/// contract's address, an immutable).
pub fn creation_with_vk(verifier: &Bytecode, vk: &VkData) -> Result<Vec<u8>, ContractError> {
    let data = vk.to_bytes();
    if data.len() + 1 > crate::EIP170_LIMIT {
        return Err(ContractError::TooLarge {
            what: "verifying-key data contract".into(),
            size: data.len() + 1,
            limit: crate::EIP170_LIMIT,
            hint: "the circuit has too many columns or gates for one data contract; use fewer lanes".into(),
        });
    }
    let mut out = verifier.creation.clone();
    let word = |v: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(v as u64).to_be_bytes());
        w
    };
    out.extend_from_slice(&word(0x20));
    out.extend_from_slice(&word(data.len()));
    out.extend_from_slice(&data);
    out.resize(out.len() + (32 - data.len() % 32) % 32, 0);
    Ok(out)
}

/// Whether `onchain` is `runtime` with its immutables filled in: the same length, and every
/// byte that differs is one the compiler left zero for an immutable (the data contract's
/// address).
pub fn matches_runtime(onchain: &[u8], runtime: &[u8]) -> bool {
    onchain.len() == runtime.len() && onchain.iter().zip(runtime).all(|(a, b)| a == b || *b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn immutables_may_differ_only_where_the_template_is_zero() {
        assert!(matches_runtime(&[1, 7, 3], &[1, 0, 3]));
        assert!(!matches_runtime(&[1, 7, 3], &[1, 2, 3]));
        assert!(!matches_runtime(&[1, 0], &[1, 0, 3]));
    }
}
