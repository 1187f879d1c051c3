//! Data movement between tensors: `Concat`, `Slice`, `Pad` (constant, reflect, edge), `Tile`,
//! `Expand` (tract's `MultiBroadcastTo`), `Gather`/`GatherElements` with constant indices, and
//! `Trilu` (each element kept or replaced by zero).
//! Each output element is one input element (or the pad constant), so they lower to `Gather`
//! (one source) or `Select` (several: Concat, constant Pad), which cost no constraints.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::DimLike;
use tract_onnx::tract_core::ops::array::{
    Gather, GatherElements, MultiBroadcastTo, Pad, PadMode, Slice, StridedSlice, Tile, Trilu, TypedConcat,
};
use zkonnx_ir::quant::quantize;
use zkonnx_ir::Op;

use crate::index::{broadcast_map, flat_of, for_each_coord, strides};
use crate::lower::{Lowerer, NodeCx, Value};
use crate::ops::shape::{const_value, gather};
use crate::ops::OpSupport;
use crate::CompileError;

/// The ONNX op types this family lowers.
pub(crate) const OPS: &[OpSupport] = &[
    OpSupport {
        op: "Concat",
        family: "movement",
        forms: "any axis, computed and constant operands: a free Select",
        limits: "operands at different scales (UnsupportedAttribute)",
    },
    OpSupport {
        op: "Slice",
        family: "movement",
        forms: "constant starts/ends/axes/steps, negative and clamped bounds, negative steps: a free Gather",
        limits: "computed starts, ends, axes or steps (NonConstant)",
    },
    OpSupport {
        op: "Split",
        family: "movement",
        forms: "constant split sizes (attribute or input) or equal parts: one Slice per output, free Gathers",
        limits: "",
    },
    OpSupport {
        op: "Pad",
        family: "movement",
        forms: "constant, reflect and edge modes; pads and pad value constant: a free Gather or Select",
        limits: "reflect pads not smaller than the axis (shape error)",
    },
    OpSupport { op: "Tile", family: "movement", forms: "constant repeats: a free Gather", limits: "" },
    OpSupport {
        op: "Expand",
        family: "movement",
        forms: "output shape known at load, numpy broadcasting: a free Gather",
        limits: "",
    },
    OpSupport {
        op: "Gather",
        family: "movement",
        forms: "constant indices (negative wrap): a free Gather; computed integer indices: one-hot (embedding)",
        limits: "a constant index out of range (shape error); computed indices that are not integers",
    },
    OpSupport {
        op: "ArrayFeatureExtractor",
        family: "movement",
        forms: "(ai.onnx.ml, skl2onnx's class labels) tract's Gather along the last axis: as Gather",
        limits: "as Gather",
    },
    OpSupport {
        op: "NegativeLogLikelihoodLoss",
        family: "movement",
        forms: "rewritten at load: -x gathered at the run-time target (GatherElements) times the weight gathered \
                there; ignore_index; reduction none, sum or mean (a division by the summed weights)",
        limits: "a target outside [0, C) that is not ignore_index fails at proving time",
    },
    OpSupport {
        op: "SoftmaxCrossEntropyLoss",
        family: "movement",
        forms: "rewritten at load: NegativeLogLikelihoodLoss of LogSoftmax over axis 1 (the log_prob output)",
        limits: "as NegativeLogLikelihoodLoss",
    },
    OpSupport {
        op: "CenterCropPad",
        family: "movement",
        forms: "rewritten at load: a Slice of the middle and a zero Pad around it, per axis",
        limits: "a computed shape, undeclared input dimensions (UnsupportedAttribute)",
    },
    OpSupport {
        op: "ReverseSequence",
        family: "movement",
        forms: "rewritten at load: GatherElements along the time axis by constant indices",
        limits: "computed sequence_lens, undeclared input dimensions (UnsupportedAttribute)",
    },
    OpSupport {
        op: "Compress",
        family: "movement",
        forms: "rewritten at load: a constant condition is a Gather of the kept positions (flattened without an axis)",
        limits: "a condition computed at run time (the output's shape would depend on it), or one keeping nothing",
    },
    OpSupport {
        op: "CumProd",
        family: "movement",
        forms: "rewritten at load: constant axis of declared size, exclusive, reverse: a running product of slices",
        limits: "a computed axis, an axis of undeclared size (UnsupportedAttribute)",
    },
    OpSupport {
        op: "GatherElements",
        family: "movement",
        forms: "constant indices: a free Gather; computed integer indices: exact one-hot (embedding)",
        limits: "a constant index out of range (shape error); computed indices that are not integers",
    },
    OpSupport {
        op: "Trilu",
        family: "movement",
        forms: "upper or lower, rank >= 2, constant k: a free Select against zero",
        limits: "a computed k (NonConstant)",
    },
];

