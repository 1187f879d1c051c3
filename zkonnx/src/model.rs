//! ONNX models: loading, calibration, settings and compilation (feature `onnx`, which links
//! tract through `zkonnx-compiler`; no tract type appears here).

use std::collections::BTreeMap;
use std::path::Path;

use zkonnx_circuits::cost::Shape;
use zkonnx_circuits::CircuitParams;
use zkonnx_compiler::{layer_stats, CalibrationTarget, Candidate, LayerStat, OnnxModel};
use zkonnx_ir::{Graph, LayoutInfo, ModelInfo, RunArgs, Settings};
use zkonnx_verifier::CompiledModel;

use zkonnx_circuits::cost::{choose_layout, fit_lookup_lanes, job_rows};
use zkonnx_circuits::CircuitError;
use zkonnx_ir::limits::{MAX_LANES, MAX_LOGROWS};

use crate::layout::{check_k, finish_compiled, layout_info, objective_name};
use crate::options::{LayoutPolicy, Options, Target};
use crate::Result;

/// An ONNX model with every symbolic dimension fixed, ready to calibrate and compile.
#[derive(Debug)]
pub struct Model {
    onnx: OnnxModel,
}

/// Calibration's choice with everything it tried.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Calibrated {
    /// The chosen settings (scales, table, layout, logrows).
    pub settings: Settings,
    /// Every candidate calibration evaluated, with its error (or why it was rejected).
    pub candidates: Vec<Candidate>,
    /// Largest output error of the choice over the samples.
    pub max_abs_error: f64,
    /// `Some(error before)` when a more accurate candidate was taken because it fits the proving
    /// budget (`resources` target only).
    pub more_precision_from: Option<f64>,
}

impl Model {
    /// Loads an ONNX file; `dims` fixes symbolic dimensions (unset ones are 1).
    pub fn load(path: impl AsRef<Path>, dims: &BTreeMap<String, usize>) -> Result<Self> {
        Ok(Self { onnx: OnnxModel::load(path.as_ref(), dims)? })
    }

    /// Loads an ONNX model from bytes (`name` labels it in errors).
    pub fn from_bytes(bytes: &[u8], name: &str, dims: &BTreeMap<String, usize>) -> Result<Self> {
        Ok(Self { onnx: OnnxModel::from_bytes(bytes, name, dims)? })
    }

