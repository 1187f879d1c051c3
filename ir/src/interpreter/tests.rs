use super::*;
use crate::{LinearRow, Node};

fn node(name: &str, op: Op, shape: Vec<usize>) -> Node {
    Node { name: name.into(), origin: "test".into(), op, shape, scale: 0 }
}

/// x (2) -> linear 2x2 with bias -> rescale 1 -> relu -> maxpool over both.
fn small_graph() -> Graph {
    let lin = Linear {
        input: 0,
        weights: vec![3, -2, 1, 4, 10, -10],
        rows: vec![
            LinearRow { terms: vec![(0, 0), (1, 1)], bias: Some(4) },
            LinearRow { terms: vec![(0, 2), (1, 3)], bias: Some(5) },
        ],
    };
    Graph {
        nodes: vec![
            node("x", Op::Input { index: 0 }, vec![2]),
            node("fc", Op::Linear(lin), vec![2]),
            node("rs", Op::Rescale { input: 1, shift: 1 }, vec![2]),
            node("relu", Op::Relu { input: 2 }, vec![2]),
            node("pool", Op::MaxPool { input: 3, windows: vec![vec![0, 1]] }, vec![1]),
        ],
        inputs: vec![0],
        outputs: vec![4],
        linked_inputs: false,
    }
}

#[test]
fn computes_each_op() {
    let t = run(&small_graph(), &[vec![5, 7]], 8).unwrap();
    // fc: [3*5 - 2*7 + 10, 5 + 28 - 10] = [11, 23]
    assert_eq!(t.values[1], vec![11, 23]);
    // rescale by 2, half up: [6, 12]
    assert_eq!(t.values[2], vec![6, 12]);
    assert_eq!(t.values[3], vec![6, 12]);
    assert_eq!(t.values[4], vec![12]);
    assert_eq!(t.outputs(&small_graph()), vec![vec![12]]);
}

#[test]
fn relu_zeroes_negatives_and_arith_combines() {
    let g = Graph {
        nodes: vec![
            node("a", Op::Input { index: 0 }, vec![3]),
            node("c", Op::Const { values: vec![1, 2, 3] }, vec![3]),
            node(
                "sub",
                Op::Arith(Arith {
                    a: 0,
                    b: 1,
                    pairs: vec![(0, 0), (1, 1), (2, 2)],
                    kind: ArithKind::Add { ca: 1, cb: -1 },
                }),
                vec![3],
            ),
            node(
                "mul",
                Op::Arith(Arith { a: 2, b: 2, pairs: vec![(0, 0), (1, 1), (2, 2)], kind: ArithKind::Mul }),
                vec![3],
            ),
            node("relu", Op::Relu { input: 2 }, vec![3]),
            node("t", Op::Gather { input: 4, indices: vec![2, 1, 0] }, vec![3]),
        ],
        inputs: vec![0],
        outputs: vec![3, 5],
        linked_inputs: false,
    };
    let t = run(&g, &[vec![0, 5, -1]], 8).unwrap();
    assert_eq!(t.values[2], vec![-1, 3, -4]);
    assert_eq!(t.values[3], vec![1, 9, 16]);
    assert_eq!(t.values[5], vec![0, 3, 0]);
}

#[test]
fn out_of_range_names_the_node() {
    // rescale output 23+... with 4 bits: range [-8, 7]
    let err = run(&small_graph(), &[vec![5, 7]], 4).unwrap_err();
    match err {
        IrError::OutOfRange { node, name, op, .. } => {
            assert_eq!((node, name.as_str(), op), (2, "rs", "Rescale"));
        }
        e => panic!("unexpected {e:?}"),
    }
    let err = run(&small_graph(), &[vec![500, 7]], 8).unwrap_err();
    assert!(matches!(err, IrError::OutOfRange { node: 0, op: "Input", .. }), "{err:?}");
}

#[test]
fn wrong_inputs_are_errors() {
    let g = small_graph();
    assert_eq!(run(&g, &[], 8).unwrap_err(), IrError::InputCount { expected: 1, got: 0 });
    assert!(matches!(run(&g, &[vec![1]], 8).unwrap_err(), IrError::InputLength { expected: 2, got: 1, .. }));
}

