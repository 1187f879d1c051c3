"""Exports the onnx package's node tests (one op per model) for zkonnx's conformance test.

Usage: python export_node.py OUT_DIR
Recent onnx wheels ship no node test data; `collect_testcases()` regenerates every case from the
package's own reference code, with numpy's global seed fixed first so the random inputs are the
same on every run. Each case is written like `export.py` writes the PyTorch-converted models
(`OUT_DIR/<name>/{model.onnx,input.json,expected.json,meta.json}`, first data set only).

A node test passes every operand as a graph input, also those a real model holds as constants:
the axes, shapes, pads and sizes that later opsets moved from attributes to inputs, and the
weights of Conv and the normalizations. A circuit's shapes are fixed, so those operands
([`PARAMETERS`]) become initializers with the test's values; `meta.json` lists them
(`"constant_inputs"`) and the manifest repeats them. Everything else stays an input.
"""

import os
import sys
import warnings

import numpy as np

import onnx
from onnx import numpy_helper

from export import write_case

SEED = 0

REDUCES = ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
           "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"]
# op type -> the input positions that a real model holds as constants
PARAMETERS = {
    "Reshape": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0}, "Range": {0, 1, 2}, "Squeeze": {1},
    "Unsqueeze": {1}, "Split": {1}, "Slice": {1, 2, 3, 4}, "Pad": {1, 2, 3}, "Resize": {1, 2, 3},
    "Upsample": {1}, "TopK": {1}, "OneHot": {1, 2}, "Trilu": {1}, "CumSum": {1}, "Clip": {1, 2},
    "Conv": {1, 2}, "ConvTranspose": {1, 2}, "BatchNormalization": {1, 2, 3, 4}, "InstanceNormalization": {1, 2},
    "LayerNormalization": {1, 2}, "GroupNormalization": {1, 2}, "RMSNormalization": {1}, "CenterCropPad": {1},
    "CumProd": {1}, "CausalConvWithState": {1, 2}, "QuantizeLinear": {1, 2}, "DequantizeLinear": {1, 2},
    "MatMulInteger": {2, 3}, "QLinearMatMul": {1, 2, 4, 5, 6, 7}, "ReverseSequence": {1}, "BitShift": {1}, "HannWindow": {0},
    "HammingWindow": {0}, "BlackmanWindow": {0}, "Compress": {1},
    **{r: {1} for r in REDUCES},
}


def pin_parameters(model, inputs):
    """Moves the graph inputs at PARAMETERS positions (of the top-level nodes) into initializers;
    returns the model, the remaining input values, and the names it moved."""
    graph = model.graph
    wanted = {name for node in graph.node for i, name in enumerate(node.input)
              if name and i in PARAMETERS.get(node.op_type, ())}
    # an `_expanded` case inlines the op's function: its values are named `<op>_<test>_function_...`
    # and its graph inputs are the op's, in order
    expanded = {out.split("_test_")[0] for node in graph.node for out in node.output if "_function_" in out}
    if len(expanded) == 1:
        positions = PARAMETERS.get(expanded.pop(), ())
        wanted |= {vi.name for i, vi in enumerate(graph.input) if i in positions}
    names = [vi.name for vi in graph.input]
    pinned = [n for n in names if n in wanted]
    if not pinned:
        return model, inputs, []
    values = dict(zip(names, inputs))
    keep = [vi for vi in graph.input if vi.name not in wanted]
    del graph.input[:]
    graph.input.extend(keep)
    for n in pinned:
        v = values[n]
        if isinstance(v, onnx.TensorProto):  # a type numpy lacks (float8, 4-bit): kept as it is
            t = onnx.TensorProto()
            t.CopyFrom(v)
            t.name = n
        else:
            t = numpy_helper.from_array(np.asarray(v), n)
        graph.initializer.append(t)
    return model, [values[vi.name] for vi in keep], pinned


def main(out_dir):
    np.random.seed(SEED)
    warnings.simplefilter("ignore")  # the reference code divides by zero on purpose in places
    from onnx.backend.test.case.node import collect_testcases

    count = 0
    for case in collect_testcases():
        if case.model is None or not case.data_sets:
            continue
        inputs, outputs = case.data_sets[0]
        inputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in inputs]
        outputs = [np.asarray(a) if isinstance(a, np.generic) else a for a in outputs]
        model, inputs, pinned = pin_parameters(case.model, list(inputs))
        write_case(os.path.join(out_dir, case.name), model.SerializeToString(), inputs, outputs, "node",
                   constant_inputs=pinned)
        count += 1
    print(f"exported {count} node tests to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
