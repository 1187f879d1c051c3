//! Model inputs as users give them: EZKL's input files (`{"input_data": [[flat floats], ...]}`),
//! their quantization at each input node's scale, and the dequantization of outputs.
//!
//! These live in the IR crate, not the compiler, so witness generation and proving from
//! compiled artifacts need no ONNX stack.

use serde::Deserialize;

use crate::quant::{dequantize, quantize};
use crate::{Graph, IrError};

#[derive(Deserialize)]
struct InputFile {
    input_data: Vec<Vec<f32>>,
}

/// Parses input JSON bytes into one flat row-major float vector per model input.
///
/// Fails with [`IrError::InputData`] on bytes that are not JSON of that shape, including
/// numbers that do not fit an `f32`.
pub fn parse_inputs(bytes: &[u8]) -> Result<Vec<Vec<f32>>, IrError> {
    let f: InputFile = serde_json::from_slice(bytes)
        .map_err(|e| IrError::InputData { reason: format!("expected {{\"input_data\": [[floats], ...]}}: {e}") })?;
    Ok(f.input_data)
}

/// Checks the number and lengths of float inputs against the graph's input nodes.
pub fn check_inputs(graph: &Graph, inputs: &[Vec<f32>]) -> Result<(), IrError> {
    if inputs.len() != graph.inputs.len() {
        return Err(IrError::InputCount { expected: graph.inputs.len(), got: inputs.len() });
    }
    for (index, (&t, xs)) in graph.inputs.iter().zip(inputs).enumerate() {
        let node = graph.nodes.get(t).ok_or(IrError::InputCount { expected: graph.inputs.len(), got: index })?;
        if node.len() != xs.len() {
            return Err(IrError::InputLength {
                index,
                name: node.name.clone(),
                shape: node.shape.clone(),
                expected: node.len(),
                got: xs.len(),
            });
        }
    }
    Ok(())
}

/// Quantizes float inputs (one flat row-major vector per model input) at each input node's
/// scale, after checking their count and lengths ([`check_inputs`]).
pub fn quantize_inputs(graph: &Graph, inputs: &[Vec<f32>]) -> Result<Vec<Vec<i64>>, IrError> {
    check_inputs(graph, inputs)?;
    Ok(graph
        .inputs
        .iter()
        .zip(inputs)
        .map(|(&t, xs)| {
            let scale = graph.nodes.get(t).map_or(0, |n| n.scale);
            xs.iter().map(|&x| quantize(f64::from(x), scale)).collect()
        })
        .collect())
}

/// Turns the interpreter's (or the circuit's) output integers back into floats, at each
/// output node's scale.
pub fn dequantize_outputs(graph: &Graph, outputs: &[Vec<i64>]) -> Vec<Vec<f64>> {
    graph
        .outputs
        .iter()
        .zip(outputs)
        .map(|(&t, qs)| {
            let scale = graph.nodes.get(t).map_or(0, |n| n.scale);
            qs.iter().map(|&q| dequantize(q, scale)).collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ezkl_format_and_rejects_others() {
        assert_eq!(parse_inputs(br#"{"input_data": [[1.0, -2.5], []]}"#).unwrap(), vec![vec![1.0, -2.5], vec![]]);
        for bad in [&b""[..], b"[]", b"{\"input_data\": [1.0]}", b"{\"input_data\": [[\"x\"]]}", b"\xff"] {
            assert!(matches!(parse_inputs(bad), Err(IrError::InputData { .. })), "{bad:?} accepted");
        }
    }
}
