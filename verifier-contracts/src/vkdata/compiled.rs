//! The whole verifier compiled from a key's data: straight-line EVM code with the key's
//! constants in it, deployed as one contract (no data contract, no program contract).
//!
//! The loops of `Halo2VerifierVk` (over commitments, evaluations, query sets, the Lagrange list)
//! cost about a third of its gas at one lane; unrolled for one key they cost nothing, which is
//! how snark-verifier's generated verifier is cheap. This code does the same checks in the same
//! order of algebra as [`super::native`], and a few things cheaper than both:
//! - one inversion in all (`modexp`): `zⁿ − 1`, every Lagrange denominator and every SHPLONK
//!   denominator go into one batch. SHPLONK's interpolation needs only one inverse per query
//!   set: with weights `w_j`, `Σ_j v_j/w_j / Σ_j 1/w_j = Σ_j v_j P_j / Σ_j P_j` where
//!   `P_j = ∏_{i≠j} w_i`, and a set opened at one rotation needs none;
//! - the instance evaluation `Σ_j p_j L_j(z)` as one fraction `N / D` built in a loop over the
//!   public values (`L_j(z) = (zⁿ − 1)/n · 1/(z ω^-j − 1)`), instead of one Lagrange value per
//!   public value;
//! - no point check for commitments the MSM uses: the `ecMul`/`ecAdd` precompiles refuse a point
//!   off the curve or with a coordinate not below q, which reverts here (commitments no query
//!   opens are checked explicitly);
//! - no `ecMul` for a fixed commitment that is the identity or a coefficient that is one.
//!
//! The code keeps `r` at the bottom of the stack ([`super::asm`]) and every other value in
//! memory: 0x80 the accumulated point, 0xc0 the point and scalar of the next `ecMul`, then the
//! transcript's hash buffer, then the values. A key whose code outgrows EIP-170 gets the data
//! verifier instead ([`crate::vk_verifier`]). Its `opening` module holds SHPLONK and the pairing.

use std::collections::{BTreeMap, BTreeSet};

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use zkonnx_verifier::transcript::{fq_to_be, point_to_be};

use super::asm::{add, emit_program, mul, o, Asm, Operands, X};
use super::{g2_be, op, op_len, src, VkData, COMMIT_QUOTIENT, COMMIT_WITNESS};
use crate::ContractError;

mod opening;

use opening::{pairing, set_denominators, shplonk};

const ACC: usize = 0x80;
const PT: usize = 0xc0;
const SC: usize = 0x100;
const FREE: usize = 0x120;

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason: format!("compiled verifier: {reason}") }
}

fn one() -> X {
    X::K(Fr::ONE)
}

fn is_one(x: &X) -> bool {
    matches!(x, X::K(k) if *k == Fr::ONE)
}

/// A point the MSM adds.
enum Pt {
    Fixed(G1Affine),
    Calldata(usize),
}

/// Where each part of the calldata starts.
#[derive(Clone, Copy)]
struct Offsets {
    witnesses: usize,
    chunks: usize,
    evals: usize,
    w: usize,
    w_prime: usize,
    end: usize,
}

impl Offsets {
    fn of(vk: &VkData) -> Self {
        let witnesses = 32 * usize::from(vk.num_instance);
        let chunks = witnesses + 64 * vk.num_witnesses();
        let evals = chunks + 64 * usize::from(vk.num_chunks);
        let w = evals + 32 * usize::from(vk.num_evals);
        Offsets { witnesses, chunks, evals, w, w_prime: w + 64, end: w + 128 }
    }
}

/// Where the values the numerator program and the interpolations read are.
struct Values<'a> {
    vk: &'a VkData,
    evals: usize,
    challenges: Vec<usize>,
    z: usize,
    instance_slots: Vec<usize>,
    lagranges: BTreeMap<usize, usize>,
    temps: usize,
    quotient: usize,
}

impl Values<'_> {
    fn slot(&self, i: usize) -> Result<X, ContractError> {
        let (nq, ne) = (self.instance_slots.len(), usize::from(self.vk.num_evals));
        if i < nq {
            Ok(X::M(self.instance_slots[i]))
        } else if i < nq + ne {
            Ok(X::C(self.evals + 32 * (i - nq)))
        } else if i == nq + ne {
            Ok(X::M(self.quotient))
        } else {
            Err(bad(format!("slot {i}")))
        }
    }
}

