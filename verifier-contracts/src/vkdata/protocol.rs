//! snark-verifier's `PlonkProtocol`, read back through its serde form.
//!
//! snark-verifier keeps its expression type private but serializes the whole protocol; these
//! mirror types read that form (scalars as little-endian hex, points compressed, enums
//! externally tagged) so the encoder can walk the quotient's formula.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::GroupEncoding;
use serde::Deserialize;

use crate::ContractError;

#[derive(Debug, Deserialize)]
pub(super) struct Protocol {
    pub domain: Domain,
    pub preprocessed: Vec<String>,
    pub num_instance: Vec<usize>,
    pub num_witness: Vec<usize>,
    pub num_challenge: Vec<usize>,
    pub evaluations: Vec<Query>,
    pub queries: Vec<Query>,
    pub quotient: Quotient,
    pub transcript_initial_state: Option<String>,
    pub instance_committing_key: Option<serde_json::Value>,
    pub linearization: Option<serde_json::Value>,
    pub accumulator_indices: Vec<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Domain {
    pub k: usize,
    pub n: usize,
    pub n_inv: String,
    pub gen: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Query {
    pub poly: usize,
    pub rotation: i32,
}

#[derive(Debug, Deserialize)]
pub(super) struct Quotient {
    pub chunk_degree: usize,
    pub numerator: Expr,
}

#[derive(Debug, Deserialize)]
pub(super) enum Common {
    Identity,
    Lagrange(i32),
}

#[derive(Debug, Deserialize)]
pub(super) enum Expr {
    Constant(String),
    CommonPolynomial(Common),
    Polynomial(Query),
    Challenge(usize),
    Negated(Box<Expr>),
    Sum(Box<Expr>, Box<Expr>),
    Product(Box<Expr>, Box<Expr>),
    Scaled(Box<Expr>, String),
    DistributePowers(Vec<Expr>, Box<Expr>),
}

impl Expr {
    /// Degree in the polynomials, as snark-verifier counts it (sets the quotient's chunks).
    pub(super) fn degree(&self) -> usize {
        match self {
            Expr::Constant(_) | Expr::Challenge(_) => 0,
            Expr::CommonPolynomial(_) | Expr::Polynomial(_) => 1,
            Expr::Negated(a) | Expr::Scaled(a, _) => a.degree(),
            Expr::Sum(a, b) => a.degree().max(b.degree()),
            Expr::Product(a, b) => a.degree() + b.degree(),
            Expr::DistributePowers(v, s) => v.iter().chain([s.as_ref()]).map(Expr::degree).max().unwrap_or(0),
        }
    }

    /// Visits every node, children before parents.
    pub(super) fn walk(&self, f: &mut impl FnMut(&Expr)) {
        match self {
            Expr::Negated(a) | Expr::Scaled(a, _) => a.walk(f),
            Expr::Sum(a, b) | Expr::Product(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::DistributePowers(v, s) => {
                v.iter().for_each(|e| e.walk(f));
                s.walk(f);
            }
            _ => {}
        }
        f(self);
    }
}

fn bad(reason: String) -> ContractError {
    ContractError::VkData { reason }
}

fn hex32(s: &str) -> Result<[u8; 32], ContractError> {
    let v = hex::decode(s).map_err(|e| bad(format!("protocol hex {s:?}: {e}")))?;
    v.try_into().map_err(|_| bad(format!("protocol value {s:?} is not 32 bytes")))
}

/// A scalar from snark-verifier's serde form (little-endian hex).
pub(super) fn scalar(s: &str) -> Result<Fr, ContractError> {
    Option::from(Fr::from_repr(hex32(s)?)).ok_or_else(|| bad(format!("protocol scalar {s:?} is not below r")))
}

/// A point from snark-verifier's serde form (compressed hex).
pub(super) fn point(s: &str) -> Result<G1Affine, ContractError> {
    let mut repr = <G1Affine as GroupEncoding>::Repr::default();
    repr.as_mut().copy_from_slice(&hex32(s)?);
    Option::from(G1Affine::from_bytes(&repr)).ok_or_else(|| bad(format!("protocol point {s:?} is not on G1")))
}
