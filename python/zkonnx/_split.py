"""Models bigger than one circuit: split into segments, each proved by its own circuit, and one
aggregated proof of them all (``zkonnx split`` / ``prove-segment`` / ``aggregate`` from Python).

``split(model, samples, split_dir, segments=4)`` cuts a model into a folder and makes the
segments' keys; ``SplitModel`` then computes the segments' witnesses (fresh random salts on
every boundary: the boundary tensors stay private), proves each segment (a stateless job:
``zkonnx.ray`` schedules these on a cluster), aggregates and verifies. The aggregated proof
exposes the KZG accumulator first, then the model's public inputs, outputs and params hashes;
its EVM verifier costs the same gas for any number of segments.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native

PathLike = Union[str, "os.PathLike[str]"]


def _split_args(
    segments: Union[None, str, int] = None,
    max_memory_mb: Optional[float] = None,
    max_logrows: Optional[int] = None,
    cut: Optional[Sequence[str]] = None,
    fan_in: Optional[int] = None,
    aggregation_logrows: Optional[int] = None,
    root_advice: Optional[int] = None,
) -> str:
    """The split options as the native module reads them (``segments`` is ``"auto"``, ``None``
    or a count)."""
    args: Dict[str, Any] = {}
    if segments not in (None, "auto"):
        args["segments"] = int(segments)  # type: ignore[arg-type]
    for key, value in [("max_memory_mb", max_memory_mb), ("max_logrows", max_logrows), ("fan_in", fan_in),
                       ("aggregation_logrows", aggregation_logrows), ("root_advice", root_advice)]:
        if value is not None:
            args[key] = value
    if cut:
        args["cut"] = list(cut)
    return json.dumps(args)


class AggregatedProof:
    """One proof of a whole split model (``aggregated.json``)."""

    def __init__(self, text: str):
        self._json = json.loads(text)
        self._text = text

    @classmethod
    def read(cls, path: PathLike) -> "AggregatedProof":
        """Reads ``aggregated.json`` (format and version checked)."""
        return cls(_native.read_aggregated(os.fspath(path)))

    def to_json(self) -> str:
        return self._text

    def write(self, path: PathLike) -> None:
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w") as f:
            f.write(self._text)
        os.replace(tmp, path)

    @property
    def segments(self) -> int:
        return int(self._json["segments"])

    @property
    def model_hash(self) -> str:
        return self._json["model_hash"]

    @property
    def public_values(self) -> List[str]:
        """``0x`` + 32-byte big-endian hex: the accumulator's limbs, then the model's public
        inputs (or their hashes), public outputs (or theirs) and params hashes."""
        return list(self._json["instances"])

    @property
    def outputs(self) -> List[np.ndarray]:
        """The public outputs, dequantized (flat per output); empty when private or hashed."""
        return [np.asarray(o, dtype=np.float64) for o in self._json["outputs"]]

    @property
    def calldata(self) -> bytes:
        """What the EVM verifier takes: the public values as words, then the proof."""
        return _native.aggregated_calldata(self._text)


class SplitModel:
    """A split model's folder (``zkonnx split``): segments, their keys, the aggregation's keys."""

    def __init__(self, split_dir: PathLike):
        self.split_dir = os.fspath(split_dir)
        self.summary: Dict[str, Any] = json.loads(_native.split_summary(self.split_dir))

    def __len__(self) -> int:
        return len(self.summary["segments"])

    def witnesses(self, inputs: List[List[float]]) -> List[str]:
        """Each segment's witness (JSON), for the model's flat float inputs."""
        return _native.split_witnesses(self.split_dir, inputs)

    def prove_segment(self, segment: int, witness: str, out: PathLike, srs_path: Optional[PathLike] = None) -> str:
        """Proves one segment from its witness, writing the proof to ``out`` (kept when it already
        holds this proof); returns the proof (JSON)."""
        return _native.split_prove_segment(self.split_dir, int(segment), witness, os.fspath(out),
                                           None if srs_path is None else os.fspath(srs_path))

    def aggregate(self, run_dir: PathLike, segment_proofs: Optional[Sequence[str]] = None,
                  srs_path: Optional[PathLike] = None, progress: Any = None) -> AggregatedProof:
        """Aggregates the segment proofs in ``run_dir`` (or ``segment_proofs``, written there
        first) into ``run_dir/aggregated.json``."""
        if segment_proofs is not None:
            _native.split_write_proofs(os.fspath(run_dir), list(segment_proofs))
        text = _native.split_aggregate(self.split_dir, os.fspath(run_dir),
                                       None if srs_path is None else os.fspath(srs_path), progress)
        return AggregatedProof(text)

    def setup_aggregation(self, srs_path: Optional[PathLike] = None, progress: Any = None) -> None:
        """Makes the aggregation tree's keys (taken from the key cache when it has them)."""
        _native.split_setup_aggregation(self.split_dir, None if srs_path is None else os.fspath(srs_path), progress)

    def prove_node(self, node: int, children: Sequence[str], srs_path: Optional[PathLike] = None) -> str:
        """Proves one aggregation node from its children's proofs (JSON, in the plan's order:
        ``summary["plan"][node]``); returns its proof (JSON): for the root, the aggregated proof's."""
        return _native.split_prove_node(self.split_dir, int(node), list(children),
                                        None if srs_path is None else os.fspath(srs_path))

    def verify(self, proof: AggregatedProof, srs_path: Optional[PathLike] = None) -> bool:
        """``True``, or ``VerificationError`` naming why not."""
        return _native.split_verify(self.split_dir, proof.to_json(), None if srs_path is None else os.fspath(srs_path))

    def create_evm_verifier(self, sol_code_path: PathLike = "verifier.sol", bytecode_path: PathLike = "verifier.json",
                            srs_path: Optional[PathLike] = None, allow_insecure_srs: bool = False,
                            verifier: str = "auto") -> bool:
        """Writes the aggregated proofs' EVM verifier (zkonnx's compiled one by default, or
        ``"reference"``: snark-verifier's)."""
        return _native.split_evm_verifier(self.split_dir, os.fspath(sol_code_path), os.fspath(bytecode_path),
                                          None if srs_path is None else os.fspath(srs_path), bool(allow_insecure_srs),
                                          verifier)


