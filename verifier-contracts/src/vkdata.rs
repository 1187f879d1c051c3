//! The verifying key as data: everything a generic halo2 SHPLONK/KZG verifier needs to check
//! one circuit's proofs, packed into bytes that a per-model data contract holds.
//!
//! The reusable verifier contract (`contracts/Halo2VerifierVk.sol`) and the native mirror in
//! [`native`] both interpret these bytes with loops over commitments, evaluations, query sets
//! and a postfix program for the quotient's numerator, so the verifier's code does not grow
//! with the circuit's width; only this data does. On the EVM the program runs compiled
//! ([`code`]) in a program contract deployed next to the data, when it fits one.
//!
//! The description comes from snark-verifier's `compile` of the halo2 verifying key (the same
//! protocol its unrolled reference verifier is generated from), re-encoded here: the query
//! sets of the SHPLONK multi-opening are grouped ahead of time, constants that depend only on
//! the key (`ω^rotation`, the sets' `∏(ω^a − ω^b)`) are precomputed, and every evaluation a
//! formula uses is a numbered slot.
//!
//! # Layout (version 1, integers big-endian)
//! ```text
//! u8 version, u8 k, u16 num_instance, u16 num_phases, {u16 witnesses, u16 challenges} per phase,
//! u16 num_chunks, u16 num_evals, u16 num_instance_queries, u16 num_preprocessed,
//! u16 num_lagrange_runs, u16 num_consts, u16 num_rotations, u16 num_sets, u16 program_len,
//! u16 max_stack (the program's deepest stack), u16 num_temps (the program's temporaries),
//! 32 transcript initial state, 32 ω, 32 1/n, 64 G1 generator, 128 g2, 128 −s·g2
//!   (G2 as x.c1 x.c0 y.c1 y.c0, the pairing precompile's order),
//! 64 × num_preprocessed points, 32 × num_consts, 32 × num_rotations (ω^rotation),
//! {u32 exponent (i mod n), u16 length} × num_lagrange_runs,
//! u16 × num_instance_queries (index of L_{-rotation} in the Lagrange list),
//! per set: u8 shifts, u8 rotation index × shifts, u16 polys, 32 × shifts (∏_{i≠j}(ω^r_j − ω^r_i)),
//!          per poly: u16 commitment (p: preprocessed p, 0x4000|w: witness w, 0x8000: quotient),
//!                    u16 slot × shifts,
//! program bytes.
//! ```
//! Slots are: the instance evaluations, then the proof's evaluations in transcript order, then
//! the quotient's evaluation (numerator / (zⁿ − 1)). Program opcodes are in [`op`].

use std::collections::BTreeMap;

use halo2_proofs::arithmetic::CurveAffine;
use halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine, G2Affine};
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkonnx_verifier::transcript::{fq_from_be, fq_to_be, fr_from_be, fr_to_be, point_from_be, point_to_be};

use crate::ContractError;

mod asm;
pub mod code;
pub mod compiled;
mod cse;
mod encode;
pub mod native;
mod protocol;

pub use encode::encode_vk;

/// The format version written in the first byte.
pub const VK_DATA_VERSION: u8 = 1;

/// Opcodes of the numerator program, a stack machine over field elements.
///
/// Opcodes below [`op::ADD`] carry a 3-byte operand: a source (`src::*`) and a `u16` index;
/// the others are one byte. Leaves are fused into the operation that consumes them (`x + c`
/// is `… ADDR c`, not `… PUSH c ADD`), which halves the dispatches the contract pays for.
pub mod op {
    /// `→ v`: push the operand.
    pub const PUSH: u8 = 0;
    /// `a → a + v`.
    pub const ADDR: u8 = 1;
    /// `a → a · v`.
    pub const MULR: u8 = 2;
    /// `a → a − v`.
    pub const SUBR: u8 = 3;
    /// `s acc → s (acc · s + v)`: a Horner step with the operand as the next term.
    pub const HORNERR: u8 = 4;
    /// `a → a`, storing `a` in the operand (a temporary).
    pub const STORE: u8 = 5;
    /// `a b → a + b`.
    pub const ADD: u8 = 6;
    /// `a b → a · b`.
    pub const MUL: u8 = 7;
    /// `a b → a − b`.
    pub const SUB: u8 = 8;
    /// `a → −a`.
    pub const NEG: u8 = 9;
    /// `s acc e → s (acc · s + e)`: one step of a Horner sum in powers of `s`.
    pub const HORNER: u8 = 10;
    /// `a b → b`: drops the element under the top.
    pub const NIP: u8 = 11;
}

