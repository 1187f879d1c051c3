//! Commitments computed natively: what a proof with `hashed` visibility exposes, recomputed
//! from the compiled model, an input file or a witness (`zkonnx hash`). The construction is
//! circomlib's Poseidon chained over the tensor (see [`zkonnx_circuits::poseidon`]), so a JS,
//! Python or Solidity implementation of circomlib's Poseidon recomputes the same values.

use serde::Serialize;
use zkonnx_circuits::poseidon::{self, to_decimal, to_word};
use zkonnx_circuits::{Fr, Salts};

use crate::{CompiledModel, Result, Witness};

/// One commitment: what it is of, as a field element (decimal) and as the 32-byte big-endian
/// word a contract sees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Commitment {
    /// `params`, `input 0`, `output 1`, ...
    pub of: String,
    pub field: String,
    pub word: String,
}

impl Commitment {
    fn new(of: String, f: Fr) -> Self {
        Self { of, field: to_decimal(f), word: format!("0x{}", hex::encode(to_word(f))) }
    }
}

/// The commitment of the compiled model's params (weights and biases of every Linear node,
/// then every Const node's values, in graph order; unsalted).
pub fn params(compiled: &CompiledModel) -> Commitment {
    Commitment::new("params".into(), poseidon::params_commitment(&compiled.graph))
}

/// The params' commitment and, given a witness, each input's and each output's: what
/// `zkonnx hash` prints.
pub fn commitments(compiled: &CompiledModel, witness: Option<&Witness>) -> Result<Vec<Commitment>> {
    let mut all = vec![params(compiled)];
    if let Some(w) = witness {
        all.extend(inputs(w)?);
        all.extend(outputs(w)?);
    }
    Ok(all)
}

/// The commitment of each input of a witness (its quantized inputs, with its input salts).
pub fn inputs(witness: &Witness) -> Result<Vec<Commitment>> {
    let salts = witness.salts()?;
    Ok(tensors("input", &witness.inputs, |i| salts.input(i)))
}

/// The commitment of each output of a witness (with its output salts).
pub fn outputs(witness: &Witness) -> Result<Vec<Commitment>> {
    let salts: Salts = witness.salts()?;
    Ok(tensors("output", &witness.outputs, |i| salts.output(i)))
}

fn tensors(what: &str, values: &[Vec<i64>], salt: impl Fn(usize) -> Fr) -> Vec<Commitment> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Commitment::new(format!("{what} {i}"), poseidon::commit_ints(v, salt(i))))
        .collect()
}
