use super::*;
use crate::{run, Arith, ArithKind, Func, FuncKind, Linear, LinearRow};

fn node(name: &str, op: Op, len: usize) -> Node {
    Node { name: name.into(), origin: "test".into(), op, shape: vec![len], scale: 0 }
}

fn add(a: TensorId, b: TensorId, n: u32) -> Op {
    Op::Arith(Arith { a, b, pairs: (0..n).map(|i| (i, i)).collect(), kind: ArithKind::Add { ca: 1, cb: 1 } })
}

/// Two inputs; a constant read by two distant nodes; a residual sum reaching back over three
/// nodes; an early model output; a function lookup; the second input read only at the end.
///
/// ```text
/// 0 x(2)  1 y(2)  2 c=[1,-1]
/// 3 fc = W x + b      4 rs = rescale(fc, 1)   5 r = relu(rs)   6 s = r + c
/// 7 t = tanh(s)       8 u = t + rs (residual) 9 v = u + c      10 w = v + y
/// outputs: w, r
/// ```
fn graph() -> Graph {
    let lin = Linear {
        input: 0,
        weights: vec![3, -2, 1, 4, 10, -10],
        rows: vec![
            LinearRow { terms: vec![(0, 0), (1, 1)], bias: Some(4) },
            LinearRow { terms: vec![(0, 2), (1, 3)], bias: Some(5) },
        ],
    };
    let tanh = Func::new(FuncKind::Tanh, 0, 0, -64, 63);
    Graph::new(
        vec![
            node("x", Op::Input { index: 0 }, 2),
            node("y", Op::Input { index: 1 }, 2),
            node("c", Op::Const { values: vec![1, -1] }, 2),
            node("fc", Op::Linear(lin), 2),
            node("fc", Op::Rescale { input: 3, shift: 1 }, 2),
            node("relu", Op::Relu { input: 4 }, 2),
            node("s", add(5, 2, 2), 2),
            node("tanh", Op::Lookup { input: 6, func: tanh }, 2),
            node("u", add(7, 4, 2), 2),
            node("v", add(8, 2, 2), 2),
            node("w", add(9, 1, 2), 2),
        ],
        vec![0, 1],
        vec![10, 5],
    )
}

/// Runs the segments in order, each on the previous one's outputs.
fn run_segments(segments: &[Segment], inputs: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let mut values = inputs.to_vec();
    for s in segments {
        values = run(&s.graph, &values, 8).unwrap().outputs(&s.graph);
    }
    values
}

#[test]
fn every_split_computes_what_the_whole_graph_computes() {
    let g = graph();
    let inputs = vec![vec![5, 7], vec![-3, 2]];
    let whole = run(&g, &inputs, 8).unwrap().outputs(&g);
    let points: Vec<usize> = (3..g.nodes.len()).collect();
    // every subset of the positions after the first computing node
    for mask in 0u32..(1 << (points.len() - 1)) {
        let cuts: Vec<usize> =
            points[1..].iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1).map(|(_, &p)| p).collect();
        let segments = split(&g, &cuts).unwrap();
        assert_eq!(segments.len(), cuts.len() + 1);
        assert_eq!(run_segments(&segments, &inputs), whole, "cuts {cuts:?}");
        for (j, s) in segments.iter().enumerate() {
            s.graph.validate().unwrap();
            assert_eq!(s.graph.linked_inputs, j > 0, "only later segments are linked");
            assert_eq!(s.graph.inputs.len(), s.carries_in.len());
            assert_eq!(s.graph.outputs.len(), s.carries_out.len());
            if let Some(next) = segments.get(j + 1) {
                assert_eq!(s.carries_out, next.carries_in, "segment {j} hands on what {} reads", j + 1);
            }
        }
        assert_eq!(segments[0].carries_in, g.inputs);
        assert_eq!(segments.last().unwrap().carries_out, g.outputs);
    }
}

#[test]
fn boundaries_carry_what_later_segments_read_and_constants_are_copied() {
    let g = graph();
    let segments = split(&g, &[6, 9]).unwrap();
    // after relu: the second input (read by w), rs (residual) and r (an output); the constant is not carried
    assert_eq!(segments[0].carries_out, vec![1, 4, 5]);
    // after u: y still, u for v, r still; rs is no longer needed
    assert_eq!(segments[1].carries_out, vec![1, 5, 8]);
    assert_eq!(segments[2].carries_out, vec![10, 5]);
    // the constant is in both segments that read it
    for s in &segments[1..] {
        assert!(s.graph.nodes.iter().any(|n| n.op == Op::Const { values: vec![1, -1] }), "{:?}", s.graph);
    }
    // r passes through the middle segment: an input that is also an output
    let mid = &segments[1].graph;
    assert_eq!(mid.nodes[mid.outputs[1]].op, Op::Input { index: 2 });
    assert_eq!(boundary_sizes(&g, &[6, 9]), vec![6, 6]);
}

#[test]
fn linked_inputs_are_not_range_checked() {
    let g = graph();
    let segments = split(&g, &[6]).unwrap();
    // fc's rescaled value 300 is beyond an 8-bit range, but a linked input takes it
    let seg = &segments[1].graph;
    assert!(run(seg, &[vec![1, 1], vec![300, 2], vec![3, 4]], 8).is_ok());
    let mut unlinked = seg.clone();
    unlinked.linked_inputs = false;
    assert!(matches!(run(&unlinked, &[vec![1, 1], vec![300, 2], vec![3, 4]], 8), Err(IrError::OutOfRange { .. })));
}

#[test]
fn cut_points_keep_onnx_nodes_whole() {
    let g = graph();
    // never between fc's Linear and its Rescale (both lowered from `fc`), nor before the first computing node
    assert_eq!(cut_points(&g), vec![5, 6, 7, 8, 9, 10]);
}

#[test]
fn bad_cuts_are_refused_by_name() {
    let g = graph();
    for cuts in [vec![0], vec![11], vec![6, 6], vec![8, 6]] {
        let err = split(&g, &cuts).unwrap_err();
        assert!(matches!(err, IrError::BadSplit { .. }), "{cuts:?}: {err}");
    }
    // nodes 1..3 are an input and a constant: a segment computing nothing
    let err = split(&g, &[1]).unwrap_err().to_string();
    assert!(err.contains("segment 0") && err.contains("computes nothing"), "{err}");
}