/// Where an output element comes from: element `i` of source `k`.
type Pick = (u32, u32);

/// Lowers the family's ops; `Ok(None)` for any other op.
pub(crate) fn lower(lw: &mut Lowerer<'_>, node: &TypedNode, cx: &NodeCx) -> Result<Option<Value>, CompileError> {
    let first = match cx.inputs.first() {
        Some(&i) => i,
        None => return Ok(None),
    };
    let in_shape = lw.outlet_shape(first)?;
    if let Some(op) = node.op_as::<TypedConcat>() {
        return concat(lw, op.axis, cx).map(Some);
    }
    let indices = if let Some(op) = node.op_as::<Slice>() {
        let (start, end) = (dim(&op.start, cx)?, dim(&op.end, cx)?);
        if cx.shape.get(op.axis) != Some(&end.saturating_sub(start)) {
            return Err(cx.shape_err(format!("slice {start}..{end} gives {:?}", cx.shape)));
        }
        let ranges: Vec<(i64, i64)> =
            (0..in_shape.len()).map(|d| if d == op.axis { (start as i64, 1) } else { (0, 1) }).collect();
        strided_map(&in_shape, &ranges, &cx.shape).ok_or_else(|| cx.shape_err("slice out of range"))?
    } else if let Some(op) = node.op_as::<StridedSlice>() {
        let ranges = strided_ranges(lw, op, &in_shape, cx)?;
        strided_map(&in_shape, &ranges, &cx.shape)
            .ok_or_else(|| cx.shape_err(format!("slicing {in_shape:?} does not give {:?}", cx.shape)))?
    } else if node.op_as::<Tile>().is_some() || node.op_as::<MultiBroadcastTo>().is_some() {
        repeat_map(&in_shape, &cx.shape)
            .ok_or_else(|| cx.shape_err(format!("{in_shape:?} does not repeat into {:?}", cx.shape)))?
    } else if let Some(op) = node.op_as::<Pad>() {
        return pad(lw, op, first, &in_shape, cx).map(Some);
    } else if let Some(op) = node.op_as::<Trilu>() {
        return trilu(lw, op.upper, first, &in_shape, cx).map(Some);
    } else if let Some(op) = node.op_as::<Gather>() {
        if cx.inputs.get(1).is_some_and(|&i| lw.const_of(i).is_none()) {
            let data = lw.const_of(first).cloned();
            return crate::ops::embedding::gather_computed(lw, op.axis, data.as_ref(), cx).map(Some);
        }
        gather_map(lw, op.axis, &in_shape, false, cx)?
    } else if let Some(op) = node.op_as::<GatherElements>() {
        if cx.inputs.get(1).is_some_and(|&i| lw.const_of(i).is_none()) {
            let data = lw.const_of(first).cloned();
            return crate::ops::embedding::gather_elements_computed(lw, op.axis, data.as_ref(), cx).map(Some);
        }
        gather_map(lw, op.axis, &in_shape, true, cx)?
    } else {
        return Ok(None);
    };
    gather(lw, first, Some(indices), cx).map(Some)
}

