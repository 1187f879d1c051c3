//! A function tabulated point by point where interpolation would miss it, interpolated elsewhere
//! (see the compiler's `ops::nonlinear::fine_region`): `1/x` over `[0, 447]` at scale 6, the
//! region `[0, 64]` from a table of every input, `[64, 447]` interpolated between knots `2^3`
//! apart, joined by `x`'s clamps. The circuit proves it from existing gates; a forged clamp (the
//! region's input moved outside it, or the side's input moved into the region) is refused. A
//! wrong table entry: the mutation harness (`every_mutation_of_a_fine_region_lookup_is_caught`)
//! changes each pinned cell, the lookups' outputs included.

use halo2_proofs::dev::VerifyFailure;
use zkonnx_ir::{Arith, ArithKind, Func, FuncKind, Graph, IrError, Node, Op};

use super::exp_split_tests::{failed_lookups, mock};
use super::tests::node;

/// The knots: `1/x` at input scale 3 over `[8, 55]` (inputs `[64, 447]` of scale 6), output scale 6.
fn knots() -> Func {
    Func::new(FuncKind::Reciprocal, 3, 6, 8, 55)
}

/// Every input of the region `[0, 64]`.
fn region() -> Func {
    Func::new(FuncKind::Reciprocal, 6, 6, 0, 64)
}

/// `1/x` of 4 inputs at scale 6 as the compiler lowers it under two-limb range checks
/// (`lookup_bits = 5`, region `[0, 64]`): `over = relu(x - 64)`; the side interpolates at `64 +
/// over` (`q` node 8, `r` node 9, its result node 14); the region's table reads `x - over`
/// (node 15); the output (node 19) is the sum less `1/x` at 64.
pub(crate) fn fine_region_graph() -> Graph {
    let at = |op, len, scale| Node { scale, ..node(op, len) };
    let add = |a, b, ca, cb, pairs: Vec<(u32, u32)>| Op::Arith(Arith { a, b, pairs, kind: ArithKind::Add { ca, cb } });
    let same: Vec<(u32, u32)> = (0..4).map(|i| (i, i)).collect();
    let to_const: Vec<(u32, u32)> = (0..4).map(|i| (i, 0)).collect();
    let nodes = vec![
        at(Op::Input { index: 0 }, 4, 6),
        at(Op::Const { values: vec![-64] }, 1, 6),
        at(add(0, 1, 1, 1, to_const.clone()), 4, 6),
        at(Op::Relu { input: 2 }, 4, 6),
        at(Op::Const { values: vec![64] }, 1, 6),
        at(add(3, 4, 1, 1, to_const.clone()), 4, 6),
        // the side: floor((x - 4) / 8 + 1/2) = floor(x / 8), r = x - 8q at scale 3
        at(Op::Const { values: vec![-4] }, 1, 6),
        at(add(5, 6, 1, 1, to_const.clone()), 4, 6),
        at(Op::Rescale { input: 7, shift: 3 }, 4, 3),
        at(add(5, 8, 1, -8, same.clone()), 4, 3),
        at(Op::Lookup { input: 8, func: knots() }, 4, 6),
        at(Op::Lookup { input: 8, func: knots().difference() }, 4, 6),
        at(Op::Arith(Arith { a: 11, b: 9, pairs: same.clone(), kind: ArithKind::Mul }), 4, 9),
        at(add(10, 12, 8, 1, same.clone()), 4, 9),
        at(Op::Rescale { input: 13, shift: 3 }, 4, 6),
        // the region: min(x, 64)
        at(add(0, 3, 1, -1, same.clone()), 4, 6),
        at(Op::Lookup { input: 15, func: region() }, 4, 6),
        at(add(16, 14, 1, 1, same), 4, 6),
        at(Op::Const { values: vec![-region().eval(64)] }, 1, 6),
        at(add(17, 18, 1, 1, to_const), 4, 6),
    ];
    Graph { nodes, inputs: vec![0], outputs: vec![19], linked_inputs: false }
}

/// Two inputs in the region (one on a knot of it), one on its end, one interpolated.
pub(crate) fn fine_region_inputs() -> Vec<Vec<i64>> {
    vec![vec![3, 40, 64, 301]]
}

