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
//! from the key's data, so the verifier and this code agree on the offsets). It keeps `r` at
//! the bottom of its stack and in memory word 0, the temporaries from word 1 on, and returns
//! the numerator as one word.
//! The code is derived from [`VkData::program`] alone (checked by [`super::stack_depth`] and
//! the temporaries check when the data was made or read), so anyone can recompute it from the
//! data contract.

use halo2_proofs::halo2curves::bn256::Fr;
use zkonnx_verifier::transcript::fr_to_be;

use super::asm::{emit_program, o, Asm, Operands, X};
use super::{src, VkData};
use crate::ContractError;

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
}

/// Operands of the program contract: calldata words, temporaries from memory word 1 on.
struct Calldata<'a> {
    layout: Layout,
    vk: &'a VkData,
}

impl Operands for Calldata<'_> {
    fn operand(&self, source: u8, i: usize) -> Result<X, ContractError> {
        let (l, vk) = (&self.layout, self.vk);
        let check = |n: usize, what: &str| {
            if i < n {
                Ok(())
            } else {
                Err(bad(format!("{what} {i} of {n}")))
            }
        };
        let word = match source {
            src::CONST => check(vk.consts.len(), "constant").map(|_| l.consts + i)?,
            src::SLOT => check(vk.num_slots(), "slot").map(|_| l.slots + i)?,
            src::CHALLENGE => check(vk.num_challenges(), "challenge").map(|_| l.challenges + i)?,
            src::LAGRANGE => check(vk.num_lagranges(), "Lagrange value").map(|_| l.lagranges + i)?,
            src::IDENTITY => l.end - 1,
            _ => return Err(bad(format!("operand source {source}"))),
        };
        Ok(X::C(32 * word))
    }

    fn temp(&self, i: usize) -> Result<usize, ContractError> {
        if i < usize::from(self.vk.num_temps) {
            Ok(32 * (i + 1))
        } else {
            Err(bad(format!("temporary {i} of {}", self.vk.num_temps)))
        }
    }
}

/// The calldata the program contract takes, in order (what the Solidity verifier passes):
/// constants, slots, challenges, Lagrange values, `z`.
pub fn program_input(vk: &VkData, slots: &[Fr], challenges: &[Fr], lagranges: &[Fr], z: Fr) -> Vec<u8> {
    let words = vk.consts.iter().chain(slots).chain(challenges).chain(lagranges).chain(std::iter::once(&z));
    words.flat_map(fr_to_be).collect()
}

/// The runtime bytecode of the program contract for `vk`'s numerator program.
pub fn program_code(vk: &VkData) -> Result<Vec<u8>, ContractError> {
    let layout = Layout::of(vk);
    let end = layout.end;
    let mut a = Asm::new();
    // exactly the operands' words, or revert
    a.op(o::CALLDATASIZE);
    a.push(32 * end);
    a.op(o::EQ);
    a.fail_unless();
    emit_program(&mut a, vk, &Calldata { layout, vk })?;
    // the one value left is the numerator: return it
    a.push(0);
    a.op(o::MSTORE);
    a.push(32);
    a.push(0);
    a.op(o::RETURN);
    a.finish()
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
        // deeper than the EVM's stack (r below, three words above): 1,021 values pushed, then summed
        let deep = [push(src::SLOT, 0).repeat(1021), vec![op::ADD; 1020]].concat();
        let err = program_code(&vk_with(deep, 2, 1)).unwrap_err().to_string();
        assert!(err.contains("1021 deep"), "{err}");
        let fits = [push(src::SLOT, 0).repeat(1020), vec![op::ADD; 1019]].concat();
        assert!(program_code(&vk_with(fits, 2, 1)).is_ok());
    }
}
