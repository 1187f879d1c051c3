//! The limits of what zkonnx builds, in one place: settings validation, the circuit's
//! parameters, the layout optimizer, key and SRS readers and the compiler all read them here.

/// Largest circuit size zkonnx builds: `2^26` rows. The circuit's constraints have degree 5, so
/// halo2 works on an extended domain of `2^(k + 2)` points, and BN254's scalar field has
/// 2-adicity 28: `k <= 26` keeps that domain within the field's roots of unity. It is also the
/// largest SRS zkonnx generates or imports for a circuit.
pub const MAX_LOGROWS: u32 = 26;

/// Most lanes (groups of advice columns) a circuit may have: the layout optimizer's widest
/// candidate and the bound `RunArgs::validate` and `CircuitParams::validate` enforce.
pub const MAX_LANES: usize = 16;

/// Largest `lookup_bits` (the range table has `2^lookup_bits` rows).
pub const MAX_LOOKUP_BITS: u32 = 24;

/// Largest input or weight scale (fractional bits).
pub const MAX_SCALE: u32 = 24;