struct Gen<'a> {
    vk: &'a VkData,
    a: Asm,
    at: Offsets,
    next: usize,
    /// The transcript's hash buffer and its last hash.
    buffer: usize,
    hash: usize,
    first_squeeze: bool,
    v: Values<'a>,
    mu: usize,
    gamma: usize,
    z_prime: usize,
    zn: usize,
    /// Whether the MSM has its first term yet.
    acc_started: bool,
}

impl Operands for Values<'_> {
    fn operand(&self, source: u8, i: usize) -> Result<X, ContractError> {
        let vk = self.vk;
        match source {
            src::CONST => vk.consts.get(i).map(|k| X::K(*k)).ok_or_else(|| bad(format!("constant {i}"))),
            src::SLOT => self.slot(i),
            src::CHALLENGE => self.challenges.get(i).map(|&m| X::M(m)).ok_or_else(|| bad(format!("challenge {i}"))),
            src::LAGRANGE => self.lagranges.get(&i).map(|&m| X::M(m)).ok_or_else(|| bad(format!("Lagrange {i}"))),
            src::IDENTITY => Ok(X::M(self.z)),
            _ => Err(bad(format!("operand source {source}"))),
        }
    }

    fn temp(&self, i: usize) -> Result<usize, ContractError> {
        if i < usize::from(self.vk.num_temps) {
            Ok(self.temps + 32 * i)
        } else {
            Err(bad(format!("temporary {i}")))
        }
    }
}

impl<'a> Gen<'a> {
    fn var(&mut self) -> usize {
        self.next += 32;
        self.next - 32
    }

    fn vars(&mut self, n: usize) -> usize {
        self.next += 32 * n;
        self.next - 32 * n
    }

    /// A challenge squeezed after absorbing calldata `[from, to)` (the byte 1 when empty).
    fn squeeze(&mut self, from: usize, to: usize) -> usize {
        let (a, buf) = (&mut self.a, self.buffer);
        if self.first_squeeze {
            a.push_fr(&self.vk.initial_state);
            self.first_squeeze = false;
        } else {
            a.emit(&X::M(self.hash));
        }
        a.push(buf);
        a.op(o::MSTORE);
        let n = if to == from {
            a.push(1);
            a.push(buf + 32);
            a.op(o::MSTORE8);
            1
        } else {
            a.push(to - from);
            a.push(from);
            a.push(buf + 32);
            a.op(o::CALLDATACOPY);
            to - from
        };
        a.push(n + 32);
        a.push(buf);
        a.op(o::KECCAK256);
        a.op(o::DUP1);
        a.push(self.hash);
        a.op(o::MSTORE);
        a.r();
        a.op(o::SWAP1);
        a.op(o::MOD);
        let c = self.var();
        self.a.push(c);
        self.a.op(o::MSTORE);
        c
    }

    /// Reverts unless the calldata word at `at` is below r.
    fn check_scalar(&mut self, at: usize) {
        self.a.r();
        self.a.emit(&X::C(at));
        self.a.op(o::LT);
        self.a.fail_unless();
    }

    /// Reverts unless the calldata point at `at` is on the curve or (0, 0), coordinates below q.
    fn check_point(&mut self, at: usize) {
        let q = fq_to_be(&-Fq::ONE);
        let a = &mut self.a;
        let push_q = |a: &mut Asm| {
            a.push_be(&q);
            a.push(1);
            a.op(o::ADD);
        };
        for c in [at, at + 32] {
            push_q(a);
            a.emit(&X::C(c));
            a.op(o::LT);
            a.fail_unless();
        }
        // y² == x³ + 3 (mod q), or x | y == 0
        push_q(a);
        a.push(3);
        push_q(a);
        push_q(a);
        a.emit(&X::C(at));
        a.emit(&X::C(at));
        a.op(o::MULMOD);
        a.emit(&X::C(at));
        a.op(o::MULMOD);
        a.op(o::ADDMOD);
        push_q(a);
        a.emit(&X::C(at + 32));
        a.emit(&X::C(at + 32));
        a.op(o::MULMOD);
        a.op(o::EQ);
        a.emit(&X::C(at));
        a.emit(&X::C(at + 32));
        a.op(o::OR);
        a.op(o::ISZERO);
        a.op(o::OR);
        a.fail_unless();
    }

