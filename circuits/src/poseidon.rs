//! Native Poseidon over BN254's scalar field, with circomlib's parameters, and the tensor
//! commitment built from it (what `hashed` visibility exposes).
//!
//! # Why circomlib's parameters
//!
//! A commitment is only useful if someone outside zkonnx can recompute it: a contract that
//! registers a model hash, a JS or Python backend that checks an input hash. circomlib's Poseidon
//! is the one those tools implement (circomlibjs in JS, `PoseidonT5` in poseidon-solidity and
//! circomlibjs's generated contracts, several Python ports), so we use exactly it: the state width
//! `t = 5` (four inputs, circomlib's `poseidon([a, b, c, d])`), S-box `x^5`, 8 full and 60 partial
//! rounds, and the round constants and Cauchy MDS matrix of the Poseidon authors' reference
//! generator (the Grain LFSR seeded with `(field=1, sbox=0, n=254, t=5, R_F=8, R_P=60)`), which is
//! how circomlib made its tables. The constants are generated here from that definition, not
//! copied; the known-answer tests compare with circomlibjs. Width 5 is the widest that
//! poseidon-solidity ships and balances the circuit's columns against its rows (see
//! `chips/poseidon.rs`).
//!
//! # The commitment of a tensor
//!
//! [`commit`] of values `v_0..v_{n-1}` with a salt `s` (0 when none is given): the sequence
//! `e = [s, v_0, ..., v_{n-1}]` (each value as its field element, `p + v` for a negative `v`),
//! chained three elements at a time, `d_0 = n + 1` (the length of `e`),
//! `d_{k+1} = poseidon([d_k, e_{3k}, e_{3k+1}, e_{3k+2}])` with zeros past the end, and the
//! commitment is the last `d`. In circomlibjs:
//! `let d = BigInt(e.length); for (i = 0; i < e.length; i += 3) d = F.toObject(poseidon([d, e[i] ?? 0n, e[i+1] ?? 0n, e[i+2] ?? 0n]));`
//!
//! What binds what: the circuit pins the capacity element, the chain's start, the padding and
//! the params' salt (to 0) and copies every input or output element from the cell that holds
//! it; a salt and a hashed weight (and a Const value, which with hashed params is a witness
//! too) are bound by the digest alone. So a verifier must compare the params hash with
//! [`params_commitment`] of the whole compiled graph it trusts (what `zkonnx hash` prints),
//! never with a hash of the weights it cares about only.

use std::sync::OnceLock;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use zkonnx_ir::{Graph, Op};

/// State width: four inputs and the capacity element.
pub const WIDTH: usize = 5;
/// Elements of a committed sequence absorbed per permutation (the fourth input is the chain).
pub const RATE: usize = 3;
/// Full rounds (half before the partial rounds, half after).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds (the S-box on the first element only).
pub const PARTIAL_ROUNDS: usize = 60;

/// The round constants (`(R_F + R_P) * t`, round-major) and the MDS matrix.
#[derive(Debug)]
pub struct Constants {
    /// `rc[r][j]`: added to state element `j` before round `r`'s S-box.
    pub rc: Vec<[Fr; WIDTH]>,
    /// `mds[i][j]`: the new element `i` is `sum_j mds[i][j] * state[j]`.
    pub mds: [[Fr; WIDTH]; WIDTH],
}

/// The constants, generated once.
pub fn constants() -> &'static Constants {
    static C: OnceLock<Constants> = OnceLock::new();
    C.get_or_init(generate)
}

/// The Poseidon reference generator's self-shrinking Grain LFSR.
struct Grain {
    bits: [bool; 80],
}

impl Grain {
    fn new(t: usize, rf: usize, rp: usize) -> Self {
        let mut bits = [true; 80];
        let mut i = 0;
        // field 1 (prime field) in 2 bits, S-box 0 (x^alpha) in 4, field size in 12, t in 12,
        // R_F in 10, R_P in 10, then 30 ones
        for (value, width) in [(1usize, 2usize), (0, 4), (254, 12), (t, 12), (rf, 10), (rp, 10)] {
            for b in (0..width).rev() {
                bits[i] = (value >> b) & 1 == 1;
                i += 1;
            }
        }
        let mut g = Self { bits };
        for _ in 0..160 {
            g.step();
        }
        g
    }

