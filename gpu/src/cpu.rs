//! The reference engine: halo2curves' own MSM and FFT, the code halo2-axiom proves with on a CPU.

use halo2curves::ff::Field;
use halo2curves::fft::best_fft;
use halo2curves::msm::msm_best;

use crate::roots::omega;
use crate::{log_len, Direction, Engine, Fr, G1Affine, GpuError, G1};

/// MSM and NTT on the CPU (all cores, through rayon).
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuEngine;

impl Engine for CpuEngine {
    fn name(&self) -> String {
        format!("CPU ({} threads)", std::thread::available_parallelism().map_or(1, usize::from))
    }

    fn msm(&self, scalars: &[Fr], bases: &[G1Affine]) -> Result<G1, GpuError> {
        if scalars.len() != bases.len() {
            return Err(GpuError::LengthMismatch { scalars: scalars.len(), bases: bases.len() });
        }
        Ok(msm_best(scalars, bases))
    }

    fn ntt(&self, values: &mut [Fr], direction: Direction) -> Result<(), GpuError> {
        let log_n = log_len(values.len())?;
        let w = omega(log_n);
        match direction {
            Direction::Forward => best_fft(values, w, log_n),
            Direction::Inverse => {
                // ω is a root of unity, so it is invertible
                let w_inv = Option::<Fr>::from(w.invert()).unwrap_or(Fr::ONE);
                best_fft(values, w_inv, log_n);
                let n_inv = Option::<Fr>::from(Fr::from(values.len() as u64).invert()).unwrap_or(Fr::ONE);
                values.iter_mut().for_each(|v| *v *= n_inv);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use halo2curves::group::{Curve, Group};
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    use super::*;

    /// Σ v[j]·ω^(ij), computed the slow way.
    fn naive_dft(values: &[Fr], w: Fr) -> Vec<Fr> {
        (0..values.len())
            .map(|i| {
                let wi = w.pow_vartime([i as u64]);
                let mut acc = Fr::ZERO;
                let mut x = Fr::ONE;
                for v in values {
                    acc += *v * x;
                    x *= wi;
                }
                acc
            })
            .collect()
    }

    #[test]
    fn ntt_matches_the_definition_and_inverts() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for log_n in 0..=6 {
            let values: Vec<Fr> = (0..1usize << log_n).map(|_| Fr::random(&mut rng)).collect();
            let mut out = values.clone();
            CpuEngine.ntt(&mut out, Direction::Forward).unwrap();
            assert_eq!(out, naive_dft(&values, omega(log_n)), "log n {log_n}");
            CpuEngine.ntt(&mut out, Direction::Inverse).unwrap();
            assert_eq!(out, values, "log n {log_n}");
        }
    }

    #[test]
    fn msm_matches_the_definition() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        for n in [0usize, 1, 2, 3, 17, 100] {
            let scalars: Vec<Fr> = (0..n).map(|i| if i % 5 == 0 { Fr::ZERO } else { Fr::random(&mut rng) }).collect();
            let bases: Vec<G1Affine> = (0..n).map(|_| G1::random(&mut rng).to_affine()).collect();
            let naive = scalars.iter().zip(&bases).fold(G1::identity(), |acc, (s, b)| acc + b * s);
            assert_eq!(CpuEngine.msm(&scalars, &bases).unwrap().to_affine(), naive.to_affine(), "n {n}");
        }
        let err = CpuEngine.msm(&[Fr::ONE], &[]).unwrap_err();
        assert_eq!(err, GpuError::LengthMismatch { scalars: 1, bases: 0 });
    }
}