    /// The transcript: every challenge, the evaluations checked below r.
    fn transcript(&mut self) {
        let vk = self.vk;
        let mut pos = self.at.witnesses;
        let mut from = 0;
        for &(nw, nc) in &vk.phases {
            pos += 64 * usize::from(nw);
            for _ in 0..nc {
                let c = self.squeeze(from, pos);
                self.v.challenges.push(c);
                from = pos;
            }
        }
        self.v.z = self.squeeze(from, self.at.evals);
        for i in 0..usize::from(vk.num_evals) {
            self.check_scalar(self.at.evals + 32 * i);
        }
        self.mu = self.squeeze(self.at.evals, self.at.w);
        self.gamma = self.squeeze(self.at.w, self.at.w);
        self.z_prime = self.squeeze(self.at.w, self.at.w_prime);
        // commitments no query opens are not checked by the precompiles: check them here
        let used: BTreeSet<u16> = vk.sets.iter().flat_map(|s| s.polys.iter().map(|(c, _)| *c)).collect();
        for w in 0..vk.num_witnesses() {
            if !used.contains(&(COMMIT_WITNESS | w as u16)) {
                self.check_point(self.at.witnesses + 64 * w);
            }
        }
        if !used.contains(&COMMIT_QUOTIENT) {
            for i in 0..usize::from(vk.num_chunks) {
                self.check_point(self.at.chunks + 64 * i);
            }
        }
    }

    /// `(N, D)` with `N / D = Σ_j p_j / (z ω^-(e+j) − 1)` over the public values `p_j` (each
    /// checked below r), in a loop with `N`, `D`, `y = z ω^-(e+j)` and the offset on the stack.
    fn instance_fraction(&mut self, e: u64) -> (usize, usize) {
        let vk = self.vk;
        let omega_inv = vk.omega.invert().unwrap_or(Fr::ZERO);
        let end = 32 * usize::from(vk.num_instance);
        let a = &mut self.a;
        let base = a.depth();
        let (n, d, y, off, p, b) = (base + 1, base + 2, base + 3, base + 4, base + 5, base + 6);
        a.push(0);
        a.push(1);
        a.emit(&mul(X::M(self.v.z), X::K(omega_inv.pow_vartime([e]))));
        a.push(0);
        let top = a.label();
        // p, checked below r
        a.dup_at(off);
        a.op(o::CALLDATALOAD);
        a.r();
        a.dup_at(p);
        a.op(o::LT);
        a.fail_unless();
        // b = y − 1
        a.r();
        a.push_fr(&-Fr::ONE);
        a.dup_at(y);
        a.op(o::ADDMOD);
        // N = N·b + p·D
        a.r();
        a.mulmod_at(d, p);
        a.mulmod_at(b, n);
        a.op(o::ADDMOD);
        a.replace_at(n);
        // D = D·b
        a.mulmod_at(b, d);
        a.replace_at(d);
        a.op(o::POP);
        a.op(o::POP);
        // y = y·ω⁻¹
        a.r();
        a.push_fr(&omega_inv);
        a.dup_at(y);
        a.op(o::MULMOD);
        a.replace_at(y);
        // next public value
        a.push(32);
        a.op(o::ADD);
        a.push(end);
        a.dup_at(off);
        a.op(o::LT);
        a.jump_if(top);
        a.op(o::POP);
        a.op(o::POP);
        let (nv, dv) = (self.var(), self.var());
        self.a.push(dv);
        self.a.op(o::MSTORE);
        self.a.push(nv);
        self.a.op(o::MSTORE);
        (nv, dv)
    }

