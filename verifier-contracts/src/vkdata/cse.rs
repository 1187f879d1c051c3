//! Common subexpressions of the numerator.
//!
//! snark-verifier's formula is a tree in which the same subtrees recur: every lookup argument
//! repeats `1 − (l_last + l_blind)`, every permutation chunk the same `β`/`γ` sums. The encoder
//! computes each recurring inner subtree once, keeps it in a temporary (`op::STORE`) and reads
//! it like a leaf afterwards; on the fixtures that removes about a third of the program.

use std::collections::HashMap;

use super::protocol::{Common, Expr};

/// A subtree's identity: its node kind, payload and children's identities.
#[derive(Hash, PartialEq, Eq)]
struct Key(u8, String, Vec<usize>);

/// Which subtrees of one formula are structurally equal, and how often each occurs.
pub(super) struct Shared {
    ids: HashMap<*const Expr, usize>,
    counts: Vec<usize>,
}

impl Shared {
    pub(super) fn new(root: &Expr) -> Self {
        let mut s = Shared { ids: HashMap::new(), counts: vec![] };
        let mut table = HashMap::new();
        s.intern(root, &mut table);
        s
    }

    fn intern(&mut self, e: &Expr, table: &mut HashMap<Key, usize>) -> usize {
        let mut kids = |xs: &[&Expr], table: &mut HashMap<Key, usize>| -> Vec<usize> {
            xs.iter().map(|x| self.intern(x, table)).collect()
        };
        let key = match e {
            Expr::Constant(s) => Key(0, s.clone(), vec![]),
            Expr::CommonPolynomial(Common::Identity) => Key(1, String::new(), vec![]),
            Expr::CommonPolynomial(Common::Lagrange(i)) => Key(2, i.to_string(), vec![]),
            Expr::Polynomial(q) => Key(3, format!("{},{}", q.poly, q.rotation), vec![]),
            Expr::Challenge(i) => Key(4, i.to_string(), vec![]),
            Expr::Negated(a) => Key(5, String::new(), kids(&[a], table)),
            Expr::Sum(a, b) => Key(6, String::new(), kids(&[a, b], table)),
            Expr::Product(a, b) => Key(7, String::new(), kids(&[a, b], table)),
            Expr::Scaled(a, s) => Key(8, s.clone(), kids(&[a], table)),
            Expr::DistributePowers(v, s) => {
                let all: Vec<&Expr> = v.iter().chain([s.as_ref()]).collect();
                Key(9, v.len().to_string(), kids(&all, table))
            }
        };
        let next = table.len();
        let id = *table.entry(key).or_insert(next);
        if id == self.counts.len() {
            self.counts.push(0);
        }
        self.counts[id] += 1;
        self.ids.insert(e as *const Expr, id);
        id
    }

    /// The identity of `e` when it is an inner node that occurs more than once.
    pub(super) fn recurring(&self, e: &Expr) -> Option<usize> {
        let inner =
            !matches!(e, Expr::Constant(_) | Expr::CommonPolynomial(_) | Expr::Polynomial(_) | Expr::Challenge(_));
        let id = *self.ids.get(&(e as *const Expr))?;
        (inner && self.counts[id] > 1).then_some(id)
    }
}