    /// The shape of each model input.
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.onnx.input_shapes()
    }

    /// The shape of each model output.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.onnx.output_shapes()
    }

    /// Float inference (tract): the oracle the quantized model is compared with.
    pub fn run_float(&self, inputs: &[Vec<f32>]) -> Result<Vec<Vec<f32>>> {
        Ok(self.onnx.run_float(inputs)?)
    }

    /// Lowers the model to the IR under `args` (no layout).
    pub fn lower(&self, args: &RunArgs) -> Result<Graph> {
        Ok(zkonnx_compiler::compile(&self.onnx, args)?)
    }

    /// Settings without calibration: the defaults with the caller's pins; the layout optimizer
    /// picks lanes and logrows unless pinned (`gen-settings`).
    pub fn default_settings(&self, options: &Options) -> Result<Settings> {
        let mut args = options.run_args();
        if options.logrows.is_none() {
            // the layout decides logrows; it only has to start above the table
            args.logrows = args.logrows.max(args.lookup_bits + 1);
        }
        args.validate()?;
        let mut info = self.model_info();
        if options.logrows.is_none() {
            info.layout = Some(self.fit_layout(&mut args, options.layout_policy())?);
            args.validate()?;
        }
        Ok(Settings::new(args, info))
    }

    /// The settings `run` uses: calibrated on `samples` unless the options pin quantization; the
    /// layout optimizer picks what the options leave open.
    pub fn settings(&self, samples: &[Vec<Vec<f32>>], options: &Options) -> Result<Settings> {
        if !options.pins_quantization() {
            return Ok(self.calibrate(samples, options)?.settings);
        }
        let mut args = options.run_args();
        let mut info = ModelInfo::default();
        let graph = self.sample_tables(&mut args, &Sampling::of(samples, options))?;
        if options.logrows.is_none() {
            info.layout = Some(fit_graph(&graph, &mut args, options.layout_policy())?);
        }
        Ok(Settings::new(args, info))
    }

    /// Calibrates scales, table bits and range limbs on `samples` (each a list of model inputs),
    /// sizes each function table to the range the samples reach (widened by the options' table
    /// margin, see `zkonnx_ir::tables`), then lays the circuit out; with the `resources` target,
    /// takes a more accurate candidate when it fits the proving budget ([`crate::calibration`]).
    pub fn calibrate(&self, samples: &[Vec<Vec<f32>>], options: &Options) -> Result<Calibrated> {
        let base = options.run_args();
        let target = match options.target {
            Target::Resources => CalibrationTarget::Resources,
            Target::Accuracy => CalibrationTarget::Accuracy,
        };
        let report = zkonnx_compiler::calibrate(&self.onnx, samples, &base, target)?;
        let policy = options.layout_policy();
        let sampling = Sampling::of(samples, options);
        let mut run_args = report.run_args;
        let mut error = report.chosen_error;
        let mut layout = self.fit_sampled_layout(&mut run_args, policy, &sampling)?;
        let mut more_precision_from = None;
        if options.target == Target::Resources {
            let current = (&run_args, error);
            if let Some((args, finer, e)) = self.more_precision(&report.candidates, current, &layout, policy, &sampling)
            {
                more_precision_from = Some(error);
                (run_args, layout, error) = (args, finer, e);
            }
        }
        run_args.validate()?;
        let mut info = self.model_info();
        info.layout = Some(layout);
        Ok(Calibrated {
            settings: Settings::new(run_args, info),
            candidates: report.candidates,
            max_abs_error: error,
            more_precision_from,
        })
    }

    /// Each ONNX node's output scale, value range and largest error against float inference
    /// under `args` (the per-layer calibration table).
    pub fn layer_stats(&self, args: &RunArgs, samples: &[Vec<Vec<f32>>]) -> Result<Vec<LayerStat>> {
        Ok(layer_stats(&self.onnx, args, samples)?)
    }

    /// Compiles under `settings` and fills their model facts: the compiled model artifact
    /// (which holds the final settings).
    pub fn compile(&self, settings: Settings) -> Result<CompiledModel> {
        settings.run_args.validate()?;
        let graph = zkonnx_compiler::compile(&self.onnx, &settings.run_args)?;
        finish_compiled(graph, settings)
    }

    fn model_info(&self) -> ModelInfo {
        let mut info = ModelInfo::default();
        info.input_shapes = self.onnx.input_shapes();
        info.output_shapes = self.onnx.output_shapes();
        info
    }

    /// Compiles under `args` and fits the layout.
    fn fit_layout(&self, args: &mut RunArgs, policy: LayoutPolicy) -> Result<LayoutInfo> {
        let graph = zkonnx_compiler::compile(&self.onnx, args)?;
        fit_graph(&graph, args, policy)
    }

    /// [`Model::sample_tables`], then fits the layout.
    fn fit_sampled_layout(
        &self,
        args: &mut RunArgs,
        policy: LayoutPolicy,
        sampling: &Sampling<'_>,
    ) -> Result<LayoutInfo> {
        let graph = self.sample_tables(args, sampling)?;
        fit_graph(&graph, args, policy)
    }

    /// Compiles under `args` and sizes each function table to what the samples reach (sets
    /// `args.table_domains`, see `zkonnx_ir::tables`): the compiled graph with those tables.
    /// Without samples or lookups, or with an infinite margin, the compiler's domains stay.
    fn sample_tables(&self, args: &mut RunArgs, sampling: &Sampling<'_>) -> Result<Graph> {
        args.table_domains.clear();
        let mut graph = zkonnx_compiler::compile(&self.onnx, args)?;
        if sampling.samples.is_empty() || !sampling.margin.is_finite() || !graph.has_lookups() {
            return Ok(graph);
        }
        let traces = sampling
            .samples
            .iter()
            .map(|s| zkonnx_ir::run(&graph, &zkonnx_ir::quantize_inputs(&graph, s)?, args.range_bits()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if let Some(domains) = zkonnx_ir::sampled_domains(&graph, &traces, sampling.margin) {
            graph.apply_table_domains(&domains)?;
            args.table_domains = domains;
        }
        Ok(graph)
    }

    /// A more accurate candidate within the proving budget: the larger of the current circuit's
    /// predicted time and [`PRECISION_BUDGET_MS`] (`None` if none beats `current`'s error). The
    /// layout often needs more rows than the range table, and then a finer scale with a larger
    /// table (or two-limb range checks) comes free.
    ///
    /// Takes the predicted-fastest candidate whose error is fine ([`FINE_ERROR`]) if one fits the
    /// budget (fitting the layouts of the [`PRECISION_TRIES`] least accurate fine ones), else the
    /// most accurate that does (fitting at most three times as many, skipping those no smaller
    /// than one that did not fit). Only candidates whose empty circuit (the table alone, one
    /// lane) fits the budget are tried.
    fn more_precision(
        &self,
        candidates: &[Candidate],
        (args, current): (&RunArgs, f64),
        layout: &LayoutInfo,
        policy: LayoutPolicy,
        sampling: &Sampling<'_>,
    ) -> Option<(RunArgs, LayoutInfo, f64)> {
        let budget = layout.predicted_prove_ms.max(PRECISION_BUDGET_MS) as f64;
        let table_alone = |c: &Candidate| {
            let p = CircuitParams { k: c.lookup_bits + 1, lanes: 1, ..CircuitParams::from_run_args(args) };
            Shape::with_rows(&p, 0).predicted_prove_seconds() * 1000.0
        };
        let mut better: Vec<&Candidate> = candidates
            .iter()
            .filter(|c| c.note.is_empty() && c.max_abs_error < current && table_alone(c) <= budget)
            .collect();
        better.sort_by(|a, b| a.max_abs_error.total_cmp(&b.max_abs_error));
        let fit = |c: &&Candidate| {
            let mut finer = c.run_args(args);
            let l = self.fit_sampled_layout(&mut finer, policy, sampling).ok()?;
            let within = l.predicted_prove_ms as f64 <= budget;
            (within && finer.validate().is_ok()).then_some((finer, l, c.max_abs_error))
        };
        let fine = |c: &&&Candidate| c.max_abs_error <= FINE_ERROR * c.max_abs_output.max(1.0);
        // the least accurate fine candidates first: they tend to be the cheapest
        let cheapest_fine = better
            .iter()
            .rev()
            .filter(fine)
            .take(PRECISION_TRIES)
            .filter_map(fit)
            .min_by_key(|(_, l, _)| l.predicted_prove_ms);
        cheapest_fine.or_else(|| {
            // the most accurate of the rest that fits; a candidate with the same limbs and at
            // least the table bits and scale of one that did not fit is skipped unfitted (its
            // circuit is no smaller)
            let mut failed: Vec<&Candidate> = Vec::new();
            let mut tries = 0;
            for c in better.iter().filter(|c| !fine(c)) {
                let dominated = failed.iter().any(|f| {
                    f.range_limbs == c.range_limbs && f.lookup_bits <= c.lookup_bits && f.input_scale <= c.input_scale
                });
                if dominated {
                    continue;
                }
                if tries == 3 * PRECISION_TRIES {
                    return None;
                }
                tries += 1;
                match fit(c) {
                    Some(found) => return Some(found),
                    None => failed.push(c),
                }
            }
            None
        })
    }
}

/// The calibration samples and the margin around the range they reach that function tables get.
struct Sampling<'a> {
    samples: &'a [Vec<Vec<f32>>],
    margin: f64,
}

