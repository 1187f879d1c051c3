//! Element-wise binary ops: `Add`, `Sub`, `Mul`, `Div` (by a constant) and `Max(x, 0)`
//! (tract's form of Relu), with numpy broadcasting resolved into explicit index pairs.
//!
//! Scale rules: `Add`/`Sub` align the operands with factors `2^diff` and produce the larger
//! scale; `Mul` of two tensors produces `sa + sb` and is rescaled back to the activation
//! scale; a constant operand of `Add`/`Sub` becomes an `Op::Const` at the other operand's
//! scale; `Mul`/`Div` by a constant folds into a preceding linear op, or becomes a diagonal
//! linear op.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use zkonnx_ir::{Arith, ArithKind, Op};

use crate::lower::{ConstVal, Hidden, Lowerer, NodeCx, Value};
use crate::ops::linear::diagonal;
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Add",
        family: "elementwise",
        forms: "numpy broadcasting; two tensors at aligned scales, or a constant (folds into a preceding linear op)",
        limits: "",
    },
    OpSupport {
        op: "Sub",
        family: "elementwise",
        forms: "numpy broadcasting; two tensors at aligned scales, or a constant (folds into a preceding linear op)",
        limits: "",
    },
    OpSupport {
        op: "Mul",
        family: "elementwise",
        forms: "broadcasting; exact product of two tensors, or by a constant (folds into a linear op, else diagonal)",
        limits: "",
    },
    OpSupport {
        op: "Div",
        family: "elementwise",
        forms: "by a constant (folded into a linear op, else diagonal); by a computed tensor: reciprocal lookup; \
                integers by a constant: a quotient table (toward zero); integers by a computed divisor: an exact \
                division (a reciprocal candidate, two corrections, the remainder asserted in [0, |b|))",
        limits: "a divisor of zero (UnsupportedAttribute at compile time, a failed witness at run time)",
    },
    OpSupport { op: "Sum", family: "elementwise", forms: "n-ary, a chain of Adds with broadcasting", limits: "" },
    OpSupport {
        op: "Relu",
        family: "elementwise",
        forms: "tract's Max(x, 0): one ReLU per element, exact",
        limits: "",
    },
    OpSupport {
        op: "BatchNormalization",
        family: "elementwise",
        forms: "constant parameters: per-channel Mul and Add, folded into a preceding Conv/Gemm, else diagonal",
        limits: "",
    },
];

/// The binary ops this family lowers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bin {
    Add,
    Sub,
    Mul,
    Div,
    Max,
}

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let Some(op) = node.op_as::<TypedBinOp>() else { return Ok(None) };
    let bin = match op.0.name() {
        "Add" => Bin::Add,
        "Sub" => Bin::Sub,
        "Mul" => Bin::Mul,
        "Div" => Bin::Div,
        "Max" => Bin::Max,
        _ => return Ok(None),
    };
    if cx.inputs.len() != 2 {
        return Err(cx.shape_err("a binary op needs two operands"));
    }
    let (a, b) = (cx.inputs[0], cx.inputs[1]);
    let integer = node.outputs.first().is_some_and(|o| o.fact.datum_type.is_integer());
    if bin == Bin::Div && integer && !(lw.const_of(a).is_some() && lw.const_of(b).is_some()) {
        return integer_quotient(lw, a, b, cx).map(Some);
    }
    let value = match (bin, lw.const_of(a).cloned(), lw.const_of(b).cloned()) {
        (_, Some(ca), Some(cb)) => fold_constants(bin, &ca, &cb, cx)?,
        (Bin::Max, ca, cb) => relu(lw, ca.or(cb), cx)?,
        (_, None, None) => tensor_tensor(lw, bin, a, b, cx)?,
        (_, None, Some(c)) => with_const(lw, bin, a, &c, false, cx)?,
        (_, Some(c), None) => with_const(lw, bin, b, &c, true, cx)?,
    };
    Ok(Some(value))
}

