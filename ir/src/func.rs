//! Non-linear functions proved by table lookup ([`crate::Op::Lookup`]).
//!
//! A [`Func`] maps every integer `x` of its domain `[lo, hi]` (at scale `in_scale`) to
//! `round(f(x / 2^in_scale) * 2^out_scale)`, saturated to `±OUT_LIMIT`. The circuit proves a
//! lookup by finding `(tag, x, y)` in a fixed table that lists exactly these pairs, so the
//! table's contents are part of the verifying key and must be computed bit-identically on every
//! machine: the float functions come from the `libm` crate (pure Rust, no platform libm), and
//! [`Func::eval`] is the only place a table value is computed.
//!
//! Why a table and not a decomposition: the functions here (exp, erf, tanh, ...) have no cheap
//! polynomial form in a field; one lookup row per element, with the input already range-checked
//! by the same lookup (it must be in the domain), is the cheapest sound check. The domain is
//! sized to the range the input can reach (by default the activation range `[-2^(B-1), 2^(B-1))`),
//! so a table costs `hi - lo + 1` rows.
//!
//! Points where `f` is undefined get a fixed, documented value: a NaN result (`sqrt` or `log`
//! of a negative number, `acos` outside `[-1, 1]`) is 0, and infinities saturate.
//!
//! A [`Func`] with `difference` set tabulates the forward difference `eval(x + 1) - eval(x)` of
//! the same function instead. The compiler pairs the two to interpolate linearly between table
//! knots when the input is finer than the table (two-limb range checks, where activations have
//! twice the table's bits): see `zkonnx_compiler`'s `ops::nonlinear`.

use serde::{Deserialize, Serialize};

/// Largest magnitude a table output may have: `2^40` keeps every product of two table outputs
/// and any weight far inside the interpreter's 62-bit bound.
pub const OUT_LIMIT: i64 = 1 << 40;

/// Largest number of rows one function's table may have.
pub const MAX_TABLE_ROWS: u64 = 1 << 24;

/// Which function a [`Func`] tabulates (exhaustive: every crate matches it without a wildcard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FuncKind {
    Exp,
    /// Natural logarithm.
    Log,
    Sqrt,
    /// `1 / sqrt(x)` (LayerNormalization's normaliser).
    Rsqrt,
    /// `1 / x` (Reciprocal, division by a tensor, Softmax's normaliser).
    Reciprocal,
    Sigmoid,
    Tanh,
    Erf,
    /// `x * Phi(x)`, the exact GELU.
    Gelu,
    /// GELU's tanh approximation.
    GeluTanh,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// `x * sigmoid(x)` (Swish).
    Silu,
    /// `x` for `x > 0`, `alpha * (e^x - 1)` otherwise.
    Elu,
    /// SELU with ONNX's default constants (`alpha` is unused).
    Selu,
    /// `max(0, x) + min(0, alpha * (e^(x/alpha) - 1))`.
    Celu,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Asinh,
    Acosh,
    Atanh,
    /// `x^alpha` for a constant exponent (Pow); negative bases only for integral exponents.
    Pow,
    /// Round half to even (ONNX `Round`).
    Round,
    /// `x rem alpha`, with the sign of `x` (C's `fmod`: ONNX `Mod` with `fmod = 1`, and the
    /// first step of its integer form).
    Fmod,
    /// `trunc(x / alpha)`: ONNX `Div` of integers by a constant (the quotient rounded toward
    /// zero, as C and tract divide integers).
    Quotient,
}

/// One tabulated function: what it computes, at which scales, over which input domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Func {
    pub kind: FuncKind,
    /// Scale of the input tensor.
    pub in_scale: u32,
    /// Scale of the output (the node's scale).
    pub out_scale: u32,
    /// The function's constant parameter as `f32` bits (Elu's and Celu's alpha, Pow's
    /// exponent); 0 for functions without one.
    pub alpha_bits: u32,
    /// Smallest input in the table.
    pub lo: i64,
    /// Largest input in the table.
    pub hi: i64,
    /// Whether the table holds the forward difference `f(x + 1) - f(x)` (each side rounded
    /// and saturated as below) instead of `f(x)`.
    #[serde(default)]
    pub difference: bool,
    /// For a piece of a function split around a region tabulated point by point (the compiler's
    /// `fine_region`): the tensor whose values this lookup's input clamps to `[lo, hi]` (read at
    /// this function's input scale). Calibration widens that tensor's sampled range by the margin
    /// and clamps it to the piece (see [`crate::tables`]), so a piece no sample comes near keeps
    /// one row where it parks instead of a margin of its own. `None` for a plain lookup.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clamped_from: Option<usize>,
}

