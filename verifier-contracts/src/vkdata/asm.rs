//! A small EVM assembler for the code a key compiles to ([`super::code`], [`super::compiled`]).
//!
//! It tracks the stack's depth, so `r` (the scalar field's modulus), pushed first and kept at
//! the bottom, is duplicated (`DUPn`, 3 gas, one byte) while it is within reach and loaded from
//! memory word 0 below that; failures jump to one exit that reverts without data; field
//! expressions ([`X`]) are emitted operands-first so that `ADDMOD`/`MULMOD` need no swaps.

use halo2_proofs::halo2curves::bn256::Fr;
use zkonnx_verifier::transcript::fr_to_be;

use super::{op, op_len, src, VkData};
use crate::ContractError;

/// The EVM opcodes the compiled code uses.
pub(crate) mod o {
    pub(crate) const ADD: u8 = 0x01;
    pub(crate) const SUB: u8 = 0x03;
    pub(crate) const MOD: u8 = 0x06;
    pub(crate) const ADDMOD: u8 = 0x08;
    pub(crate) const MULMOD: u8 = 0x09;
    pub(crate) const SHL: u8 = 0x1b;
    pub(crate) const SHR: u8 = 0x1c;
    pub(crate) const LT: u8 = 0x10;
    pub(crate) const EQ: u8 = 0x14;
    pub(crate) const ISZERO: u8 = 0x15;
    pub(crate) const OR: u8 = 0x17;
    pub(crate) const KECCAK256: u8 = 0x20;
    pub(crate) const CALLDATALOAD: u8 = 0x35;
    pub(crate) const CALLDATASIZE: u8 = 0x36;
    pub(crate) const CALLDATACOPY: u8 = 0x37;
    pub(crate) const POP: u8 = 0x50;
    pub(crate) const MLOAD: u8 = 0x51;
    pub(crate) const MSTORE: u8 = 0x52;
    pub(crate) const MSTORE8: u8 = 0x53;
    pub(crate) const JUMPI: u8 = 0x57;
    pub(crate) const GAS: u8 = 0x5a;
    pub(crate) const JUMPDEST: u8 = 0x5b;
    pub(crate) const PUSH1: u8 = 0x60;
    pub(crate) const PUSH2: u8 = 0x61;
    pub(crate) const DUP1: u8 = 0x80;
    pub(crate) const SWAP1: u8 = 0x90;
    pub(crate) const RETURN: u8 = 0xf3;
    pub(crate) const STATICCALL: u8 = 0xfa;
    pub(crate) const REVERT: u8 = 0xfd;
}

/// Words an opcode pops and pushes.
fn effect(code: u8) -> (usize, usize) {
    match code {
        0x08 | 0x09 => (3, 1),
        0x15 | 0x35 | 0x51 => (1, 1),
        0x36 | 0x5a => (0, 1),
        0x37 => (3, 0),
        0x50 | 0x56 => (1, 0),
        0x52 | 0x53 | 0x57 | 0xf3 | 0xfd => (2, 0),
        0x5b => (0, 0),
        0x60..=0x7f => (0, 1),
        0x80..=0x8f => {
            let n = usize::from(code - 0x7f);
            (n, n + 1)
        }
        0x90..=0x9f => {
            let n = usize::from(code - 0x8e);
            (n, n)
        }
        0xfa => (6, 1),
        // the binary arithmetic, comparison and bitwise opcodes, KECCAK256
        _ => (2, 1),
    }
}

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason: format!("compiled code: {reason}") }
}

/// A field expression: constants, memory words, calldata words, sums, products, negations.
#[derive(Clone, Debug)]
pub(crate) enum X {
    K(Fr),
    M(usize),
    C(usize),
    Add(Box<X>, Box<X>),
    Mul(Box<X>, Box<X>),
    /// `r − a`: `r` itself for a zero, which `ADDMOD`, `MULMOD` and `ecMul` treat as zero.
    Neg(Box<X>),
}

pub(crate) fn add(a: X, b: X) -> X {
    X::Add(Box::new(a), Box::new(b))
}

pub(crate) fn mul(a: X, b: X) -> X {
    match (a, b) {
        (X::K(k), b) | (b, X::K(k)) if k == Fr::one() => b,
        (a, b) => X::Mul(Box::new(a), Box::new(b)),
    }
}

pub(crate) fn neg(a: X) -> X {
    match a {
        X::K(k) => X::K(-k),
        a => X::Neg(Box::new(a)),
    }
}

/// EVM code under construction.
pub(crate) struct Asm {
    code: Vec<u8>,
    /// Words on the stack, `r` at the bottom included.
    depth: usize,
    /// Offsets of the two-byte targets of jumps to the failure exit.
    fails: Vec<usize>,
}

impl Asm {
    /// Starts code that keeps `r` at the bottom of the stack and in memory word 0.
    pub(crate) fn new() -> Self {
        let mut a = Asm { code: Vec::with_capacity(4096), depth: 0, fails: vec![] };
        a.push_fr(&-Fr::one());
        a.push(1);
        a.op(o::ADD);
        a.op(o::DUP1);
        a.push(0);
        a.op(o::MSTORE);
        a
    }

