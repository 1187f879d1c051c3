use super::*;
use crate::{run, Node};

fn node(name: &str, op: Op, scale: u32) -> Node {
    Node { name: name.into(), origin: "test".into(), op, shape: vec![4], scale }
}

/// x (4 elements, scale 2) -> tanh, tanh again (the same function), exp, and the tanh of the
/// first tanh: four lookups over [-64, 63].
fn graph() -> Graph {
    let tanh = Func::new(FuncKind::Tanh, 2, 2, -64, 63);
    let exp = Func::new(FuncKind::Exp, 2, 2, -64, 63);
    Graph {
        nodes: vec![
            node("x", Op::Input { index: 0 }, 2),
            node("t1", Op::Lookup { input: 0, func: tanh }, 2),
            node("t2", Op::Lookup { input: 0, func: tanh }, 2),
            node("e", Op::Lookup { input: 0, func: exp }, 2),
            node("tt", Op::Lookup { input: 1, func: tanh }, 2),
        ],
        inputs: vec![0],
        outputs: vec![2, 3, 4],
        linked_inputs: false,
    }
}

#[test]
fn sampled_domains_widen_by_the_margin_and_clip_to_the_compilers() {
    let g = graph();
    let t = run(&g, &[vec![-8, 0, 4, 8]], 8).unwrap();
    // x in [-8, 8]: width 16, margin 1 -> [-24, 24]; tanh(x) at scale 2 in [-4, 4]: width 8 -> [-12, 12],
    // which overlaps the first tanh's: one table [-24, 24] for the three tanh lookups
    let d = sampled_domains(&g, std::slice::from_ref(&t), 1.0).unwrap();
    let want = |kind, lo, hi| TableDomain { kind, lo, hi };
    assert_eq!(
        d,
        vec![
            want(FuncKind::Tanh, -24, 24),
            want(FuncKind::Tanh, -24, 24),
            want(FuncKind::Exp, -24, 24),
            want(FuncKind::Tanh, -24, 24)
        ]
    );
    // a wide margin is clipped to the compiler's [-64, 63]; an infinite one keeps it
    let wide = sampled_domains(&g, std::slice::from_ref(&t), 5.0).unwrap();
    assert_eq!((wide[0].lo, wide[0].hi), (-64, 63));
    let full = sampled_domains(&g, std::slice::from_ref(&t), f64::INFINITY).unwrap();
    assert!(full.iter().all(|d| (d.lo, d.hi) == (-64, 63)));
    // a constant input gets one unit (2^in_scale = 4) of headroom times the margin either side
    let c = run(&g, &[vec![5, 5, 5, 5]], 8).unwrap();
    let d = sampled_domains(&g, &[c], 0.5).unwrap();
    assert_eq!((d[2].lo, d[2].hi), (3, 7));
    let no_lookups = Graph { nodes: vec![node("x", Op::Input { index: 0 }, 2)], outputs: vec![0], ..graph() };
    assert!(sampled_domains(&no_lookups, &[], 1.0).is_none());
}

#[test]
fn disjoint_domains_of_one_function_stay_two_tables() {
    let mut g = graph();
    let t = run(&g, &[vec![40, 44, 48, 50]], 8).unwrap();
    let d = sampled_domains(&g, std::slice::from_ref(&t), 0.0).unwrap();
    // x in [40, 50] and tanh(x) = 4 (1.0 at scale 2) apart: two tanh tables, the first shared by t1 and t2
    assert_eq!(d[0], d[1]);
    assert_eq!((d[0].lo, d[0].hi), (40, 50));
    assert_eq!((d[3].lo, d[3].hi), (4, 4));
    g.apply_table_domains(&d).unwrap();
    assert_eq!(g.funcs().len(), 3);
    let rows: u64 = g.funcs().iter().filter_map(Func::table_rows).sum();
    assert_eq!(rows, 11 + 11 + 1);
    // the narrowed graph computes the same values on the sampled input
    assert_eq!(run(&g, &[vec![40, 44, 48, 50]], 8).unwrap().values, t.values);
}

#[test]
fn an_input_outside_the_sampled_domain_names_the_node_and_the_domain() {
    let mut g = graph();
    let t = run(&g, &[vec![-8, 0, 4, 8]], 8).unwrap();
    g.apply_table_domains(&sampled_domains(&g, &[t], 0.0).unwrap()).unwrap();
    match run(&g, &[vec![0, 0, 0, 9]], 8).unwrap_err() {
        IrError::OutOfTable { node, name, value, lo, hi, .. } => {
            assert_eq!((node, name.as_str(), value, lo, hi), (1, "t1", 9, -8, 8));
        }
        e => panic!("unexpected {e:?}"),
    }
}

