//! The reference integer interpreter: exactly what the circuit computes, value for value.
//!
//! It is the oracle the circuit is tested against (outputs equal, always) and is itself tested
//! against float inference (within the quantization bound). Range checks here mirror the
//! circuit's lookups: where the circuit would have no valid witness, this returns an error
//! naming the node, so calibration can say which layer overflows.

use crate::quant::{checked_range, rescale};
use crate::{Arith, ArithKind, Func, Graph, IrError, Linear, Node, Op};

/// Every node's output, by node index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    pub values: Vec<Vec<i64>>,
}

impl Trace {
    /// The values of the model outputs, in order.
    pub fn outputs(&self, graph: &Graph) -> Vec<Vec<i64>> {
        graph.outputs.iter().map(|&t| self.values[t].clone()).collect()
    }
}

/// Largest magnitude an intermediate value may reach.
const OVERFLOW: i128 = 1 << 62;

struct Ctx<'a> {
    id: usize,
    node: &'a Node,
    range: (i64, i64),
    bits: u32,
}

impl Ctx<'_> {
    fn in_range(&self, op: &'static str, v: i128) -> Result<i64, IrError> {
        if v < i128::from(self.range.0) || v > i128::from(self.range.1) {
            return Err(IrError::OutOfRange {
                node: self.id,
                name: self.node.name.clone(),
                op,
                value: v,
                min: self.range.0,
                max: self.range.1,
                bits: self.bits,
            });
        }
        Ok(v as i64)
    }

    fn no_overflow(&self, op: &'static str, v: i128) -> Result<i64, IrError> {
        if v.abs() >= OVERFLOW {
            return Err(IrError::Overflow { node: self.id, name: self.node.name.clone(), op, value: v });
        }
        Ok(v as i64)
    }
}

/// Runs `graph` on quantized `inputs` (one flat vector per model input) with activations
/// range-checked to `range_bits` signed bits ([`crate::RunArgs::range_bits`]), which also
/// bounds every rescale's shift.
pub fn run(graph: &Graph, inputs: &[Vec<i64>], range_bits: u32) -> Result<Trace, IrError> {
    graph.validate()?;
    if inputs.len() != graph.inputs.len() {
        return Err(IrError::InputCount { expected: graph.inputs.len(), got: inputs.len() });
    }
    let range = checked_range(range_bits);
    let mut values: Vec<Vec<i64>> = Vec::with_capacity(graph.nodes.len());
    for (id, node) in graph.nodes.iter().enumerate() {
        let cx = Ctx { id, node, range, bits: range_bits };
        let out = match &node.op {
            Op::Input { index } => input(&cx, *index, inputs, graph.linked_inputs)?,
            Op::Const { values } => values.clone(),
            Op::Linear(l) => linear(&cx, l, &values[l.input])?,
            Op::Arith(a) => arith(&cx, a, &values[a.a], &values[a.b])?,
            Op::Rescale { input, shift } => {
                if *shift > range_bits {
                    return Err(IrError::ShiftTooLarge {
                        node: id,
                        name: node.name.clone(),
                        shift: *shift,
                        bits: range_bits,
                    });
                }
                values[*input]
                    .iter()
                    .map(|&x| cx.in_range("Rescale", rescale(i128::from(x), *shift).0))
                    .collect::<Result<_, _>>()?
            }
            Op::Relu { input } => values[*input]
                .iter()
                .map(|&x| cx.in_range("Relu", i128::from(x)).map(|v| v.max(0)))
                .collect::<Result<_, _>>()?,
            Op::MaxPool { input, windows } => max_pool(&cx, windows, &values[*input])?,
            Op::Gather { input, indices } => indices.iter().map(|&i| values[*input][i as usize]).collect(),
            Op::Select { inputs, picks } => {
                picks.iter().map(|&(k, i)| values[inputs[k as usize]][i as usize]).collect()
            }
            Op::MatMul { a, b, rows } => matmul(&cx, rows, &values[*a], &values[*b])?,
            Op::Lookup { input, func } => lookup(&cx, func, &values[*input])?,
        };
        values.push(out);
    }
    Ok(Trace { values })
}

/// Model input `index`, range-checked unless the graph's inputs are linked (a segment's inputs,
/// which the circuit does not range-check either).
fn input(cx: &Ctx<'_>, index: usize, inputs: &[Vec<i64>], linked: bool) -> Result<Vec<i64>, IrError> {
    let data = &inputs[index];
    if data.len() != cx.node.len() {
        return Err(IrError::InputLength {
            index,
            name: cx.node.name.clone(),
            shape: cx.node.shape.clone(),
            expected: cx.node.len(),
            got: data.len(),
        });
    }
    if linked {
        return Ok(data.clone());
    }
    data.iter().map(|&v| cx.in_range("Input", i128::from(v))).collect()
}

