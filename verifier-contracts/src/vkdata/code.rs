//! The numerator program compiled to EVM bytecode: the "program contract" the verifier calls.
//!
//! Interpreting the postfix program in Solidity costs about 250 gas per instruction (dispatch
//! through `switch` chains, operand decoding, the memory stack): two thirds of the verifier's
//! own computation at one lane. The program maps one to one onto the EVM's stack machine, so
//! each instruction becomes a few opcodes (about 30 gas): the field element the program keeps
//! in a register is the top of the EVM stack, its memory stack the EVM stack below it.
//!
//! The contract's calldata is the operands, one 32-byte word each, in this order: the
//! constants, the evaluation slots, the challenges, the Lagrange values, `z` (the counts come
//! from the key's data, so the verifier and this code agree on the offsets). It keeps `r` in
//! its memory word 0 and the temporaries from word 1 on, and returns the numerator as one word.
//! The code is derived from [`VkData::program`] alone (checked by [`super::stack_depth`] and
//! the temporaries check when the data was made or read), so anyone can recompute it from the
//! data contract.

use halo2_proofs::halo2curves::bn256::Fr;
use zkonnx_verifier::transcript::fr_to_be;

use super::{op, op_len, src, VkData};
use crate::ContractError;

/// EVM opcodes the compiled program uses.
mod evm {
    pub(super) const ADD: u8 = 0x01;
    pub(super) const SUB: u8 = 0x03;
    pub(super) const EQ: u8 = 0x14;
    pub(super) const CALLDATASIZE: u8 = 0x36;
    pub(super) const JUMPI: u8 = 0x57;
    pub(super) const JUMPDEST: u8 = 0x5b;
    pub(super) const REVERT: u8 = 0xfd;
    pub(super) const ADDMOD: u8 = 0x08;
    pub(super) const MULMOD: u8 = 0x09;
    pub(super) const CALLDATALOAD: u8 = 0x35;
    pub(super) const POP: u8 = 0x50;
    pub(super) const MLOAD: u8 = 0x51;
    pub(super) const MSTORE: u8 = 0x52;
    pub(super) const PUSH1: u8 = 0x60;
    pub(super) const PUSH2: u8 = 0x61;
    pub(super) const PUSH32: u8 = 0x7f;
    pub(super) const DUP1: u8 = 0x80;
    pub(super) const DUP3: u8 = 0x82;
    pub(super) const DUP4: u8 = 0x83;
    pub(super) const SWAP1: u8 = 0x90;
    pub(super) const SWAP2: u8 = 0x91;
    pub(super) const RETURN: u8 = 0xf3;
}

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason: format!("numerator program: {reason}") }
}

/// Word offsets of each operand source in the program contract's calldata.
struct Layout {
    consts: usize,
    slots: usize,
    challenges: usize,
    lagranges: usize,
    /// One past the last (`z`'s offset is `end - 1`).
    end: usize,
}

impl Layout {
    fn of(vk: &VkData) -> Self {
        let consts = 0;
        let slots = consts + vk.consts.len();
        let challenges = slots + vk.num_slots();
        let lagranges = challenges + vk.num_challenges();
        let end = lagranges + vk.num_lagranges() + 1;
        Self { consts, slots, challenges, lagranges, end }
    }

    /// The calldata word of operand `(source, i)`, or `None` for a temporary.
    fn word(&self, source: u8, i: usize, vk: &VkData) -> Result<Option<usize>, ContractError> {
        let check = |n: usize, what: &str| {
            if i < n {
                Ok(())
            } else {
                Err(bad(format!("{what} {i} of {n}")))
            }
        };
        Ok(Some(match source {
            src::CONST => check(vk.consts.len(), "constant").map(|_| self.consts + i)?,
            src::SLOT => check(vk.num_slots(), "slot").map(|_| self.slots + i)?,
            src::CHALLENGE => check(vk.num_challenges(), "challenge").map(|_| self.challenges + i)?,
            src::LAGRANGE => check(vk.num_lagranges(), "Lagrange value").map(|_| self.lagranges + i)?,
            src::IDENTITY => self.end - 1,
            src::TEMP => {
                check(usize::from(vk.num_temps), "temporary")?;
                return Ok(None);
            }
            _ => return Err(bad(format!("operand source {source}"))),
        }))
    }
}

