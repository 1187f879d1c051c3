"""Generates the tiny ONNX models the compiler tests use (one per op family).

Run from anywhere: `python3 compiler/tests/models/make.py` (needs `onnx` and `numpy`).
Opset 13, ir_version 8 (what tract-onnx 0.23 loads). Weights come from a seeded RNG, so
re-running the script rewrites identical files.
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(7)


def w(name, *shape, scale=0.5):
    return numpy_helper.from_array((RNG.standard_normal(shape) * scale).astype(np.float32), name)


def save(name, nodes, inputs, outputs, inits, opset=13):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, name + ".onnx"))


def vi(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def gemm():
    # symbolic batch N; Gemm with alpha/beta/transB=1, Relu, Gemm with transB=0 and a 1-D bias
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", alpha=0.5, beta=2.0, transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        helper.make_node("Gemm", ["r", "w2", "b2"], ["y"], name="fc2"),
    ]
    inits = [w("w1", 6, 4), w("b1", 6), w("w2", 6, 3), w("b2", 3)]
    save("gemm", nodes, [vi("x", ["N", 4])], [vi("y", ["N", 3])], inits)


def matmul():
    # batched MatMul by a constant, then Add/Sub/Mul with broadcast constants
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"], name="mm"),
        helper.make_node("Add", ["m", "b"], ["a"], name="add_b"),
        helper.make_node("Sub", ["c", "a"], ["s"], name="sub_c"),
        helper.make_node("Mul", ["s", "k"], ["y"], name="mul_k"),
    ]
    inits = [w("w", 4, 5), w("b", 5), w("c", 3, 1), w("k", 1, 5, scale=1.0)]
    save("matmul", nodes, [vi("x", [2, 3, 4])], [vi("y", [2, 3, 5])], inits)


def conv():
    # Conv(stride 2, pads, bias) -> BatchNorm -> Relu -> MaxPool(pads) -> AvgPool(pads) -> GAP -> Flatten -> Gemm
    nodes = [
        helper.make_node("Conv", ["x", "cw", "cb"], ["c"], name="conv1", strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["bn"], name="bn1"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu1"),
        helper.make_node("MaxPool", ["r"], ["mp"], name="pool1", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
        helper.make_node("AveragePool", ["mp"], ["ap"], name="pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("GlobalAveragePool", ["ap"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["f"], name="flat"),
        helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    var = numpy_helper.from_array((RNG.random(4) + 0.5).astype(np.float32), "var")
    inits = [w("cw", 4, 2, 3, 3), w("cb", 4), w("g", 4), w("be", 4), w("mu", 4), var, w("fw", 3, 4), w("fb", 3)]
    save("conv", nodes, [vi("x", [1, 2, 9, 9])], [vi("y", [1, 3])], inits)


def conv_same():
    # auto_pad SAME_UPPER, stride 2, no bias, non-square input; AvgPool without padding
    nodes = [
        helper.make_node("Conv", ["x", "cw"], ["c"], name="conv_same", auto_pad="SAME_UPPER", strides=[2, 2],
                         kernel_shape=[3, 2]),
        helper.make_node("AveragePool", ["c"], ["y"], name="avg", kernel_shape=[2, 2]),
    ]
    save("conv_same", nodes, [vi("x", [1, 2, 7, 6])], [vi("y", [1, 3, 3, 2])], [w("cw", 3, 2, 3, 2)])


def elementwise():
    # tensor-tensor Add/Sub/Mul with numpy broadcasting; two inputs, two outputs
    nodes = [
        helper.make_node("Add", ["a", "b"], ["s"], name="add"),
        helper.make_node("Mul", ["a", "b"], ["p"], name="mul"),
        helper.make_node("Sub", ["p", "s"], ["d"], name="sub"),
        helper.make_node("Relu", ["d"], ["y"], name="relu"),
    ]
    save("elementwise", nodes, [vi("a", [2, 3, 4]), vi("b", [3, 1])], [vi("y", [2, 3, 4]), vi("s", [2, 3, 4])], [])


def shape():
    # Reshape, Transpose, Identity, Constant, Flatten
    shp = numpy_helper.from_array(np.array([2, 3, 4], dtype=np.int64), "shp")
    cval = helper.make_tensor("cval", TensorProto.FLOAT, [4, 1, 3], (RNG.standard_normal(12)).tolist())
    nodes = [
        helper.make_node("Reshape", ["x", "shp"], ["r"], name="reshape"),
        helper.make_node("Transpose", ["r"], ["t"], name="transpose", perm=[2, 0, 1]),
        helper.make_node("Identity", ["t"], ["i"], name="ident"),
        helper.make_node("Constant", [], ["k"], name="konst", value=cval),
        helper.make_node("Add", ["i", "k"], ["a"], name="add_k"),
        helper.make_node("Flatten", ["a"], ["y"], name="flat", axis=2),
    ]
    save("shape", nodes, [vi("x", [6, 4])], [vi("y", [8, 3])], [shp])


def unsupported():
    nodes = [
        helper.make_node("Gemm", ["x", "w1"], ["h"], name="fc1", transB=1),
        helper.make_node("MeanVarianceNormalization", ["h"], ["y"], name="act0", axes=[1]),
    ]
    save("unsupported", nodes, [vi("x", [1, 4])], [vi("y", [1, 2])], [w("w1", 2, 4)])


def dynamic_matmul():
    nodes = [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm_dyn")]
    save("dynamic_matmul", nodes, [vi("a", [2, 3]), vi("b", [3, 2])], [vi("y", [2, 2])], [])


def tree_modes():
    """ONNX-ML TreeEnsembleClassifier with four one-branch trees, one per branch mode (LEQ, LT,
    GTE, GT), tree i testing feature i against 0.375 (on the 1/8 grid, i < 2) or 0.3 (off it);
    tree i votes 1 for class 2i when the branch holds, for class 2i + 1 otherwise."""
    modes = ["BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT"]
    node = helper.make_node(
        "TreeEnsembleClassifier", ["x"], ["label", "scores"], domain="ai.onnx.ml",
        nodes_treeids=[t for t in range(4) for _ in range(3)],
        nodes_nodeids=[0, 1, 2] * 4,
        nodes_featureids=[f for t in range(4) for f in (t, 0, 0)],
        nodes_modes=[m for t in range(4) for m in (modes[t], "LEAF", "LEAF")],
        nodes_values=[v for t in range(4) for v in (0.375 if t < 2 else 0.3, 0.0, 0.0)],
        nodes_truenodeids=[1, 0, 0] * 4,
        nodes_falsenodeids=[2, 0, 0] * 4,
        class_treeids=[t for t in range(4) for _ in range(2)],
        class_nodeids=[1, 2] * 4,
        class_ids=[c for t in range(4) for c in (2 * t, 2 * t + 1)],
        class_weights=[1.0] * 8,
        classlabels_int64s=list(range(8)),
    )
    graph = helper.make_graph([node], "tree_modes", [vi("x", [1, 4])],
                              [helper.make_tensor_value_info("label", TensorProto.INT64, [1]), vi("scores", [1, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "tree_modes.onnx"))


def upsample_linear():
    """Upsample (opset 9, linear, scales [1, 1, 1.5, 2]) of x [1, 2, 4, 4], then Relu."""
    nodes = [helper.make_node("Upsample", ["x", "scales"], ["u"], name="up", mode="linear"),
             helper.make_node("Relu", ["u"], ["y"], name="relu")]
    scales = numpy_helper.from_array(np.array([1, 1, 1.5, 2], dtype=np.float32), "scales")
    graph = helper.make_graph(nodes, "upsample_linear", [vi("x", [1, 2, 4, 4])], [vi("y", [1, 2, 6, 8])], [scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, "upsample_linear.onnx"))


def scatter_const_updates():
    """ScatterElements (opset 13) of x [1, 4] at positions 0 and 3 with the constant updates
    [1, 2]: constants that equal the numbers a probe gives x's elements (1 and 2), which the
    compiler must not mistake for copies of x."""
    nodes = [helper.make_node("ScatterElements", ["x", "idx", "upd"], ["y"], name="scatter", axis=1)]
    inits = [numpy_helper.from_array(np.array([[0, 3]], dtype=np.int64), "idx"),
             numpy_helper.from_array(np.array([[1.0, 2.0]], dtype=np.float32), "upd")]
    save("scatter_const_updates", nodes, [vi("x", [1, 4])], [vi("y", [1, 4])], inits)


def unsupported_many():
    """Three unsupported nodes after a supported one: the error names all three."""
    nodes = [
        helper.make_node("Gemm", ["x", "w2"], ["h"], name="fc1", transB=1),
        helper.make_node("MeanVarianceNormalization", ["h"], ["a"], name="act0", axes=[1]),
        helper.make_node("Bernoulli", ["a"], ["b"], name="act1", seed=1.0),
        helper.make_node("MeanVarianceNormalization", ["b"], ["y"], name="act2", axes=[1]),
    ]
    save("unsupported_many", nodes, [vi("x", [1, 4])], [vi("y", [1, 2])], [w("w2", 2, 4)], opset=15)


def nonzero():
    """NonZero of a constant mask (the positions a model keeps, as `torch.nonzero` of a fixed
    mask exports them) selects elements of x: folded at compile time. `nonzero_data` takes the
    NonZero of the input itself, whose output shape depends on the data."""
    mask = numpy_helper.from_array(np.array([1, 0, 1, 1, 0, 1], dtype=np.float32), "mask")
    axes = numpy_helper.from_array(np.array([0], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("NonZero", ["mask"], ["nz"], name="keep"),
        helper.make_node("Squeeze", ["nz", "axes"], ["idx"], name="rows"),
        helper.make_node("Gather", ["x", "idx"], ["y"], name="pick", axis=0),
    ]
    save("nonzero", nodes, [vi("x", [6])], [vi("y", [4])], [mask, axes])
    nodes = [
        helper.make_node("NonZero", ["x"], ["nz"], name="where_nonzero"),
        helper.make_node("Squeeze", ["nz", "axes"], ["idx"], name="rows"),
        helper.make_node("Gather", ["x", "idx"], ["y"], name="pick", axis=0),
    ]
    save("nonzero_data", nodes, [vi("x", [6])], [vi("y", ["K"])], [axes])


def masks():
    """Additive masks of -inf (or far below any activation) added to x [2, 3]: `mask_rows` hides
    row 1 entirely by -inf before a Softmax (its probabilities are 0); `mask_relu` sends a masked
    sum into a Relu, `mask_log_softmax` into a LogSoftmax and `mask_far_row` hides row 1 entirely
    by finite values (-1e9) before a Softmax, `mask_partial` is a Where of a computed condition
    between 0 and a constant that is -inf at some positions only: each is refused, naming the
    nodes. `mask_runtime` builds the mask at run time, -inf where x <= 0; `mask_isnan` asks IsNaN
    of a masked sum (refused: it is -inf, not NaN, at hidden positions, and no IR node would read
    it). `mask_compare`
    compares x with -inf and +inf: constant answers."""
    inf = np.inf
    rows = numpy_helper.from_array(np.array([[0, -inf, 0], [-inf, -inf, -inf]], dtype=np.float32), "m")
    far = numpy_helper.from_array(np.array([[0, -1e9, 0], [-1e9, -1e9, -1e9]], dtype=np.float32), "m")
    add = helper.make_node("Add", ["x", "m"], ["s"], name="mask")
    for name, m, last in [
        ("mask_rows", rows, helper.make_node("Softmax", ["s"], ["y"], name="attn", axis=-1)),
        ("mask_relu", rows, helper.make_node("Relu", ["s"], ["y"], name="relu")),
        ("mask_log_softmax", rows, helper.make_node("LogSoftmax", ["s"], ["y"], name="attn", axis=-1)),
        ("mask_far_row", far, helper.make_node("Softmax", ["s"], ["y"], name="attn", axis=-1)),
    ]:
        save(name, [add, last], [vi("x", [2, 3])], [vi("y", [2, 3])], [m])
    zero = numpy_helper.from_array(np.array([0], dtype=np.float32), "zero")
    nodes = [
        helper.make_node("Greater", ["x", "zero"], ["keep"], name="positive"),
        helper.make_node("Where", ["keep", "zero", "m"], ["mm"], name="runtime_mask"),
        helper.make_node("Add", ["x", "mm"], ["s"], name="mask"),
        helper.make_node("Softmax", ["s"], ["y"], name="attn", axis=-1),
    ]
    save("mask_runtime", nodes, [vi("x", [2, 3])], [vi("y", [2, 3])],
         [zero, numpy_helper.from_array(np.full((2, 3), -inf, dtype=np.float32), "m")])
    save("mask_partial", nodes, [vi("x", [2, 3])], [vi("y", [2, 3])],
         [zero, numpy_helper.from_array(np.array([[0, -inf, 0], [-inf, 0, 0]], dtype=np.float32), "m")])
    nodes = [add, helper.make_node("IsNaN", ["s"], ["n"], name="nan"),
             helper.make_node("Cast", ["n"], ["y"], name="as_float", to=TensorProto.FLOAT)]
    save("mask_isnan", nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], [rows])
    ninf = numpy_helper.from_array(np.array([-inf], dtype=np.float32), "ninf")
    pinf = numpy_helper.from_array(np.array([inf], dtype=np.float32), "pinf")
    nodes = [
        helper.make_node("Equal", ["x", "ninf"], ["eq"], name="eq_ninf"),
        helper.make_node("Less", ["x", "pinf"], ["lt"], name="lt_pinf"),
        helper.make_node("Greater", ["ninf", "x"], ["gt"], name="ninf_gt"),
        helper.make_node("Cast", ["eq"], ["a"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["lt"], ["b"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["gt"], ["c"], to=TensorProto.FLOAT),
        helper.make_node("Concat", ["a", "b", "c"], ["y"], axis=0),
    ]
    save("mask_compare", nodes, [vi("x", [2, 3])], [vi("y", [6, 3])], [ninf, pinf])


def dropout():
    """Dropout in inference (`dropout_eval`, with its mask output: x and all true) and in training
    mode with ratio 0.5 (`dropout_training`: random, refused), and in training mode with the
    ratio left out (`dropout_training_default_ratio`: 0.5 by default, refused)."""
    ratio = numpy_helper.from_array(np.array(0.5, dtype=np.float32), "ratio")
    train = numpy_helper.from_array(np.array(True), "train")
    mask = helper.make_tensor_value_info("keep", TensorProto.BOOL, [2, 3])
    nodes = [helper.make_node("Dropout", ["x", "ratio"], ["y", "keep"], name="drop")]
    save("dropout_eval", nodes, [vi("x", [2, 3])], [vi("y", [2, 3]), mask], [ratio])
    nodes = [helper.make_node("Dropout", ["x", "ratio", "train"], ["y"], name="drop")]
    save("dropout_training", nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], [ratio, train])
    nodes = [helper.make_node("Dropout", ["x", "", "train"], ["y"], name="drop")]
    save("dropout_training_default_ratio", nodes, [vi("x", [2, 3])], [vi("y", [2, 3])], [train])


def computed_parameters():
    """Operands a real model holds as constants, here computed: `bitshift_runtime` shifts x by
    amounts that are a second input, `compress_runtime` keeps the elements of x that a boolean
    input picks (the output's shape would depend on it). Both are refused, naming the node."""
    ints = [helper.make_tensor_value_info(n, TensorProto.INT32, [3]) for n in ["x", "k", "y"]]
    nodes = [helper.make_node("BitShift", ["x", "k"], ["y"], name="shift", direction="LEFT")]
    save("bitshift_runtime", nodes, ints[:2], ints[2:], [])
    keep = helper.make_tensor_value_info("keep", TensorProto.BOOL, [3])
    nodes = [helper.make_node("Compress", ["x", "keep"], ["y"], name="pick", axis=0)]
    save("compress_runtime", nodes, [vi("x", [3]), keep], [vi("y", ["K"])], [])


def round_ties():
    """Round (half to even) of x [8]: with few elements it is computed by rescales, no table."""
    save("round_ties", [helper.make_node("Round", ["x"], ["y"], name="round")], [vi("x", [8])], [vi("y", [8])], [])


def poles():
    """Reciprocal, Sqrt, Log and 1 / Sqrt of x [16]: functions with a pole or an infinite slope at
    0, which interpolation between knots cannot follow there (see the compiler's `fine_region`)."""
    nodes = [
        helper.make_node("Reciprocal", ["x"], ["recip"], name="recip"),
        helper.make_node("Sqrt", ["x"], ["sqrt"], name="sqrt"),
        helper.make_node("Log", ["x"], ["log"], name="log"),
        helper.make_node("Reciprocal", ["sqrt"], ["rsqrt"], name="rsqrt"),
    ]
    outs = [vi(n, [16]) for n in ["recip", "sqrt", "log", "rsqrt"]]
    save("poles", nodes, [vi("x", [16])], outs, [])


if __name__ == "__main__":
    for f in [gemm, matmul, conv, conv_same, elementwise, shape, unsupported, dynamic_matmul, tree_modes, upsample_linear,
              scatter_const_updates, unsupported_many, nonzero, masks, dropout, computed_parameters, round_ties, poles]:
        f()