/// `Trilu`: the upper (or lower) triangle of the last two axes from diagonal `k` (a constant),
/// the rest zero: a `Select` between the input and a zero constant, no constraints.
fn trilu(
    lw: &mut Lowerer<'_>,
    upper: bool,
    x: OutletId,
    in_shape: &[usize],
    cx: &NodeCx,
) -> Result<Value, CompileError> {
    let k = match cx.inputs.get(1) {
        Some(&o) => lw.const_of(o).and_then(|c| c.data.first().copied()).ok_or_else(|| cx.non_constant("Trilu's k"))?,
        None => 0.0,
    } as i64;
    let rank = in_shape.len();
    if rank < 2 || cx.shape != in_shape {
        return Err(cx.shape_err(format!("Trilu of {in_shape:?} giving {:?}", cx.shape)));
    }
    let mut picks = Vec::with_capacity(in_shape.iter().product());
    for_each_coord(in_shape, |flat, c| {
        let (row, col) = (c[rank - 2] as i64, c[rank - 1] as i64);
        let keep = if upper { col >= row + k } else { col <= row + k };
        picks.push(if keep { (0, flat as u32) } else { (1, 0) });
    });
    let t = lw.operand(x, cx)?;
    let scale = lw.scale(t);
    let zero = lw.emit(&cx.name, &cx.origin, Op::Const { values: vec![0] }, vec![1], scale);
    let op = Op::Select { inputs: vec![t, zero], picks };
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale)))
}

/// `Gather` (`elements` false: `out[pre, j.., post] = in[pre, idx[j..], post]`) or
/// `GatherElements` (`out[c] = in[c with c[axis] = idx[c]]`) with constant indices, negative
/// ones counting from the end: the flat input index of each output element.
fn gather_map(
    lw: &Lowerer<'_>,
    axis: usize,
    in_shape: &[usize],
    elements: bool,
    cx: &NodeCx,
) -> Result<Vec<u32>, CompileError> {
    let idx_outlet = *cx.inputs.get(1).ok_or_else(|| cx.shape_err("a gather needs indices"))?;
    let idx = lw.const_of(idx_outlet).cloned().ok_or_else(|| cx.non_constant("the indices of a gather"))?;
    let n = *in_shape.get(axis).ok_or_else(|| cx.shape_err(format!("axis {axis} of {in_shape:?}")))?;
    let idx: Vec<usize> = idx
        .data
        .iter()
        .map(|&v| {
            let i = if v < 0.0 { v + n as f64 } else { v };
            (i >= 0.0 && i < n as f64 && i.fract() == 0.0)
                .then_some(i as usize)
                .ok_or_else(|| cx.shape_err(format!("index {v} is outside 0..{n}")))
        })
        .collect::<Result<_, _>>()?;
    let idx_shape = lw.outlet_shape(idx_outlet)?;
    let expected: Vec<usize> = if elements {
        idx_shape_checked(&idx_shape, in_shape, axis, cx)?
    } else {
        [&in_shape[..axis], &idx_shape[..], &in_shape[axis + 1..]].concat()
    };
    if expected != cx.shape {
        return Err(cx.shape_err(format!("gathering {in_shape:?} gives {expected:?}, not {:?}", cx.shape)));
    }
    let st = strides(in_shape);
    let k = cx.shape.len() + 1 - in_shape.len(); // index dimensions of a Gather
    let mut out = Vec::with_capacity(cx.shape.iter().product());
    for_each_coord(&cx.shape, |flat, c| {
        let at: usize = if elements {
            c.iter().enumerate().map(|(d, &x)| st[d] * if d == axis { idx[flat] } else { x }).sum()
        } else {
            let (pre, rest) = c.split_at(axis);
            let (j, post) = rest.split_at(k);
            let j_flat = flat_of(j, &cx.shape[axis..axis + k]);
            pre.iter().zip(&st).map(|(&x, &s)| x * s).sum::<usize>()
                + st[axis] * idx[j_flat]
                + post.iter().zip(&st[axis + 1..]).map(|(&x, &s)| x * s).sum::<usize>()
        };
        out.push(at as u32);
    });
    Ok(out)
}

/// `GatherElements`' indices must have the data's rank and fit inside it off the axis.
fn idx_shape_checked(idx: &[usize], data: &[usize], axis: usize, cx: &NodeCx) -> Result<Vec<usize>, CompileError> {
    let fits = idx.len() == data.len() && idx.iter().zip(data).enumerate().all(|(d, (&i, &n))| d == axis || i <= n);
    if fits {
        Ok(idx.to_vec())
    } else {
        Err(cx.shape_err(format!("GatherElements indices {idx:?} do not fit data {data:?}")))
    }
}

fn dim(d: &TDim, cx: &NodeCx) -> Result<usize, CompileError> {
    d.to_usize().map_err(|_| cx.shape_err(format!("symbolic bound {d}")))
}