    /// Inverts the values at `xs` with one `modexp` (Montgomery's trick), reverting if their
    /// product is zero; returns where each inverse is.
    fn batch_invert(&mut self, xs: &[usize]) -> Vec<usize> {
        let Some((&x0, rest)) = xs.split_first() else { return vec![] };
        let mut prefix = vec![x0];
        for &x in rest {
            let p = self.var();
            let last = prefix[prefix.len() - 1];
            self.a.set(p, &mul(X::M(last), X::M(x)));
            prefix.push(p);
        }
        let total = prefix[prefix.len() - 1];
        let block = self.vars(6);
        let inv = self.var();
        let r_minus_2 = -Fr::from(2);
        for (i, x) in [X::K(Fr::from(32)), X::K(Fr::from(32)), X::K(Fr::from(32)), X::M(total)].iter().enumerate() {
            self.a.set(block + 32 * i, x);
        }
        // r − 2, then r
        self.a.push_fr(&r_minus_2);
        self.a.push(block + 128);
        self.a.op(o::MSTORE);
        self.a.r();
        self.a.push(block + 160);
        self.a.op(o::MSTORE);
        self.a.emit(&X::M(total));
        self.a.fail_unless();
        self.a.staticcall(5, block, 0xc0, inv, 0x20);
        let mut out = vec![0; xs.len()];
        for i in (1..xs.len()).rev() {
            let v = self.var();
            self.a.set(v, &mul(X::M(inv), X::M(prefix[i - 1])));
            out[i] = v;
            self.a.set(inv, &mul(X::M(inv), X::M(xs[i])));
        }
        out[0] = inv;
        out
    }

    /// Writes a point to memory at `to`.
    fn write_point(&mut self, p: &Pt, to: usize) {
        match p {
            Pt::Fixed(g) => {
                let be = point_to_be(g);
                for (i, half) in be.chunks(32).enumerate() {
                    self.a.push_be(half);
                    self.a.push(to + 32 * i);
                    self.a.op(o::MSTORE);
                }
            }
            Pt::Calldata(at) => {
                self.a.push(64);
                self.a.push(*at);
                self.a.push(to);
                self.a.op(o::CALLDATACOPY);
            }
        }
    }

    /// The accumulated point += `s` · `p`.
    fn term(&mut self, p: Pt, s: &X) {
        if let Pt::Fixed(g) = &p {
            if bool::from(g.is_identity()) {
                return;
            }
        }
        if !self.acc_started {
            self.acc_started = true;
            if is_one(s) {
                self.write_point(&p, ACC);
            } else {
                self.write_point(&p, PT);
                self.a.set(SC, s);
                self.a.staticcall(7, PT, 0x60, ACC, 0x40);
            }
            return;
        }
        self.write_point(&p, PT);
        if !is_one(s) {
            self.a.set(SC, s);
            self.a.staticcall(7, PT, 0x60, PT, 0x40);
        }
        self.a.staticcall(6, ACC, 0x80, ACC, 0x40);
    }

    fn commitment(&self, c: u16) -> Result<Pt, ContractError> {
        if c & COMMIT_WITNESS != 0 && c != COMMIT_QUOTIENT {
            let w = usize::from(c & !COMMIT_WITNESS);
            (w < self.vk.num_witnesses())
                .then(|| Pt::Calldata(self.at.witnesses + 64 * w))
                .ok_or_else(|| bad(format!("witness {w}")))
        } else {
            let f = self.vk.preprocessed.get(usize::from(c)).ok_or_else(|| bad(format!("fixed commitment {c}")))?;
            Ok(Pt::Fixed(*f))
        }
    }
}

/// `ω^e` of the Lagrange list's entry `i`.
fn lagrange_exponent(vk: &VkData, mut i: usize) -> Result<u64, ContractError> {
    let n = 1u64 << vk.k;
    for &(e, len) in &vk.lagrange_runs {
        if i < usize::from(len) {
            return Ok((u64::from(e) + i as u64) % n);
        }
        i -= usize::from(len);
    }
    Err(bad(format!("Lagrange entry {i} past the list")))
}

/// The Lagrange entries the numerator program reads.
fn program_lagranges(program: &[u8]) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let mut at = 0;
    while at < program.len() {
        let code = program[at];
        if code < op::ADD && program.get(at + 1) == Some(&src::LAGRANGE) {
            if let Some(b) = program.get(at + 2..at + 4) {
                out.insert(usize::from(u16::from_be_bytes([b[0], b[1]])));
            }
        }
        at += op_len(code);
    }
    out
}

