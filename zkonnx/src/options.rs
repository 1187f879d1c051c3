//! What a caller may pin of the settings: quantization, layout, visibilities, symbolic
//! dimensions. Everything left `None` is chosen by calibration and the layout optimizer.

use std::collections::BTreeMap;

use zkonnx_circuits::cost::Objective;
pub use zkonnx_ir::DEFAULT_TABLE_MARGIN;
use zkonnx_ir::{RunArgs, Visibility};

use crate::{Error, Result};

/// What calibration optimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// The smallest circuit whose output error is within tolerance (then more precision where
    /// it costs no proving time).
    #[default]
    Resources,
    /// The smallest output error.
    Accuracy,
}

impl std::str::FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "resources" => Ok(Target::Resources),
            "accuracy" => Ok(Target::Accuracy),
            _ => {
                Err(Error::Option { option: "target".into(), reason: format!("`{s}`: expected resources or accuracy") })
            }
        }
    }
}

/// What the layout optimizer minimizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Optimize {
    /// Predicted prove time.
    #[default]
    Time,
    /// Predicted EVM verify gas (zkonnx's verifier), within [`Options::max_prove_ms`] when set:
    /// for proofs checked on-chain, where every verification pays it.
    Gas,
}

impl std::str::FromStr for Optimize {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "time" => Ok(Optimize::Time),
            "gas" => Ok(Optimize::Gas),
            _ => Err(Error::Option { option: "--optimize".into(), reason: format!("`{s}`: expected time or gas") }),
        }
    }
}

/// Settings the caller pins; `None` leaves a value to calibration and the layout optimizer.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Options {
    /// Fractional bits of inputs and activations.
    pub input_scale: Option<u32>,
    /// Fractional bits of weights.
    pub param_scale: Option<u32>,
    /// Bits of the range table.
    pub lookup_bits: Option<u32>,
    /// Limbs of a range check (1 or 2).
    pub range_limbs: Option<u32>,
    /// log2 of the circuit's rows.
    pub logrows: Option<u32>,
    /// Lanes of advice columns (the circuit's width).
    pub lanes: Option<usize>,
    /// Lanes with the range, rescale and function lookups.
    pub lookup_lanes: Option<usize>,
    /// `private` (default) or `public`.
    pub input_visibility: Option<Visibility>,
    /// `public` (default) or `private`.
    pub output_visibility: Option<Visibility>,
    /// `fixed` (default) or `private`.
    pub param_visibility: Option<Visibility>,
    /// Values of symbolic ONNX dimensions (`N` -> 4; unnamed ones as `<input>.<axis>`).
    pub dims: BTreeMap<String, usize>,
    /// What calibration optimizes.
    pub target: Target,
    /// What the layout optimizer minimizes.
    pub optimize: Optimize,
    /// With [`Optimize::Gas`]: the longest predicted prove time (milliseconds) a layout may take.
    pub max_prove_ms: Option<u64>,
    /// How far beyond the range the calibration samples reach each function table extends, as
    /// a multiple of that range's width on each side (`None`: [`DEFAULT_TABLE_MARGIN`]);
    /// infinite: the compiler's domains (a plain function's table spans the activation range).
    /// See `zkonnx_ir::tables`.
    pub table_margin: Option<f64>,
}

impl Options {
    /// No pins: everything chosen by calibration and the layout optimizer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether quantization is pinned (any scale, the table bits or the limbs): then the
    /// pipeline does not calibrate.
    pub fn pins_quantization(&self) -> bool {
        self.input_scale.is_some()
            || self.param_scale.is_some()
            || self.lookup_bits.is_some()
            || self.range_limbs.is_some()
    }

    /// These pins applied over `base`.
    pub fn apply(&self, mut base: RunArgs) -> RunArgs {
        let set = |dst: &mut u32, v: Option<u32>| {
            if let Some(v) = v {
                *dst = v;
            }
        };
        set(&mut base.input_scale, self.input_scale);
        set(&mut base.param_scale, self.param_scale);
        set(&mut base.lookup_bits, self.lookup_bits);
        set(&mut base.range_limbs, self.range_limbs);
        set(&mut base.logrows, self.logrows);
        if let Some(l) = self.lanes {
            base.lanes = l;
        }
        if let Some(m) = self.lookup_lanes {
            base.lookup_lanes = Some(m);
        }
        if let Some(v) = self.input_visibility {
            base.input_visibility = v;
        }
        if let Some(v) = self.output_visibility {
            base.output_visibility = v;
        }
        if let Some(v) = self.param_visibility {
            base.param_visibility = v;
        }
        base.dims.extend(self.dims.iter().map(|(k, v)| (k.clone(), *v)));
        base
    }

