//! The aggregation circuit as keygen and the prover run it: snark-verifier-sdk's
//! [`AggregationCircuit`] with its cells spread evenly over all of its advice columns.
//!
//! halo2-base fills an advice column to its last usable row before it starts the next. A node
//! with more columns than its cells need (a root pinned to one shape, [`crate::NodeSpec`]'s
//! `min_advice`) would leave its last columns empty. An empty column's gate selector is all
//! zero, and so its commitment in the verifying key is the identity point, whose
//! multiplication the EVM verifier skips (about 6,800 gas). The verifier's gas would then
//! depend on how many columns a root happens to fill, not only on its shape. Here each column
//! ends after [`spread_rows`] rows (halo2-base's `BaseConfig::set_usable_rows`), about
//! `cells / columns`, so every column is used and every selector commits to a real point. The
//! rows are part of the node's shape ([`crate::NodeShape::usable_rows`]): keygen computes the
//! columns' break points with them, and the prover follows those break points.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::BaseConfig;

/// Rows a column may end early: halo2-base moves a gate that would cross a column's last row
/// to the next column (leaving up to 3 rows) and copies the cell it breaks at there.
const BREAK_SLACK: usize = 16;

/// An aggregation circuit whose advice columns end after `usable_rows` rows (`None`: after
/// every row halo2-base may use, as it does by itself).
#[derive(Debug)]
pub(crate) struct NodeCircuit {
    pub(crate) inner: AggregationCircuit,
    usable_rows: Option<usize>,
}

impl NodeCircuit {
    pub(crate) fn new(inner: AggregationCircuit, usable_rows: Option<usize>) -> Self {
        Self { inner, usable_rows }
    }
}

/// The rows per column that spread `circuit`'s cells over all of `config`'s advice and
/// lookup-advice columns, or `None` where that is every usable row (`max_rows`) anyway.
pub(crate) fn spread_rows(
    circuit: &AggregationCircuit,
    config: &AggregationConfigParams,
    max_rows: usize,
) -> Option<usize> {
    let stats = circuit.builder.statistics();
    let advice = stats.gate.total_advice_per_phase.first().copied().unwrap_or(0);
    let lookups = stats.total_lookup_advice_per_phase.first().copied().unwrap_or(0);
    let per_column = |cells: usize, columns: usize| cells.div_ceil(columns.max(1));
    let rows = per_column(advice, config.num_advice).max(per_column(lookups, config.num_lookup_advice)) + BREAK_SLACK;
    (rows < max_rows).then_some(rows)
}

impl Circuit<Fr> for NodeCircuit {
    type Config = BaseConfig<Fr>;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = (AggregationConfigParams, Option<usize>);

    fn params(&self) -> Self::Params {
        (self.inner.params(), self.usable_rows)
    }

    fn without_witnesses(&self) -> Self {
        // as snark-verifier-sdk's own circuit: keygen and proving use the circuit itself
        unimplemented!("an aggregation circuit is always used with its witnesses")
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, (config, usable_rows): Self::Params) -> Self::Config {
        let mut base = AggregationCircuit::configure_with_params(meta, config);
        if let Some(rows) = usable_rows {
            base.set_usable_rows(rows);
        }
        base
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("an aggregation circuit is configured with its parameters")
    }

    fn synthesize(&self, config: Self::Config, layouter: impl Layouter<Fr>) -> Result<(), Error> {
        self.inner.synthesize(config, layouter)
    }
}
