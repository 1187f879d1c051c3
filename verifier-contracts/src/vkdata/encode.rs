//! From a halo2 verifying key to [`VkData`]: snark-verifier's protocol, regrouped.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::VerifyingKey;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier::system::halo2::{compile, Config};

use super::cse::Shared;
use super::protocol::{point, scalar, Common, Expr, Protocol, Query};
use super::{op, src, QuerySet, SlotMap, VkData, COMMIT_QUOTIENT, COMMIT_WITNESS};
use crate::ContractError;

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason }
}

/// Appends an instruction with an operand: opcode, source, `u16` index.
fn with(out: &mut Vec<u8>, code: u8, (source, index): (u8, u16)) {
    out.push(code);
    out.push(source);
    out.extend_from_slice(&index.to_be_bytes());
}

fn small<T: TryFrom<usize>>(v: usize, what: &str) -> Result<T, ContractError> {
    T::try_from(v).map_err(|_| bad(format!("{what} ({v}) does not fit the format")))
}

/// The data of `vk` (one instance column of `num_instances` values) with the deciding key
/// `g1`, `g2`, `s_g2` of the SRS it was made with.
pub fn encode_vk(
    g1: G1Affine,
    g2: G2Affine,
    s_g2: G2Affine,
    vk: &VerifyingKey<G1Affine>,
    srs: &ParamsKZG<Bn256>,
    num_instances: usize,
) -> Result<VkData, ContractError> {
    let compiled =
        catch_unwind(AssertUnwindSafe(|| compile(srs, vk, Config::kzg().with_num_instance(vec![num_instances]))))
            .map_err(|_| bad("snark-verifier could not compile this verifying key".into()))?;
    let value = serde_json::to_value(&compiled).map_err(|e| bad(format!("protocol to JSON: {e}")))?;
    let p: Protocol = serde_json::from_value(value).map_err(|e| bad(format!("protocol from JSON: {e}")))?;
    Encoder::new(&p)?.finish(&p, g1, g2, s_g2)
}

struct Encoder {
    n: usize,
    omega: Fr,
    num_pre: usize,
    num_witness: usize,
    slots: SlotMap,
    lagrange: BTreeMap<i32, u16>,
    instance_queries: Vec<u16>,
    consts: Vec<Fr>,
    num_challenges: usize,
    shared: Shared,
    /// Temporaries holding recurring subtrees already computed, by subtree identity.
    temps: HashMap<usize, u16>,
}

