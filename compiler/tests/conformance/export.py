"""Exports the onnx package's PyTorch-converted backend test models for zkonnx's conformance test.

Usage: python export.py OUT_DIR
For every `onnx/backend/test/data/{pytorch-converted,pytorch-operator}/<name>/` it writes
`OUT_DIR/<name>/model.onnx` (a copy), `input.json` ({"input_data": [[flat floats], ...]}),
`expected.json` ({"outputs": [[flat floats], ...]}) and `meta.json` (input dtypes and shapes),
from `test_data_set_0/*.pb`. Nothing is committed: the data comes from the installed package.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

SUITES = ["pytorch-converted", "pytorch-operator"]


def tensors(folder, prefix):
    out = []
    i = 0
    while os.path.exists(os.path.join(folder, f"{prefix}_{i}.pb")):
        t = onnx.TensorProto()
        with open(os.path.join(folder, f"{prefix}_{i}.pb"), "rb") as f:
            t.ParseFromString(f.read())
        out.append(numpy_helper.to_array(t))
        i += 1
    return out


def flat(a):
    """Finite values as floats; NaN and infinities (JSON has none) as null."""
    return [float(v) if np.isfinite(v) else None for v in np.asarray(a, dtype=np.float64).reshape(-1)]


def write_case(dst, model_bytes, inputs, outputs, suite, constant_inputs=()):
    """Writes one model and its first data set in the layout the Rust test reads."""
    os.makedirs(dst, exist_ok=True)
    with open(os.path.join(dst, "model.onnx"), "wb") as f:
        f.write(model_bytes)
    # bfloat16 (ml_dtypes, numpy kind "V") is written as the floats it holds; meta keeps its name
    dtypes = [kind(a) for a in inputs + outputs]
    inputs, outputs = [plain(a) for a in inputs], [plain(a) for a in outputs]
    tensors_only = all(isinstance(a, np.ndarray) for a in inputs + outputs)
    numbers = [np.asarray(a, dtype=np.float64) for a in inputs + outputs
               if isinstance(a, np.ndarray) and a.dtype.kind in "fiub"]
    numeric = tensors_only and len(numbers) == len(inputs) + len(outputs)
    with open(os.path.join(dst, "input.json"), "w") as f:
        json.dump({"input_data": [flat(a) if numeric else [] for a in inputs]}, f)
    with open(os.path.join(dst, "expected.json"), "w") as f:
        json.dump({"outputs": [flat(a) if numeric else [] for a in outputs]}, f)
    meta = {
        "suite": suite,
        "inputs": [{"dtype": d, "shape": list(np.shape(a)) if isinstance(a, np.ndarray) else []}
                   for d, a in zip(dtypes, inputs)],
        "outputs": [{"dtype": d} for d in dtypes[len(inputs):]],
        "finite": bool(all(np.isfinite(a).all() for a in numbers)),
        "max_abs_input": max((float(np.abs(a[np.isfinite(a)]).max()) for a in inputs
                              if isinstance(a, np.ndarray) and a.dtype.kind == "f" and np.isfinite(a).any()),
                             default=0.0),
        "constant_inputs": list(constant_inputs),
    }
    with open(os.path.join(dst, "meta.json"), "w") as f:
        json.dump(meta, f)


def plain(a):
    """A bfloat16 array as float32 (exact); anything else as it is."""
    return a.astype(np.float32) if isinstance(a, np.ndarray) and str(a.dtype) == "bfloat16" else a


def kind(a):
    """A tensor's numpy dtype name; `sequence`, `optional` or the type name for anything else."""
    if isinstance(a, np.ndarray):
        return str(a.dtype)
    if isinstance(a, list):
        return "sequence"
    return "optional" if a is None else type(a).__name__


def main(out_dir):
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    count = 0
    for suite in SUITES:
        for name in sorted(os.listdir(os.path.join(root, suite))):
            src = os.path.join(root, suite, name)
            data = os.path.join(src, "test_data_set_0")
            if not os.path.isfile(os.path.join(src, "model.onnx")) or not os.path.isdir(data):
                continue
            with open(os.path.join(src, "model.onnx"), "rb") as f:
                model = f.read()
            write_case(os.path.join(out_dir, name), model, tensors(data, "input"), tensors(data, "output"), suite)
            count += 1
    print(f"exported {count} models to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1])
