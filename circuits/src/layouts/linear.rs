//! `Op::Linear`: one dot chain per output element.
//!
//! Fixed params: weights and bias in fixed columns (`dot fixed`, 4 terms a row). Private
//! params: weights as advice (`dot private`, 2 terms a row); each weight's first use is its
//! canonical cell and every later use of the same weight is copy-constrained to it; a bias is
//! the term `one * b` with `one` the pinned constant-one cell.
//!
//! `Op::MatMul` (both operands computed) uses the private-weight chain too, with the second
//! operand's cells as the canonical "weights": every product `a[i] * b[j]` has `a[i]` and
//! `b[j]` copy-constrained to their producers.

use halo2_proofs::circuit::Cell;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::Error;
use zkonnx_ir::{Linear, TensorId};

use super::Ctx;
use crate::chips::dot::{FixedTerm, PrivateTerm};
use crate::field::field_from_i64;
use crate::layout::Assigner;

/// Lays out a Linear node; with hashed params, `hashed` holds its weights' cells in the
/// Poseidon chip, which are then their canonical cells.
pub(crate) fn linear(
    cx: &Ctx<'_>,
    asg: &mut Assigner<'_>,
    l: &Linear,
    hashed: Option<&Vec<Cell>>,
) -> Result<Vec<Cell>, Error> {
    if cx.params.private_params() {
        private(cx, asg, l, hashed)
    } else {
        fixed(cx, asg, l)
    }
}

fn fixed(cx: &Ctx<'_>, asg: &mut Assigner<'_>, l: &Linear) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.dot_chip();
    let x = &cx.cells[l.input];
    l.rows
        .iter()
        .map(|row| {
            let terms: Vec<FixedTerm> = row
                .terms
                .iter()
                .map(|&(i, w)| FixedTerm {
                    x: x[i as usize],
                    xv: cx.value(l.input, i as usize).map(field_from_i64),
                    w: field_from_i64(l.weights[w as usize]),
                })
                .collect();
            let bias = row.bias.map_or(Fr::ZERO, |b| field_from_i64(l.weights[b as usize]));
            chip.fixed(asg, &terms, bias)
        })
        .collect()
}

fn private(cx: &Ctx<'_>, asg: &mut Assigner<'_>, l: &Linear, hashed: Option<&Vec<Cell>>) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.dot_chip();
    let pinned = cx.pinned.ok_or(Error::Synthesis)?;
    let x = &cx.cells[l.input];
    let weight = |w: usize| cx.witness(field_from_i64(l.weights[w]));
    let mut canonical: Vec<Option<Cell>> = match hashed {
        Some(cells) if cells.len() == l.weights.len() => cells.iter().map(|&c| Some(c)).collect(),
        Some(_) => return Err(Error::Synthesis),
        None => vec![None; l.weights.len()],
    };
    l.rows
        .iter()
        .map(|row| {
            let mut terms: Vec<PrivateTerm> = row
                .terms
                .iter()
                .map(|&(i, w)| PrivateTerm {
                    x: x[i as usize],
                    xv: cx.value(l.input, i as usize).map(field_from_i64),
                    w: w as usize,
                    wv: weight(w as usize),
                })
                .collect();
            if let Some(b) = row.bias {
                let b = b as usize;
                terms.push(PrivateTerm { x: pinned.one, xv: cx.witness(Fr::ONE), w: b, wv: weight(b) });
            }
            chip.private(asg, &terms, pinned.zero, &mut canonical)
        })
        .collect()
}

/// Lays out a MatMul node: one private-weight dot chain per output element.
pub(crate) fn matmul(
    cx: &Ctx<'_>,
    asg: &mut Assigner<'_>,
    a: TensorId,
    b: TensorId,
    rows: &[Vec<(u32, u32)>],
) -> Result<Vec<Cell>, Error> {
    let chip = cx.cfg.dot_chip();
    let pinned = cx.pinned.ok_or(Error::Synthesis)?;
    let (xa, xb) = (&cx.cells[a], &cx.cells[b]);
    // every use of b[j] is copy-constrained to b's own cell
    let mut canonical: Vec<Option<Cell>> = xb.iter().map(|&c| Some(c)).collect();
    rows.iter()
        .map(|row| {
            let terms: Vec<PrivateTerm> = row
                .iter()
                .map(|&(i, j)| PrivateTerm {
                    x: xa[i as usize],
                    xv: cx.value(a, i as usize).map(field_from_i64),
                    w: j as usize,
                    wv: cx.value(b, j as usize).map(field_from_i64),
                })
                .collect();
            chip.private(asg, &terms, pinned.zero, &mut canonical)
        })
        .collect()
}