impl<'a> Sampling<'a> {
    fn of(samples: &'a [Vec<Vec<f32>>], options: &Options) -> Self {
        Self { samples, margin: options.table_margin() }
    }
}

/// Layouts `more_precision` fits at most per pass (each compiles the model once).
const PRECISION_TRIES: usize = 6;
/// Predicted proving time (on the reference machine, 2 cores) that `resources` calibration
/// always allows for precision. A few seconds buy fine scales for a small model: with function
/// tables (exp, tanh, ...) two-limb circuits need logrows 13 to 14 for `2^-13`-scale outputs,
/// 1 to 2.5 s here. It stays below a quarter of the smallest proof EZKL makes with function
/// tables on that machine (the tiny LSTM, 11.7 s); EZKL's smallest proof of all is 4.5 s
/// (logrows 15), but a model without function tables reaches fine precision far below the
/// budget, where the search stops (see [`FINE_ERROR`]).
const PRECISION_BUDGET_MS: u64 = 2500;
/// Output error, relative to the largest output magnitude (at least 1), that counts as fine:
/// among the candidates at or below it, `more_precision` takes the cheapest, not the most
/// accurate, so precision nobody needs costs no proving time.
const FINE_ERROR: f64 = 1e-5;

/// Chooses the circuit's shape for `graph` (compiled under `args`): the layout optimizer sets
/// `args.lanes` (unless the policy keeps them), `args.lookup_lanes` (unless kept) and
/// `args.logrows`, the smallest that fits. Refuses a circuit above the supported maximum.
/// Returns the layout record for the settings.
pub(crate) fn fit_graph(graph: &Graph, args: &mut RunArgs, policy: LayoutPolicy) -> Result<LayoutInfo> {
    if !policy.keep_lookup_lanes {
        args.lookup_lanes = None;
    }
    let params = CircuitParams::for_graph(args, graph);
    if !policy.keep_lanes {
        return match choose_layout(graph, &params, MAX_LANES, MAX_LOGROWS, policy.objective) {
            Ok(choice) => {
                args.lanes = choice.chosen.lanes;
                args.lookup_lanes = Some(choice.chosen.lookup_lanes);
                args.logrows = choice.chosen.k;
                Ok(layout_info(&choice.chosen, graph, &params, "optimizer".into(), objective_name(policy.objective)))
            }
            // nothing fits: report the smallest k the widest layout needs
            Err(CircuitError::NoLayout { .. }) => {
                args.lanes = MAX_LANES;
                fit_graph(graph, args, LayoutPolicy { keep_lanes: true, ..policy })
            }
            Err(e) => Err(e.into()),
        };
    }
    let lookup_rows = if policy.keep_lookup_lanes { None } else { Some(job_rows(graph, &params)?[0]) };
    let (params, rows) = fit_lookup_lanes(graph, params, lookup_rows)?;
    args.logrows = params.k;
    args.lookup_lanes = Some(params.lookup_lane_count());
    check_k(args.logrows, rows, args.lookup_bits)?;
    let shape = Shape::with_rows(&params, rows);
    // the caller pinned the width: the optimizer minimized nothing
    Ok(layout_info(&shape, graph, &params, "flags".into(), ""))
}