impl Encoder {
    fn new(p: &Protocol) -> Result<Self, ContractError> {
        if p.num_instance.len() != 1 {
            return Err(bad(format!("{} instance columns; the format has one", p.num_instance.len())));
        }
        let unsupported = p.instance_committing_key.is_some()
            || p.linearization.is_some()
            || !p.accumulator_indices.is_empty()
            || p.quotient.chunk_degree != 1
            || p.transcript_initial_state.is_none();
        if unsupported {
            return Err(bad("the protocol uses features the data verifier does not implement".into()));
        }
        let num_pre = p.preprocessed.len();
        let num_witness: usize = p.num_witness.iter().sum();
        let num_instance = p.num_instance[0];

        // instance evaluations the numerator reads, and the Lagrange polynomials it needs
        let mut inst = BTreeSet::new();
        let mut lag = BTreeSet::new();
        p.quotient.numerator.walk(&mut |e| match e {
            Expr::Polynomial(q) if q.poly == num_pre => {
                inst.insert(q.rotation);
            }
            Expr::CommonPolynomial(Common::Lagrange(i)) => {
                lag.insert(*i);
            }
            _ => {}
        });
        if !inst.is_empty() {
            let min = inst.iter().copied().min().unwrap_or(0).min(0);
            let max = inst.iter().copied().max().unwrap_or(0).max(0);
            let len: i32 = small(num_instance, "instances")?;
            lag.extend(-max..len + min.abs());
        }
        let lagrange: BTreeMap<i32, u16> =
            lag.iter().enumerate().map(|(k, &i)| Ok((i, small(k, "Lagrange list")?))).collect::<Result<_, _>>()?;
        let mut slots = SlotMap::new();
        let mut instance_queries = vec![];
        for (slot, &rot) in inst.iter().enumerate() {
            let base = *lagrange.get(&-rot).ok_or_else(|| bad("no instances to evaluate".into()))?;
            if num_instance > 0 {
                let last = small::<i32>(num_instance - 1, "instances")? - rot;
                if lagrange.get(&last).map(|&l| usize::from(l)) != Some(usize::from(base) + num_instance - 1) {
                    return Err(bad("instance Lagrange polynomials are not consecutive".into()));
                }
            }
            instance_queries.push(base);
            slots.insert((num_pre, rot), small(slot, "slots")?);
        }
        for (k, q) in p.evaluations.iter().enumerate() {
            slots.insert((q.poly, q.rotation), small(inst.len() + k, "slots")?);
        }
        let quotient_slot = small(inst.len() + p.evaluations.len(), "slots")?;
        slots.insert((num_pre + 1 + num_witness, 0), quotient_slot);
        Ok(Encoder {
            n: p.domain.n,
            omega: scalar(&p.domain.gen)?,
            num_pre,
            num_witness,
            slots,
            lagrange,
            instance_queries,
            consts: vec![],
            num_challenges: p.num_challenge.iter().sum(),
            shared: Shared::new(&p.quotient.numerator),
            temps: HashMap::new(),
        })
    }

    fn finish(mut self, p: &Protocol, g1: G1Affine, g2: G2Affine, s_g2: G2Affine) -> Result<VkData, ContractError> {
        let mut program = vec![];
        self.emit(&p.quotient.numerator, &mut program)?;
        let depth = super::stack_depth(&program)?;
        let (sets, rotations) = self.query_sets(&p.queries)?;
        let degree = p.quotient.numerator.degree();
        let num_chunks = degree.saturating_sub(1);
        let phases = p
            .num_witness
            .iter()
            .zip(&p.num_challenge)
            .map(|(&w, &c)| Ok((small(w, "witnesses")?, small(c, "challenges")?)))
            .collect::<Result<Vec<_>, ContractError>>()?;
        Ok(VkData {
            k: small(p.domain.k, "k")?,
            num_instance: small(p.num_instance[0], "instances")?,
            phases,
            num_chunks: small(num_chunks, "quotient chunks")?,
            num_evals: small(p.evaluations.len(), "evaluations")?,
            instance_queries: self.instance_queries.clone(),
            lagrange_runs: self.lagrange_runs()?,
            initial_state: scalar(p.transcript_initial_state.as_deref().unwrap_or_default())?,
            omega: self.omega,
            n_inv: scalar(&p.domain.n_inv)?,
            g1,
            g2,
            neg_s_g2: -s_g2,
            preprocessed: p.preprocessed.iter().map(|s| point(s)).collect::<Result<_, _>>()?,
            consts: self.consts,
            rotations,
            sets,
            max_stack: small(depth, "stack depth")?,
            num_temps: small(self.temps.len(), "temporaries")?,
            program,
            accumulator: false,
        })
    }

    /// Runs of consecutive `i` in the Lagrange list, each as (`i mod n` of its first, length).
    fn lagrange_runs(&self) -> Result<Vec<(u32, u16)>, ContractError> {
        let mut runs: Vec<(i32, u16)> = vec![];
        for &i in self.lagrange.keys() {
            match runs.last_mut() {
                Some((start, len)) if *start + i32::from(*len) == i => *len += 1,
                _ => runs.push((i, 1)),
            }
        }
        let n = self.n as i64;
        runs.into_iter().map(|(i, l)| Ok((small(((i64::from(i) % n) + n) as usize % self.n, "Lagrange")?, l))).collect()
    }