/// Operand sources of the numerator program.
pub mod src {
    /// A constant of [`VkData::consts`](super::VkData::consts).
    pub const CONST: u8 = 0;
    /// An evaluation slot.
    pub const SLOT: u8 = 1;
    /// A challenge, over all phases in transcript order.
    pub const CHALLENGE: u8 = 2;
    /// `L_i(z)` for the i-th entry of the Lagrange list.
    pub const LAGRANGE: u8 = 3;
    /// `z` itself (index 0).
    pub const IDENTITY: u8 = 4;
    /// A temporary the program stored a recurring subexpression in.
    pub const TEMP: u8 = 5;
}

/// Commitment references in query sets.
pub const COMMIT_WITNESS: u16 = 0x4000;
/// The quotient's chunks, combined with powers of `zⁿ`.
pub const COMMIT_QUOTIENT: u16 = 0x8000;

/// One SHPLONK query set: polynomials opened at the same rotations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuerySet {
    /// Indices into [`VkData::rotations`].
    pub rotations: Vec<u8>,
    /// `∏_{i≠j}(ω^r_j − ω^r_i)` for each rotation `j`.
    pub ell: Vec<Fr>,
    /// Each polynomial's commitment reference and its evaluation slot at each rotation.
    pub polys: Vec<(u16, Vec<u16>)>,
}

/// A verifying key as data (see the module docs for the byte layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VkData {
    pub k: u8,
    pub num_instance: u16,
    /// Witness commitments and challenges of each phase, in transcript order.
    pub phases: Vec<(u16, u16)>,
    pub num_chunks: u16,
    pub num_evals: u16,
    /// For each instance query, the index of `L_{-rotation}` in the Lagrange list.
    pub instance_queries: Vec<u16>,
    /// Runs of consecutive Lagrange polynomials: (`i mod n` of the first, length).
    pub lagrange_runs: Vec<(u32, u16)>,
    pub initial_state: Fr,
    pub omega: Fr,
    pub n_inv: Fr,
    pub g1: G1Affine,
    pub g2: G2Affine,
    pub neg_s_g2: G2Affine,
    pub preprocessed: Vec<G1Affine>,
    pub consts: Vec<Fr>,
    /// `ω^rotation` of every rotation a query set uses.
    pub rotations: Vec<Fr>,
    pub sets: Vec<QuerySet>,
    /// The deepest the program's stack gets.
    pub max_stack: u16,
    /// Temporaries the program stores recurring subexpressions in.
    pub num_temps: u16,
    pub program: Vec<u8>,
    /// Whether the first [`crate::reference::ACCUMULATOR_VALUES`] public values are a KZG
    /// accumulator (an aggregation proof's): the verifier decodes it and folds it into its
    /// pairing check with a random challenge, as snark-verifier's does. Not in the packed bytes:
    /// only the compiled verifier ([`compiled`]) and [`native`] implement it, and the data
    /// verifier refuses such a key.
    pub accumulator: bool,
}

impl VkData {
    /// The data for a key: `srs` must be the key's (reduced to its `k`).
    pub fn new(
        srs: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        num_instances: usize,
    ) -> Result<Self, ContractError> {
        encode_vk(srs.get_g()[0], srs.g2(), srs.s_g2(), vk, srs, num_instances)
    }