#[test]
fn validate_rejects_bad_indices() {
    let mut g = small_graph();
    if let Op::Gather { .. } | Op::MaxPool { .. } = g.nodes[4].op {
        g.nodes[4].op = Op::MaxPool { input: 3, windows: vec![vec![0, 9]] };
    }
    assert!(matches!(g.validate().unwrap_err(), IrError::IndexOutOfRange { node: 4, index: 9, .. }));
    let mut g = small_graph();
    g.nodes[1].op = Op::Relu { input: 3 };
    assert!(matches!(g.validate().unwrap_err(), IrError::BadInput { node: 1, input: 3, .. }));
}

#[test]
fn checked_magnitude_covers_every_checked_value() {
    let g = small_graph();
    let t = run(&g, &[vec![5, -7]], 8).unwrap();
    // inputs 5, -7; fc = [15+14+10, 5-28-10] = [39, -33]; rescale = [20, -16]; pool diff = 0-20
    assert_eq!(t.values[2], vec![20, -16]);
    assert_eq!(checked_magnitude(&g, &t), 20);
}

#[test]
fn select_picks_across_inputs_and_validates_them() {
    let mut g = small_graph();
    // concat(relu, pool) with the pool's value in front: [pool, relu0, relu1]
    g.nodes.push(node("cat", Op::Select { inputs: vec![3, 4], picks: vec![(1, 0), (0, 0), (0, 1)] }, vec![3]));
    g.outputs = vec![5];
    let t = run(&g, &[vec![2, 3]], 8).unwrap();
    let (relu, pool) = (&t.values[3], &t.values[4]);
    assert_eq!(t.values[5], vec![pool[0], relu[0], relu[1]]);
    // an input number or an element out of range
    for bad in [(2, 0), (0, 2), (1, 1)] {
        let picks = vec![(1, 0), (0, 0), bad];
        g.nodes[5].op = Op::Select { inputs: vec![3, 4], picks };
        assert!(matches!(g.validate().unwrap_err(), IrError::IndexOutOfRange { node: 5, .. }));
    }
}

/// x (3, scale 4) -> tanh lookup over [-8, 7] (out scale 6), plus an unused exp branch.
fn lookup_graph() -> Graph {
    let tanh = crate::Func::new(crate::FuncKind::Tanh, 4, 6, -8, 7);
    let exp = crate::Func::new(crate::FuncKind::Exp, 4, 4, -8, 7);
    let at = |mut n: Node, scale| {
        n.scale = scale;
        n
    };
    Graph {
        nodes: vec![
            at(node("x", Op::Input { index: 0 }, vec![3]), 4),
            at(node("dead", Op::Lookup { input: 0, func: exp }, vec![3]), 4),
            at(node("tanh", Op::Lookup { input: 0, func: tanh }, vec![3]), 6),
        ],
        inputs: vec![0],
        outputs: vec![2],
        linked_inputs: false,
    }
}

#[test]
fn lookups_use_the_table_and_name_the_node_outside_its_domain() {
    let g = lookup_graph();
    let t = run(&g, &[vec![-8, 0, 7]], 8).unwrap();
    let want = |x: f64| (libm::tanh(x / 16.0) * 64.0).round() as i64;
    assert_eq!(t.values[2], vec![want(-8.0), 0, want(7.0)]);
    let err = run(&g, &[vec![0, 8, 0]], 8).unwrap_err();
    match err {
        IrError::OutOfTable { node, name, value, lo, hi, .. } => {
            assert_eq!((node, name.as_str(), value, lo, hi), (1, "dead", 8, -8, 7));
        }
        e => panic!("unexpected {e:?}"),
    }
    let mut bad = g.clone();
    bad.nodes[2].scale = 5; // the table's out scale is 6
    assert!(matches!(bad.validate(), Err(IrError::BadLookup { node: 2, .. })));
}

#[test]
fn pruning_drops_unused_nodes_and_renumbers() {
    let mut g = lookup_graph();
    assert_eq!(g.funcs().len(), 2);
    assert_eq!(g.prune(), vec![Some(0), None, Some(1)]);
    assert_eq!(g.nodes.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(), ["x", "tanh"]);
    assert_eq!((g.inputs.clone(), g.outputs.clone()), (vec![0], vec![1]));
    assert_eq!(g.nodes[1].op, Op::Lookup { input: 0, func: crate::Func::new(crate::FuncKind::Tanh, 4, 6, -8, 7) });
    assert_eq!(g.funcs().len(), 1);
    g.validate().unwrap();
}