/// The calldata the program contract takes, in order (what the Solidity verifier passes):
/// constants, slots, challenges, Lagrange values, `z`.
pub fn program_input(vk: &VkData, slots: &[Fr], challenges: &[Fr], lagranges: &[Fr], z: Fr) -> Vec<u8> {
    let words = vk.consts.iter().chain(slots).chain(challenges).chain(lagranges).chain(std::iter::once(&z));
    words.flat_map(fr_to_be).collect()
}

struct Emit(Vec<u8>);

impl Emit {
    fn op(&mut self, o: u8) {
        self.0.push(o);
    }

    fn push(&mut self, v: usize) -> Result<(), ContractError> {
        match u16::try_from(v) {
            Ok(v) if v <= 0xff => self.0.extend_from_slice(&[evm::PUSH1, v as u8]),
            Ok(v) => self.0.extend_from_slice(&[evm::PUSH2, (v >> 8) as u8, v as u8]),
            Err(_) => return Err(bad(format!("offset {v} beyond 16 bits"))),
        }
        Ok(())
    }

    /// `r`, kept in memory word 0.
    fn r(&mut self) {
        self.0.extend_from_slice(&[evm::PUSH1, 0, evm::MLOAD]);
    }

    /// Pushes operand `(source, i)`.
    fn load(&mut self, layout: &Layout, vk: &VkData, source: u8, i: usize) -> Result<(), ContractError> {
        match layout.word(source, i, vk)? {
            Some(w) => self.push(32 * w)?,
            None => self.push(32 * (i + 1))?,
        }
        self.op(if source == src::TEMP { evm::MLOAD } else { evm::CALLDATALOAD });
        Ok(())
    }
}