/// ONNX `Slice` (tract's `StridedSlice` before decluttering) with constant starts, ends, axes
/// and steps: the first index and the step along each input axis, ONNX's clamping applied.
fn strided_ranges(
    lw: &Lowerer<'_>,
    op: &StridedSlice,
    in_shape: &[usize],
    cx: &NodeCx,
) -> Result<Vec<(i64, i64)>, CompileError> {
    if op.begin_mask != 0 || op.end_mask != 0 || op.shrink_axis_mask != 0 {
        return Err(cx.unsupported("strided slice masks"));
    }
    let ints = |k: usize, what: &str| -> Result<Vec<i64>, CompileError> {
        let outlet = *cx.inputs.get(k).ok_or_else(|| cx.shape_err(format!("no {what} operand")))?;
        let c = lw.const_of(outlet).ok_or_else(|| cx.non_constant(format!("Slice {what}")))?;
        Ok(c.data.iter().map(|&v| v as i64).collect())
    };
    let (begin, end) = (ints(1, "starts")?, ints(2, "ends")?);
    let axes = match op.optional_axes_input {
        Some(k) => ints(k, "axes")?,
        None => (0..begin.len() as i64).collect(),
    };
    let steps = match op.optional_steps_input {
        Some(k) => ints(k, "steps")?,
        None => vec![1; begin.len()],
    };
    if end.len() != begin.len() || axes.len() != begin.len() || steps.len() != begin.len() {
        return Err(cx.shape_err("starts, ends, axes and steps differ in length"));
    }
    let rank = in_shape.len() as i64;
    let mut ranges = vec![(0i64, 1i64); in_shape.len()];
    for (((&b, &_e), &a), &st) in begin.iter().zip(&end).zip(&axes).zip(&steps) {
        let axis = if a < 0 { a + rank } else { a };
        if !(0..rank).contains(&axis) || st == 0 {
            return Err(cx.shape_err(format!("slice axis {a} or step {st}")));
        }
        let n = in_shape[axis as usize] as i64;
        let b = if b < 0 { b + n } else { b };
        let b = if st > 0 { b.clamp(0, n) } else { b.clamp(0, n - 1) };
        ranges[axis as usize] = (b, st);
    }
    Ok(ranges)
}

/// Output coordinate `c` reads input coordinate `first + c * step` on each axis; `None` when
/// that leaves the input.
pub(crate) fn strided_map(in_shape: &[usize], ranges: &[(i64, i64)], out_shape: &[usize]) -> Option<Vec<u32>> {
    if out_shape.len() != in_shape.len() || ranges.len() != in_shape.len() {
        return None;
    }
    for ((&o, &n), &(first, step)) in out_shape.iter().zip(in_shape).zip(ranges) {
        let last = first + (o as i64 - 1) * step;
        if o > 0 && (!(0..n as i64).contains(&first) || !(0..n as i64).contains(&last)) {
            return None;
        }
    }
    let st = strides(in_shape);
    let mut map = Vec::with_capacity(out_shape.iter().product());
    for_each_coord(out_shape, |_, c| {
        let flat: i64 = c.iter().zip(ranges).zip(&st).map(|((&x, &(f, s)), &w)| (f + x as i64 * s) * w as i64).sum();
        map.push(flat as u32);
    });
    Some(map)
}

/// `Tile` (each axis repeated a whole number of times) and `Expand` (numpy broadcasting): output
/// coordinate `c` reads input coordinate `c mod in` on each axis, after aligning ranks on the right.
fn repeat_map(in_shape: &[usize], out_shape: &[usize]) -> Option<Vec<u32>> {
    if let Some(map) = broadcast_map(in_shape, out_shape) {
        return Some(map);
    }
    if in_shape.len() != out_shape.len() || in_shape.iter().zip(out_shape).any(|(&i, &o)| i == 0 || o % i != 0) {
        return None;
    }
    let st = strides(in_shape);
    let mut map = Vec::with_capacity(out_shape.iter().product());
    for_each_coord(out_shape, |_, c| {
        map.push(c.iter().zip(in_shape).zip(&st).map(|((&x, &n), &s)| (x % n) * s).sum::<usize>() as u32);
    });
    Some(map)
}

