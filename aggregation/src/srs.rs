//! Fitting an SRS to a circuit's size.

use std::borrow::Cow;

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::poly::commitment::Params;
use halo2_proofs::poly::kzg::commitment::ParamsKZG;

use crate::AggregationError;

/// `srs` at exactly `2^k` (halo2's keygen and prover need `params.k() == k`): borrowed when it
/// already is, reduced when larger.
pub(crate) fn fit(srs: &ParamsKZG<Bn256>, k: u32) -> Result<Cow<'_, ParamsKZG<Bn256>>, AggregationError> {
    match srs.k() {
        have if have == k => Ok(Cow::Borrowed(srs)),
        have if have > k => Ok(Cow::Owned(zkonnx_prover::reduce_srs(srs, k)?)),
        have => Err(AggregationError::SrsTooSmall { have, need: k }),
    }
}