    /// The data of an aggregation circuit's key, whose proofs carry a KZG accumulator in their
    /// first public values.
    pub fn with_accumulator(
        srs: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        num_instances: usize,
    ) -> Result<Self, ContractError> {
        if num_instances < crate::reference::ACCUMULATOR_VALUES {
            return Err(ContractError::VkData {
                reason: format!("{num_instances} public values cannot hold an accumulator"),
            });
        }
        Ok(Self { accumulator: true, ..Self::new(srs, vk, num_instances)? })
    }

    /// Number of evaluation slots: instance evaluations, proof evaluations, the quotient.
    pub fn num_slots(&self) -> usize {
        self.instance_queries.len() + usize::from(self.num_evals) + 1
    }

    /// Number of challenges over all phases.
    pub fn num_challenges(&self) -> usize {
        self.phases.iter().map(|&(_, c)| usize::from(c)).sum()
    }

    /// Number of witness commitments over all phases.
    pub fn num_witnesses(&self) -> usize {
        self.phases.iter().map(|&(w, _)| usize::from(w)).sum()
    }

    /// Length of the Lagrange list.
    pub fn num_lagranges(&self) -> usize {
        self.lagrange_runs.iter().map(|&(_, l)| usize::from(l)).sum()
    }

    /// Bytes of a proof for this key.
    pub fn proof_len(&self) -> usize {
        64 * (self.num_witnesses() + usize::from(self.num_chunks) + 2) + 32 * usize::from(self.num_evals)
    }

