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
    input_data: Vec<Vec<Number>>,
}

/// One element of an input as EZKL's files hold it: a float, an integer (an index, a count) or a
/// boolean (`true` is 1). Integers and booleans are exact in an `f32` up to `2^24`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Number {
    Float(f32),
    Bool(bool),
}

impl Number {
    fn value(&self) -> f32 {
        match self {
            Number::Float(x) => *x,
            Number::Bool(b) => f32::from(u8::from(*b)),
        }
    }
}

/// Parses input JSON bytes into one flat row-major float vector per model input.
///
/// Fails with [`IrError::InputData`] on bytes that are not JSON of that shape, including
/// numbers that do not fit an `f32`.
pub fn parse_inputs(bytes: &[u8]) -> Result<Vec<Vec<f32>>, IrError> {
    let f: InputFile = serde_json::from_slice(bytes).map_err(|e| IrError::InputData {
        reason: format!("expected {{\"input_data\": [[numbers or booleans], ...]}}: {e}"),
    })?;
    Ok(f.input_data.iter().map(|xs| xs.iter().map(Number::value).collect()).collect())
}

#[derive(Deserialize)]
struct SaltFile {
    #[serde(default)]
    input_salts: Vec<serde_json::Value>,
    #[serde(default)]
    output_salts: Vec<serde_json::Value>,
}

/// The optional salts of an input file (`"input_salts"`, `"output_salts"`: one per input and
/// output tensor, each a field element as a decimal or `0x` hex string, or a non-negative
/// integer), as strings; checked as field elements where they are used (the prover).
pub fn parse_salts(bytes: &[u8]) -> Result<(Vec<String>, Vec<String>), IrError> {
    let f: SaltFile = serde_json::from_slice(bytes)
        .map_err(|e| IrError::InputData { reason: format!("salts: expected arrays of strings: {e}") })?;
    let strings = |field: &str, vs: Vec<serde_json::Value>| {
        vs.into_iter()
            .enumerate()
            .map(|(i, v)| match v {
                serde_json::Value::String(s) => Ok(s),
                serde_json::Value::Number(n) if n.is_u64() => Ok(n.to_string()),
                other => Err(IrError::InputData {
                    reason: format!("{field}[{i}] is {other}: expected a field element as a string"),
                }),
            })
            .collect::<Result<Vec<_>, _>>()
    };
    Ok((strings("input_salts", f.input_salts)?, strings("output_salts", f.output_salts)?))
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
    fn salts_are_optional_strings_or_integers() {
        let f = br#"{"input_data": [[1.0]], "input_salts": ["0x1f", 7], "output_salts": ["12"]}"#;
        assert_eq!(parse_salts(f).unwrap(), (vec!["0x1f".into(), "7".into()], vec!["12".into()]));
        assert_eq!(parse_salts(br#"{"input_data": [[1.0]]}"#).unwrap(), (vec![], vec![]));
        let e = parse_salts(br#"{"input_salts": [-1]}"#).unwrap_err().to_string();
        assert!(e.contains("input_salts[0] is -1"), "{e}");
    }

    #[test]
    fn parses_the_ezkl_format_and_rejects_others() {
        assert_eq!(parse_inputs(br#"{"input_data": [[1.0, -2.5], []]}"#).unwrap(), vec![vec![1.0, -2.5], vec![]]);
        // integers (indices) and booleans, as EZKL's files hold them; no inputs at all
        let mixed = parse_inputs(br#"{"input_data": [[3, 0, 12], [true, false, 1.5]]}"#).unwrap();
        assert_eq!(mixed, vec![vec![3.0, 0.0, 12.0], vec![1.0, 0.0, 1.5]]);
        assert_eq!(parse_inputs(br#"{"input_data": []}"#).unwrap(), Vec::<Vec<f32>>::new());
        for bad in [&b""[..], b"[]", b"{\"input_data\": [1.0]}", b"{\"input_data\": [[\"x\"]]}", b"\xff"] {
            assert!(matches!(parse_inputs(bad), Err(IrError::InputData { .. })), "{bad:?} accepted");
        }
    }
}
