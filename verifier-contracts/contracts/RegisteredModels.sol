// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// Example consumer of a zkonnx verifier for a circuit with hashed params
/// (`--param-visibility hashed`): one verifier serves every model of an architecture, and this
/// contract accepts a proof only when the model that ran is one its owner registered.
///
/// How it reads a proof:
/// - The verifier's calldata is `public values || proof`, each public value one 32-byte
///   big-endian word: the inputs (or one Poseidon hash each), the outputs (or one hash each),
///   then the params' hash (`hashed_public_values` in settings.json and proof.json says which).
/// - The params' hash is the Poseidon commitment of the model's weights that `zkonnx hash`
///   prints (the 32-byte word); register it with `register`.
/// The verifier accepts exactly when the proof is valid for these public values, so once the
/// call succeeds the words can be trusted, and the params word names the weights that ran.
contract RegisteredModels {
    address public immutable verifier;
    address public immutable owner;
    /// Public values in front of the proof, and the index of the params' hash among them.
    uint256 public immutable numInstances;
    uint256 public immutable paramsIndex;
    /// Gas handed to the verifier: a failing verifier may burn all it gets, so cap it.
    uint256 public immutable verifyGas;

    /// Registered params hashes.
    mapping(uint256 => bool) public registered;
    /// The last accepted proof's model and the hash of its public values.
    uint256 public lastModel;
    bytes32 public lastPublicValues;

    event Registered(uint256 indexed paramsHash);
    event Proven(uint256 indexed paramsHash, bytes32 publicValues);

    constructor(address verifier_, uint256 numInstances_, uint256 paramsIndex_, uint256 verifyGas_) {
        require(paramsIndex_ < numInstances_, "params hash outside the public values");
        verifier = verifier_;
        owner = msg.sender;
        numInstances = numInstances_;
        paramsIndex = paramsIndex_;
        verifyGas = verifyGas_;
    }

    /// Registers the params hash of a model whose proofs are accepted.
    function register(uint256 paramsHash) external {
        require(msg.sender == owner, "only the owner registers models");
        registered[paramsHash] = true;
        emit Registered(paramsHash);
    }

    /// Verifies `data` (the output of `zkonnx encode-evm-calldata`) and accepts it only for a
    /// registered model; returns the model's params hash. Reverts otherwise.
    function submit(bytes calldata data) external returns (uint256 paramsHash) {
        require(data.length > numInstances * 32, "calldata shorter than the public values");
        uint256 at = paramsIndex * 32;
        paramsHash = uint256(bytes32(data[at:at + 32]));
        require(registered[paramsHash], "model not registered");
        // success alone is not enough (a call to an address without code succeeds too): the
        // verifier returns the word 1 for a valid proof
        (bool ok, bytes memory ret) = verifier.staticcall{gas: verifyGas}(data);
        require(ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1, "proof rejected");
        lastModel = paramsHash;
        lastPublicValues = keccak256(data[:numInstances * 32]);
        emit Proven(paramsHash, lastPublicValues);
    }
}