    /// The packed bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Vec::new();
        w.push(VK_DATA_VERSION);
        w.push(self.k);
        let u16s = |w: &mut Vec<u8>, v: u16| w.extend_from_slice(&v.to_be_bytes());
        u16s(&mut w, self.num_instance);
        u16s(&mut w, self.phases.len() as u16);
        for &(a, b) in &self.phases {
            u16s(&mut w, a);
            u16s(&mut w, b);
        }
        for v in [
            self.num_chunks,
            self.num_evals,
            self.instance_queries.len() as u16,
            self.preprocessed.len() as u16,
            self.lagrange_runs.len() as u16,
            self.consts.len() as u16,
            self.rotations.len() as u16,
            self.sets.len() as u16,
            self.program.len() as u16,
            self.max_stack,
            self.num_temps,
        ] {
            u16s(&mut w, v);
        }
        for f in [self.initial_state, self.omega, self.n_inv] {
            w.extend_from_slice(&fr_to_be(&f));
        }
        w.extend_from_slice(&point_to_be(&self.g1));
        w.extend_from_slice(&g2_be(&self.g2));
        w.extend_from_slice(&g2_be(&self.neg_s_g2));
        for p in &self.preprocessed {
            w.extend_from_slice(&point_to_be(p));
        }
        for f in self.consts.iter().chain(&self.rotations) {
            w.extend_from_slice(&fr_to_be(f));
        }
        for &(e, l) in &self.lagrange_runs {
            w.extend_from_slice(&e.to_be_bytes());
            u16s(&mut w, l);
        }
        for &q in &self.instance_queries {
            u16s(&mut w, q);
        }
        for set in &self.sets {
            w.push(set.rotations.len() as u8);
            w.extend_from_slice(&set.rotations);
            u16s(&mut w, set.polys.len() as u16);
            for f in &set.ell {
                w.extend_from_slice(&fr_to_be(f));
            }
            for (c, slots) in &set.polys {
                u16s(&mut w, *c);
                for &s in slots {
                    u16s(&mut w, s);
                }
            }
        }
        w.extend_from_slice(&self.program);
        w
    }

    /// Parses packed bytes, checking that every count fits and every index is in range.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ContractError> {
        let mut r = Reader { bytes, at: 0 };
        let version = r.u8()?;
        if version != VK_DATA_VERSION {
            return Err(bad(format!("version {version}, expected {VK_DATA_VERSION}")));
        }
        let k = r.u8()?;
        let num_instance = r.u16()?;
        let num_phases = r.u16()?;
        let phases = (0..num_phases).map(|_| Ok((r.u16()?, r.u16()?))).collect::<Result<Vec<_>, ContractError>>()?;
        let [num_chunks, num_evals, n_iq, n_pre, n_runs, n_consts, n_rots, n_sets, prog_len, max_stack, num_temps] =
            r.u16s()?;
        let [initial_state, omega, n_inv] = [r.fr()?, r.fr()?, r.fr()?];
        let g1 = r.g1()?;
        let (g2, neg_s_g2) = (r.g2()?, r.g2()?);
        let preprocessed = (0..n_pre).map(|_| r.g1()).collect::<Result<Vec<_>, _>>()?;
        let consts = (0..n_consts).map(|_| r.fr()).collect::<Result<Vec<_>, _>>()?;
        let rotations = (0..n_rots).map(|_| r.fr()).collect::<Result<Vec<_>, _>>()?;
        let lagrange_runs = (0..n_runs).map(|_| Ok((r.u32()?, r.u16()?))).collect::<Result<Vec<_>, ContractError>>()?;
        let instance_queries = (0..n_iq).map(|_| r.u16()).collect::<Result<Vec<_>, _>>()?;
        let mut sets = Vec::with_capacity(usize::from(n_sets));
        for _ in 0..n_sets {
            let shifts = usize::from(r.u8()?);
            let rots = r.take(shifts)?.to_vec();
            let npolys = r.u16()?;
            let ell = (0..shifts).map(|_| r.fr()).collect::<Result<Vec<_>, _>>()?;
            let polys = (0..npolys)
                .map(|_| Ok((r.u16()?, (0..shifts).map(|_| r.u16()).collect::<Result<Vec<_>, _>>()?)))
                .collect::<Result<Vec<_>, ContractError>>()?;
            sets.push(QuerySet { rotations: rots, ell, polys });
        }
        let program = r.take(usize::from(prog_len))?.to_vec();
        if r.at != bytes.len() {
            return Err(bad(format!("{} bytes trail the data", bytes.len() - r.at)));
        }
        check_temps(&program, num_temps)?;
        if usize::from(max_stack) != stack_depth(&program)? {
            return Err(bad("the program's stack depth is not the one recorded".into()));
        }
        let vk = VkData {
            k,
            num_instance,
            phases,
            num_chunks,
            num_evals,
            instance_queries,
            lagrange_runs,
            initial_state,
            omega,
            n_inv,
            g1,
            g2,
            neg_s_g2,
            preprocessed,
            consts,
            rotations,
            sets,
            max_stack,
            num_temps,
            program,
            accumulator: false,
        };
        vk.check_indices()?;
        Ok(vk)
    }

    /// Every reference in the sets and the Lagrange list points at something.
    fn check_indices(&self) -> Result<(), ContractError> {
        let slots = self.num_slots();
        if self.k == 0 || u32::from(self.k) > zkonnx_ir::limits::MAX_LOGROWS {
            return Err(bad(format!("k = {}", self.k)));
        }
        for &base in &self.instance_queries {
            if usize::from(base) + usize::from(self.num_instance) > self.num_lagranges() {
                return Err(bad(format!("instance query at Lagrange {base} runs past the list")));
            }
        }
        for set in &self.sets {
            if set.rotations.is_empty() || set.ell.len() != set.rotations.len() {
                return Err(bad("a query set without rotations".into()));
            }
            if set.rotations.iter().any(|&r| usize::from(r) >= self.rotations.len()) {
                return Err(bad("a query set names a missing rotation".into()));
            }
            for (c, s) in &set.polys {
                let ok = match *c {
                    COMMIT_QUOTIENT => true,
                    c if c & COMMIT_WITNESS != 0 => usize::from(c & !COMMIT_WITNESS) < self.num_witnesses(),
                    c => usize::from(c) < self.preprocessed.len(),
                };
                if !ok || s.iter().any(|&s| usize::from(s) >= slots) {
                    return Err(bad(format!("query set entry {c:#06x} is out of range")));
                }
            }
        }
        if self.sets.is_empty() {
            return Err(bad("no query sets".into()));
        }
        Ok(())
    }
}

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ContractError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| bad(format!("truncated at byte {} (wanted {n} more)", self.at)))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ContractError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ContractError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ContractError> {
        Ok(u16::from_be_bytes(self.array()?))
    }
    fn u16s<const N: usize>(&mut self) -> Result<[u16; N], ContractError> {
        let mut out = [0u16; N];
        for v in &mut out {
            *v = self.u16()?;
        }
        Ok(out)
    }
    fn u32(&mut self) -> Result<u32, ContractError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
    fn fr(&mut self) -> Result<Fr, ContractError> {
        let at = self.at;
        fr_from_be(&self.array()?).ok_or_else(|| bad(format!("byte {at}: a scalar not below r")))
    }
    fn fq(&mut self) -> Result<Fq, ContractError> {
        let at = self.at;
        fq_from_be(&self.array()?).ok_or_else(|| bad(format!("byte {at}: a coordinate not below q")))
    }
    fn g1(&mut self) -> Result<G1Affine, ContractError> {
        let at = self.at;
        point_from_be(&self.array()?).map_err(|e| bad(format!("byte {at}: a G1 {e}")))
    }
    fn g2(&mut self) -> Result<G2Affine, ContractError> {
        let at = self.at;
        let [x1, x0, y1, y0] = [self.fq()?, self.fq()?, self.fq()?, self.fq()?];
        let x = halo2_proofs::halo2curves::bn256::Fq2::new(x0, x1);
        let y = halo2_proofs::halo2curves::bn256::Fq2::new(y0, y1);
        Option::from(G2Affine::from_xy(x, y)).ok_or_else(|| bad(format!("byte {at}: a G2 point off the curve")))
    }
}