/// The runtime bytecode of the program contract for `vk`'s numerator program.
pub fn program_code(vk: &VkData) -> Result<Vec<u8>, ContractError> {
    let p = &vk.program;
    // the EVM's stack holds 1,024 words: the program's own and at most three above them (r and
    // an operand during SUBR, HORNERR and HORNER)
    let depth = super::stack_depth(p)?;
    if depth + 3 > 1024 {
        return Err(bad(format!("a stack {depth} deep: more than the EVM's 1,024 words")));
    }
    let layout = Layout::of(vk);
    let mut e = Emit(Vec::with_capacity(p.len() * 4 + 64));
    // exactly the operands' words, or revert: PUSH2 n, CALLDATASIZE, EQ, PUSH1 dest, JUMPI,
    // PUSH1 0, DUP1, REVERT, dest: JUMPDEST
    e.op(evm::PUSH2);
    let size = u16::try_from(32 * layout.end).map_err(|_| bad(format!("{} operand words", layout.end)))?;
    e.0.extend_from_slice(&size.to_be_bytes());
    e.0.extend_from_slice(&[evm::CALLDATASIZE, evm::EQ, evm::PUSH1, 12, evm::JUMPI]);
    e.0.extend_from_slice(&[evm::PUSH1, 0, evm::DUP1, evm::REVERT, evm::JUMPDEST]);
    // r into memory word 0
    e.op(evm::PUSH32);
    e.0.extend_from_slice(&fr_to_be(&-Fr::one()));
    // -1 is r - 1: add one
    e.0.extend_from_slice(&[evm::PUSH1, 1, evm::ADD, evm::PUSH1, 0, evm::MSTORE]);
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
                e.load(&layout, vk, s, i)?;
            }
            // a → a ∘ v: [a] r swap [r a] v [r a v] then ADDMOD/MULMOD
            op::ADDR | op::MULR => {
                let (s, i) = operand()?;
                e.r();
                e.op(evm::SWAP1);
                e.load(&layout, vk, s, i)?;
                e.op(if code == op::ADDR { evm::ADDMOD } else { evm::MULMOD });
            }
            // a → a + (r - v)
            op::SUBR => {
                let (s, i) = operand()?;
                e.r();
                e.op(evm::SWAP1);
                e.load(&layout, vk, s, i)?;
                e.r();
                e.op(evm::SUB);
                e.op(evm::ADDMOD);
            }
            // s acc → s (acc·s + v): [s acc] r swap dup3 [s r acc s] mulmod [s m] r swap v addmod
            op::HORNERR => {
                let (s, i) = operand()?;
                e.r();
                e.op(evm::SWAP1);
                e.op(evm::DUP3);
                e.op(evm::MULMOD);
                e.r();
                e.op(evm::SWAP1);
                e.load(&layout, vk, s, i)?;
                e.op(evm::ADDMOD);
            }
            // a → a, a into a temporary
            op::STORE => {
                let (s, i) = operand()?;
                if s != src::TEMP || i >= usize::from(vk.num_temps) {
                    return Err(bad(format!("a store into source {s}, index {i}")));
                }
                e.op(evm::DUP1);
                e.push(32 * (i + 1))?;
                e.op(evm::MSTORE);
            }
            // a b → a ∘ b: [a b] r swap2 [r b a] ADDMOD/MULMOD
            op::ADD | op::MUL => {
                e.r();
                e.op(evm::SWAP2);
                e.op(if code == op::ADD { evm::ADDMOD } else { evm::MULMOD });
            }
            // a b → a + (r - b)
            op::SUB => {
                e.r();
                e.op(evm::SUB);
                e.r();
                e.op(evm::SWAP2);
                e.op(evm::ADDMOD);
            }
            // a → r - a (r itself for a zero, as the interpreter: mulmod and addmod reduce it)
            op::NEG => {
                e.r();
                e.op(evm::SUB);
            }
            // s acc e → s (acc·s + e): [s acc e] r swap1 swap2 [s e r acc] dup4 [s e r acc s]
            // mulmod [s e m] r swap2 [s r m e] addmod
            op::HORNER => {
                e.r();
                e.op(evm::SWAP1);
                e.op(evm::SWAP2);
                e.op(evm::DUP4);
                e.op(evm::MULMOD);
                e.r();
                e.op(evm::SWAP2);
                e.op(evm::ADDMOD);
            }
            // a b → b
            op::NIP => {
                e.op(evm::SWAP1);
                e.op(evm::POP);
            }
            _ => return Err(bad(format!("opcode {code} at byte {at}"))),
        }
        at += op_len(code);
    }
    // the one value left is the numerator: return it
    e.0.extend_from_slice(&[evm::PUSH1, 0, evm::MSTORE, evm::PUSH1, 32, evm::PUSH1, 0, evm::RETURN]);
    Ok(e.0)
}

/// Words of calldata the program contract reads.
pub fn program_input_words(vk: &VkData) -> usize {
    Layout::of(vk).end
}

#[cfg(test)]
mod tests {
    use halo2_proofs::halo2curves::ff::Field;

    use super::*;
    use crate::evm::Evm;
    use crate::vkdata::native::numerator as numerator_of;

    /// A key's data with the given program and counts (the rest does not matter here).
    fn vk_with(program: Vec<u8>, consts: usize, temps: u16) -> VkData {
        let mut vk = crate::vkdata::tests::sample();
        vk.program = program;
        vk.consts = (0..consts).map(|i| Fr::from(i as u64 + 2)).collect();
        vk.num_temps = temps;
        vk
    }

    /// Deploys `code` as a contract (initcode returning it) and calls it with `input`.
    fn run(code: &[u8], input: &[u8]) -> Option<Fr> {
        let mut init = vec![0x61, (code.len() >> 8) as u8, code.len() as u8, 0x80, 0x60, 0x0a, 0x3d, 0x39, 0x3d, 0xf3];
        init.extend_from_slice(code);
        let mut evm = Evm::new();
        let at = evm.deploy(&init).ok()?.address;
        let out = evm.call(at, input, 1_000_000).ok()?;
        (out.status == crate::evm::CallStatus::Success && out.output.len() == 32).then(|| {
            <[u8; 32]>::try_from(out.output.as_slice())
                .ok()
                .and_then(|w| zkonnx_verifier::transcript::fr_from_be(&w))
                .unwrap_or(Fr::ZERO)
        })
    }

