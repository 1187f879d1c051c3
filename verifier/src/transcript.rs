//! The proof transcript: Keccak-256 over 32-byte big-endian words, replayable by the EVM.
//!
//! Chosen now so that the on-chain verifier (a later issue) checks the very proofs the CLI
//! writes. The byte rules are the ones Ethereum verifiers of halo2 KZG proofs use (the same as
//! snark-verifier's EVM transcript), so proofs stay compatible with that ecosystem:
//! - a point absorbs `x || y`, each 32 bytes big-endian; the identity absorbs 64 zero bytes;
//! - a scalar absorbs its canonical 32 bytes big-endian;
//! - a challenge is `keccak256(state)` reduced modulo `r`, where the state is everything absorbed
//!   since the last challenge, prefixed by the last hash; a state of exactly one word is
//!   extended by the byte `0x01` first, so squeezing twice in a row gives fresh challenges;
//! - the proof stream holds points as `x || y` and scalars as 32 bytes, all big-endian.

use std::io::{self, Read, Write};

use halo2_proofs::arithmetic::CurveAffine;
use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::{Field, FromUniformBytes, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::transcript::{
    EncodedChallenge, Transcript, TranscriptRead, TranscriptReadBuffer, TranscriptWrite, TranscriptWriterBuffer,
};
use sha3::{Digest, Keccak256};

/// A challenge squeezed from the Keccak transcript.
#[derive(Clone, Copy, Debug)]
pub struct KeccakChallenge(Fr);

impl EncodedChallenge<G1Affine> for KeccakChallenge {
    type Input = [u8; 32];

    fn new(hash: &[u8; 32]) -> Self {
        KeccakChallenge(fr_from_be_mod_r(hash))
    }

    fn get_scalar(&self) -> Fr {
        self.0
    }
}

/// `x mod r` for a 256-bit big-endian integer `x`.
pub fn fr_from_be_mod_r(bytes: &[u8; 32]) -> Fr {
    let mut wide = [0u8; 64];
    for (dst, src) in wide.iter_mut().zip(bytes.iter().rev()) {
        *dst = *src;
    }
    Fr::from_uniform_bytes(&wide)
}

/// Canonical big-endian bytes of a scalar.
pub fn fr_to_be(f: &Fr) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

/// A scalar from canonical big-endian bytes; `None` when the value is not below `r`.
pub fn fr_from_be(bytes: &[u8; 32]) -> Option<Fr> {
    let mut le = *bytes;
    le.reverse();
    Option::from(Fr::from_repr(le))
}

/// Canonical big-endian bytes of a base-field element.
pub fn fq_to_be(f: &Fq) -> [u8; 32] {
    let mut b = f.to_repr();
    b.reverse();
    b
}

/// A base-field element from canonical big-endian bytes; `None` when not below `q`.
pub fn fq_from_be(bytes: &[u8; 32]) -> Option<Fq> {
    let mut le = *bytes;
    le.reverse();
    Option::from(Fq::from_repr(le))
}

/// `x || y` big-endian; the identity is 64 zero bytes (the EVM precompiles' convention).
pub fn point_to_be(p: &G1Affine) -> [u8; 64] {
    let mut out = [0u8; 64];
    let coords: Option<halo2_proofs::halo2curves::Coordinates<G1Affine>> = p.coordinates().into();
    if let Some(c) = coords {
        out[..32].copy_from_slice(&fq_to_be(c.x()));
        out[32..].copy_from_slice(&fq_to_be(c.y()));
    }
    out
}

/// A point from `x || y` big-endian (64 zero bytes: the identity); the error says which check
/// failed.
pub fn point_from_be(bytes: &[u8; 64]) -> Result<G1Affine, &'static str> {
    let (mut x, mut y) = ([0u8; 32], [0u8; 32]);
    x.copy_from_slice(&bytes[..32]);
    y.copy_from_slice(&bytes[32..]);
    let x = fq_from_be(&x).ok_or("point x-coordinate is not below the field modulus")?;
    let y = fq_from_be(&y).ok_or("point y-coordinate is not below the field modulus")?;
    if x == Fq::ZERO && y == Fq::ZERO {
        return Ok(G1Affine::identity());
    }
    Option::from(G1Affine::from_xy(x, y)).ok_or("point is not on the curve")
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

/// The Keccak transcript over a byte stream: `S: Read` to verify, `S: Write` to prove.
#[derive(Debug)]
pub struct KeccakTranscript<S> {
    stream: S,
    state: Vec<u8>,
}

impl<S> KeccakTranscript<S> {
    /// A fresh transcript over `stream` (a reader to verify, a writer to prove).
    pub fn new(stream: S) -> Self {
        KeccakTranscript { stream, state: Vec::new() }
    }

    fn absorb_point(&mut self, p: &G1Affine) {
        self.state.extend_from_slice(&point_to_be(p));
    }

    fn absorb_scalar(&mut self, s: &Fr) {
        self.state.extend_from_slice(&fr_to_be(s));
    }
}

impl KeccakTranscript<&[u8]> {
    /// Bytes of the proof not read yet.
    pub fn unread(&self) -> usize {
        self.stream.len()
    }
}

impl<S> Transcript<G1Affine, KeccakChallenge> for KeccakTranscript<S> {
    fn squeeze_challenge(&mut self) -> KeccakChallenge {
        if self.state.len() == 32 {
            self.state.push(1);
        }
        let hash: [u8; 32] = Keccak256::digest(&self.state).into();
        self.state = hash.to_vec();
        KeccakChallenge::new(&hash)
    }

    fn common_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.absorb_point(&point);
        Ok(())
    }

    fn common_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.absorb_scalar(&scalar);
        Ok(())
    }
}