    fn step(&mut self) -> bool {
        let b = &self.bits;
        let new = b[62] ^ b[51] ^ b[38] ^ b[23] ^ b[13] ^ b[0];
        self.bits.copy_within(1.., 0);
        self.bits[79] = new;
        new
    }

    /// One output bit: of each pair of LFSR bits, the second when the first is 1.
    fn bit(&mut self) -> bool {
        loop {
            if self.step() {
                return self.step();
            }
            self.step();
        }
    }

    /// 254 bits, most significant first, as `(hi, lo)` (the top 126 and the low 128 bits).
    fn bits254(&mut self) -> (u128, u128) {
        let (mut hi, mut lo) = (0u128, 0u128);
        for i in 0..254 {
            let b = u128::from(self.bit());
            if i < 126 {
                hi = (hi << 1) | b;
            } else {
                lo = (lo << 1) | b;
            }
        }
        (hi, lo)
    }
}

/// `hi * 2^128 + lo` reduced into the field, and whether it was already below the modulus.
fn from_limbs(hi: u128, lo: u128) -> (Fr, bool) {
    let mut repr = [0u8; 32];
    repr[..16].copy_from_slice(&lo.to_le_bytes());
    repr[16..].copy_from_slice(&hi.to_le_bytes());
    let canonical = Option::<Fr>::from(Fr::from_repr(repr));
    let two128 = Fr::from_u128(u128::MAX) + Fr::ONE;
    (canonical.unwrap_or_else(|| Fr::from_u128(hi) * two128 + Fr::from_u128(lo)), canonical.is_some())
}

fn generate() -> Constants {
    let mut g = Grain::new(WIDTH, FULL_ROUNDS, PARTIAL_ROUNDS);
    let rounds = FULL_ROUNDS + PARTIAL_ROUNDS;
    let mut flat = Vec::with_capacity(rounds * WIDTH);
    while flat.len() < rounds * WIDTH {
        // round constants are sampled by rejection
        let (hi, lo) = g.bits254();
        let (f, canonical) = from_limbs(hi, lo);
        if canonical {
            flat.push(f);
        }
    }
    let rc = flat.chunks(WIDTH).map(|c| std::array::from_fn(|j| c[j])).collect();
    Constants { rc, mds: cauchy(&mut g) }
}

/// The reference generator's MDS matrix: `1 / (x_i + y_j)` for `2t` distinct sampled elements
/// (reduced, not rejected); it resamples on a repeat or a zero sum.
fn cauchy(g: &mut Grain) -> [[Fr; WIDTH]; WIDTH] {
    loop {
        let xs: Vec<Fr> = (0..2 * WIDTH).map(|_| from_limbs_pair(g.bits254())).collect();
        let distinct = (0..xs.len()).all(|i| (i + 1..xs.len()).all(|j| xs[i] != xs[j]));
        if !distinct {
            continue;
        }
        let (x, y) = xs.split_at(WIDTH);
        let sums: Vec<Option<Fr>> =
            (0..WIDTH * WIDTH).map(|k| Option::from((x[k / WIDTH] + y[k % WIDTH]).invert())).collect();
        if sums.iter().all(Option::is_some) {
            return std::array::from_fn(|i| std::array::from_fn(|j| sums[i * WIDTH + j].unwrap_or(Fr::ZERO)));
        }
    }
}

fn from_limbs_pair((hi, lo): (u128, u128)) -> Fr {
    from_limbs(hi, lo).0
}

/// The S-box, `x^5`.
pub(crate) fn pow5(x: Fr) -> Fr {
    x.square().square() * x
}

fn is_full(round: usize) -> bool {
    !(FULL_ROUNDS / 2..FULL_ROUNDS / 2 + PARTIAL_ROUNDS).contains(&round)
}

/// The Poseidon permutation, round by round as circomlib's reference defines it.
pub fn permute(state: &mut [Fr; WIDTH]) {
    let c = constants();
    for (r, rc) in c.rc.iter().enumerate() {
        for (s, k) in state.iter_mut().zip(rc) {
            *s += k;
        }
        if is_full(r) {
            state.iter_mut().for_each(|s| *s = pow5(*s));
        } else {
            state[0] = pow5(state[0]);
        }
        *state = mix(&c.mds, state);
    }
}

pub(crate) fn mix(m: &[[Fr; WIDTH]; WIDTH], s: &[Fr; WIDTH]) -> [Fr; WIDTH] {
    std::array::from_fn(|i| (0..WIDTH).map(|j| m[i][j] * s[j]).sum())
}