/// `x.c1 x.c0 y.c1 y.c0`, each big-endian: the pairing precompile's order.
pub(crate) fn g2_be(p: &G2Affine) -> [u8; 128] {
    let mut out = [0u8; 128];
    for (i, f) in [p.x.c1, p.x.c0, p.y.c1, p.y.c0].iter().enumerate() {
        out[32 * i..32 * (i + 1)].copy_from_slice(&fq_to_be(f));
    }
    out
}

/// Bytes of an instruction with opcode `code`.
pub(crate) fn op_len(code: u8) -> usize {
    if code < op::ADD {
        4
    } else {
        1
    }
}

/// The deepest a program's stack gets; an error if it pops more than it pushed, leaves other
/// than one value, or holds an unknown opcode.
pub(crate) fn stack_depth(program: &[u8]) -> Result<usize, ContractError> {
    let (mut depth, mut max, mut at) = (0usize, 0usize, 0);
    while at < program.len() {
        let code = program[at];
        let (pops, pushes) = match code {
            op::PUSH => (0, 1),
            op::ADDR | op::MULR | op::SUBR | op::NEG | op::STORE => (1, 1),
            op::HORNERR => (2, 2),
            op::ADD | op::MUL | op::SUB | op::NIP => (2, 1),
            op::HORNER => (3, 2),
            _ => return Err(bad(format!("opcode {code} at byte {at} of the program"))),
        };
        depth = depth.checked_sub(pops).ok_or_else(|| bad(format!("the program pops an empty stack at {at}")))?;
        depth += pushes;
        max = max.max(depth);
        at += op_len(code);
    }
    if depth != 1 || at != program.len() {
        return Err(bad("the program does not end with one value".into()));
    }
    Ok(max)
}

/// Every temporary the program reads was stored before, and all are below `num_temps`.
fn check_temps(program: &[u8], num_temps: u16) -> Result<(), ContractError> {
    let mut stored = vec![false; usize::from(num_temps)];
    let mut at = 0;
    while at + 4 <= program.len() {
        let code = program[at];
        if code < op::ADD && program[at + 1] == src::TEMP {
            let t = usize::from(u16::from_be_bytes([program[at + 2], program[at + 3]]));
            let known = stored.get_mut(t).ok_or_else(|| bad(format!("temporary {t} of {num_temps}")))?;
            if code == op::STORE {
                *known = true;
            } else if !*known {
                return Err(bad(format!("temporary {t} is read before it is stored")));
            }
        } else if code == op::STORE {
            return Err(bad("a STORE into something other than a temporary".into()));
        }
        at += op_len(code);
    }
    Ok(())
}

