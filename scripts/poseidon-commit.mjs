// zkonnx's tensor commitment recomputed with circomlibjs (circomlib's Poseidon), independently of
// zkonnx: the external oracle of cli/tests/hashed.rs, and a reference for a JS backend that checks
// a `hashed` public value. Reads JSON on stdin, `[{"values": [ints as strings], "salt": "decimal"}]`,
// and prints one JSON array of decimal commitments:
//   d = len(e), e = [salt, ...values]; for each chunk of 3: d = poseidon([d, e0, e1, e2]) (zeros past the end)
import { buildPoseidon } from "circomlibjs";

const P = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
const field = (v) => ((BigInt(v) % P) + P) % P;

const input = JSON.parse(await new Promise((resolve) => {
  let s = "";
  process.stdin.on("data", (c) => (s += c));
  process.stdin.on("end", () => resolve(s));
}));
const poseidon = await buildPoseidon();
const out = input.map(({ values, salt }) => {
  const e = [field(salt ?? 0), ...values.map(field)];
  let d = BigInt(e.length);
  for (let i = 0; i < e.length; i += 3) {
    d = poseidon.F.toObject(poseidon([d, e[i] ?? 0n, e[i + 1] ?? 0n, e[i + 2] ?? 0n]));
  }
  return d.toString();
});
console.log(JSON.stringify(out));