impl Func {
    /// A function over `[lo, hi]` without a constant parameter.
    pub fn new(kind: FuncKind, in_scale: u32, out_scale: u32, lo: i64, hi: i64) -> Self {
        Self { kind, in_scale, out_scale, alpha_bits: 0, lo, hi, difference: false, clamped_from: None }
    }

    /// The same function's forward-difference table (see the module docs).
    pub fn difference(self) -> Self {
        Self { difference: true, ..self }
    }

    /// Whether linear interpolation between this function's knots approximates it: false for
    /// the step functions (`Round`, `Fmod`, `Quotient`), whose jumps interpolation would smear.
    pub fn interpolates(&self) -> bool {
        !matches!(self.kind, FuncKind::Round | FuncKind::Fmod | FuncKind::Quotient)
    }

    /// The same function with constant parameter `alpha`.
    pub fn with_alpha(self, alpha: f32) -> Self {
        Self { alpha_bits: alpha.to_bits(), ..self }
    }

    /// The constant parameter.
    pub fn alpha(&self) -> f64 {
        f64::from(f32::from_bits(self.alpha_bits))
    }

    /// Rows of this function's table (`hi - lo + 1`), or `None` for an empty or oversized
    /// domain.
    pub fn table_rows(&self) -> Option<u64> {
        let n = i128::from(self.hi) - i128::from(self.lo) + 1;
        (1..=i128::from(MAX_TABLE_ROWS)).contains(&n).then_some(n as u64)
    }

    /// Whether `x` is in the table.
    pub fn contains(&self, x: i64) -> bool {
        (self.lo..=self.hi).contains(&x)
    }

    /// The real function.
    pub fn real(&self, x: f64) -> f64 {
        let a = self.alpha();
        match self.kind {
            FuncKind::Exp => libm::exp(x),
            FuncKind::Log => libm::log(x),
            FuncKind::Sqrt => libm::sqrt(x),
            FuncKind::Rsqrt => 1.0 / libm::sqrt(x),
            FuncKind::Reciprocal => 1.0 / x,
            FuncKind::Sigmoid => sigmoid(x),
            FuncKind::Tanh => libm::tanh(x),
            FuncKind::Erf => libm::erf(x),
            FuncKind::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
            FuncKind::GeluTanh => {
                let c = libm::sqrt(2.0 / std::f64::consts::PI);
                0.5 * x * (1.0 + libm::tanh(c * (x + 0.044715 * x * x * x)))
            }
            FuncKind::Softplus => softplus(x),
            FuncKind::Softsign => x / (1.0 + x.abs()),
            FuncKind::Mish => x * libm::tanh(softplus(x)),
            FuncKind::Silu => x * sigmoid(x),
            FuncKind::Elu => {
                if x > 0.0 {
                    x
                } else {
                    a * libm::expm1(x)
                }
            }
            FuncKind::Selu => {
                let (alpha, gamma) = (1.673_263_192_176_818_8, 1.050_701_022_148_132_3);
                gamma * if x > 0.0 { x } else { alpha * libm::expm1(x) }
            }
            FuncKind::Celu => x.max(0.0) + (a * libm::expm1(x / a)).min(0.0),
            FuncKind::Sin => libm::sin(x),
            FuncKind::Cos => libm::cos(x),
            FuncKind::Tan => libm::tan(x),
            FuncKind::Asin => libm::asin(x),
            FuncKind::Acos => libm::acos(x),
            FuncKind::Atan => libm::atan(x),
            FuncKind::Sinh => libm::sinh(x),
            FuncKind::Cosh => libm::cosh(x),
            FuncKind::Asinh => libm::asinh(x),
            FuncKind::Acosh => libm::acosh(x),
            FuncKind::Atanh => libm::atanh(x),
            FuncKind::Pow => libm::pow(x, a),
            FuncKind::Round => libm::rint(x),
            FuncKind::Fmod => libm::fmod(x, a),
            FuncKind::Quotient => libm::trunc(x / a),
        }
    }

    /// The table's value at `x`: `round(f(x / 2^in_scale) * 2^out_scale)`, saturated to
    /// `±OUT_LIMIT`, with a NaN mapped to 0; for a `difference` table, that value at `x + 1`
    /// minus the one at `x`.
    pub fn eval(&self, x: i64) -> i64 {
        if self.difference {
            self.point(x.saturating_add(1)) - self.point(x)
        } else {
            self.point(x)
        }
    }