#[test]
fn settings_cannot_widen_a_table_or_fit_another_graph() {
    let g = graph();
    let ok = TableDomain { kind: FuncKind::Tanh, lo: -1, hi: 1 };
    let exp = TableDomain { kind: FuncKind::Exp, ..ok };
    let msg = |d: &[TableDomain]| g.clone().apply_table_domains(d).unwrap_err().to_string();
    assert!(msg(&[ok, ok, exp]).contains("3 table domains, the model has 4 lookups"), "{}", msg(&[ok, ok, exp]));
    let wider = TableDomain { lo: -65, ..ok };
    assert!(msg(&[wider, ok, exp, ok]).contains("node 1 (`t1`)"), "{}", msg(&[wider, ok, exp, ok]));
    assert!(msg(&[ok, ok, ok, ok]).contains("node 3 (`e`)"));
    let empty = TableDomain { lo: 2, hi: 1, ..ok };
    assert!(msg(&[ok, empty, exp, ok]).contains("node 2 (`t2`)"));
    let mut fine = g.clone();
    fine.apply_table_domains(&[ok, ok, exp, ok]).unwrap();
    fine.validate().unwrap();
}

#[test]
fn the_margin_stops_at_zero_where_the_function_is_undefined_below_it() {
    let at = |kind| Graph {
        nodes: vec![
            node("x", Op::Input { index: 0 }, 2),
            node("f", Op::Lookup { input: 0, func: Func::new(kind, 2, 2, -64, 63) }, 2),
        ],
        inputs: vec![0],
        outputs: vec![1],
        linked_inputs: false,
    };
    let domain = |kind, xs: Vec<i64>| {
        let g = at(kind);
        let t = run(&g, &[xs], 8).unwrap();
        let d = sampled_domains(&g, &[t], 1.0).unwrap()[0];
        (d.lo, d.hi)
    };
    // samples in [2, 10]: width 8, margin 1 -> [-6, 18], but log, sqrt and 1/sqrt stop at 0
    for kind in [FuncKind::Log, FuncKind::Sqrt, FuncKind::Rsqrt] {
        assert_eq!(domain(kind, vec![2, 4, 8, 10]), (0, 18), "{kind:?}");
        // a negative sample keeps the margin below it: [-2, 8], width 10
        assert_eq!(domain(kind, vec![-2, 4, 8, 6]), (-12, 18), "{kind:?}");
    }
    assert_eq!(domain(FuncKind::Exp, vec![2, 4, 8, 10]), (-6, 18));
}

/// Pieces of `1/x` around a region tabulated point by point ([`Func::clamped_from`]): the
/// region `[0, 16]` reads `min(x, 16)`, the side above it `max(x, 16)` at knots 4 apart. Their
/// domains come from x's widened range clamped to each piece, not from the clamped values (a
/// parked piece would otherwise get a margin of a whole input unit); after a prune renumbers
/// the nodes, each piece still names x.
#[test]
fn pieces_take_their_domains_from_the_tensor_they_clamp() {
    let recip = Func::new(FuncKind::Reciprocal, 2, 2, 0, 16);
    let side = Func { in_scale: 0, lo: 4, hi: 15, clamped_from: Some(1), ..recip };
    let region = Func { clamped_from: Some(1), ..recip };
    let add = |a, b, cb| {
        Op::Arith(crate::Arith {
            a,
            b,
            pairs: (0..4).map(|i| (i, 0)).collect(),
            kind: crate::ArithKind::Add { ca: 1, cb },
        })
    };
    let mut g = Graph {
        nodes: vec![
            node("dead", Op::Const { values: vec![7] }, 2),
            node("x", Op::Input { index: 0 }, 2),
            Node { shape: vec![1], ..node("sixteen", Op::Const { values: vec![16] }, 2) },
            node("over", add(1, 2, -1), 2),
            node("relu", Op::Relu { input: 3 }, 2),
            node(
                "region in",
                Op::Arith(crate::Arith {
                    a: 1,
                    b: 4,
                    pairs: (0..4).map(|i| (i, i)).collect(),
                    kind: crate::ArithKind::Add { ca: 1, cb: -1 },
                }),
                2,
            ),
            node("region", Op::Lookup { input: 5, func: region }, 2),
            node("side x", add(4, 2, 1), 2),
            node("side in", Op::Rescale { input: 7, shift: 2 }, 0),
            node("side", Op::Lookup { input: 8, func: side }, 2),
        ],
        inputs: vec![1],
        outputs: vec![6, 9],
        linked_inputs: false,
    };
    let new_id = g.prune();
    assert_eq!(new_id[1], Some(0));
    let pieces: Vec<Func> = lookup_nodes(&g).into_iter().map(|(_, f)| f).collect();
    assert!(pieces.iter().all(|f| f.clamped_from == Some(0)), "{pieces:?}");
    // x in [20, 28] (5 to 7): widened by its width to [12, 36], which reaches the region's
    // [12, 16] and, at knots 4 apart, the side's [4, 9] (clamped to its 15)
    let t = run(&g, &[vec![20, 24, 26, 28]], 8).unwrap();
    let d = sampled_domains(&g, std::slice::from_ref(&t), 1.0).unwrap();
    let want = |lo, hi| TableDomain { kind: FuncKind::Reciprocal, lo, hi };
    assert_eq!(d, vec![want(12, 16), want(4, 9)]);
    // x in [40, 44]: widened by one input unit (4) to [36, 48]: the region only parks at 16
    let t = run(&g, &[vec![40, 41, 43, 44]], 8).unwrap();
    let d = sampled_domains(&g, std::slice::from_ref(&t), 1.0).unwrap();
    assert_eq!(d, vec![want(16, 16), want(9, 12)]);
}