/// Slots of the queries a formula reads, by (poly, rotation).
pub(crate) type SlotMap = BTreeMap<(usize, i32), u16>;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;

    fn push(v: u16) -> [u8; 4] {
        let b = v.to_be_bytes();
        [op::PUSH, src::SLOT, b[0], b[1]]
    }

    /// A small, well-formed key description (not a real circuit's).
    pub(crate) fn sample() -> VkData {
        let program = [push(0).as_slice(), &push(1), &[op::MUL, op::NEG]].concat();
        VkData {
            k: 4,
            num_instance: 2,
            phases: vec![(1, 1), (2, 1)],
            num_chunks: 2,
            num_evals: 3,
            instance_queries: vec![0],
            lagrange_runs: vec![(0, 2), (15, 1)],
            initial_state: Fr::from(7),
            omega: Fr::from(3),
            n_inv: Fr::from(5),
            g1: G1Affine::generator(),
            g2: G2Affine::generator(),
            neg_s_g2: -G2Affine::generator(),
            preprocessed: vec![G1Affine::generator(), G1Affine::identity()],
            consts: vec![Fr::ONE],
            rotations: vec![Fr::ONE, Fr::from(3)],
            sets: vec![QuerySet {
                rotations: vec![0, 1],
                ell: vec![Fr::from(2), -Fr::from(2)],
                polys: vec![(1, vec![1, 2]), (COMMIT_WITNESS | 2, vec![3, 0]), (COMMIT_QUOTIENT, vec![4, 4])],
            }],
            max_stack: 2,
            num_temps: 0,
            program,
            accumulator: false,
        }
    }

    #[test]
    fn round_trips_and_counts() {
        let vk = sample();
        assert_eq!(VkData::from_bytes(&vk.to_bytes()).unwrap(), vk);
        assert_eq!((vk.num_slots(), vk.num_witnesses(), vk.num_challenges(), vk.num_lagranges()), (5, 3, 2, 3));
        assert_eq!(vk.proof_len(), 64 * (3 + 2 + 2) + 32 * 3);
    }

    #[test]
    fn malformed_data_is_an_error_naming_the_problem() {
        let bytes = sample().to_bytes();
        let err = |b: &[u8]| VkData::from_bytes(b).unwrap_err().to_string();
        assert!(err(&bytes[..bytes.len() - 1]).contains("truncated"));
        assert!(err(&[bytes.as_slice(), &[0]].concat()).contains("trail"));
        let mut v = bytes.clone();
        v[0] = 9;
        assert!(err(&v).contains("version 9"));
        let mut bad = sample();
        bad.sets[0].polys[1].0 = COMMIT_WITNESS | 3;
        assert!(err(&bad.to_bytes()).contains("out of range"));
        let mut bad = sample();
        bad.sets[0].polys[0].1[0] = 5;
        assert!(err(&bad.to_bytes()).contains("out of range"));
        let mut bad = sample();
        bad.max_stack = 3;
        assert!(err(&bad.to_bytes()).contains("stack depth"));
        let mut bad = sample();
        bad.program.push(op::ADD);
        assert!(err(&bad.to_bytes()).contains("pops an empty stack"));
        let mut bad = sample();
        bad.program.push(42);
        assert!(err(&bad.to_bytes()).contains("opcode 42"));
    }

    #[test]
    fn stack_depth_follows_the_opcodes() {
        // s, first, then a Horner step with a fused leaf and one with a pushed term, then NIP
        let p =
            [push(0).as_slice(), &push(1), &[op::HORNERR, src::SLOT, 0, 2], &push(3), &[op::HORNER, op::NIP]].concat();
        assert_eq!(stack_depth(&p).unwrap(), 3);
        assert!(stack_depth(&push(0)[..3]).is_err());
        assert!(stack_depth(&[push(0), push(1)].concat()).is_err());
    }
}