impl<R: Read> TranscriptRead<G1Affine, KeccakChallenge> for KeccakTranscript<R> {
    fn read_point(&mut self) -> io::Result<G1Affine> {
        let mut xy = [0u8; 64];
        self.stream.read_exact(&mut xy)?;
        let point = point_from_be(&xy).map_err(|e| invalid(&format!("proof {e}")))?;
        self.absorb_point(&point);
        Ok(point)
    }

    fn read_scalar(&mut self) -> io::Result<Fr> {
        let mut b = [0u8; 32];
        self.stream.read_exact(&mut b)?;
        let s = fr_from_be(&b).ok_or_else(|| invalid("proof scalar is not below the group order"))?;
        self.absorb_scalar(&s);
        Ok(s)
    }
}

impl<R: Read> TranscriptReadBuffer<R, G1Affine, KeccakChallenge> for KeccakTranscript<R> {
    fn init(reader: R) -> Self {
        Self::new(reader)
    }
}

impl<W: Write> TranscriptWrite<G1Affine, KeccakChallenge> for KeccakTranscript<W> {
    fn write_point(&mut self, point: G1Affine) -> io::Result<()> {
        self.absorb_point(&point);
        self.stream.write_all(&point_to_be(&point))
    }

    fn write_scalar(&mut self, scalar: Fr) -> io::Result<()> {
        self.absorb_scalar(&scalar);
        self.stream.write_all(&fr_to_be(&scalar))
    }
}

impl<W: Write> TranscriptWriterBuffer<W, G1Affine, KeccakChallenge> for KeccakTranscript<W> {
    fn init(writer: W) -> Self {
        Self::new(writer)
    }

    fn finalize(self) -> W {
        self.stream
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::group::Curve;

    #[test]
    fn points_and_scalars_round_trip() {
        let p = (G1Affine::generator() * Fr::from(5)).to_affine();
        let s = Fr::from(123456789);
        let mut w = KeccakTranscript::new(Vec::<u8>::new());
        w.write_point(p).unwrap();
        w.write_point(G1Affine::identity()).unwrap();
        w.write_scalar(s).unwrap();
        let c1 = w.squeeze_challenge().get_scalar();
        let bytes = w.finalize();
        assert_eq!(bytes.len(), 64 + 64 + 32);
        let mut r = KeccakTranscript::new(&bytes[..]);
        assert_eq!(r.read_point().unwrap(), p);
        assert_eq!(r.read_point().unwrap(), G1Affine::identity());
        assert_eq!(r.read_scalar().unwrap(), s);
        assert_eq!(r.squeeze_challenge().get_scalar(), c1);
    }

    #[test]
    fn challenge_is_keccak_of_the_absorbed_words() {
        let mut t = KeccakTranscript::new(Vec::<u8>::new());
        t.common_scalar(Fr::from(7)).unwrap();
        let c = t.squeeze_challenge().get_scalar();
        let mut word = [0u8; 32];
        word[31] = 7;
        // one word: the 0x01 byte is appended before hashing
        let mut data = word.to_vec();
        data.push(1);
        let hash: [u8; 32] = Keccak256::digest(&data).into();
        assert_eq!(c, fr_from_be_mod_r(&hash));
        // squeezing again hashes the previous hash (one word) + 0x01: a fresh challenge
        let c2 = t.squeeze_challenge().get_scalar();
        assert_ne!(c, c2);
    }

    #[test]
    fn rejects_non_canonical_and_off_curve_encodings() {
        let mut bad_scalar = [0xffu8; 32];
        assert!(KeccakTranscript::new(&bad_scalar[..]).read_scalar().is_err());
        bad_scalar = [0u8; 32];
        bad_scalar[31] = 1;
        assert!(KeccakTranscript::new(&bad_scalar[..]).read_scalar().is_ok());
        let mut off_curve = [0u8; 64];
        off_curve[31] = 1;
        off_curve[63] = 1; // (1, 1) is not on y^2 = x^3 + 3
        assert!(KeccakTranscript::new(&off_curve[..]).read_point().is_err());
        assert!(KeccakTranscript::new(&[0u8; 10][..]).read_point().is_err());
    }
}
