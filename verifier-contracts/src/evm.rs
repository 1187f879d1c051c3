//! An in-process EVM (revm, mainnet rules) to deploy verifiers and call them with real proofs.
//!
//! Limits are the chain's: EIP-170 (24,576 bytes of runtime code) and EIP-3860 (49,152 bytes
//! of initcode) apply unless [`Evm::without_size_limits`] lifts them to measure an oversized
//! contract. Reported gas includes the 21,000 base cost and the calldata, as on a chain.

use std::collections::BTreeMap;

use revm::bytecode::opcode::OpCode;
use revm::context::result::{ExecutionResult, Output};
use revm::context::TxEnv;
use revm::database::InMemoryDB;
use revm::handler::{MainnetContext, MainnetEvm};
use revm::interpreter::{CallInputs, Interpreter};
pub use revm::primitives::Address;
use revm::primitives::TxKind;
use revm::{Context, ExecuteCommitEvm, InspectCommitEvm, Inspector, MainBuilder, MainContext};

use crate::ContractError;

/// Gas given to a verifier call: a whole block's worth (30M), so that a verifier that burns
/// everything it is given shows as such.
pub const CALL_GAS: u64 = 30_000_000;

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallStatus {
    /// Returned normally.
    Success,
    /// Reverted (`REVERT`): a clean refusal that refunds the unused gas.
    Revert,
    /// Halted: out of gas, invalid opcode and the like; all the gas is gone.
    Halt(String),
}

/// The result of one call.
#[derive(Clone, Debug)]
pub struct CallOutcome {
    /// How it ended.
    pub status: CallStatus,
    /// Gas used, including the base cost and calldata.
    pub gas_used: u64,
    /// Returned or revert data.
    pub output: Vec<u8>,
}

impl CallOutcome {
    /// Whether a verifier accepted: the call succeeded and returned nothing or the word `1`
    /// (ABI `true`).
    pub fn accepted(&self) -> bool {
        self.status == CallStatus::Success && is_acceptance(&self.output)
    }
}

/// Whether a successful verifier call's output means "accepted": nothing, or the word `1`
/// (ABI `true`).
pub(crate) fn is_acceptance(output: &[u8]) -> bool {
    let is_true = output.len() == 32 && output[..31].iter().all(|&b| b == 0) && output[31] == 1;
    output.is_empty() || is_true
}

/// A deployed contract.
#[derive(Clone, Debug)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// Gas the deployment used.
    pub gas_used: u64,
    /// Bytes of runtime code at the address.
    pub runtime_size: usize,
}

/// Where one call's gas went: what the interpreter charged each opcode (its own cost and memory
/// expansion; a `STATICCALL`'s forwarded gas is not counted there) and each precompile, so a
/// verifier's cost can be split into curve arithmetic, inversions, hashing and the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GasProfile {
    /// Opcode name -> (executions, gas); `STATICCALL` counts only executions.
    pub opcodes: BTreeMap<&'static str, (u64, u64)>,
    /// Precompile name (`ecMul`, `modexp`, ...) -> (calls, gas).
    pub precompiles: BTreeMap<&'static str, (u64, u64)>,
    /// Calls from the called contract to other contracts (not precompiles): (calls, gas spent
    /// inside them, their opcodes included in [`Self::opcodes`]).
    pub contract_calls: (u64, u64),
}

impl GasProfile {
    /// Gas of the opcodes (without precompiles).
    pub fn opcode_gas(&self) -> u64 {
        self.opcodes.values().map(|&(_, g)| g).sum()
    }

    /// Gas of the precompiles.
    pub fn precompile_gas(&self) -> u64 {
        self.precompiles.values().map(|&(_, g)| g).sum()
    }
}

/// The inspector behind [`Evm::profile_call`]: idle unless a profiled call runs.
#[derive(Debug, Default)]
struct Profiler {
    pending: Option<(u8, u64)>,
    depth: usize,
    profile: GasProfile,
}

fn precompile_name(address: &Address) -> Option<&'static str> {
    let b = address.as_slice();
    if b[..19].iter().any(|&x| x != 0) {
        return None;
    }
    Some(match b[19] {
        1 => "ecrecover",
        2 => "sha256",
        3 => "ripemd160",
        4 => "identity",
        5 => "modexp",
        6 => "ecAdd",
        7 => "ecMul",
        8 => "ecPairing",
        9 => "blake2f",
        10 => "pointEvaluation",
        _ => return None,
    })
}

impl<CTX> Inspector<CTX> for Profiler {
    fn step(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        use revm::interpreter::interpreter_types::Jumps;
        self.pending = Some((interp.bytecode.opcode(), interp.gas.remaining()));
    }

    fn step_end(&mut self, interp: &mut Interpreter, _context: &mut CTX) {
        if let Some((op, before)) = self.pending.take() {
            let name = OpCode::new(op).map_or("INVALID", OpCode::as_str);
            let spent = if name == "STATICCALL" { 0 } else { before.saturating_sub(interp.gas.remaining()) };
            let e = self.profile.opcodes.entry(name).or_default();
            *e = (e.0 + 1, e.1 + spent);
        }
    }

