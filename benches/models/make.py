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

The weights are He-initialised and scaled down so activations stay within a few units; nothing is
trained (the benchmark measures cost and quantization error, not accuracy). Each model's
input and float outputs (onnx's reference evaluator) are written beside it.
"""

import os
import sys

import numpy as np
from onnx import helper

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


def main():
    rng = np.random.default_rng(SEED)
    mlp784(rng)
    lenet5(rng)
    cnn_large(rng)


if __name__ == "__main__":
    main()
