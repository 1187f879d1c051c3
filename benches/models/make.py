"""The benchmark-only models of `benches/benches/vs_ezkl.rs`, with seeded random weights.

Run from the repository root: `fixtures/.venv/bin/python benches/models/make.py`.

- `mlp784`: the classic 784-128-10 MLP: MatMul(784x128) + Add -> Relu -> Gemm(128->10).
- `lenet5`: LeNet-5 on a 1x1x32x32 image: Conv(1->6, 5x5) -> Relu -> AveragePool(2)
  -> Conv(6->16, 5x5) -> Relu -> AveragePool(2) -> Flatten -> Gemm(400->120) -> Relu
  -> Gemm(120->84) -> Relu -> Gemm(84->10).
- `cnn_large`: a wider CNN on a 1x3x32x32 image, big enough that zkonnx needs k >= 20 with
  4 lanes or fewer (`run`'s layout optimizer picks about 11 lanes at k = 18; the benchmark
  also runs it pinned to 3 lanes, at k = 20):
  Conv(3->16, 3x3, pad 1) -> Relu -> Conv(16->32, 3x3, pad 1) -> Relu -> MaxPool(2)
  -> Conv(32->64, 3x3, pad 1) -> Relu -> MaxPool(2) -> Flatten -> Gemm(4096->10).
- `gpt`: a small GPT, too big for one circuit on a 24 GiB machine (`run --split auto` proves it in
  segments): token ids [1, 48] (int64) into a 128-token embedding of width 64 plus learned
  positions, 6 pre-norm causal transformer blocks (LayerNorm, 4-head self-attention with an
  additive causal mask of -8 (exp(-8) is below the fixed-point precision, so masked scores
  vanish as with -inf), output projection, residual, LayerNorm, GELU MLP of width 256 (the
  exact Erf form), residual), a final LayerNorm and the language-model head on the last
  position: the next token's 128 logits.

The weights are He-initialised and scaled down so activations stay within a few units; nothing is
trained (the benchmark measures cost and quantization error, not accuracy). Each model's
input and float outputs (onnx's reference evaluator) are written beside it.
"""

import os
import sys

import numpy as np
from onnx import TensorProto, helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures"))
import common  # noqa: E402

SEED = 777


def he(rng, shape, fan_in, gain=0.7):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in) * gain).astype(np.float32)


def bias(rng, n):
    return (rng.standard_normal(n) * 0.05).astype(np.float32)


def conv_node(rng, inits, name, x, cin, cout, k, pad):
    w = he(rng, (cout, cin, k, k), cin * k * k)
    inits += [common.init(f"{name}_w", w), common.init(f"{name}_b", bias(rng, cout))]
    return helper.make_node("Conv", [x, f"{name}_w", f"{name}_b"], [name], kernel_shape=[k, k], pads=[pad] * 4, strides=[1, 1])


def gemm_node(rng, inits, name, x, cin, cout):
    inits += [common.init(f"{name}_w", he(rng, (cin, cout), cin)), common.init(f"{name}_b", bias(rng, cout))]
    return helper.make_node("Gemm", [x, f"{name}_w", f"{name}_b"], [name])


def relu(x):
    return helper.make_node("Relu", [x], [f"{x}_relu"])


def emit(name, nodes, inits, in_shape, out_shape, x):
    model = common.make_model(
        nodes, [common.value_info("input", in_shape)], [common.value_info(nodes[-1].output[0], out_shape)],
        inits, name)
    d = common.here(__file__, name)
    os.makedirs(d, exist_ok=True)
    common.emit(model, os.path.join(d, "model.onnx"), os.path.join(d, "input.json"),
                os.path.join(d, "expected.json"), {"input": x})


def mlp784(rng):
    inits = [common.init("w1", he(rng, (784, 128), 784)), common.init("b1", bias(rng, 128))]
    nodes = [helper.make_node("MatMul", ["input", "w1"], ["h1"]), helper.make_node("Add", ["h1", "b1"], ["a1"]),
             relu("a1"), gemm_node(rng, inits, "logits", "a1_relu", 128, 10)]
    emit("mlp784", nodes, inits, [1, 784], [1, 10], rng.random((1, 784)).astype(np.float32))