/// `Div` of integers (`a / c`, rounded toward zero) by a uniform nonzero constant `c`: one row
/// of a quotient table per element, exact (a float division rounded to the nearest would give
/// 3 / 2 = 2). The dividend, an integer, is brought to scale 0 exactly first.
fn integer_quotient(lw: &mut Lowerer<'_>, a: OutletId, b: OutletId, cx: &NodeCx) -> Result<Value, CompileError> {
    let c = lw.const_of(b).and_then(|c| {
        let first = *c.data.first()?;
        (first != 0.0 && c.data.iter().all(|&v| v == first)).then_some(first)
    });
    if lw.const_of(b).is_some_and(|c| c.data.contains(&0.0)) {
        return Err(cx.unsupported("a Div of integers by zero"));
    }
    let Some(c) = c.filter(|_| lw.outlet_shape(a).is_ok_and(|s| s == cx.shape)) else {
        // a computed or non-uniform divisor, or a broadcast dividend: an exact division
        let (q, _, _) = crate::ops::division::of_operands(lw, true, cx)?;
        return Ok(Value::Tensor(q));
    };
    let x = lw.operand(a, cx)?;
    let x = lw.rescale_to_integer(x);
    let (lo, hi) = crate::ops::nonlinear::activation_domain(lw);
    let func = zkonnx_ir::func::Func::new(zkonnx_ir::func::FuncKind::Quotient, 0, 0, lo, hi).with_alpha(c as f32);
    Ok(Value::Tensor(crate::ops::nonlinear::lookup(lw, x, func, cx)))
}

/// Both operands constant (e.g. Gemm's `beta * C`, which tract leaves unfolded before
/// decluttering): computed in float at compile time.
fn fold_constants(bin: Bin, a: &ConstVal, b: &ConstVal, cx: &NodeCx) -> Result<Value, CompileError> {
    let (ma, mb) = (cx.broadcast_from(&a.shape)?, cx.broadcast_from(&b.shape)?);
    let data = ma
        .iter()
        .zip(&mb)
        .map(|(&i, &j)| {
            let (x, y) = (a.data[i as usize], b.data[j as usize]);
            match bin {
                Bin::Add => x + y,
                Bin::Sub => x - y,
                Bin::Mul => x * y,
                Bin::Div => x / y,
                Bin::Max => x.max(y),
            }
        })
        .collect();
    Ok(Value::Const(ConstVal { shape: cx.shape.clone(), data }))
}

/// `Max(x, 0)` is Relu; any other `Max` is not supported.
fn relu(lw: &mut Lowerer<'_>, zero: Option<ConstVal>, cx: &NodeCx) -> Result<Value, CompileError> {
    let Some(zero) = zero.filter(|c| c.data.iter().all(|&v| v == 0.0)) else {
        return Err(cx.unsupported("Max other than Max(x, 0) (Relu)"));
    };
    let x_outlet = if lw.const_of(cx.inputs[0]).is_some() { cx.inputs[1] } else { cx.inputs[0] };
    let x_shape = lw.outlet_shape(x_outlet)?;
    let map = cx.broadcast_from(&x_shape)?;
    cx.broadcast_from(&zero.shape)?;
    let mut x = lw.operand(x_outlet, cx)?;
    if map.len() != x_shape.iter().product::<usize>() {
        let scale = lw.scale(x);
        x = lw.emit(&cx.name, &cx.origin, Op::Gather { input: x, indices: map }, cx.shape.clone(), scale);
    }
    let scale = lw.scale(x);
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, Op::Relu { input: x }, cx.shape.clone(), scale)))
}

/// Both operands computed.
fn tensor_tensor(lw: &mut Lowerer<'_>, bin: Bin, a: OutletId, b: OutletId, cx: &NodeCx) -> Result<Value, CompileError> {
    let (ma, mb) = (cx.broadcast_from(&lw.outlet_shape(a)?)?, cx.broadcast_from(&lw.outlet_shape(b)?)?);
    let (ta, tb) = (lw.operand(a, cx)?, lw.operand(b, cx)?);
    let (sa, sb) = (lw.scale(ta), lw.scale(tb));
    let pairs: Vec<(u32, u32)> = ma.into_iter().zip(mb).collect();
    let mut mask = None;
    let (kind, scale) = match bin {
        Bin::Add | Bin::Sub => {
            let s = sa.max(sb);
            let sign = if bin == Bin::Sub { -1 } else { 1 };
            // a sum with an attention mask is masked where it is (see `mask`)
            mask = crate::ops::mask::sum_mask(lw, (ta, tb), &pairs, sign, cx)?;
            (ArithKind::Add { ca: 1 << (s - sa), cb: sign << (s - sb) }, s)
        }
        Bin::Mul => (ArithKind::Mul, sa + sb),
        Bin::Div => return Ok(Value::Tensor(crate::ops::nonlinear::divide(lw, ta, tb, pairs, cx))),
        Bin::Max => return Err(cx.unsupported("Max of two tensors outside the activation family")),
    };
    let op = Op::Arith(Arith { a: ta, b: tb, pairs, kind });
    let t = lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale);
    let r = lw.rescale_to_activation(t);
    if let Some(mask) = mask {
        crate::ops::mask::carry(lw, t, mask.clone());
        if r != t {
            crate::ops::mask::carry(lw, r, mask);
        }
    }
    Ok(Value::Tensor(r))
}