/// `Concat` along `axis`: `Select` over the operands (constants become IR constants).
fn concat(lw: &mut Lowerer<'_>, axis: usize, cx: &NodeCx) -> Result<Value, CompileError> {
    let shapes: Vec<Vec<usize>> = cx.inputs.iter().map(|&i| lw.outlet_shape(i)).collect::<Result<_, _>>()?;
    let picks = concat_picks(&shapes, axis, &cx.shape)
        .ok_or_else(|| cx.shape_err(format!("{shapes:?} do not concatenate along axis {axis} into {:?}", cx.shape)))?;
    let mut inputs = Vec::with_capacity(cx.inputs.len());
    for &i in &cx.inputs {
        inputs.push(lw.operand(i, cx)?);
    }
    // operands at different scales are brought to the largest one first: a Select copies cells
    let scale = inputs.iter().map(|&t| lw.scale(t)).max().unwrap_or(lw.args.input_scale);
    let inputs = inputs.into_iter().map(|t| upscale(lw, t, scale, cx)).collect();
    let op = Op::Select { inputs, picks };
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale)))
}

/// `t` at the larger `scale`, exactly: `t · 2^(scale - s)` (an add to a zero at `scale`).
fn upscale(lw: &mut Lowerer<'_>, t: zkonnx_ir::TensorId, scale: u32, cx: &NodeCx) -> zkonnx_ir::TensorId {
    if lw.scale(t) >= scale {
        return t;
    }
    let shape = lw.shape(t).to_vec();
    let zero = lw.emit(&cx.name, &cx.origin, Op::Const { values: vec![0] }, vec![1], scale);
    let pairs = (0..shape.iter().product::<usize>() as u32).map(|i| (i, 0)).collect();
    crate::ops::activation::add_pairs(lw, t, zero, pairs, 1, &NodeCx { shape, ..cx.clone() })
}

pub(crate) fn concat_picks(shapes: &[Vec<usize>], axis: usize, out_shape: &[usize]) -> Option<Vec<Pick>> {
    let rank = out_shape.len();
    if axis >= rank || shapes.iter().any(|s| s.len() != rank) {
        return None;
    }
    let mut offsets = Vec::with_capacity(shapes.len());
    let mut total = 0;
    for s in shapes {
        if (0..rank).any(|d| d != axis && s[d] != out_shape[d]) {
            return None;
        }
        offsets.push(total);
        total += s[axis];
    }
    if total != out_shape[axis] {
        return None;
    }
    let strides: Vec<Vec<usize>> = shapes.iter().map(|s| strides(s)).collect();
    let mut picks = Vec::with_capacity(out_shape.iter().product());
    for_each_coord(out_shape, |_, c| {
        // the last non-empty operand that starts at or before the coordinate
        let k = (0..shapes.len()).rev().find(|&k| offsets[k] <= c[axis] && shapes[k][axis] > 0).unwrap_or(0);
        let flat: usize =
            c.iter().enumerate().map(|(d, &x)| (if d == axis { x - offsets[k] } else { x }) * strides[k][d]).sum();
        picks.push((k as u32, flat as u32));
    });
    Some(picks)
}

/// `Pad`: reflect and edge modes gather from the input; constant mode selects between the
/// input and a one-element constant.
fn pad(lw: &mut Lowerer<'_>, op: &Pad, x: OutletId, in_shape: &[usize], cx: &NodeCx) -> Result<Value, CompileError> {
    if op.pads.len() != in_shape.len() || cx.shape.len() != in_shape.len() {
        return Err(cx.shape_err("pads do not match the rank"));
    }
    let picks = pad_picks(in_shape, &op.pads, &op.mode, &cx.shape).ok_or_else(|| {
        cx.shape_err(format!("padding {in_shape:?} by {:?} ({:?}) does not give {:?}", op.pads, op.mode, cx.shape))
    })?;
    let PadMode::Constant(value) = &op.mode else {
        return gather(lw, x, Some(picks.into_iter().map(|(_, i)| i).collect()), cx);
    };
    let fill = const_value(value, &cx.name)?.data.first().copied().unwrap_or(0.0);
    let t = lw.operand(x, cx)?;
    let scale = lw.scale(t);
    let k = lw.emit(&cx.name, &cx.origin, Op::Const { values: vec![quantize(fill, scale)] }, vec![1], scale);
    let op = Op::Select { inputs: vec![t, k], picks };
    Ok(Value::Tensor(lw.emit(&cx.name, &cx.origin, op, cx.shape.clone(), scale)))
}