    fn call(&mut self, _context: &mut CTX, _inputs: &mut CallInputs) -> Option<revm::interpreter::CallOutcome> {
        self.depth += 1;
        None
    }

    fn call_end(&mut self, _context: &mut CTX, inputs: &CallInputs, outcome: &mut revm::interpreter::CallOutcome) {
        self.depth = self.depth.saturating_sub(1);
        if let Some(name) = precompile_name(&inputs.bytecode_address) {
            let e = self.profile.precompiles.entry(name).or_default();
            *e = (e.0 + 1, e.1 + outcome.result.gas.spent());
        } else if self.depth > 0 {
            let c = &mut self.profile.contract_calls;
            *c = (c.0 + 1, c.1 + outcome.result.gas.spent());
        }
    }
}

/// A fresh in-memory chain with one funded-by-default sender.
#[allow(missing_debug_implementations, reason = "revm's EVM has no Debug")]
pub struct Evm {
    evm: MainnetEvm<MainnetContext<InMemoryDB>, Profiler>,
    nonce: u64,
}

impl Default for Evm {
    fn default() -> Self {
        Self::new()
    }
}

impl Evm {
    /// A chain with mainnet's contract size limits.
    pub fn new() -> Self {
        let ctx = Context::mainnet().with_db(InMemoryDB::default());
        Evm { evm: ctx.build_mainnet_with_inspector(Profiler::default()), nonce: 0 }
    }

    /// A chain without the EIP-170 and EIP-3860 size limits, to measure oversized contracts.
    pub fn without_size_limits() -> Self {
        let ctx = Context::mainnet().with_db(InMemoryDB::default()).modify_cfg_chained(|c| {
            c.limit_contract_code_size = Some(usize::MAX);
            c.limit_contract_initcode_size = Some(usize::MAX);
        });
        Evm { evm: ctx.build_mainnet_with_inspector(Profiler::default()), nonce: 0 }
    }

    fn transact(&mut self, kind: TxKind, data: &[u8], gas_limit: u64) -> Result<ExecutionResult, ContractError> {
        let tx = TxEnv { gas_limit, kind, data: data.to_vec().into(), nonce: self.nonce, ..Default::default() };
        let result = self.evm.transact_commit(tx).map_err(|e| ContractError::Evm(format!("{e:?}")))?;
        self.nonce += 1;
        Ok(result)
    }

    /// Deploys `creation` code; an error says why the chain refused it.
    pub fn deploy(&mut self, creation: &[u8]) -> Result<Deployed, ContractError> {
        match self.transact(TxKind::Create, creation, CALL_GAS)? {
            ExecutionResult::Success { output: Output::Create(code, Some(address)), gas_used, .. } => {
                Ok(Deployed { address, gas_used, runtime_size: code.len() })
            }
            ExecutionResult::Success { .. } => Err(ContractError::Evm("deployment created no contract".into())),
            ExecutionResult::Revert { gas_used, .. } => {
                Err(ContractError::Evm(format!("deployment reverted after {gas_used} gas")))
            }
            ExecutionResult::Halt { reason, gas_used } => {
                Err(ContractError::Evm(format!("deployment halted ({reason:?}) after {gas_used} gas")))
            }
        }
    }

    /// Calls `to` with `calldata` and `gas_limit` gas, committing the transaction.
    pub fn call(&mut self, to: Address, calldata: &[u8], gas_limit: u64) -> Result<CallOutcome, ContractError> {
        let result = self.transact(TxKind::Call(to), calldata, gas_limit)?;
        Ok(outcome(result))
    }

    /// [`Self::call`], recording where the gas went (slower: every opcode is inspected).
    pub fn profile_call(
        &mut self,
        to: Address,
        calldata: &[u8],
        gas_limit: u64,
    ) -> Result<(CallOutcome, GasProfile), ContractError> {
        self.evm.inspector = Profiler::default();
        let tx = TxEnv {
            gas_limit,
            kind: TxKind::Call(to),
            data: calldata.to_vec().into(),
            nonce: self.nonce,
            ..Default::default()
        };
        let result = self.evm.inspect_tx_commit(tx).map_err(|e| ContractError::Evm(format!("{e:?}")))?;
        self.nonce += 1;
        Ok((outcome(result), std::mem::take(&mut self.evm.inspector.profile)))
    }
}

fn outcome(result: ExecutionResult) -> CallOutcome {
    match result {
        ExecutionResult::Success { gas_used, output, .. } => {
            CallOutcome { status: CallStatus::Success, gas_used, output: output.into_data().to_vec() }
        }
        ExecutionResult::Revert { gas_used, output } => {
            CallOutcome { status: CallStatus::Revert, gas_used, output: output.to_vec() }
        }
        ExecutionResult::Halt { reason, gas_used } => {
            CallOutcome { status: CallStatus::Halt(format!("{reason:?}")), gas_used, output: vec![] }
        }
    }
}