    /// Words on the stack, `r` included.
    pub(crate) fn depth(&self) -> usize {
        self.depth
    }

    pub(crate) fn op(&mut self, code: u8) {
        let (pops, pushes) = effect(code);
        debug_assert!(self.depth >= pops, "opcode {code:#x} pops below the stack");
        self.depth = self.depth.saturating_sub(pops) + pushes;
        self.code.push(code);
    }

    /// Pushes `bytes` (big-endian) with the shortest `PUSHn`.
    pub(crate) fn push_be(&mut self, bytes: &[u8]) {
        let v: &[u8] = match bytes.iter().position(|&b| b != 0) {
            Some(start) => &bytes[start..],
            None => &[0],
        };
        self.op(o::PUSH1 + (v.len() as u8 - 1));
        self.code.extend_from_slice(v);
    }

    pub(crate) fn push(&mut self, v: usize) {
        self.push_be(&(v as u64).to_be_bytes());
    }

    pub(crate) fn push_fr(&mut self, v: &Fr) {
        self.push_be(&fr_to_be(v));
    }

    /// Pushes `r`: a `DUPn` of the bottom word while it is within 16, else memory word 0.
    pub(crate) fn r(&mut self) {
        if self.depth <= 16 && self.depth >= 1 {
            self.op(o::DUP1 + (self.depth as u8 - 1));
        } else {
            self.push(0);
            self.op(o::MLOAD);
        }
    }

    /// `DUPn` of the word at `at` (1 = the bottom, `r`).
    pub(crate) fn dup_at(&mut self, at: usize) {
        let n = self.depth + 1 - at;
        debug_assert!((1..=16).contains(&n), "DUP{n}");
        self.op(o::DUP1 + (n as u8 - 1));
    }

    /// `SWAPn` of the top with the word at `at`.
    pub(crate) fn swap_at(&mut self, at: usize) {
        let n = self.depth - at;
        debug_assert!((1..=16).contains(&n), "SWAP{n}");
        self.op(o::SWAP1 + (n as u8 - 1));
    }

    /// Pushes `(word at a) · (word at b) mod r`.
    pub(crate) fn mulmod_at(&mut self, b: usize, a: usize) {
        self.r();
        self.dup_at(b);
        self.dup_at(a);
        self.op(o::MULMOD);
    }

    /// Pops the top into the word at `at`.
    pub(crate) fn replace_at(&mut self, at: usize) {
        self.swap_at(at);
        self.op(o::POP);
    }

    /// Pops a condition; reverts when it is zero.
    pub(crate) fn fail_unless(&mut self) {
        self.op(o::ISZERO);
        self.op(o::PUSH2);
        self.fails.push(self.code.len());
        self.code.extend_from_slice(&[0, 0]);
        self.op(o::JUMPI);
    }

    /// A jump target here.
    pub(crate) fn label(&mut self) -> usize {
        let at = self.code.len();
        self.op(o::JUMPDEST);
        at
    }

    /// Pops a condition; jumps to `label` when it is not zero.
    pub(crate) fn jump_if(&mut self, label: usize) {
        self.push_be(&(label as u16).to_be_bytes());
        self.op(o::JUMPI);
    }

    /// `staticcall(gas(), to, input, input_len, out, out_len)`, reverting when it fails.
    pub(crate) fn staticcall(&mut self, to: usize, input: usize, input_len: usize, out: usize, out_len: usize) {
        for v in [out_len, out, input_len, input, to] {
            self.push(v);
        }
        self.op(o::GAS);
        self.op(o::STATICCALL);
        self.fail_unless();
    }

    /// Pushes the value of `x`.
    pub(crate) fn emit(&mut self, x: &X) {
        match x {
            X::K(v) => self.push_fr(v),
            X::M(at) => {
                self.push(*at);
                self.op(o::MLOAD);
            }
            X::C(at) => {
                self.push(*at);
                self.op(o::CALLDATALOAD);
            }
            X::Add(a, b) | X::Mul(a, b) => {
                self.r();
                self.emit(b);
                self.emit(a);
                self.op(if matches!(x, X::Add(..)) { o::ADDMOD } else { o::MULMOD });
            }
            X::Neg(a) => {
                self.emit(a);
                self.r();
                self.op(o::SUB);
            }
        }
    }

    /// Memory word `at` := `x`.
    pub(crate) fn set(&mut self, at: usize, x: &X) {
        self.emit(x);
        self.push(at);
        self.op(o::MSTORE);
    }

