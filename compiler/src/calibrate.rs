//! Calibration: choose scales and the lookup range from sample inputs.
//!
//! For each candidate activation scale `S` the model is compiled and run by the integer
//! interpreter on every sample with a wide table; the largest range-checked magnitude gives the
//! table size needed (plus one bit of headroom for inputs a little beyond the samples), and the
//! dequantized outputs give the error against tract's float inference.
//!
//! Each `S` is tried with weights at `P = S`, `S + 3` and `S + 6` (up to the table's bits).
//! Finer weights cost no range: a linear op's products and sums are never range-checked, only
//! its output after the rescale by `2^P`, which is back at `S`. They only need the rescale's
//! remainder to fit the table (`P <= lookup_bits`). On the fixture MLP and CNN, `P = S + 3` to
//! `S + 6` cuts the output error by 2 to 8 times at the same table.
//!
//! Each `(S, P)` also gets a two-limb candidate (`range_limbs = 2`): the same values checked
//! as a signed high and an unsigned low limb of `B` bits, so the table needs only half the bits
//! (and half the largest rescale shift). That is what makes fine scales cheap: at `S = 12` a
//! model whose activations need 20 bits gets a `2^10`-row table instead of `2^20`. Function
//! tables then interpolate between knots (see the compiler's `ops::nonlinear`), which changes
//! the graph: a graph with lookups is compiled and measured again at each candidate's size.
//!
//! `Resources` picks the smallest table whose error is within tolerance, and the smallest error
//! among those; `Accuracy` the smallest error. The circuit size (logrows) depends on the layout,
//! which this crate does not know: callers set it from the graph, and may then take a more
//! accurate candidate whose table fits the same circuit (see [`CalibrationReport::candidates`]).

use zkonnx_ir::{largest_checked, RunArgs};

use crate::{compile, dequantize_outputs, quantize_inputs, CompileError, OnnxModel};

/// What calibration optimizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CalibrationTarget {
    /// The smallest circuit whose output error is within tolerance.
    Resources,
    /// The smallest output error whose table stays at most [`MAX_ACCURACY_BITS`] bits.
    Accuracy,
}

/// Largest table `Accuracy` may choose (2^20 rows of table).
pub const MAX_ACCURACY_BITS: u32 = 20;
/// Largest table any candidate may use.
const MAX_BITS: u32 = 24;
const SCALES: [u32; 10] = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
/// Smallest table a two-limb candidate gets.
const MIN_WIDE_BITS: u32 = 6;
/// Weight scales tried for an activation scale `S`: `S + step`.
const PARAM_STEPS: [u32; 3] = [0, 3, 6];

/// One evaluated candidate.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Candidate {
    pub input_scale: u32,
    pub param_scale: u32,
    pub lookup_bits: u32,
    /// 1 or 2 ([`RunArgs::range_limbs`]).
    pub range_limbs: u32,
    /// Largest |quantized output - float output| over all samples and outputs.
    pub max_abs_error: f64,
    /// Largest |float output|.
    pub max_abs_output: f64,
    /// Why the candidate was rejected, or empty.
    pub note: String,
}

impl Candidate {
    /// `base` with this candidate's scales, table bits and limbs, and logrows raised above the
    /// table where needed (the layout decides the final logrows).
    pub fn run_args(&self, base: &RunArgs) -> RunArgs {
        let mut a = base.clone();
        a.input_scale = self.input_scale;
        a.param_scale = self.param_scale;
        a.lookup_bits = self.lookup_bits;
        a.range_limbs = self.range_limbs;
        a.logrows = a.logrows.max(self.lookup_bits + 1);
        // domains sampled under other scales do not describe this candidate's tables
        a.table_domains.clear();
        a
    }
}

/// Calibration's choice and everything it tried.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct CalibrationReport {
    /// `base` with the chosen scales and lookup bits.
    pub run_args: RunArgs,
    pub chosen_error: f64,
    pub candidates: Vec<Candidate>,
}

/// Output error tolerated by `Resources`: 2% of the output magnitude (at least 0.01).
pub fn tolerance(max_abs_output: f64) -> f64 {
    (0.02 * max_abs_output).max(0.01)
}