    /// The run arguments: the defaults with these pins.
    pub fn run_args(&self) -> RunArgs {
        self.apply(RunArgs::default())
    }

    /// The table margin in effect: the option, else [`DEFAULT_TABLE_MARGIN`].
    pub fn table_margin(&self) -> f64 {
        self.table_margin.unwrap_or(DEFAULT_TABLE_MARGIN)
    }

    /// What the layout optimizer must keep.
    #[cfg(feature = "onnx")]
    pub(crate) fn layout_policy(&self) -> LayoutPolicy {
        LayoutPolicy {
            keep_lanes: self.lanes.is_some(),
            keep_lookup_lanes: self.lookup_lanes.is_some(),
            objective: self.objective(),
        }
    }

    /// The layout optimizer's objective for these options.
    pub fn objective(&self) -> Objective {
        match self.optimize {
            Optimize::Time => Objective::ProveTime,
            Optimize::Gas => Objective::VerifyGas { max_prove_ms: self.max_prove_ms },
        }
    }
}

/// What the caller pinned of the circuit's shape; the layout optimizer chooses the rest.
#[cfg(feature = "onnx")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct LayoutPolicy {
    /// The lanes in the run args stay (logrows becomes the smallest that fits).
    pub(crate) keep_lanes: bool,
    /// The lookup lanes in the run args stay.
    pub(crate) keep_lookup_lanes: bool,
    /// What the optimizer minimizes.
    pub(crate) objective: Objective,
}

/// Parses a table margin: a non-negative number (a multiple of the sampled range's width, see
/// [`Options::table_margin`]) or `full` (the compiler's domains).
pub fn parse_table_margin(s: &str) -> Result<f64> {
    let bad = || Error::Option {
        option: "table_margin".into(),
        reason: format!("`{s}` is not a non-negative number or `full`"),
    };
    match s.trim() {
        "full" => Ok(f64::INFINITY),
        t => t.parse::<f64>().ok().filter(|m| *m >= 0.0 && !m.is_nan()).ok_or_else(bad),
    }
}

/// Parses `NAME=VALUE` pairs for symbolic dimensions (the CLI's `--dim`).
pub fn parse_dims(dims: &[String]) -> Result<BTreeMap<String, usize>> {
    dims.iter()
        .map(|d| {
            let bad = |reason: String| Error::Option { option: format!("--dim {d}"), reason };
            let (k, v) = d.split_once('=').ok_or_else(|| bad("expected NAME=VALUE".into()))?;
            let v: usize = v.parse().map_err(|_| bad(format!("`{v}` is not a size")))?;
            if v == 0 {
                return Err(bad("a dimension must be at least 1".into()));
            }
            Ok((k.to_string(), v))
        })
        .collect()
}

/// Parses a visibility: `private`, `public`, `fixed`, `hashed` (and, spelled EZKL's way, the
/// same).
pub fn parse_visibility(s: &str) -> Result<Visibility> {
    match s {
        "private" => Ok(Visibility::Private),
        "public" => Ok(Visibility::Public),
        "fixed" => Ok(Visibility::Fixed),
        "hashed" => Ok(Visibility::Hashed),
        _ => Err(Error::Option {
            option: "visibility".into(),
            reason: format!("`{s}`: expected private, public, fixed or hashed"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dims_parse_and_bad_ones_are_named() {
        let d = parse_dims(&["N=4".into(), "x.0=2".into()]).unwrap();
        assert_eq!(d.get("N"), Some(&4));
        for bad in ["N", "N=x", "N=0"] {
            let e = parse_dims(&[bad.into()]).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn pins_apply_over_the_defaults() {
        let o = Options { lanes: Some(3), input_scale: Some(9), ..Options::default() };
        let a = o.run_args();
        assert_eq!((a.lanes, a.input_scale, a.param_scale), (3, 9, RunArgs::default().param_scale));
        assert!(o.pins_quantization());
        assert!(!Options::default().pins_quantization());
    }
}