    /// The finished code: the failure exit (`revert(0, 0)`) appended, jumps pointed at it.
    pub(crate) fn finish(mut self) -> Result<Vec<u8>, ContractError> {
        let exit = u16::try_from(self.code.len()).map_err(|_| bad(format!("{} bytes of code", self.code.len())))?;
        self.code.extend_from_slice(&[o::JUMPDEST, o::PUSH1, 0, o::DUP1, o::REVERT]);
        for at in std::mem::take(&mut self.fails) {
            self.code[at..at + 2].copy_from_slice(&exit.to_be_bytes());
        }
        Ok(self.code)
    }
}

/// Where the compiled numerator program finds its operands.
pub(crate) trait Operands {
    /// An operand other than a temporary: `(source, i)` as an expression.
    fn operand(&self, source: u8, i: usize) -> Result<X, ContractError>;
    /// The memory word of temporary `i`.
    fn temp(&self, i: usize) -> Result<usize, ContractError>;
}

fn load(a: &mut Asm, ops: &dyn Operands, source: u8, i: usize) -> Result<(), ContractError> {
    if source == src::TEMP {
        a.emit(&X::M(ops.temp(i)?));
    } else {
        a.emit(&ops.operand(source, i)?);
    }
    Ok(())
}

/// Emits `vk`'s numerator program, leaving the numerator on the stack: the program's stack
/// machine maps onto the EVM's, its stack above whatever is on the EVM's.
pub(crate) fn emit_program(a: &mut Asm, vk: &VkData, ops: &dyn Operands) -> Result<(), ContractError> {
    let p = &vk.program;
    let depth = super::stack_depth(p)?;
    // the EVM's stack holds 1,024 words: the program's own, what is below it, and at most
    // three above them (r and an operand during SUBR, HORNERR and HORNER)
    if a.depth() + depth + 3 > 1024 {
        return Err(bad(format!("a stack {depth} deep: more than the EVM's 1,024 words")));
    }
    let mut at = 0;
    while at < p.len() {
        let code = p[at];
        let operand = || -> Result<(u8, usize), ContractError> {
            let b = p.get(at + 1..at + 4).ok_or_else(|| bad(format!("operand of byte {at} cut off")))?;
            Ok((b[0], usize::from(u16::from_be_bytes([b[1], b[2]]))))
        };
        match code {
            // → v
            op::PUSH => {
                let (s, i) = operand()?;
                load(a, ops, s, i)?;
            }
            // a → a ∘ v: [a] r swap [r a] v [r a v] then ADDMOD/MULMOD
            op::ADDR | op::MULR => {
                let (s, i) = operand()?;
                a.r();
                a.op(o::SWAP1);
                load(a, ops, s, i)?;
                a.op(if code == op::ADDR { o::ADDMOD } else { o::MULMOD });
            }
            // a → a + (r - v)
            op::SUBR => {
                let (s, i) = operand()?;
                a.r();
                a.op(o::SWAP1);
                load(a, ops, s, i)?;
                a.r();
                a.op(o::SUB);
                a.op(o::ADDMOD);
            }
            // s acc → s (acc·s + v): [s acc] r swap dup3 [s r acc s] mulmod [s m] r swap v addmod
            op::HORNERR => {
                let (s, i) = operand()?;
                a.r();
                a.op(o::SWAP1);
                a.op(o::DUP1 + 2);
                a.op(o::MULMOD);
                a.r();
                a.op(o::SWAP1);
                load(a, ops, s, i)?;
                a.op(o::ADDMOD);
            }
            // a → a, a into a temporary
            op::STORE => {
                let (s, i) = operand()?;
                if s != src::TEMP || i >= usize::from(vk.num_temps) {
                    return Err(bad(format!("a store into source {s}, index {i}")));
                }
                a.op(o::DUP1);
                a.push(ops.temp(i)?);
                a.op(o::MSTORE);
            }
            // a b → a ∘ b: [a b] r swap2 [r b a] ADDMOD/MULMOD
            op::ADD | op::MUL => {
                a.r();
                a.op(o::SWAP1 + 1);
                a.op(if code == op::ADD { o::ADDMOD } else { o::MULMOD });
            }
            // a b → a + (r - b)
            op::SUB => {
                a.r();
                a.op(o::SUB);
                a.r();
                a.op(o::SWAP1 + 1);
                a.op(o::ADDMOD);
            }
            // a → r - a (r itself for a zero: mulmod and addmod reduce it)
            op::NEG => {
                a.r();
                a.op(o::SUB);
            }
            // s acc e → s (acc·s + e): [s acc e] r swap1 swap2 [s e r acc] dup4 [s e r acc s]
            // mulmod [s e m] r swap2 [s r m e] addmod
            op::HORNER => {
                a.r();
                a.op(o::SWAP1);
                a.op(o::SWAP1 + 1);
                a.op(o::DUP1 + 3);
                a.op(o::MULMOD);
                a.r();
                a.op(o::SWAP1 + 1);
                a.op(o::ADDMOD);
            }
            // a b → b
            op::NIP => {
                a.op(o::SWAP1);
                a.op(o::POP);
            }
            _ => return Err(bad(format!("opcode {code} at byte {at}"))),
        }
        at += op_len(code);
    }
    Ok(())
}
