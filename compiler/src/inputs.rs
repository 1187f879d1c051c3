//! Parsing of EZKL's input format, `{"input_data": [[flat floats of input 0], ...]}`.

use serde::Deserialize;

use crate::CompileError;

#[derive(Deserialize)]
struct InputFile {
    input_data: Vec<Vec<f32>>,
}

/// Parses input JSON bytes into one flat row-major float vector per model input.
///
/// Fails with [`CompileError::Input`] on bytes that are not JSON of that shape, including
/// numbers that do not fit an `f32`.
pub fn parse_inputs(bytes: &[u8]) -> Result<Vec<Vec<f32>>, CompileError> {
    let f: InputFile = serde_json::from_slice(bytes)
        .map_err(|e| CompileError::Input { reason: format!("expected {{\"input_data\": [[floats], ...]}}: {e}") })?;
    Ok(f.input_data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_ezkl_format_and_rejects_others() {
        assert_eq!(parse_inputs(br#"{"input_data": [[1.0, -2.5], []]}"#).unwrap(), vec![vec![1.0, -2.5], vec![]]);
        for bad in [&b""[..], b"[]", b"{\"input_data\": [1.0]}", b"{\"input_data\": [[\"x\"]]}", b"\xff"] {
            assert!(matches!(parse_inputs(bad), Err(CompileError::Input { .. })), "{bad:?} accepted");
        }
    }
}