/// Chooses scales and lookup bits for `model` from `samples` (each a list of model inputs).
pub fn calibrate(
    model: &OnnxModel,
    samples: &[Vec<Vec<f32>>],
    base: &RunArgs,
    target: CalibrationTarget,
) -> Result<CalibrationReport, CompileError> {
    // domains sampled under other settings do not describe the candidates' tables
    let mut unsampled = base.clone();
    unsampled.table_domains.clear();
    let base = &unsampled;
    let floats = samples.iter().map(|s| model.run_float(s)).collect::<Result<Vec<_>, _>>()?;
    let max_abs_output = floats.iter().flatten().flatten().fold(0f64, |m, &v| m.max(f64::from(v).abs()));
    let mut candidates = Vec::new();
    let mut first_err = None;
    for scale in SCALES {
        for step in PARAM_STEPS {
            let param = scale + step;
            match evaluate(model, samples, &floats, base, (scale, param), max_abs_output) {
                Ok(c) => candidates.extend(c),
                // a finer weight scale that does not work is only a worse option
                Err(_) if step > 0 => {}
                Err(e) => {
                    candidates.push(Candidate {
                        input_scale: scale,
                        param_scale: param,
                        lookup_bits: 0,
                        range_limbs: 1,
                        max_abs_error: f64::INFINITY,
                        max_abs_output,
                        note: e.to_string(),
                    });
                    // the smallest scale's failure is the one closest to fitting: report that one
                    first_err.get_or_insert(e);
                    break;
                }
            }
        }
    }
    let usable = |c: &&Candidate| c.note.is_empty();
    let chosen = match target {
        CalibrationTarget::Resources => candidates
            .iter()
            .filter(usable)
            .filter(|c| c.max_abs_error <= tolerance(max_abs_output))
            .min_by(|a, b| a.lookup_bits.cmp(&b.lookup_bits).then(a.max_abs_error.total_cmp(&b.max_abs_error))),
        CalibrationTarget::Accuracy => None,
    }
    .or_else(|| {
        candidates
            .iter()
            .filter(usable)
            .filter(|c| c.lookup_bits <= MAX_ACCURACY_BITS)
            .min_by(|a, b| a.max_abs_error.total_cmp(&b.max_abs_error))
    });
    let Some(chosen) = chosen.cloned() else {
        return Err(first_err
            .unwrap_or(CompileError::Calibration { reason: "no candidate scale fits the lookup table".into() }));
    };
    Ok(CalibrationReport { run_args: chosen.run_args(base), chosen_error: chosen.max_abs_error, candidates })
}

/// The smallest `bits` in `from..=to` at which `model` compiled under `args` (with those table
/// bits) runs every sample, with the largest output error against `floats` there.
fn fitting_bits(
    model: &OnnxModel,
    samples: &[Vec<Vec<f32>>],
    floats: &[Vec<Vec<f32>>],
    args: &RunArgs,
    (from, to): (u32, u32),
) -> Result<(u32, f64), CompileError> {
    let mut args = args.clone();
    let mut bits = from;
    loop {
        args.lookup_bits = bits;
        args.logrows = args.logrows.max(bits + 1);
        let graph = compile(model, &args)?;
        let shift_fits = graph.max_rescale_shift() <= args.range_bits();
        let traces = samples
            .iter()
            .map(|sample| {
                let q = quantize_inputs(&graph, sample)?;
                zkonnx_ir::run(&graph, &q, args.range_bits()).map_err(CompileError::from)
            })
            .collect::<Result<Vec<_>, _>>();
        match traces {
            Ok(traces) if shift_fits => return Ok((bits, output_error(&graph, &traces, floats))),
            Err(e) if bits >= to => return Err(e),
            _ if bits >= to => {
                return Err(CompileError::Calibration {
                    reason: format!("a rescale shift exceeds {} bits", args.range_bits()),
                })
            }
            _ => bits += 1,
        }
    }
}

/// Largest |dequantized output - float output| over the samples' traces.
fn output_error(graph: &zkonnx_ir::Graph, traces: &[zkonnx_ir::Trace], floats: &[Vec<Vec<f32>>]) -> f64 {
    let mut max_abs_error = 0f64;
    for (trace, float) in traces.iter().zip(floats) {
        let deq = dequantize_outputs(graph, &trace.outputs(graph));
        for (q, f) in deq.iter().flatten().zip(float.iter().flatten()) {
            max_abs_error = max_abs_error.max((q - f64::from(*f)).abs());
        }
    }
    max_abs_error
}