fn linear(cx: &Ctx<'_>, l: &Linear, x: &[i64]) -> Result<Vec<i64>, IrError> {
    l.rows
        .iter()
        .map(|row| {
            let mut acc: i128 = row.bias.map_or(0, |b| i128::from(l.weights[b as usize]));
            for &(i, w) in &row.terms {
                acc += i128::from(x[i as usize]) * i128::from(l.weights[w as usize]);
            }
            cx.no_overflow("Linear", acc)
        })
        .collect()
}

fn arith(cx: &Ctx<'_>, op: &Arith, a: &[i64], b: &[i64]) -> Result<Vec<i64>, IrError> {
    op.pairs
        .iter()
        .map(|&(i, j)| {
            let (x, y) = (i128::from(a[i as usize]), i128::from(b[j as usize]));
            let v = match op.kind {
                ArithKind::Add { ca, cb } => i128::from(ca) * x + i128::from(cb) * y,
                ArithKind::Mul => x * y,
            };
            cx.no_overflow(op.kind_name(), v)
        })
        .collect()
}

fn matmul(cx: &Ctx<'_>, rows: &[Vec<(u32, u32)>], a: &[i64], b: &[i64]) -> Result<Vec<i64>, IrError> {
    rows.iter()
        .map(|row| {
            let mut acc: i128 = 0;
            for &(i, j) in row {
                acc += i128::from(a[i as usize]) * i128::from(b[j as usize]);
                cx.no_overflow("MatMul", acc)?;
            }
            Ok(acc as i64)
        })
        .collect()
}

fn lookup(cx: &Ctx<'_>, func: &Func, x: &[i64]) -> Result<Vec<i64>, IrError> {
    x.iter()
        .map(|&v| {
            if !func.contains(v) {
                return Err(IrError::OutOfTable {
                    node: cx.id,
                    name: cx.node.name.clone(),
                    func: format!("{:?}", func.kind),
                    value: v,
                    real: format!("{:.4}", crate::quant::dequantize(v, func.in_scale)),
                    scale: func.in_scale,
                    lo: func.lo,
                    hi: func.hi,
                });
            }
            Ok(func.eval(v))
        })
        .collect()
}

fn max_pool(cx: &Ctx<'_>, windows: &[Vec<u32>], x: &[i64]) -> Result<Vec<i64>, IrError> {
    windows
        .iter()
        .map(|w| {
            let mut m = x[w[0] as usize];
            for &i in &w[1..] {
                let v = x[i as usize];
                // the circuit computes max(m, v) = m + relu(v - m), range-checking v - m
                cx.in_range("MaxPool", i128::from(v) - i128::from(m))?;
                m = m.max(v);
            }
            Ok(m)
        })
        .collect()
}

/// The largest magnitude among the values the circuit range-checks (model inputs, rescale
/// outputs, ReLU inputs, max-pool differences, inputs of function tables over the activation
/// range): the table must hold it.
pub fn checked_magnitude(graph: &Graph, trace: &Trace) -> i128 {
    largest_checked(graph, trace).map_or(0, |(_, m)| m)
}

/// [`checked_magnitude`] with the node that checks it (the first on ties); `None` when nothing
/// is checked.
pub fn largest_checked(graph: &Graph, trace: &Trace) -> Option<(usize, i128)> {
    let mut best: Option<(usize, i128)> = None;
    for (id, node) in graph.nodes.iter().enumerate() {
        let mut see = |v: i128| {
            if best.is_none_or(|(_, m)| v.abs() > m) {
                best = Some((id, v.abs()));
            }
        };
        match &node.op {
            Op::Input { .. } if graph.linked_inputs => {}
            Op::Input { .. } | Op::Rescale { .. } => trace.values[id].iter().for_each(|&v| see(i128::from(v))),
            Op::Relu { input } => trace.values[*input].iter().for_each(|&v| see(i128::from(v))),
            // a table over the activation range [-H, H) checks its input like a ReLU does
            Op::Lookup { input, func } if func.lo == -func.hi - 1 => {
                trace.values[*input].iter().for_each(|&v| see(i128::from(v)))
            }
            Op::MaxPool { input, windows } => {
                let x = &trace.values[*input];
                for w in windows {
                    let mut cur = x[w[0] as usize];
                    for &i in &w[1..] {
                        see(i128::from(x[i as usize]) - i128::from(cur));
                        cur = cur.max(x[i as usize]);
                    }
                }
            }
            Op::Const { .. }
            | Op::Linear(_)
            | Op::Arith(_)
            | Op::Gather { .. }
            | Op::Select { .. }
            | Op::MatMul { .. }
            | Op::Lookup { .. } => {}
        }
    }
    best
}

impl Arith {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            ArithKind::Add { .. } => "Add",
            ArithKind::Mul => "Mul",
        }
    }
}

#[cfg(test)]
mod tests;
