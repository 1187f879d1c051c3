// The local chain of cli/tests/evm_node.rs: `hardhat --config <this file> node --port N`.
// Nothing is compiled with hardhat (the verifiers are compiled by zkonnx with solc-js), so there
// is no `solidity` section and hardhat never downloads a compiler; the node runs offline.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      // like a real chain: a failing transaction is mined with receipt status 0 instead of the
      // node answering eth_sendRawTransaction with an error. Failing eth_calls still answer with
      // an error (throwOnCallFailures keeps its default, true).
      throwOnTransactionFailures: false,
      // EIP-170 stays on (the default): an oversized verifier must fail here as on mainnet
      allowUnlimitedContractSize: false,
    },
  },
};
