//! Structural checks of halo2-axiom 0.5.3 key bodies, run before halo2 parses them.
//!
//! halo2's readers trust the lengths they find: a verifying key's `k` sizes a `2^k` selector
//! table, and every polynomial of a proving key starts with a `u32` length that is allocated
//! before a byte of it is read. A file with a valid checksum but a forged length (the
//! `pk_structured` fuzz target built one) would make the process abort on a ~100 GB
//! allocation, which no `catch_unwind` can stop. These checks walk the same layout and refuse
//! any length that is not the one the circuit implies or that the file cannot hold.
//!
//! Layout of a proving key body (`ProvingKey::write` with `SerdeFormat::RawBytes`):
//! the verifying key, then `l0`, `l_last`, `l_active_row` (one polynomial each), the fixed
//! values and fixed polynomials (a `u32` big-endian count, then polynomials), and the
//! permutation's permutations and polynomials (two more such vectors). A polynomial is a
//! `u32` big-endian length followed by that many 32-byte field elements. Every polynomial
//! of this version has exactly `2^k` coefficients.

/// Bytes of one BN254 scalar in `RawBytes` form.
const SCALAR_BYTES: usize = 32;
/// halo2-axiom's verifying key format version byte.
const VK_VERSION_BYTE: u8 = 0x02;

/// Checks a verifying key body's header: the halo2 format version and that its `k` is the
/// one the key metadata declares (halo2 reads `k` from the body and allocates by it).
pub(crate) fn check_vk_header(body: &[u8], k: u32) -> Result<(), String> {
    let (version, rest) = body.split_first().ok_or("the key body is empty")?;
    if *version != VK_VERSION_BYTE {
        return Err(format!("halo2 key format byte {version:#04x}, expected {VK_VERSION_BYTE:#04x}"));
    }
    let body_k = rest.get(..4).ok_or("the key body ends inside its header")?;
    let body_k = u32::from_le_bytes([body_k[0], body_k[1], body_k[2], body_k[3]]);
    if body_k != k {
        return Err(format!("the key body says k = {body_k}, its metadata k = {k}"));
    }
    Ok(())
}

/// Checks the proving-key part of a body, `pk` being the bytes after the verifying key:
/// every polynomial has exactly `2^k` coefficients, every count fits in the bytes left, and
/// nothing trails the last vector.
pub(crate) fn check_pk_tail(pk: &[u8], k: u32) -> Result<(), String> {
    let n = 1usize.checked_shl(k).ok_or_else(|| format!("k = {k} is too large"))?;
    let mut walk = Walk { bytes: pk, at: 0, n };
    for name in ["l0", "l_last", "l_active_row"] {
        walk.poly(name)?;
    }
    for name in ["fixed values", "fixed polynomials", "permutations", "permutation polynomials"] {
        walk.vector(name)?;
    }
    if walk.at != pk.len() {
        return Err(format!("{} unexpected bytes after the proving key", pk.len() - walk.at));
    }
    Ok(())
}

struct Walk<'a> {
    bytes: &'a [u8],
    at: usize,
    n: usize,
}

impl Walk<'_> {
    fn u32_be(&mut self, what: &str) -> Result<usize, String> {
        let b =
            self.bytes.get(self.at..self.at + 4).ok_or_else(|| format!("the key ends inside the length of {what}"))?;
        self.at += 4;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn poly(&mut self, what: &str) -> Result<(), String> {
        let len = self.u32_be(what)?;
        if len != self.n {
            return Err(format!("{what} has {len} coefficients, the circuit has {} rows", self.n));
        }
        let end = self.at + len * SCALAR_BYTES;
        if end > self.bytes.len() {
            return Err(format!("the key ends inside {what}"));
        }
        self.at = end;
        Ok(())
    }

    fn vector(&mut self, what: &str) -> Result<(), String> {
        let count = self.u32_be(what)?;
        let left = self.bytes.len() - self.at;
        // each polynomial takes its 4-byte length and n scalars
        if count > left / (4 + self.n * SCALAR_BYTES) {
            return Err(format!("{what}: {count} polynomials do not fit in the {left} bytes left"));
        }
        for i in 0..count {
            self.poly(&format!("{what}[{i}]"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poly(n: usize) -> Vec<u8> {
        let mut v = (n as u32).to_be_bytes().to_vec();
        v.resize(4 + n * SCALAR_BYTES, 0);
        v
    }

    fn honest(k: u32, counts: [usize; 4]) -> Vec<u8> {
        let n = 1 << k;
        let mut v: Vec<u8> = (0..3).flat_map(|_| poly(n)).collect();
        for c in counts {
            v.extend((c as u32).to_be_bytes());
            for _ in 0..c {
                v.extend(poly(n));
            }
        }
        v
    }

    #[test]
    fn honest_layout_passes() {
        check_pk_tail(&honest(3, [2, 2, 5, 5]), 3).unwrap();
        check_pk_tail(&honest(4, [0, 0, 0, 0]), 4).unwrap();
    }

    #[test]
    fn forged_lengths_are_refused_before_allocation() {
        let good = honest(3, [1, 1, 2, 2]);
        // l0's length forged to 2^31
        let mut bad = good.clone();
        bad[..4].copy_from_slice(&(1u32 << 31).to_be_bytes());
        assert!(check_pk_tail(&bad, 3).unwrap_err().contains("l0 has 2147483648 coefficients"));
        // the fixed-values count forged to u32::MAX
        let at = 3 * (4 + 8 * SCALAR_BYTES);
        let mut bad = good.clone();
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(check_pk_tail(&bad, 3).unwrap_err().contains("fixed values: 4294967295 polynomials do not fit"));
        // truncated, and trailing bytes
        assert!(check_pk_tail(&good[..good.len() - 1], 3).unwrap_err().contains("do not fit"));
        assert!(check_pk_tail(&good[..100], 3).unwrap_err().contains("ends inside l0"));
        let mut long = good.clone();
        long.push(0);
        assert!(check_pk_tail(&long, 3).unwrap_err().contains("1 unexpected bytes"));
        // the wrong k
        assert!(check_pk_tail(&good, 4).unwrap_err().contains("the circuit has 16 rows"));
    }

    #[test]
    fn vk_header() {
        let mut h = vec![VK_VERSION_BYTE];
        h.extend(15u32.to_le_bytes());
        check_vk_header(&h, 15).unwrap();
        assert!(check_vk_header(&h, 14).unwrap_err().contains("k = 15"));
        h[0] = 1;
        assert!(check_vk_header(&h, 15).unwrap_err().contains("format byte"));
        assert!(check_vk_header(&[], 15).is_err());
        assert!(check_vk_header(&[VK_VERSION_BYTE, 1], 15).unwrap_err().contains("header"));
    }
}