def verify_evm(bytecode_path: PathLike, proof: AggregatedProof) -> int:
    """Checks an aggregated proof with its verifier (``verifier.json``) in an in-process EVM;
    returns the gas it took, or raises ``VerificationError``."""
    accepted, gas = _native.verify_calldata_in_evm(os.fspath(bytecode_path), proof.calldata)
    if not accepted:
        raise _native.VerificationError(f"{os.fspath(bytecode_path)} refused the aggregated proof ({gas} gas)")
    return int(gas)


def split(
    model: PathLike,
    samples: Sequence[List[List[float]]],
    split_dir: PathLike,
    segments: Union[None, str, int] = "auto",
    max_memory_mb: Optional[float] = None,
    max_logrows: Optional[int] = None,
    cut: Optional[Sequence[str]] = None,
    fan_in: Optional[int] = None,
    aggregation_logrows: Optional[int] = None,
    root_advice: Optional[int] = None,
    py_run_args: Optional[str] = None,
    srs_path: Optional[PathLike] = None,
    setup: bool = True,
    progress: Any = None,
) -> SplitModel:
    """Splits ``model`` into ``split_dir``: settings calibrated on ``samples`` (each a list of
    flat float inputs) unless ``py_run_args`` (JSON) pins them; ``segments`` is ``"auto"`` (as
    few as fit ``max_memory_mb``, default most of the memory available, or ``max_logrows``), a
    count, or ``cut`` names the ONNX nodes to cut after. With ``setup`` the segments' keys are
    made (the aggregation's are made by the first aggregation)."""
    _native.split_model(os.fspath(model), [list(s) for s in samples], os.fspath(split_dir), py_run_args,
                        _split_args(segments, max_memory_mb, max_logrows, cut, fan_in, aggregation_logrows,
                                    root_advice),
                        None if srs_path is None else os.fspath(srs_path), bool(setup), progress)
    return SplitModel(split_dir)


def run_split(model: PathLike, data: PathLike, output_dir: PathLike, segments: Union[str, int] = "auto",
              py_run_args: Optional[str] = None, srs_path: Optional[PathLike] = None, progress: Any = None,
              **split_options: Any) -> Dict[str, Any]:
    """``zkonnx run --split`` in this process: every step, artifacts in ``output_dir``; returns
    the report (``ok``, ``segments``, ``phases``, ``outputs``, ...)."""
    args = _split_args(segments, **split_options)
    return json.loads(_native.run_split(os.fspath(model), os.fspath(data), os.fspath(output_dir), py_run_args, args,
                                        None if srs_path is None else os.fspath(srs_path), progress))
