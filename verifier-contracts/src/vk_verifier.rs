//! The reusable verifier: `contracts/Halo2VerifierVk.sol` with a key's [`VkData`].
//!
//! Its constructor takes the data and deploys it as up to three data contracts (runtime code
//! `0x00 || part`, each part at most 24,575 bytes so that each fits EIP-170), so one
//! deployment transaction yields a verifier at one address whose own code is the same for
//! every circuit. The data grows with the circuit: about 64 bytes per fixed or permutation
//! column plus the gates' formula; 5.9 KB at zkonnx's default two lanes, 29 KB at twelve. The
//! whole deployment must fit EIP-3860's 49,152 bytes of initcode, which caps the data at
//! about 44 KB (sixteen lanes, the most zkonnx builds, fit).

use crate::solc::{compile_contract, Bytecode};
use crate::vkdata::code::program_code;
use crate::vkdata::VkData;
use crate::ContractError;

/// The verifier's Solidity source.
pub const VK_VERIFIER_SOURCE: &str = include_str!("../contracts/Halo2VerifierVk.sol");
/// Its contract name.
pub const VK_VERIFIER_CONTRACT: &str = "Halo2VerifierVk";
/// How [`EvmVerifierArtifact`](crate::EvmVerifierArtifact)s name this generator.
pub const VK_VERIFIER_GENERATOR: &str = "zkonnx Halo2VerifierVk (verifying key as data)";
/// Data bytes per data contract: EIP-170's limit less the leading STOP byte.
pub const VK_DATA_PART: usize = 24_575;
/// The most key data a verifier takes: three data contracts.
pub const MAX_VK_DATA: usize = 3 * VK_DATA_PART;
/// EIP-3860's limit on a deployment's initcode.
pub const MAX_INITCODE: usize = 49_152;
/// Optimizer runs it is compiled with.
pub const VK_VERIFIER_OPTIMIZER_RUNS: u32 = 200;

/// The compiled verifier, without a key.
pub fn compile_vk_verifier() -> Result<Bytecode, ContractError> {
    compile_contract(VK_VERIFIER_SOURCE, VK_VERIFIER_CONTRACT, Some(VK_VERIFIER_OPTIMIZER_RUNS))
}

/// The deployment of `verifier` for `vk`: its creation code followed by the ABI-encoded
/// constructor arguments `bytes vk` and `bytes program` (the numerator program compiled to
/// EVM code, [`program_code`], or empty when it would not fit). The runtime code is `verifier.runtime` with the data
/// contracts' addresses filled in (immutables; see [`matches_runtime`]).
pub fn creation_with_vk(verifier: &Bytecode, vk: &VkData) -> Result<Vec<u8>, ContractError> {
    creation(verifier, vk, true)
}

/// [`creation_with_vk`] without the program contract: the verifier interprets the program in
/// the key data (what wide circuits get; tests check both paths give the same verdicts).
pub fn creation_interpreting(verifier: &Bytecode, vk: &VkData) -> Result<Vec<u8>, ContractError> {
    creation(verifier, vk, false)
}

fn creation(verifier: &Bytecode, vk: &VkData, compile: bool) -> Result<Vec<u8>, ContractError> {
    if vk.accumulator {
        return Err(ContractError::VkData {
            reason: "the key-as-data verifier does not decode accumulators: use the compiled verifier".into(),
        });
    }
    let data = vk.to_bytes();
    if data.len() > MAX_VK_DATA {
        return Err(ContractError::TooLarge {
            what: "verifying-key data".into(),
            size: data.len(),
            limit: MAX_VK_DATA,
            hint: "it is spread over at most three data contracts; use fewer lanes".into(),
        });
    }
    let program = if compile { embedded_program(verifier, vk, &data) } else { Vec::new() };
    let out = encode_args(&verifier.creation, &data, &program);
    if out.len() > MAX_INITCODE {
        return Err(ContractError::TooLarge {
            what: "deployment (verifier and key data, EIP-3860 initcode)".into(),
            size: out.len(),
            limit: MAX_INITCODE,
            hint: "the key data is too large to send in one transaction; use fewer lanes".into(),
        });
    }
    Ok(out)
}

/// Whether the deployment `creation_with_vk` makes for `vk` carries the compiled program (a
/// program contract), rather than leaving the verifier to interpret it.
pub fn compiles_program(verifier: &Bytecode, vk: &VkData) -> bool {
    !embedded_program(verifier, vk, &vk.to_bytes()).is_empty()
}

/// The numerator program as EVM code when it fits a contract and, with `data`, the deployment
/// transaction; else nothing (the verifier interprets the program in the data). A program that
/// cannot be compiled (a stack deeper than the EVM's) is interpreted, as it always could be.
fn embedded_program(verifier: &Bytecode, vk: &VkData, data: &[u8]) -> Vec<u8> {
    match program_code(vk) {
        Ok(code)
            if code.len() <= crate::EIP170_LIMIT
                && encode_args(&verifier.creation, data, &code).len() <= MAX_INITCODE =>
        {
            code
        }
        _ => Vec::new(),
    }
}

/// `creation` followed by the ABI encoding of the constructor's `(bytes vk, bytes program)`.
fn encode_args(creation: &[u8], data: &[u8], program: &[u8]) -> Vec<u8> {
    let word = |v: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(v as u64).to_be_bytes());
        w
    };
    let padded = |n: usize| n.div_ceil(32) * 32;
    let mut out = creation.to_vec();
    out.extend_from_slice(&word(0x40));
    out.extend_from_slice(&word(0x40 + 32 + padded(data.len())));
    for bytes in [data, program] {
        out.extend_from_slice(&word(bytes.len()));
        out.extend_from_slice(bytes);
        out.resize(out.len() + padded(bytes.len()) - bytes.len(), 0);
    }
    out
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
    fn a_program_that_cannot_be_compiled_is_interpreted() {
        let template = Bytecode { creation: vec![0x00; 8], runtime: vec![] };
        let small = crate::vkdata::tests::sample();
        assert!(compiles_program(&template, &small));
        // a stack deeper than the EVM's: 1,021 values pushed, then summed
        let mut wide = small.clone();
        let push = [crate::vkdata::op::PUSH, crate::vkdata::src::SLOT, 0, 0];
        wide.program = [push.repeat(1021), vec![crate::vkdata::op::ADD; 1020]].concat();
        wide.max_stack = 1021;
        assert!(program_code(&wide).is_err() && !compiles_program(&template, &wide));
        let creation = creation_with_vk(&template, &wide).unwrap();
        assert_eq!(creation, encode_args(&template.creation, &wide.to_bytes(), &[]), "no program contract");
        let with_program = creation_with_vk(&template, &small).unwrap();
        let code = program_code(&small).unwrap();
        assert_eq!(with_program, encode_args(&template.creation, &small.to_bytes(), &code));
        assert_eq!(
            creation_interpreting(&template, &small).unwrap(),
            encode_args(&template.creation, &small.to_bytes(), &[])
        );
    }

    #[test]
    fn immutables_may_differ_only_where_the_template_is_zero() {
        assert!(matches_runtime(&[1, 7, 3], &[1, 0, 3]));
        assert!(!matches_runtime(&[1, 7, 3], &[1, 2, 3]));
        assert!(!matches_runtime(&[1, 0], &[1, 0, 3]));
    }
}