#[test]
fn a_fine_region_verifies_and_is_the_table_there_and_the_interpolation_elsewhere() {
    let g = fine_region_graph();
    let inputs = fine_region_inputs();
    g.validate().expect("valid graph");
    let trace = zkonnx_ir::run(&g, &inputs, 10).expect("interpreter");
    for (&x, &y) in inputs[0].iter().zip(&trace.values[19]) {
        if x <= 64 {
            assert_eq!(y, region().eval(x), "x = {x}: the region's own table value");
        } else {
            let (q, r) = (x.div_euclid(8), x.rem_euclid(8));
            let f = |q| knots().eval(q);
            assert_eq!(y, (8 * f(q) + (f(q + 1) - f(q)) * r + 4).div_euclid(8), "x = {x}");
        }
        assert!((y as f64 / 64.0 - 64.0 / x as f64).abs() <= 1.0 / 64.0, "x = {x}: {y}");
    }
    assert_eq!(mock(&g, trace), Ok(()));
}

/// Beyond the domain (`x = 480 > 447`, still within the two limbs' range): the interpreter names
/// the side's table, and a witness that carries on past it is refused by that table.
#[test]
fn an_input_beyond_the_domain_is_refused() {
    let g = fine_region_graph();
    let beyond = vec![vec![3, 40, 64, 480]];
    let err = zkonnx_ir::run(&g, &beyond, 10).expect_err("480 is outside the table");
    assert!(matches!(err, IrError::OutOfTable { node: 10, .. }), "{err}");
    // the honest trace of an in-domain input, then the last input moved to 480 with every value
    // recomputed as the interpreter would without the table's check
    let mut trace = zkonnx_ir::run(&g, &fine_region_inputs(), 10).expect("interpreter");
    let x = 480;
    let (over, q) = (x - 64, x / 8);
    let (f, d) = (knots().eval(q), knots().difference().eval(q));
    let values =
        [x, x - 64, over, over + 64, over + 60, q, 0, f, d, 0, 8 * f, f, 64, region().eval(64), region().eval(64) + f];
    for (node, v) in [0, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17].into_iter().zip(values) {
        trace.values[node][3] = v;
    }
    trace.values[19][3] = f;
    let failures = mock(&g, trace).expect_err("an input beyond the table must not verify");
    assert_eq!(failed_lookups(&failures), vec!["func", "func"], "{failures:#?}");
}

/// The prover leaves `over` at 0 for `x = 301`, so the region's table reads 301 and the side sits
/// at its end knot; and it moves `over` for `x = 40` to `-24`, so the side reads 40 (knot 5) and
/// the region sits at its end. Every later value is consistent. The ReLU row holds its own
/// output, so the forged copies of it disagree (permutation failures), and the tables refuse the
/// moved inputs: the region's one row for 301, the side's two (value and difference) for knot 5.
#[test]
fn a_forged_clamp_is_refused() {
    let g = fine_region_graph();
    let inputs = fine_region_inputs();
    let honest = zkonnx_ir::run(&g, &inputs, 10).expect("interpreter");
    for (k, over, refused) in [(3, 0i64, vec!["func"]), (1, -24, vec!["func", "func"])] {
        let x = inputs[0][k];
        let mut trace = honest.clone();
        let above = over + 64;
        let q = above.div_euclid(8);
        let r = above - 8 * q;
        let (f, d) = (knots().eval(q), knots().difference().eval(q));
        let side = (8 * f + d * r + 4).div_euclid(8);
        let clamped = x - over;
        let fine = region().eval(clamped);
        let forged = [
            (3, over),
            (5, above),
            (7, above - 4),
            (8, q),
            (9, r),
            (10, f),
            (11, d),
            (12, d * r),
            (13, 8 * f + d * r),
            (14, side),
            (15, clamped),
            (16, fine),
            (17, fine + side),
            (19, fine + side - region().eval(64)),
        ];
        for (node, v) in forged {
            trace.values[node][k] = v;
        }
        let failures = mock(&g, trace).expect_err("a forged clamp must not verify");
        assert_eq!(failed_lookups(&failures), refused, "x = {x}, over = {over}: {failures:#?}");
        let others = failures.iter().filter(|f| !matches!(f, VerifyFailure::Lookup { .. }));
        assert!(others.clone().count() > 0, "x = {x}: the ReLU's copies must disagree: {failures:#?}");
        assert!(others.clone().all(|f| matches!(f, VerifyFailure::Permutation { .. })), "{failures:#?}");
    }
}
