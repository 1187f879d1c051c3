// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// Example consumer of a zkonnx verifier: accepts a proof that a classifier produced its
/// outputs, then uses those outputs on-chain (here: stores the winning class).
///
/// How a contract reads a zkonnx model's proven outputs:
/// - The verifier's calldata is `public values || proof`; each public value is one 32-byte
///   big-endian word. Public inputs come first (when the settings make inputs public), then the
///   public outputs, flattened in row-major order, output after output.
/// - Each word is an element of the BN254 scalar field (modulus R below). A negative number
///   -v is stored as R - v, so a word above R / 2 is negative.
/// - The signed integer is the output in fixed point: its real value is `word / 2^scale`, with
///   `scale` from the settings (`model.output_scales`).
/// The verifier accepts exactly when the proof is valid for these public values, so once the
/// call succeeds the words can be trusted.
contract ProvenArgmax {
    /// The BN254 scalar field modulus.
    uint256 internal constant R = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;

    address public immutable verifier;
    /// Public values in front of the proof, and where the outputs start among them.
    uint256 public immutable numInstances;
    uint256 public immutable firstOutput;
    uint256 public immutable numOutputs;
    /// Gas handed to the verifier: a failing verifier may burn all it gets, so cap it.
    uint256 public immutable verifyGas;

    /// The last proven winner and its fixed-point value.
    uint256 public lastClass;
    int256 public lastValue;

    event Proven(uint256 indexed class, int256 value);

    constructor(address verifier_, uint256 numInstances_, uint256 firstOutput_, uint256 numOutputs_, uint256 verifyGas_) {
        require(firstOutput_ + numOutputs_ <= numInstances_, "outputs outside the public values");
        verifier = verifier_;
        numInstances = numInstances_;
        firstOutput = firstOutput_;
        numOutputs = numOutputs_;
        verifyGas = verifyGas_;
    }

    /// A field element as the signed integer it encodes.
    function toSigned(uint256 word) public pure returns (int256) {
        require(word < R, "not a field element");
        return word > R / 2 ? -int256(R - word) : int256(word);
    }

    /// Verifies `data` (the output of `zkonnx encode-evm-calldata`) and records the argmax of
    /// the proven outputs. Reverts when the proof does not verify.
    function submit(bytes calldata data) external returns (uint256 best) {
        require(data.length > numInstances * 32, "calldata shorter than the public values");
        // success alone is not enough (a call to an address without code succeeds too): the
        // verifier returns the word 1 for a valid proof
        (bool ok, bytes memory ret) = verifier.staticcall{gas: verifyGas}(data);
        require(ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1, "proof rejected");
        int256 bestValue = type(int256).min;
        for (uint256 i = 0; i < numOutputs; i++) {
            uint256 at = (firstOutput + i) * 32;
            int256 v = toSigned(uint256(bytes32(data[at:at + 32])));
            if (v > bestValue) {
                bestValue = v;
                best = i;
            }
        }
        lastClass = best;
        lastValue = bestValue;
        emit Proven(best, bestValue);
    }
}