fn evaluate(
    model: &OnnxModel,
    samples: &[Vec<Vec<f32>>],
    floats: &[Vec<Vec<f32>>],
    base: &RunArgs,
    (scale, param): (u32, u32),
    max_abs_output: f64,
) -> Result<Vec<Candidate>, CompileError> {
    let mut args = base.clone();
    args.input_scale = scale;
    args.param_scale = param;
    args.lookup_bits = MAX_BITS;
    args.logrows = MAX_BITS + 1; // only to pass validation: the probe never builds a circuit
    let graph = compile(model, &args)?;
    let mut worst: Option<(usize, i128)> = None;
    let mut traces = Vec::with_capacity(samples.len());
    for sample in samples {
        let q = quantize_inputs(&graph, sample)?;
        let trace = zkonnx_ir::run(&graph, &q, MAX_BITS)?;
        if let Some((id, m)) = largest_checked(&graph, &trace) {
            if worst.is_none_or(|(_, w)| m > w) {
                worst = Some((id, m));
            }
        }
        traces.push(trace);
    }
    let magnitude = worst.map_or(0, |(_, m)| m);
    // sign bit + magnitude bits + one bit of headroom; a rescale's remainder needs as many bits
    // as its shift (a graph with lookups can have shifts that depend on the table's size:
    // `fitting_bits` below checks those at the chosen size)
    let bits = (128 - magnitude.leading_zeros()) + 2;
    let shifts = if graph.has_lookups() { scale + 1 } else { graph.max_rescale_shift() };
    let lookup_bits = bits.max(scale + 1).max(shifts).max(8);
    if lookup_bits > MAX_BITS {
        let layer = worst
            .map(|(id, _)| &graph.nodes[id])
            .map_or(String::new(), |n| format!(" at layer `{}` ({}, {})", n.name, n.origin, n.op.kind()));
        let real = magnitude as f64 / 2f64.powi(scale as i32);
        return Err(CompileError::Calibration {
            reason: format!(
                "scale {scale}: values reach {magnitude} (|x| = {real:.1}){layer}, beyond a {MAX_BITS}-bit table; \
                 normalise the model's inputs, lower the scales (--input-scale/--param-scale) or split the model there"
            ),
        });
    }
    let candidate = |lookup_bits, range_limbs, max_abs_error| Candidate {
        input_scale: scale,
        param_scale: param,
        lookup_bits,
        range_limbs,
        max_abs_error,
        max_abs_output,
        note: String::new(),
    };
    if !graph.has_lookups() {
        // two limbs of B bits hold 2B-bit values and shifts up to 2B
        let wide_bits = bits.div_ceil(2).max(graph.max_rescale_shift().div_ceil(2)).max(MIN_WIDE_BITS);
        let max_abs_error = output_error(&graph, &traces, floats);
        let mut out = vec![candidate(lookup_bits, 1, max_abs_error)];
        if wide_bits < lookup_bits {
            out.push(candidate(wide_bits, 2, max_abs_error));
        }
        return Ok(out);
    }
    // function tables are sized from lookup_bits too, and two-limb lookups interpolate: the
    // graph differs from the probe's, so each candidate is compiled, fitted (widening the
    // table a bit at a time where the samples do not fit) and measured at its own size
    let (one_bits, one_error) = fitting_bits(model, samples, floats, &args, (lookup_bits, MAX_BITS))?;
    let mut out = vec![candidate(one_bits, 1, one_error)];
    // the probe's one-limb graph is no guide to the two-limb one (its reciprocals sit at up to
    // 2S bits): start from the smallest table that holds a value of 1 at scale S
    let wide_bits = (scale + 2).div_ceil(2).max(MIN_WIDE_BITS);
    if wide_bits < one_bits {
        let mut wide = args.clone();
        wide.range_limbs = 2;
        // a two-limb candidate that cannot fit below the one-limb table is only a worse option
        if let Ok((bits, error)) = fitting_bits(model, samples, floats, &wide, (wide_bits, one_bits - 1)) {
            out.push(candidate(bits, 2, error));
        }
    }
    Ok(out)
}
