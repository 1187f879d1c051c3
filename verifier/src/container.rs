//! The binary container shared by key and SRS files:
//! `magic[8] | version u32 LE | meta_len u32 LE | meta (JSON) | sha256(meta || body)[32] | body`.
//! The checksum turns a corrupt or truncated file into a clear error before any parsing.
//! Public so that crates above (aggregation keys) write their files the same way.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::ArtifactError;

/// Largest metadata block a reader accepts.
const MAX_META: usize = 1 << 20;

/// The container of `meta` and `body` under `magic` and `version`.
pub fn encode(magic: &[u8; 8], version: u32, meta: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 8 + meta.len() + 32 + body.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta);
    out.extend_from_slice(&digest(meta, body));
    out.extend_from_slice(body);
    out
}

fn digest(meta: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(meta);
    h.update(body);
    h.finalize().into()
}

/// Whether `bytes` start with `magic`.
pub fn has_magic(bytes: &[u8], magic: &[u8; 8]) -> bool {
    bytes.len() >= 8 && &bytes[..8] == magic
}

/// Splits a container into `(meta, body)` after checking magic, version and checksum.
pub fn decode<'a>(
    path: &Path,
    kind: &'static str,
    magic: &[u8; 8],
    version: u32,
    bytes: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), ArtifactError> {
    let corrupt = |reason: &str| ArtifactError::Corrupt { path: path.to_path_buf(), kind, reason: reason.to_string() };
    if !has_magic(bytes, magic) {
        return Err(ArtifactError::WrongKind { path: path.to_path_buf(), expected: kind, got: describe_magic(bytes) });
    }
    let word = |at: usize| -> Result<u32, ArtifactError> {
        let b = bytes.get(at..at + 4).ok_or_else(|| corrupt("truncated header"))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let got = word(8)?;
    if got != version {
        return Err(ArtifactError::Version { path: path.to_path_buf(), kind, expected: version, got });
    }
    let meta_len = word(12)? as usize;
    if meta_len > MAX_META {
        return Err(corrupt("metadata block too large"));
    }
    let meta = bytes.get(16..16 + meta_len).ok_or_else(|| corrupt("truncated metadata"))?;
    let sum = bytes.get(16 + meta_len..48 + meta_len).ok_or_else(|| corrupt("truncated checksum"))?;
    let body = &bytes[48 + meta_len..];
    if digest(meta, body).as_slice() != sum {
        return Err(corrupt("checksum mismatch (the file was truncated or modified)"));
    }
    Ok((meta, body))
}

fn describe_magic(bytes: &[u8]) -> String {
    match bytes.get(..8) {
        Some(m) if m.starts_with(b"ZKONNX") => format!("zkonnx {}", String::from_utf8_lossy(&m[6..])),
        Some(_) => "an unknown binary format".into(),
        None => "a file too short to identify".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"ZKONNXTT";

    #[test]
    fn round_trip_and_every_corruption_is_an_error() {
        let bytes = encode(MAGIC, 3, b"{\"a\":1}", b"body bytes");
        let p = Path::new("x.bin");
        let (meta, body) = decode(p, "test", MAGIC, 3, &bytes).unwrap();
        assert_eq!((meta, body), (&b"{\"a\":1}"[..], &b"body bytes"[..]));
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            assert!(decode(p, "test", MAGIC, 3, &b).is_err(), "flip at {i} accepted");
        }
        for n in 0..bytes.len() {
            assert!(decode(p, "test", MAGIC, 3, &bytes[..n]).is_err(), "truncation at {n} accepted");
        }
        assert!(matches!(decode(p, "test", MAGIC, 4, &bytes), Err(ArtifactError::Version { got: 3, .. })));
    }
}