    fn constant(&mut self, f: Fr) -> Result<u16, ContractError> {
        let at = match self.consts.iter().position(|c| *c == f) {
            Some(at) => at,
            None => {
                self.consts.push(f);
                self.consts.len() - 1
            }
        };
        small(at, "constants")
    }

    /// The operand (source, index) of a leaf, or `None` for an inner node.
    fn leaf(&mut self, e: &Expr) -> Result<Option<(u8, u16)>, ContractError> {
        if let Some(t) = self.shared.recurring(e).and_then(|id| self.temps.get(&id)) {
            return Ok(Some((src::TEMP, *t)));
        }
        Ok(Some(match e {
            Expr::Constant(s) => (src::CONST, self.constant(scalar(s)?)?),
            Expr::CommonPolynomial(Common::Identity) => (src::IDENTITY, 0),
            Expr::CommonPolynomial(Common::Lagrange(i)) => {
                let at = self.lagrange.get(i).ok_or_else(|| bad(format!("Lagrange {i} is not in the list")))?;
                (src::LAGRANGE, *at)
            }
            Expr::Polynomial(q) => {
                let slot = self.slots.get(&(q.poly, q.rotation));
                (src::SLOT, *slot.ok_or_else(|| bad(format!("the formula reads {q:?}, which nothing evaluates")))?)
            }
            Expr::Challenge(i) if *i < self.num_challenges => (src::CHALLENGE, small(*i, "challenges")?),
            Expr::Challenge(i) => return Err(bad(format!("the formula reads challenge {i}, which is never squeezed"))),
            _ => return Ok(None),
        }))
    }

    /// Appends `e`'s code: leaves fused into the operation that consumes them.
    fn emit(&mut self, e: &Expr, out: &mut Vec<u8>) -> Result<(), ContractError> {
        if let Some(v) = self.leaf(e)? {
            with(out, op::PUSH, v);
            return Ok(());
        }
        self.emit_inner(e, out)?;
        // a recurring subtree is kept for its next occurrences
        if let Some(id) = self.shared.recurring(e) {
            let t = small(self.temps.len(), "temporaries")?;
            with(out, op::STORE, (src::TEMP, t));
            self.temps.insert(id, t);
        }
        Ok(())
    }

    /// [`Self::emit`] for an inner node.
    fn emit_inner(&mut self, e: &Expr, out: &mut Vec<u8>) -> Result<(), ContractError> {
        match e {
            Expr::Negated(a) => {
                self.emit(a, out)?;
                out.push(op::NEG);
            }
            Expr::Sum(a, b) => {
                let negated = match b.as_ref() {
                    Expr::Negated(inner) => Some(inner.as_ref()),
                    _ => None,
                };
                if let Some(nb) = negated {
                    self.emit(a, out)?;
                    match self.leaf(nb)? {
                        Some(v) => with(out, op::SUBR, v),
                        None => {
                            self.emit(nb, out)?;
                            out.push(op::SUB);
                        }
                    }
                } else {
                    self.binary(a, b, op::ADDR, op::ADD, out)?;
                }
            }
            Expr::Product(a, b) => self.binary(a, b, op::MULR, op::MUL, out)?,
            Expr::Scaled(a, s) => {
                self.emit(a, out)?;
                let c = self.constant(scalar(s)?)?;
                with(out, op::MULR, (src::CONST, c));
            }
            Expr::DistributePowers(v, s) => match v.as_slice() {
                [] => return Err(bad("an empty sum of powers".into())),
                [one] => self.emit(one, out)?,
                [first, rest @ ..] => {
                    self.emit(s, out)?;
                    self.emit(first, out)?;
                    for e in rest {
                        match self.leaf(e)? {
                            Some(v) => with(out, op::HORNERR, v),
                            None => {
                                self.emit(e, out)?;
                                out.push(op::HORNER);
                            }
                        }
                    }
                    out.push(op::NIP);
                }
            },
            _ => return Err(bad("an unknown formula node".into())),
        }
        Ok(())
    }

