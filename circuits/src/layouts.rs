//! One layout function per op family: each turns a node's operands (cells of earlier nodes)
//! into the node's output cells through the chips. [`crate::model`] dispatches to them.

pub(crate) mod activation;
pub(crate) mod arith;
pub(crate) mod constant;
pub(crate) mod hashed;
pub(crate) mod input;
pub(crate) mod linear;
pub(crate) mod lookup;
pub(crate) mod rescale;
pub(crate) mod shape;

use halo2_proofs::circuit::{Cell, Value};
use zkonnx_ir::{Graph, TensorId, Trace};

use crate::model::ModelConfig;
use crate::CircuitParams;

/// Cells pinned to 0 and 1, shared by every private-weight dot chain.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Pinned {
    pub(crate) zero: Cell,
    pub(crate) one: Cell,
}

/// What every layout reads: the config, the graph, the witness, and the cells laid out so far.
#[derive(Debug)]
pub(crate) struct Ctx<'c> {
    pub(crate) cfg: &'c ModelConfig,
    pub(crate) params: &'c CircuitParams,
    pub(crate) graph: &'c Graph,
    pub(crate) trace: Option<&'c Trace>,
    /// Output cells of each node laid out so far, by node index.
    pub(crate) cells: Vec<Vec<Cell>>,
    /// Present when params are private and the graph has a Linear op, or it has a MatMul.
    pub(crate) pinned: Option<Pinned>,
    /// The graph's distinct looked-up functions in tag order ([`Graph::funcs`]), computed once.
    pub(crate) funcs: Vec<zkonnx_ir::Func>,
    /// With hashed params: each node's param cells in the Poseidon chip (empty otherwise).
    pub(crate) param_cells: Vec<Vec<Cell>>,
}

impl Ctx<'_> {
    /// The witness value of element `i` of tensor `t` (unknown without a witness).
    pub(crate) fn value(&self, t: TensorId, i: usize) -> Value<i64> {
        match self.trace {
            Some(trace) => Value::known(trace.values[t][i]),
            None => Value::unknown(),
        }
    }

    /// Whether a witness is present.
    pub(crate) fn witness<T>(&self, v: T) -> Value<T> {
        if self.trace.is_some() {
            Value::known(v)
        } else {
            Value::unknown()
        }
    }
}
