//! Seeded inputs for the engines' tests and benchmarks: many distinct points, made cheaply.

use halo2curves::ff::Field;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use crate::{Fr, G1Affine, G1};

/// `n` random scalars from `seed`.
pub fn scalars(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| Fr::random(&mut rng)).collect()
}

/// `n` distinct points `g·(s + i)` for a random `s` from `seed`: one addition each (in parallel chunks)
/// and one batch normalization, instead of a scalar multiplication per point.
pub fn points(n: usize, seed: u64) -> Vec<G1Affine> {
    use halo2curves::group::Curve;
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = n.div_ceil(threads).max(1);
    let g = G1::generator();
    let start = Fr::random(ChaCha20Rng::seed_from_u64(seed));
    let mut out = vec![G1Affine::default(); n];
    std::thread::scope(|s| {
        for (c, part) in out.chunks_mut(chunk).enumerate() {
            s.spawn(move || {
                let mut p = g * (start + Fr::from((c * chunk) as u64));
                let mut proj = Vec::with_capacity(part.len());
                for _ in 0..part.len() {
                    proj.push(p);
                    p += g;
                }
                G1::batch_normalize(&proj, part);
            });
        }
    });
    out
}