    #[test]
    fn compiled_programs_compute_what_the_interpreter_computes() {
        use crate::vkdata::{op, src};
        let operand = |code: u8, s: u8, i: u16| vec![code, s, (i >> 8) as u8, i as u8];
        // every opcode, every source, a temporary stored and read back
        let program = [
            operand(op::PUSH, src::SLOT, 0),
            operand(op::ADDR, src::CONST, 1),
            operand(op::STORE, src::TEMP, 0),
            operand(op::PUSH, src::CHALLENGE, 0),
            operand(op::MULR, src::LAGRANGE, 0),
            operand(op::SUBR, src::IDENTITY, 0),
            vec![op::NEG],
            operand(op::PUSH, src::TEMP, 0),
            operand(op::HORNERR, src::SLOT, 1),
            operand(op::PUSH, src::CONST, 0),
            vec![op::HORNER, op::NIP, op::ADD],
            operand(op::PUSH, src::SLOT, 2),
            vec![op::SUB],
            operand(op::PUSH, src::CHALLENGE, 0),
            vec![op::MUL],
        ]
        .concat();
        let vk = vk_with(program, 2, 1);
        let code = program_code(&vk).unwrap();
        // field elements spread over the whole field (powers of a generator), zeros in round 0
        let mut x = Fr::from(0x1234_5678_9abc_def1);
        for round in 0..20 {
            let mut draw = |n: usize| -> Vec<Fr> {
                (0..n)
                    .map(|i| {
                        x = x.square() * Fr::from(7) + Fr::from(i as u64 + 1);
                        if round == 0 {
                            Fr::ZERO
                        } else {
                            x
                        }
                    })
                    .collect()
            };
            let (slots, challenges, ls) = (draw(vk.num_slots()), draw(vk.num_challenges()), draw(vk.num_lagranges()));
            let z = draw(1)[0];
            let want = numerator_of(&vk, &slots, &challenges, &ls, z).unwrap();
            let input = program_input(&vk, &slots, &challenges, &ls, z);
            assert_eq!(run(&code, &input), Some(want), "round {round}");
            // one word short or long: refused
            assert_eq!(run(&code, &input[..input.len() - 32]), None);
            assert_eq!(run(&code, &[input.as_slice(), &[0u8; 32]].concat()), None);
        }
        let (n_s, n_c, n_l) = (vk.num_slots(), vk.num_challenges(), vk.num_lagranges());
        let input = program_input(&vk, &vec![Fr::ONE; n_s], &vec![Fr::ONE; n_c], &vec![Fr::ONE; n_l], Fr::ONE);
        assert_eq!(program_input_words(&vk) * 32, input.len());
    }

    #[test]
    fn malformed_programs_are_refused() {
        use crate::vkdata::{op, src};
        let push = |s: u8, i: u16| vec![op::PUSH, s, (i >> 8) as u8, i as u8];
        for (program, what) in [
            (push(src::CONST, 9), "constant 9"),
            (push(7, 0), "operand source 7"),
            ([push(src::SLOT, 0), vec![op::ADD]].concat(), "pops an empty stack"),
            ([push(src::SLOT, 0), vec![op::STORE, src::SLOT, 0, 0]].concat(), "a store into source 1"),
            (push(src::TEMP, 3), "temporary 3"),
        ] {
            let err = program_code(&vk_with(program, 2, 1)).unwrap_err().to_string();
            assert!(err.contains(what), "{what}: {err}");
        }
        // deeper than the EVM's stack: 1,022 values pushed, then summed
        let deep = [push(src::SLOT, 0).repeat(1022), vec![op::ADD; 1021]].concat();
        let err = program_code(&vk_with(deep, 2, 1)).unwrap_err().to_string();
        assert!(err.contains("1022 deep"), "{err}");
        let fits = [push(src::SLOT, 0).repeat(1021), vec![op::ADD; 1020]].concat();
        assert!(program_code(&vk_with(fits, 2, 1)).is_ok());
    }
}