    /// A commutative operation: a leaf on either side is fused.
    fn binary(&mut self, a: &Expr, b: &Expr, fused: u8, plain: u8, out: &mut Vec<u8>) -> Result<(), ContractError> {
        if let Some(v) = self.leaf(b)? {
            self.emit(a, out)?;
            with(out, fused, v);
        } else if let Some(v) = self.leaf(a)? {
            self.emit(b, out)?;
            with(out, fused, v);
        } else {
            self.emit(a, out)?;
            self.emit(b, out)?;
            out.push(plain);
        }
        Ok(())
    }

    fn commitment(&self, poly: usize) -> Result<u16, ContractError> {
        if poly < self.num_pre {
            small(poly, "preprocessed")
        } else if poly > self.num_pre && poly <= self.num_pre + self.num_witness {
            Ok(COMMIT_WITNESS | small::<u16>(poly - self.num_pre - 1, "witnesses")?)
        } else if poly == self.num_pre + 1 + self.num_witness {
            Ok(COMMIT_QUOTIENT)
        } else {
            Err(bad(format!("a query opens polynomial {poly}, which has no commitment")))
        }
    }

    /// SHPLONK's query sets, in the order snark-verifier forms them: polynomials in order of
    /// first query, each with its rotations in order of appearance; polynomials with the same
    /// set of rotations share a set.
    fn query_sets(&self, queries: &[Query]) -> Result<(Vec<QuerySet>, Vec<Fr>), ContractError> {
        let mut per_poly: Vec<(usize, Vec<i32>)> = vec![];
        for q in queries {
            match per_poly.iter_mut().find(|(p, _)| *p == q.poly) {
                Some((_, rots)) if !rots.contains(&q.rotation) => rots.push(q.rotation),
                Some(_) => {}
                None => per_poly.push((q.poly, vec![q.rotation])),
            }
        }
        let mut groups: Vec<(Vec<i32>, Vec<usize>)> = vec![];
        for (poly, rots) in per_poly {
            let key: BTreeSet<i32> = rots.iter().copied().collect();
            match groups.iter_mut().find(|(r, _)| r.iter().copied().collect::<BTreeSet<_>>() == key) {
                Some((_, polys)) => polys.push(poly),
                None => groups.push((rots, vec![poly])),
            }
        }
        let all: BTreeSet<i32> = groups.iter().flat_map(|(r, _)| r.iter().copied()).collect();
        let index: BTreeMap<i32, u8> =
            all.iter().enumerate().map(|(k, &r)| Ok((r, small(k, "rotations")?))).collect::<Result<_, _>>()?;
        let rotate = |r: i32| {
            let e = if r >= 0 { r as u64 } else { (self.n as u64) - u64::from(r.unsigned_abs()) };
            self.omega.pow_vartime([e])
        };
        let rotations = all.iter().map(|&r| rotate(r)).collect();
        let mut sets = vec![];
        for (rots, polys) in groups {
            let ell = rots
                .iter()
                .enumerate()
                .map(|(j, &rj)| {
                    rots.iter()
                        .enumerate()
                        .filter(|&(i, _)| i != j)
                        .fold(Fr::ONE, |acc, (_, &ri)| acc * (rotate(rj) - rotate(ri)))
                })
                .collect();
            let polys = polys
                .into_iter()
                .map(|poly| {
                    let slots = rots
                        .iter()
                        .map(|&r| {
                            self.slots
                                .get(&(poly, r))
                                .copied()
                                .ok_or_else(|| bad(format!("query ({poly}, {r}) has no evaluation")))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((self.commitment(poly)?, slots))
                })
                .collect::<Result<Vec<_>, ContractError>>()?;
            sets.push(QuerySet { rotations: rots.iter().map(|r| index[r]).collect(), ell, polys });
        }
        Ok((sets, rotations))
    }
}