/// The runtime code of the compiled verifier of `vk`. Its calldata is the verifier's (public
/// values, then the proof); it returns the word 1 for a valid proof and reverts without data
/// otherwise. An error when the key has a shape this code does not cover (the data verifier
/// covers it).
pub fn verifier_code(vk: &VkData) -> Result<Vec<u8>, ContractError> {
    vk.check_indices()?;
    let at = Offsets::of(vk);
    // the hash buffer holds the last hash and the longest stretch absorbed at once
    let mut longest = 64;
    let mut pos = at.witnesses;
    let mut from = 0;
    for &(nw, nc) in &vk.phases {
        pos += 64 * usize::from(nw);
        if nc > 0 {
            longest = longest.max(pos - from);
            from = pos;
        }
    }
    longest = longest.max(at.evals - from).max(at.w - at.evals);
    let buffer = FREE;
    let next = FREE + 32 + longest.div_ceil(32) * 32;
    let mut g = Gen {
        vk,
        a: Asm::new(),
        at,
        next,
        buffer,
        hash: 0,
        first_squeeze: true,
        v: Values {
            vk,
            evals: at.evals,
            challenges: vec![],
            z: 0,
            instance_slots: vec![],
            lagranges: BTreeMap::new(),
            temps: 0,
            quotient: 0,
        },
        mu: 0,
        gamma: 0,
        z_prime: 0,
        zn: 0,
        acc_started: false,
    };
    g.hash = g.var();
    g.a.op(o::CALLDATASIZE);
    g.a.push(g.at.end);
    g.a.op(o::EQ);
    g.a.fail_unless();
    g.transcript();
    let z = g.v.z;

    // zⁿ, zⁿ − 1, and the powers of z the query sets need
    let zn = g.var();
    g.a.emit(&X::M(z));
    for _ in 0..vk.k {
        g.a.r();
        g.a.op(o::SWAP1);
        g.a.op(o::DUP1);
        g.a.op(o::MULMOD);
    }
    g.a.push(zn);
    g.a.op(o::MSTORE);
    g.zn = zn;
    let zn1 = g.var();
    g.a.set(zn1, &add(X::M(zn), X::K(-Fr::ONE)));
    let max_ns = vk.sets.iter().map(|s| s.rotations.len()).max().unwrap_or(1);
    let mut zpow = vec![one(), X::M(z)];
    for i in 2..max_ns {
        let v = g.var();
        g.a.set(v, &mul(zpow[i - 1].clone(), X::M(z)));
        zpow.push(X::M(v));
    }

    // the batch to invert: zⁿ − 1, the instance fractions' D, the program's Lagrange
    // denominators, the sets' z_s (after the first) and S
    let mut batch = vec![zn1];
    let nq = vk.instance_queries.len();
    let mut fractions = vec![];
    if vk.num_instance > 0 {
        if nq == 0 {
            return Err(bad("public values but no instance query".into()));
        }
        for &base in &vk.instance_queries {
            let e0 = lagrange_exponent(vk, usize::from(base))?;
            for j in 1..usize::from(vk.num_instance) {
                if lagrange_exponent(vk, usize::from(base) + j)? != (e0 + j as u64) % (1u64 << vk.k) {
                    return Err(bad("an instance query over rows that are not consecutive".into()));
                }
            }
            let (n, d) = g.instance_fraction(e0);
            batch.push(d);
            fractions.push((n, d));
        }
    }
    let mut lag_d = vec![];
    for i in program_lagranges(&vk.program) {
        let e = lagrange_exponent(vk, i)?;
        let w = vk.omega.pow_vartime([e]);
        let d = g.var();
        g.a.set(d, &add(X::M(z), X::K(-w)));
        batch.push(d);
        lag_d.push((i, w, d));
    }
    let pre = set_denominators(&mut g, &zpow, &mut batch)?;
    let inverses: BTreeMap<usize, usize> = batch.iter().copied().zip(g.batch_invert(&batch)).collect();
    let inv = |v: usize| X::M(inverses[&v]);

    // the instance slots, the program's Lagrange values, the numerator and the quotient slot
    let zn1n = g.var();
    g.a.set(zn1n, &mul(X::M(zn1), X::K(vk.n_inv)));
    let mut slots = vec![];
    for &(n, d) in &fractions {
        let v = g.var();
        g.a.set(v, &mul(mul(X::M(zn1n), X::M(n)), inv(d)));
        slots.push(v);
    }
    if slots.is_empty() {
        // no public values: every instance evaluation is zero (memory starts zeroed)
        slots = (0..nq).map(|_| g.var()).collect();
    }
    g.v.instance_slots = slots;
    for (i, w, d) in lag_d {
        let v = g.var();
        g.a.set(v, &mul(mul(X::M(zn1n), X::K(w)), inv(d)));
        g.v.lagranges.insert(i, v);
    }
    g.v.temps = g.vars(usize::from(vk.num_temps));
    g.v.quotient = g.var();
    emit_program(&mut g.a, vk, &g.v)?;
    g.a.r();
    g.a.op(o::SWAP1);
    g.a.emit(&inv(zn1));
    g.a.op(o::MULMOD);
    g.a.push(g.v.quotient);
    g.a.op(o::MSTORE);

    shplonk(&mut g, &pre, &inverses)?;
    pairing(&mut g);
    let code = g.a.finish()?;
    if code.len() > crate::EIP170_LIMIT {
        return Err(ContractError::TooLarge {
            what: "compiled verifier".into(),
            size: code.len(),
            limit: crate::EIP170_LIMIT,
            hint: "the key-as-data verifier serves circuits this wide".into(),
        });
    }
    Ok(code)
}