/// One computed operand `x` and one constant `c`; `const_first` when `c` is the left operand.
fn with_const(
    lw: &mut Lowerer<'_>,
    bin: Bin,
    x: OutletId,
    c: &ConstVal,
    const_first: bool,
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let x_shape = lw.outlet_shape(x)?;
    let (mx, mc) = (cx.broadcast_from(&x_shape)?, cx.broadcast_from(&c.shape)?);
    let per_out = |f: &dyn Fn(f64) -> f64| -> Vec<f64> { mc.iter().map(|&i| f(c.data[i as usize])).collect() };
    if bin == Bin::Mul {
        // `(1 - attention_mask) * finfo.min`: see `mask`
        if let Some(t) = crate::ops::mask::masked_product(lw, x, c, &mx, cx)? {
            return Ok(Value::Tensor(t));
        }
    }
    let factors = match (bin, const_first) {
        (Bin::Mul, _) => Some(per_out(&|v| v)),
        (Bin::Div, false) => Some(per_out(&|v| 1.0 / v)),
        (Bin::Div, true) => {
            // c / x: the constant becomes a tensor at the activation scale, then a / b
            let t = lw.operand(x, cx)?;
            let k = lw.const_tensor(c, lw.args.input_scale, &cx.name, &cx.origin);
            let pairs = mc.iter().copied().zip(mx.iter().copied()).collect();
            return Ok(Value::Tensor(crate::ops::nonlinear::divide(lw, k, t, pairs, cx)));
        }
        _ => None,
    };
    if factors.is_none() && (bin == Bin::Add || !const_first) {
        // an attention mask of -inf (or far below the activation range): see `mask`
        let sign = if bin == Bin::Sub { -1 } else { 1 };
        if crate::ops::mask::is_masked(lw, x)?
            || c.data.iter().any(|&v| crate::ops::mask::hidden_by(lw, v, sign) != Hidden::No)
        {
            let t = lw.operand(x, cx)?;
            return Ok(Value::Tensor(crate::ops::mask::masked_add(lw, t, c, (&mx, &mc), sign, cx)));
        }
    }
    // fold into a preceding linear op that nothing else reads
    let foldable = x_shape == cx.shape && lw.sole_use(x);
    if let (true, Value::Pending(p)) = (foldable, lw.value(x)?) {
        let mut p = p.clone();
        match (&factors, bin, const_first) {
            (Some(f), ..) => p.scale_rows(|o| f[o]),
            (None, Bin::Sub, true) => {
                p.scale_rows(|_| -1.0);
                p.shift_rows(|o| c.data[mc[o] as usize]);
            }
            (None, Bin::Sub, false) => p.shift_rows(|o| -c.data[mc[o] as usize]),
            (None, ..) => p.shift_rows(|o| c.data[mc[o] as usize]),
        }
        return Ok(Value::Pending(p));
    }
    let t = lw.operand(x, cx)?;
    if let Some(f) = factors {
        return Ok(Value::Pending(Box::new(diagonal(t, &mx, &f, cx))));
    }
    // Add/Sub: the constant becomes an IR tensor at x's scale
    let scale = lw.scale(t);
    let k = lw.const_tensor(c, scale, &cx.name, &cx.origin);
    let cb = if bin == Bin::Sub { -1 } else { 1 };
    let (a, b, pairs) =
        if const_first { (k, t, mc.into_iter().zip(mx).collect()) } else { (t, k, mx.into_iter().zip(mc).collect()) };
    let op = Op::Arith(Arith { a, b, pairs, kind: ArithKind::Add { ca: 1, cb } });
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale)))
}