/// For each output element: `(0, i)` reads input element `i`, `(1, 0)` the pad constant.
fn pad_picks(in_shape: &[usize], pads: &[(usize, usize)], mode: &PadMode, out_shape: &[usize]) -> Option<Vec<Pick>> {
    let expect: Vec<usize> = in_shape.iter().zip(pads).map(|(&n, &(b, a))| n + b + a).collect();
    if expect != out_shape || in_shape.contains(&0) {
        return None;
    }
    let st = strides(in_shape);
    let mut picks = Vec::with_capacity(out_shape.iter().product());
    let mut ok = true;
    for_each_coord(out_shape, |_, c| {
        let mut flat = 0usize;
        let mut inside = true;
        for (d, &x) in c.iter().enumerate() {
            let (n, p) = (in_shape[d] as isize, x as isize - pads[d].0 as isize);
            let q = match mode {
                _ if (0..n).contains(&p) => p,
                PadMode::Constant(_) => {
                    inside = false;
                    break;
                }
                PadMode::Edge => p.clamp(0, n - 1),
                PadMode::Reflect => {
                    let r = if p < 0 { -p } else { 2 * (n - 1) - p };
                    if !(0..n).contains(&r) {
                        ok = false; // ONNX requires pads smaller than the axis for reflect
                        0
                    } else {
                        r
                    }
                }
            };
            flat += q as usize * st[d];
        }
        picks.push(if inside { (0, flat as u32) } else { (1, 0) });
    });
    ok.then_some(picks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_tile_and_expand_maps() {
        assert_eq!(strided_map(&[2, 3], &[(0, 1), (1, 1)], &[2, 2]).unwrap(), vec![1, 2, 4, 5]);
        assert!(strided_map(&[2, 3], &[(0, 1), (2, 1)], &[2, 2]).is_none());
        // a negative step walks backwards
        assert_eq!(strided_map(&[4], &[(3, -2)], &[2]).unwrap(), vec![3, 1]);
        assert_eq!(repeat_map(&[1, 2], &[2, 4]).unwrap(), vec![0, 1, 0, 1, 0, 1, 0, 1]);
        assert_eq!(repeat_map(&[2], &[2, 2]).unwrap(), vec![0, 1, 0, 1]);
        assert!(repeat_map(&[3], &[4]).is_none());
    }

    #[test]
    fn concat_picks_walk_the_operands() {
        let picks = concat_picks(&[vec![2, 1], vec![2, 2]], 1, &[2, 3]).unwrap();
        assert_eq!(picks, vec![(0, 0), (1, 0), (1, 1), (0, 1), (1, 2), (1, 3)]);
        assert_eq!(concat_picks(&[vec![1, 2], vec![1, 2]], 0, &[2, 2]).unwrap(), vec![(0, 0), (0, 1), (1, 0), (1, 1)]);
        assert!(concat_picks(&[vec![2, 1], vec![3, 2]], 1, &[2, 3]).is_none());
    }

    #[test]
    fn pad_modes() {
        let zero = PadMode::Constant(Arc::new(Tensor::from(0f32)));
        assert_eq!(pad_picks(&[2], &[(1, 1)], &zero, &[4]).unwrap(), vec![(1, 0), (0, 0), (0, 1), (1, 0)]);
        assert_eq!(
            pad_picks(&[3], &[(2, 1)], &PadMode::Edge, &[6]).unwrap(),
            vec![(0, 0), (0, 0), (0, 0), (0, 1), (0, 2), (0, 2)]
        );
        assert_eq!(
            pad_picks(&[3], &[(2, 2)], &PadMode::Reflect, &[7]).unwrap(),
            vec![(0, 2), (0, 1), (0, 0), (0, 1), (0, 2), (0, 1), (0, 0)]
        );
        assert!(pad_picks(&[2], &[(2, 0)], &PadMode::Reflect, &[4]).is_none());
    }
}
