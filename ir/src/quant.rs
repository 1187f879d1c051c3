//! Fixed-point helpers shared by the compiler, the interpreter and the circuit.

/// `round(x * 2^scale)`, saturating at the `i64` range.
pub fn quantize(x: f64, scale: u32) -> i64 {
    let v = (x * f64::from(1u32 << scale.min(31)) * ((1u64 << scale.saturating_sub(31)) as f64)).round();
    if v >= i64::MAX as f64 {
        i64::MAX
    } else if v <= i64::MIN as f64 {
        i64::MIN
    } else {
        v as i64
    }
}

/// `q / 2^scale`.
pub fn dequantize(q: i64, scale: u32) -> f64 {
    q as f64 / 2f64.powi(scale as i32)
}

/// Round-half-up division by `2^shift` together with the remainder the circuit witnesses:
/// returns `(q, r)` with `x + 2^(shift-1) = q * 2^shift + r` and `0 <= r < 2^shift`.
/// `shift = 0` gives `(x, 0)`.
pub fn rescale(x: i128, shift: u32) -> (i128, i128) {
    if shift == 0 {
        return (x, 0);
    }
    let d = 1i128 << shift;
    let shifted = x + (d >> 1);
    (shifted.div_euclid(d), shifted.rem_euclid(d))
}

/// The inclusive range `[min, max]` a value checked against a `bits`-bit signed table may take.
pub fn checked_range(bits: u32) -> (i64, i64) {
    let half = 1i64 << (bits - 1);
    (-half, half - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rescale_rounds_half_up() {
        assert_eq!(rescale(5, 1), (3, 0)); // 2.5 -> 3
        assert_eq!(rescale(-5, 1), (-2, 0)); // -2.5 -> -2
        assert_eq!(rescale(7, 2), (2, 1)); // 1.75 -> 2
        assert_eq!(rescale(9, 0), (9, 0));
    }

    #[test]
    fn quantize_round_trips_on_the_grid() {
        assert_eq!(quantize(1.5, 7), 192);
        assert_eq!(quantize(-0.25, 2), -1);
        assert_eq!(dequantize(192, 7), 1.5);
        assert_eq!(quantize(1e30, 7), i64::MAX);
    }

    proptest! {
        #[test]
        fn rescale_decomposition_holds(x in -1_000_000_000i128..1_000_000_000, shift in 0u32..20) {
            let (q, r) = rescale(x, shift);
            let d = 1i128 << shift;
            prop_assert_eq!(x + if shift == 0 { 0 } else { d / 2 }, q * d + r);
            prop_assert!((0..d.max(1)).contains(&r));
            // matches rounding the real quotient half-up
            let exact = x as f64 / d as f64;
            prop_assert!((q as f64 - exact).abs() <= 0.5 + 1e-9);
        }

        #[test]
        fn quantization_error_is_half_a_step(x in -1000.0f64..1000.0, scale in 0u32..16) {
            let q = quantize(x, scale);
            prop_assert!((dequantize(q, scale) - x).abs() <= 0.5 / 2f64.powi(scale as i32) + 1e-12);
        }
    }
}
