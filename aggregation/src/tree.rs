//! The aggregation tree: which proofs each aggregation node verifies.
//!
//! One node verifying every segment would need memory and time in proportion to the number of
//! segments (each in-circuit verification costs millions of cells), so nodes verify at most
//! `fan_in` proofs each: segments at the bottom, nodes above them, one root at the top. Groups
//! are consecutive, so a node covers a contiguous run of segments and its interface is that
//! run's first inputs and last outputs. A group of one is passed up unchanged, except a lone
//! segment at the top, which the root wraps (the root is always an aggregation proof).

use serde::{Deserialize, Serialize};

/// What a node aggregates: a segment's proof or an earlier node's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Item {
    Segment(usize),
    Node(usize),
}

/// The nodes in proving order (each after the nodes it aggregates); the last is the root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub nodes: Vec<Vec<Item>>,
}

impl Plan {
    /// The plan for `segments` segments with at most `fan_in` (at least 2) children per node.
    pub fn new(segments: usize, fan_in: usize) -> Self {
        let fan_in = fan_in.max(2);
        let mut nodes: Vec<Vec<Item>> = Vec::new();
        let mut items: Vec<Item> = (0..segments.max(1)).map(Item::Segment).collect();
        loop {
            if let [Item::Node(_)] = items[..] {
                return Self { nodes };
            }
            let groups: Vec<Vec<Item>> = items.chunks(fan_in).map(<[Item]>::to_vec).collect();
            let single = groups.len() == 1;
            items = groups
                .into_iter()
                .map(|g| {
                    if g.len() == 1 && !single {
                        g[0]
                    } else {
                        nodes.push(g);
                        Item::Node(nodes.len() - 1)
                    }
                })
                .collect();
        }
    }

    /// The root's index.
    pub fn root(&self) -> usize {
        self.nodes.len().saturating_sub(1)
    }

    /// Depth of the tree (levels of aggregation).
    pub fn depth(&self) -> usize {
        fn depth(plan: &Plan, node: usize) -> usize {
            1 + plan.nodes[node]
                .iter()
                .map(|i| match i {
                    Item::Segment(_) => 0,
                    Item::Node(n) => depth(plan, *n),
                })
                .max()
                .unwrap_or(0)
        }
        if self.nodes.is_empty() {
            0
        } else {
            depth(self, self.root())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Item::{Node as N, Segment as S};

    #[test]
    fn plans_group_consecutive_proofs_and_end_in_one_root() {
        assert_eq!(Plan::new(1, 2).nodes, vec![vec![S(0)]]);
        assert_eq!(Plan::new(2, 2).nodes, vec![vec![S(0), S(1)]]);
        assert_eq!(Plan::new(3, 2).nodes, vec![vec![S(0), S(1)], vec![N(0), S(2)]]);
        assert_eq!(Plan::new(4, 2).nodes, vec![vec![S(0), S(1)], vec![S(2), S(3)], vec![N(0), N(1)]]);
        assert_eq!(Plan::new(4, 4).nodes, vec![vec![S(0), S(1), S(2), S(3)]]);
        let eight = Plan::new(8, 2);
        assert_eq!((eight.nodes.len(), eight.depth()), (7, 3));
        for n in 1..20 {
            for fan_in in 2..5 {
                let plan = Plan::new(n, fan_in);
                // every segment is aggregated exactly once, every node but the root too
                let mut segs: Vec<usize> = plan
                    .nodes
                    .iter()
                    .flatten()
                    .filter_map(|i| match i {
                        S(s) => Some(*s),
                        N(_) => None,
                    })
                    .collect();
                segs.sort_unstable();
                assert_eq!(segs, (0..n).collect::<Vec<_>>());
                let mut kids: Vec<usize> = plan
                    .nodes
                    .iter()
                    .flatten()
                    .filter_map(|i| match i {
                        N(m) => Some(*m),
                        S(_) => None,
                    })
                    .collect();
                kids.sort_unstable();
                assert_eq!(kids, (0..plan.root()).collect::<Vec<_>>(), "{n} / {fan_in}");
                assert!(plan.nodes.iter().all(|g| !g.is_empty() && g.len() <= fan_in));
            }
        }
    }
}