/// circomlib's `poseidon([a, b, c, d])`: the first element of the permuted `[0, a, b, c, d]`.
pub fn hash4(inputs: [Fr; 4]) -> Fr {
    let mut state = [Fr::ZERO, inputs[0], inputs[1], inputs[2], inputs[3]];
    permute(&mut state);
    state[0]
}

/// The commitment of `values` with `salt` (see the module docs).
pub fn commit(values: &[Fr], salt: Fr) -> Fr {
    let e: Vec<Fr> = std::iter::once(salt).chain(values.iter().copied()).collect();
    let mut d = Fr::from(e.len() as u64);
    for chunk in e.chunks(RATE) {
        let at = |i: usize| chunk.get(i).copied().unwrap_or(Fr::ZERO);
        d = hash4([d, at(0), at(1), at(2)]);
    }
    d
}

/// The commitment of a quantized tensor (see the module docs).
pub fn commit_ints(values: &[i64], salt: Fr) -> Fr {
    commit(&values.iter().map(|&v| crate::field_from_i64(v)).collect::<Vec<_>>(), salt)
}

/// The params `hashed` visibility commits to, in their documented order: for every node in
/// graph order, a Linear node's `weights` (weights and biases, in the order its rows index
/// them), then a Const node's values. Everything else in the graph (its structure, rescale
/// shifts, coefficients, function tables) is the architecture, which the verifying key fixes.
pub fn param_values(graph: &Graph) -> Vec<i64> {
    graph.nodes.iter().flat_map(|n| node_params(&n.op).iter().copied()).collect()
}

/// The params of one node in [`param_values`]' order (empty for a node without params).
pub(crate) fn node_params(op: &Op) -> &[i64] {
    match op {
        Op::Linear(l) => &l.weights,
        Op::Const { values } => values,
        _ => &[],
    }
}

/// The commitment of a compiled model's params (unsalted): the public value a proof with
/// `hashed` params exposes.
pub fn params_commitment(graph: &Graph) -> Fr {
    commit_ints(&param_values(graph), Fr::ZERO)
}

/// The private salts of hashed inputs and outputs, one per tensor in the graph's input and
/// output order; a missing one is 0 (no salt).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Salts {
    pub inputs: Vec<Fr>,
    pub outputs: Vec<Fr>,
}

impl Salts {
    /// The salt of input `i`.
    pub fn input(&self, i: usize) -> Fr {
        self.inputs.get(i).copied().unwrap_or(Fr::ZERO)
    }

    /// The salt of output `i`.
    pub fn output(&self, i: usize) -> Fr {
        self.outputs.get(i).copied().unwrap_or(Fr::ZERO)
    }
}

/// Permutations (and so chip blocks) a commitment of `n` values takes.
pub fn permutations(n: usize) -> usize {
    (n + 1).div_ceil(RATE)
}

/// A field element as users write it: decimal, or hex with `0x`; `None` unless canonical.
pub fn parse_field(s: &str) -> Option<Fr> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if hex.is_empty() || hex.len() > 64 {
            return None;
        }
        let padded = format!("{hex:0>64}");
        let mut repr = [0u8; 32];
        for (i, byte) in repr.iter_mut().enumerate() {
            // big-endian hex into the little-endian repr
            let at = 62 - 2 * i;
            *byte = u8::from_str_radix(padded.get(at..at + 2)?, 16).ok()?;
        }
        return Option::from(Fr::from_repr(repr));
    }
    if s.is_empty() || s.len() > 78 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = s.trim_start_matches('0');
    if digits.is_empty() {
        return Some(Fr::ZERO);
    }
    // from_str_vartime reduces modulo p: canonical means it prints back the same digits
    Fr::from_str_vartime(digits).filter(|&f| to_decimal(f) == digits)
}

/// The 32-byte big-endian word a contract sees for `f`.
pub fn to_word(f: Fr) -> [u8; 32] {
    let mut w = f.to_repr();
    w.reverse();
    w
}

/// `f` in decimal.
pub fn to_decimal(f: Fr) -> String {
    // repeated division of the big-endian bytes by 10
    let mut digits = Vec::new();
    let mut n = to_word(f).to_vec();
    while n.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in n.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

#[cfg(test)]
mod tests;