    /// The function's value at `x` in units of the output, before the table rounds it:
    /// `f(x / 2^in_scale) * 2^out_scale`, saturated to `±OUT_LIMIT`, a NaN read as 0 (what
    /// [`Func::eval`] rounds, for a table of values).
    pub fn unrounded(&self, x: i64) -> f64 {
        let real = x as f64 / pow2(self.in_scale);
        let y = self.real(real) * pow2(self.out_scale);
        if y.is_nan() {
            0.0
        } else {
            y.clamp(-(OUT_LIMIT as f64), OUT_LIMIT as f64)
        }
    }

    fn point(&self, x: i64) -> i64 {
        self.unrounded(x).round() as i64
    }
}

fn pow2(s: u32) -> f64 {
    libm::exp2(f64::from(s))
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::exp(-x))
    } else {
        let e = libm::exp(x);
        e / (1.0 + e)
    }
}

fn softplus(x: f64) -> f64 {
    // ln(1 + e^x) without overflow: x + ln(1 + e^-x) for positive x
    if x > 0.0 {
        x + libm::log1p(libm::exp(-x))
    } else {
        libm::log1p(libm::exp(x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_and_saturate() {
        let exp = Func::new(FuncKind::Exp, 7, 7, -1024, 1023);
        assert_eq!(exp.eval(0), 128);
        assert_eq!(exp.eval(128), (std::f64::consts::E * 128.0).round() as i64);
        assert_eq!(exp.eval(-1024), 0);
        let exp_big = Func::new(FuncKind::Exp, 0, 7, 0, 100);
        assert_eq!(exp_big.eval(100), OUT_LIMIT);
        let recip = Func::new(FuncKind::Reciprocal, 7, 14, -10, 10);
        assert_eq!(recip.eval(0), OUT_LIMIT);
        assert_eq!(recip.eval(128), 1 << 14);
        assert_eq!(recip.eval(-64), -(1 << 15));
        let sqrt = Func::new(FuncKind::Sqrt, 4, 4, -16, 16);
        assert_eq!(sqrt.eval(-16), 0); // NaN -> 0
        let elu = Func::new(FuncKind::Elu, 7, 7, -512, 512).with_alpha(0.5);
        assert_eq!(elu.eval(100), 100);
        assert_eq!(elu.eval(-128), (0.5 * (libm::exp(-1.0) - 1.0) * 128.0_f64).round() as i64);
    }

    #[test]
    fn domains_are_checked() {
        assert_eq!(Func::new(FuncKind::Tanh, 7, 7, -4, 3).table_rows(), Some(8));
        assert_eq!(Func::new(FuncKind::Tanh, 7, 7, 4, 3).table_rows(), None);
        assert_eq!(Func::new(FuncKind::Tanh, 7, 7, 0, 1 << 24).table_rows(), None);
        assert!(Func::new(FuncKind::Tanh, 7, 7, -4, 3).contains(-4));
        assert!(!Func::new(FuncKind::Tanh, 7, 7, -4, 3).contains(4));
    }

    #[test]
    fn difference_tables_hold_forward_differences() {
        let tanh = Func::new(FuncKind::Tanh, 3, 10, -16, 15);
        let d = tanh.difference();
        assert_ne!(tanh, d);
        for x in -16..=15 {
            assert_eq!(d.eval(x), tanh.eval(x + 1) - tanh.eval(x));
        }
        // both sides saturate: the difference stays within 2 * OUT_LIMIT
        let recip = Func::new(FuncKind::Reciprocal, 0, 7, -1, 1).difference();
        assert_eq!(recip.eval(-1), OUT_LIMIT + 128);
        assert!(tanh.interpolates() && !Func::new(FuncKind::Round, 3, 3, 0, 1).interpolates());
    }

    #[test]
    fn integer_quotients_round_toward_zero() {
        let by2 = Func::new(FuncKind::Quotient, 0, 0, -8, 8).with_alpha(2.0);
        let got: Vec<i64> = [-5, -4, -3, -1, 0, 1, 3, 5].iter().map(|&x| by2.eval(x)).collect();
        assert_eq!(got, [-2, -2, -1, 0, 0, 0, 1, 2]);
        let by_minus3 = Func::new(FuncKind::Quotient, 0, 0, -8, 8).with_alpha(-3.0);
        assert_eq!((by_minus3.eval(7), by_minus3.eval(-7)), (-2, 2));
        assert!(!by2.interpolates());
    }
}
