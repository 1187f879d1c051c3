//! The signed encoding of integers as BN254 scalars: `v >= 0` is `v`, `v < 0` is `p - |v|`.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;

/// `v` as a field element (negatives wrap to `p - |v|`).
pub fn field_from_i64(v: i64) -> Fr {
    let mag = Fr::from(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// `v` as a field element; `v` must fit the field's signed range (|v| < 2^127 always does).
pub(crate) fn field_from_i128(v: i128) -> Fr {
    let mag = Fr::from_u128(v.unsigned_abs());
    if v < 0 {
        -mag
    } else {
        mag
    }
}

/// The signed integer a field element encodes, if it lies in the `i64` range.
pub fn i64_from_field(f: &Fr) -> Option<i64> {
    let small = |x: &Fr| -> Option<u64> {
        let repr = x.to_repr();
        let bytes = repr.as_ref();
        if bytes[8..].iter().any(|&b| b != 0) {
            return None;
        }
        let mut lo = [0u8; 8];
        lo.copy_from_slice(&bytes[..8]);
        Some(u64::from_le_bytes(lo))
    };
    if let Some(u) = small(f) {
        return i64::try_from(u).ok();
    }
    let neg = small(&-*f)?;
    if neg <= i64::MIN.unsigned_abs() {
        Some(0i64.wrapping_sub_unsigned(neg))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_i64_range() {
        for v in [0, 1, -1, 42, -42, i64::MAX, i64::MIN, i64::MIN + 1, 1 << 40, -(1 << 40)] {
            assert_eq!(i64_from_field(&field_from_i64(v)), Some(v), "{v}");
            assert_eq!(field_from_i128(i128::from(v)), field_from_i64(v));
        }
        assert_eq!(-field_from_i64(5), field_from_i64(-5));
    }

    #[test]
    fn rejects_values_outside_i64() {
        assert_eq!(i64_from_field(&Fr::from_u128(1u128 << 64)), None);
        assert_eq!(i64_from_field(&-Fr::from_u128(1u128 << 64)), None);
        assert_eq!(i64_from_field(&Fr::from(u64::MAX)), None);
        assert_eq!(i64_from_field(&-Fr::from(1u64 << 63)), Some(i64::MIN));
        assert_eq!(i64_from_field(&-Fr::from((1u64 << 63) + 1)), None);
    }
}