def lenet5(rng):
    inits = []
    nodes = [conv_node(rng, inits, "c1", "input", 1, 6, 5, 0), relu("c1"),
             helper.make_node("AveragePool", ["c1_relu"], ["s2"], kernel_shape=[2, 2], strides=[2, 2]),
             conv_node(rng, inits, "c3", "s2", 6, 16, 5, 0), relu("c3"),
             helper.make_node("AveragePool", ["c3_relu"], ["s4"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["s4"], ["flat"]),
             gemm_node(rng, inits, "f5", "flat", 400, 120), relu("f5"),
             gemm_node(rng, inits, "f6", "f5_relu", 120, 84), relu("f6"),
             gemm_node(rng, inits, "logits", "f6_relu", 84, 10)]
    emit("lenet5", nodes, inits, [1, 1, 32, 32], [1, 10], rng.random((1, 1, 32, 32)).astype(np.float32))


def cnn_large(rng):
    inits = []
    nodes = [conv_node(rng, inits, "c1", "input", 3, 16, 3, 1), relu("c1"),
             conv_node(rng, inits, "c2", "c1_relu", 16, 32, 3, 1), relu("c2"),
             helper.make_node("MaxPool", ["c2_relu"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
             conv_node(rng, inits, "c3", "p2", 32, 64, 3, 1), relu("c3"),
             helper.make_node("MaxPool", ["c3_relu"], ["p3"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Flatten", ["p3"], ["flat"]),
             gemm_node(rng, inits, "logits", "flat", 4096, 10)]
    emit("cnn_large", nodes, inits, [1, 3, 32, 32], [1, 10], rng.random((1, 3, 32, 32)).astype(np.float32))


def gpt(rng, blocks=6, seq=48, d=64, heads=4, hidden=256, vocab=128):
    from scipy.special import erf
    hd = d // heads
    mk = helper.make_node

    def w(*shape, fan_in=None):
        return (rng.standard_normal(shape) * (0.6 / np.sqrt(fan_in or shape[0]))).astype(np.float32)

    p = {"tok": (rng.standard_normal((vocab, d)) * 0.5).astype(np.float32),
         "pos": (rng.standard_normal((1, seq, d)) * 0.2).astype(np.float32)}
    mask = np.triu(np.full((seq, seq), -8.0, dtype=np.float32), k=1)
    consts = {"heads_shape": np.array([1, seq, heads, hd], dtype=np.int64),
              "model_shape": np.array([1, seq, d], dtype=np.int64),
              "inv_sqrt_hd": np.array(1 / np.sqrt(hd), dtype=np.float32),
              "inv_sqrt2": np.array(1 / np.sqrt(2), dtype=np.float32),
              "one": np.array(1.0, dtype=np.float32), "half": np.array(0.5, dtype=np.float32),
              "mask": mask, "last": np.array([seq - 1], dtype=np.int64)}
    nodes = [mk("Gather", ["tok", "ids"], ["emb"], name="embed", axis=0),
             mk("Add", ["emb", "pos"], ["x0"], name="positions")]
    x = "x0"
    for b in range(blocks):
        n = f"b{b}_"
        for name, shape in [("wq", (d, d)), ("wk", (d, d)), ("wv", (d, d)), ("wo", (d, d)), ("w1", (d, hidden)),
                            ("w2", (hidden, d))]:
            p[n + name] = w(*shape)
        for name, size in [("bq", d), ("bk", d), ("bv", d), ("bo", d), ("b1", hidden), ("b2", d), ("be1", d), ("be2", d)]:
            p[n + name] = (rng.standard_normal(size) * 0.05).astype(np.float32)
        for name in ["g1", "g2"]:
            p[n + name] = (1 + rng.standard_normal(d) * 0.1).astype(np.float32)
        nodes += [
            mk("LayerNormalization", [x, n + "g1", n + "be1"], [n + "ln1"], name=n + "ln1", axis=-1, epsilon=1e-5),
            mk("MatMul", [n + "ln1", n + "wq"], [n + "q0"], name=n + "q"),
            mk("Add", [n + "q0", n + "bq"], [n + "q1"], name=n + "q_bias"),
            mk("MatMul", [n + "ln1", n + "wk"], [n + "k0"], name=n + "k"),
            mk("Add", [n + "k0", n + "bk"], [n + "k1"], name=n + "k_bias"),
            mk("MatMul", [n + "ln1", n + "wv"], [n + "v0"], name=n + "v"),
            mk("Add", [n + "v0", n + "bv"], [n + "v1"], name=n + "v_bias"),
            mk("Reshape", [n + "q1", "heads_shape"], [n + "q2"], name=n + "q_heads"),
            mk("Reshape", [n + "k1", "heads_shape"], [n + "k2"], name=n + "k_heads"),
            mk("Reshape", [n + "v1", "heads_shape"], [n + "v2"], name=n + "v_heads"),
            mk("Transpose", [n + "q2"], [n + "qh"], name=n + "q_t", perm=[0, 2, 1, 3]),
            mk("Transpose", [n + "k2"], [n + "kt"], name=n + "k_t", perm=[0, 2, 3, 1]),
            mk("Transpose", [n + "v2"], [n + "vh"], name=n + "v_t", perm=[0, 2, 1, 3]),
            mk("MatMul", [n + "qh", n + "kt"], [n + "s0"], name=n + "scores"),
            mk("Mul", [n + "s0", "inv_sqrt_hd"], [n + "s1"], name=n + "scale"),
            mk("Add", [n + "s1", "mask"], [n + "s2"], name=n + "causal"),
            mk("Softmax", [n + "s2"], [n + "attn"], name=n + "softmax", axis=-1),
            mk("MatMul", [n + "attn", n + "vh"], [n + "c0"], name=n + "context"),
            mk("Transpose", [n + "c0"], [n + "c1"], name=n + "merge_t", perm=[0, 2, 1, 3]),
            mk("Reshape", [n + "c1", "model_shape"], [n + "c2"], name=n + "merge_heads"),
            mk("MatMul", [n + "c2", n + "wo"], [n + "o0"], name=n + "out"),
            mk("Add", [n + "o0", n + "bo"], [n + "o1"], name=n + "out_bias"),
            mk("Add", [x, n + "o1"], [n + "r1"], name=n + "residual1"),
            mk("LayerNormalization", [n + "r1", n + "g2", n + "be2"], [n + "ln2"], name=n + "ln2", axis=-1,
               epsilon=1e-5),
            mk("MatMul", [n + "ln2", n + "w1"], [n + "h0"], name=n + "fc1"),
            mk("Add", [n + "h0", n + "b1"], [n + "h1"], name=n + "fc1_bias"),
            mk("Mul", [n + "h1", "inv_sqrt2"], [n + "g0"], name=n + "gelu_scale"),
            mk("Erf", [n + "g0"], [n + "g1e"], name=n + "gelu_erf"),
            mk("Add", [n + "g1e", "one"], [n + "g2e"], name=n + "gelu_add"),
            mk("Mul", [n + "h1", n + "g2e"], [n + "g3"], name=n + "gelu_mul"),
            mk("Mul", [n + "g3", "half"], [n + "gelu"], name=n + "gelu_half"),
            mk("MatMul", [n + "gelu", n + "w2"], [n + "f0"], name=n + "fc2"),
            mk("Add", [n + "f0", n + "b2"], [n + "f1"], name=n + "fc2_bias"),
            mk("Add", [n + "r1", n + "f1"], [n + "out_x"], name=n + "residual2"),
        ]
        x = n + "out_x"
    p["gf"] = (1 + rng.standard_normal(d) * 0.1).astype(np.float32)
    p["bf"] = (rng.standard_normal(d) * 0.05).astype(np.float32)
    p["head"] = w(d, vocab)
    nodes += [mk("LayerNormalization", [x, "gf", "bf"], ["lnf"], name="ln_final", axis=-1, epsilon=1e-5),
              mk("Gather", ["lnf", "last"], ["last_tok"], name="last_position", axis=1),
              mk("MatMul", ["last_tok", "head"], ["logits3"], name="lm_head"),
              mk("Reshape", ["logits3", "logits_shape"], ["logits"], name="logits")]
    consts["logits_shape"] = np.array([1, vocab], dtype=np.int64)
    inits = [common.init(k, v) for k, v in {**p, **consts}.items()]
    ids_vi = common.value_info("ids", [1, seq], TensorProto.INT64)
    model = common.make_model(nodes, [ids_vi], [common.value_info("logits", [1, vocab])], inits, "gpt")
    model.opset_import[0].version = 17  # LayerNormalization
    ids = rng.integers(0, vocab, (1, seq)).astype(np.int64)

    # numpy, independently of onnx's evaluator
    def ln(t, g, b):
        mu = t.mean(axis=-1, keepdims=True)
        return (t - mu) / np.sqrt(((t - mu) ** 2).mean(axis=-1, keepdims=True) + 1e-5) * g + b

    def heads_of(t):
        return t.reshape(1, seq, heads, hd).transpose(0, 2, 1, 3)

    h = p["tok"][ids] + p["pos"]
    for b in range(blocks):
        n = f"b{b}_"
        a = ln(h, p[n + "g1"], p[n + "be1"])
        qh, kh, vh = (heads_of(a @ p[n + "w" + c] + p[n + "b" + c]) for c in "qkv")
        s_ = qh @ kh.transpose(0, 1, 3, 2) / np.sqrt(hd) + mask
        e = np.exp(s_ - s_.max(axis=-1, keepdims=True))
        ctx = ((e / e.sum(axis=-1, keepdims=True)) @ vh).transpose(0, 2, 1, 3).reshape(1, seq, d)
        h = h + ctx @ p[n + "wo"] + p[n + "bo"]
        f = ln(h, p[n + "g2"], p[n + "be2"]) @ p[n + "w1"] + p[n + "b1"]
        h = h + (f * 0.5 * (1 + erf(f / np.sqrt(2)))) @ p[n + "w2"] + p[n + "b2"]
    logits = ln(h, p["gf"], p["bf"])[:, seq - 1, :] @ p["head"]
    d_ = common.here(__file__, "gpt")
    os.makedirs(d_, exist_ok=True)
    common.emit(model, os.path.join(d_, "model.onnx"), os.path.join(d_, "input.json"),
                os.path.join(d_, "expected.json"), {"ids": ids}, [logits])


def main():
    rng = np.random.default_rng(SEED)
    mlp784(rng)
    lenet5(rng)
    cnn_large(rng)
    gpt(np.random.default_rng(SEED + 1))


if __name__ == "__main__":
    main()
