//! Serde helpers: field elements as `0x`-prefixed big-endian hex (the form proofs and contracts
//! show them in), byte strings as `0x` hex.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;

/// `0x` + 64 hex digits, big-endian.
pub(crate) fn to_hex(f: &Fr) -> String {
    let mut be = f.to_repr();
    be.reverse();
    format!("0x{}", hex_digits(&be))
}

/// A canonical field element from `0x` + big-endian hex (at most 64 digits).
pub(crate) fn from_hex(s: &str) -> Result<Fr, String> {
    let digits = s.strip_prefix("0x").ok_or_else(|| format!("`{s}`: expected 0x-prefixed hex"))?;
    if digits.is_empty() || digits.len() > 64 {
        return Err(format!("`{s}`: expected 1 to 64 hex digits"));
    }
    let bytes = bytes_from_hex(&format!("{digits:0>64}"))?;
    let mut le = [0u8; 32];
    for (i, b) in bytes.iter().rev().enumerate() {
        le[i] = *b;
    }
    Option::from(Fr::from_repr(le)).ok_or_else(|| format!("`{s}` is not below the field modulus"))
}

fn hex_digits(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bytes_from_hex(digits: &str) -> Result<Vec<u8>, String> {
    if !digits.len().is_multiple_of(2) || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!("`{digits}` is not hex"));
    }
    (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).map_err(|e| e.to_string())).collect()
}

/// `Vec<Fr>` as a list of hex strings.
pub(crate) mod vec {
    use halo2_proofs::halo2curves::bn256::Fr;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[Fr], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(super::to_hex))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Fr>, D::Error> {
        let strings = Vec::<String>::deserialize(d)?;
        strings.iter().map(|s| super::from_hex(s).map_err(serde::de::Error::custom)).collect()
    }
}

/// `Vec<u8>` as one `0x` hex string.
pub(crate) mod bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("0x{}", super::hex_digits(v)))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        let digits = s.strip_prefix("0x").ok_or_else(|| serde::de::Error::custom("expected 0x-prefixed hex"))?;
        super::bytes_from_hex(digits).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_elements_round_trip_and_non_canonical_ones_are_refused() {
        for v in [Fr::zero(), Fr::one(), -Fr::one(), Fr::from(0xdead_beefu64)] {
            assert_eq!(from_hex(&to_hex(&v)), Ok(v));
        }
        assert_eq!(from_hex("0x1"), Ok(Fr::one()));
        // the modulus itself, and garbage
        let r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert!(from_hex(r).is_err());
        for bad in ["12", "0x", "0xzz", &format!("0x{}", "f".repeat(65))] {
            assert!(from_hex(bad).is_err(), "{bad}");
        }
    }
}