/// Creation code that deploys `runtime` as it is: `PUSH2 len, DUP1, PUSH1 10, RETURNDATASIZE,
/// CODECOPY, RETURNDATASIZE, RETURN`, then the code.
pub fn creation_of(runtime: &[u8]) -> Vec<u8> {
    let n = runtime.len() as u16;
    let mut out = vec![0x61, (n >> 8) as u8, n as u8, 0x80, 0x60, 0x0a, 0x3d, 0x39, 0x3d, 0xf3];
    out.extend_from_slice(runtime);
    out
}

/// How [`EvmVerifierArtifact`](crate::EvmVerifierArtifact)s name this generator.
pub const COMPILED_GENERATOR: &str = "zkonnx compiled verifier (the verifying key compiled to EVM code)";
/// The contract name of [`deployer_source`].
pub const COMPILED_CONTRACT: &str = "Halo2VerifierCompiled";

/// A Solidity contract whose deployment installs `runtime` (the compiled verifier) as its code,
/// for users who deploy from source (Foundry, Hardhat): the constructor returns the code.
pub fn deployer_source(runtime: &[u8], model_hash: &str) -> String {
    format!(
        "// SPDX-License-Identifier: MIT OR Apache-2.0\n\
         pragma solidity 0.8.19;\n\n\
         /// @title zkonnx compiled halo2 verifier (model {model_hash})\n\
         /// @notice Deploying this contract installs the verifier that zkonnx compiled from the model's\n\
         /// verifying key (`zkonnx create-evm-verifier` writes it; `vkdata::compiled` in\n\
         /// zkonnx-verifier-contracts is the compiler): straight-line EVM code with the key's constants in it.\n\
         /// Calldata: the public values as 32-byte big-endian field elements, then the proof bytes.\n\
         /// A valid proof returns the word 1; anything else reverts without data.\n\
         contract {COMPILED_CONTRACT} {{\n    \
             constructor() {{\n        \
                 bytes memory code = hex\"{}\";\n        \
                 assembly {{\n            \
                     return(add(code, 0x20), mload(code))\n        \
                 }}\n    \
             }}\n\
         }}\n",
        hex::encode(runtime)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evm::{CallStatus, Evm};

    #[test]
    fn the_code_refuses_wrong_lengths_and_garbage_and_a_key_too_wide_is_an_error() {
        let vk = crate::vkdata::tests::sample();
        let code = verifier_code(&vk).unwrap();
        let mut evm = Evm::new();
        let at = evm.deploy(&creation_of(&code)).unwrap();
        assert_eq!(at.runtime_size, code.len());
        let len = 32 * usize::from(vk.num_instance) + vk.proof_len();
        for calldata in [vec![], vec![1u8; len - 1], vec![1u8; len], vec![0u8; len + 32]] {
            let out = evm.call(at.address, &calldata, 1_000_000).unwrap();
            assert_eq!(out.status, CallStatus::Revert, "{} bytes: {out:?}", calldata.len());
        }
        // a formula of thousands of terms: more code than EIP-170 allows
        let mut wide = vk.clone();
        let push = [op::PUSH, src::SLOT, 0, 0];
        wide.program = [push.to_vec(), [op::ADDR, src::SLOT, 0, 1].repeat(4000)].concat();
        wide.max_stack = 1;
        let err = verifier_code(&wide).unwrap_err().to_string();
        assert!(err.contains("compiled verifier") && err.contains("24576"), "{err}");
    }
}
