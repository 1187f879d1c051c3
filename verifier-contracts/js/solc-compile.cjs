// Compiles a solc standard-JSON input read from stdin with the solc-js package found at
// $ZKONNX_SOLC_DIR (the repo pins it in package.json) and prints the standard-JSON output.
// Called by verifier-contracts/src/solc.rs; nothing is downloaded: soljson.js ships in the package.
'use strict';
const solc = require(process.env.ZKONNX_SOLC_DIR);
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const input = Buffer.concat(chunks).toString('utf8');
  process.stdout.write(solc.compile(input));
});
