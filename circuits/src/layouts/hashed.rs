//! `hashed` visibility: the Poseidon commitments of the params, the inputs and the outputs
//! (`chips/poseidon.rs`), whose digests the model circuit ties to the instance column.
//!
//! Params are committed before any node is laid out: each weight's cell in the chip *is* its
//! canonical cell, which every use in a dot chain is copy-constrained to (and a Const node's
//! output cells are its cells there), so the weights the layout computes with are the ones
//! hashed. Inputs and outputs are committed after the layout, each element copy-constrained to
//! the cell that holds it, with the tensor's salt first.

use halo2_proofs::circuit::Cell;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::Error;
use zkonnx_ir::TensorId;

use super::Ctx;
use crate::chips::poseidon::{Element, PoseidonChip};
use crate::field::field_from_i64;
use crate::layout::Assigner;
use crate::poseidon::node_params;

/// The chip (an error in a circuit configured without it).
fn chip<'a>(cx: &Ctx<'a>) -> Result<PoseidonChip<'a>, Error> {
    cx.cfg.poseidon.as_ref().map(PoseidonChip::new).ok_or(Error::Synthesis)
}

/// Commits every node's params (salt 0); returns each node's param cells and the digest.
pub(crate) fn params(cx: &Ctx<'_>, asg: &mut Assigner<'_>) -> Result<(Vec<Vec<Cell>>, Cell), Error> {
    // the params are unsalted: their salt cell is pinned to 0
    let values: Vec<Element> = std::iter::once(Element::zero())
        .chain(
            cx.graph
                .nodes
                .iter()
                .flat_map(|n| node_params(&n.op).iter().map(|&v| Element::free(cx.witness(field_from_i64(v))))),
        )
        .collect();
    let committed = chip(cx)?.commit(asg, &values)?;
    let mut cells = committed.elements.into_iter().skip(1);
    let per_node = cx.graph.nodes.iter().map(|n| cells.by_ref().take(node_params(&n.op).len()).collect()).collect();
    Ok((per_node, committed.digest))
}

/// A segment's linked inputs ([`zkonnx_ir::Graph::linked_inputs`]): each input committed with
/// its salt before any node is laid out, its elements free cells of the chip that *are* the
/// input's cells (no range check: the digest, equal to the previous segment's output digest,
/// binds them). Returns each input's cells and the digests.
pub(crate) fn linked_inputs(
    cx: &Ctx<'_>,
    asg: &mut Assigner<'_>,
    salt: impl Fn(usize) -> Fr,
) -> Result<(Vec<Vec<Cell>>, Vec<Cell>), Error> {
    let chip = chip(cx)?;
    let mut cells = Vec::with_capacity(cx.graph.inputs.len());
    let mut digests = Vec::with_capacity(cx.graph.inputs.len());
    for (i, &t) in cx.graph.inputs.iter().enumerate() {
        let len = cx.graph.nodes.get(t).map_or(0, |n| n.len());
        let elements: Vec<Element> = std::iter::once(Element::free(cx.witness(salt(i))))
            .chain((0..len).map(|j| Element::free(cx.value(t, j).map(field_from_i64))))
            .collect();
        let committed = chip.commit(asg, &elements)?;
        cells.push(committed.elements.into_iter().skip(1).collect());
        digests.push(committed.digest);
    }
    Ok((cells, digests))
}

/// Commits each tensor of `ids` (laid out in `cells`) with its salt; returns the digests.
pub(crate) fn tensors(
    cx: &Ctx<'_>,
    asg: &mut Assigner<'_>,
    ids: &[TensorId],
    salt: impl Fn(usize) -> Fr,
) -> Result<Vec<Cell>, Error> {
    let chip = chip(cx)?;
    ids.iter()
        .enumerate()
        .map(|(i, &t)| {
            let salt = Element::free(cx.witness(salt(i)));
            let elements: Vec<Element> = std::iter::once(salt)
                .chain(
                    cx.cells[t]
                        .iter()
                        .enumerate()
                        .map(|(j, &cell)| Element::copy(cell, cx.value(t, j).map(field_from_i64))),
                )
                .collect();
            Ok(chip.commit(asg, &elements)?.digest)
        })
        .collect()
}
