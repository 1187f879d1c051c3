"""zkonnx: zero-knowledge proofs of ONNX model inference (halo2 PLONK, KZG on BN254), from Python.

Two levels:

* EZKL-familiar functions over files (``gen_settings``, ``calibrate_settings``,
  ``compile_circuit``, ``gen_srs``, ``get_srs``, ``setup``, ``gen_witness``, ``prove``, ``verify``,
  ``create_evm_verifier``, ``encode_evm_calldata``, ``verify_evm``, and zkonnx's own ``run``):
  an EZKL notebook ports by changing the import (differences are in each docstring).
* Objects for new code: ``Model`` (an ONNX path or bytes), ``Prover`` (built once, called many
  times, from threads too), ``Proof`` (``.outputs`` as numpy arrays, ``.public_values``,
  ``.calldata``, ``.to_json()`` / ``Proof.from_json``), ``Verifier``.
* Models bigger than one circuit: ``split`` / ``SplitModel`` (segments, their proofs, one
  ``AggregatedProof``), ``run_split``, and ``zkonnx.ray`` (the segment
  proofs, or many inputs, as tasks on a Ray cluster; ``pip install zkonnx[ray]``).

Inputs are numpy arrays of any float, int or bool dtype, or nested lists. Every long call
releases the GIL. Failures raise ``zkonnx.Error`` subclasses carrying the Rust message:
``BadInputError``, ``UnsupportedError``, ``VerificationError``, ``FileError``,
``ResourceError``. Without ``srs_path``, the INSECURE development SRS (known seed, cached in
``~/.cache/zkonnx`` or ``$ZKONNX_CACHE_DIR``) is used: fine for tests, forgeable in production.
"""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np

from . import _native
from ._native import (
    BadInputError,
    Error,
    FileError,
    ResourceError,
    UnsupportedError,
    VerificationError,
)

__all__ = [
    "Error", "BadInputError", "UnsupportedError", "VerificationError", "FileError", "ResourceError",
    "gen_settings", "calibrate_settings", "compile_circuit", "gen_srs", "get_srs", "setup", "gen_witness", "prove",
    "verify", "create_evm_verifier", "encode_evm_calldata", "verify_evm", "deploy_evm", "gen_vk_from_pk_single",
    "felt_to_int", "felt_to_float", "float_to_felt", "felt_to_big_endian", "run", "hash",
    "Model", "Prover", "Proof", "Verifier",
    "split", "run_split", "SplitModel", "AggregatedProof",
]

PathLike = Union[str, "os.PathLike[str]"]
#: A progress callback: ``callback(event, phase_or_message, seconds)`` with ``event`` one of
#: ``"started"``, ``"finished"``, ``"note"``, ``"warning"``.
ProgressCallback = Callable[[str, str, float], None]


def _path(p: Optional[PathLike]) -> Optional[str]:
    return None if p is None else os.fspath(p)


def _run_args(py_run_args: Any) -> Optional[str]:
    """Run args as JSON: a dict, an object with attributes (EZKL's PyRunArgs style), or None."""
    if py_run_args is None:
        return None
    if isinstance(py_run_args, dict):
        return json.dumps(py_run_args)
    fields = [
        "input_scale", "param_scale", "lookup_bits", "range_limbs", "logrows", "lanes", "lookup_lanes",
        "input_visibility", "output_visibility", "param_visibility", "variables", "target", "optimize",
        "max_prove_secs",
    ]
    return json.dumps({f: getattr(py_run_args, f) for f in fields if getattr(py_run_args, f, None) is not None})


# --- EZKL-familiar functions ----------------------------------------------------------------------


def gen_settings(model: PathLike, output: PathLike = "settings.json", py_run_args: Any = None) -> bool:
    """Writes default settings for ``model`` to ``output``. ``py_run_args`` (a dict or an object
    with EZKL's attribute names) pins scales, ``lookup_bits``, ``logrows``, visibilities
    (``private``/``public``/``fixed``) and ``variables`` (symbolic dimensions); zkonnx adds
    ``range_limbs``, ``lanes``, ``lookup_lanes`` and ``optimize`` (``"time"``, the default, or
    ``"gas"``: the layout with the least predicted EVM verify gas, within ``max_prove_secs`` of
    predicted proving when given). The layout optimizer picks lanes and logrows."""
    return _native.gen_settings(_path(model), _path(output), _run_args(py_run_args))


def calibrate_settings(
    data: Union[PathLike, Sequence[PathLike]],
    model: PathLike,
    settings: PathLike,
    target: str = "resources",
    lookup_safety_margin: Optional[float] = None,
    scales: Optional[Sequence[int]] = None,
    scale_rebase_multiplier: Optional[Sequence[int]] = None,
    max_logrows: Optional[int] = None,
    py_run_args: Any = None,
) -> bool:
    """Calibrates scales, table bits, range limbs and the layout on sample input files and
    rewrites ``settings`` (visibilities and variables are kept from it). ``target`` is
    ``"resources"`` or ``"accuracy"``. Unlike EZKL, ``data`` may be several files. EZKL's
    ``lookup_safety_margin``, ``scales``, ``scale_rebase_multiplier`` and ``max_logrows`` are
    accepted and ignored: zkonnx searches its own scale grid, checks every sample against the
    range and caps logrows at 26."""
    files = [data] if isinstance(data, (str, os.PathLike)) else list(data)
    del lookup_safety_margin, scales, scale_rebase_multiplier, max_logrows  # see the docstring
    return _native.calibrate_settings([_path(f) for f in files], _path(model), _path(settings), target,
                                      _run_args(py_run_args))


def compile_circuit(model: PathLike, compiled_circuit: PathLike, settings_path: PathLike) -> bool:
    """Quantizes and compiles ``model`` under ``settings_path`` into ``compiled_circuit`` and
    updates the settings with the compiled model's facts (EZKL does not update them)."""
    return _native.compile_circuit(_path(model), _path(compiled_circuit), _path(settings_path))


def gen_srs(srs_path: PathLike, logrows: int) -> None:
    """Writes the INSECURE development SRS (known seed: tests and demos only). For production
    use :func:`get_srs` (the Perpetual Powers of Tau ceremony)."""
    _native.gen_srs(_path(srs_path), int(logrows))


def get_srs(
    srs_path: Optional[PathLike] = None,
    settings_path: Optional[PathLike] = None,
    logrows: Optional[int] = None,
    mirror: Optional[str] = None,
) -> str:
    """Downloads the Perpetual Powers of Tau SRS for ``logrows`` (or the settings' logrows), checks
    the BLAKE2b hash the snarkjs README publishes for it, imports and caches it (``zkonnx srs
    fetch``), and copies it to ``srs_path`` when given. Returns the SRS's path. ``mirror`` is a
    base URL holding the same files. A wrong hash or a broken download raises
    :class:`FileError` and leaves nothing behind."""
    return _native.get_srs(
        None if srs_path is None else _path(srs_path),
        None if settings_path is None else _path(settings_path),
        None if logrows is None else int(logrows),
        mirror,
    )


def setup(
    model: PathLike,
    vk_path: PathLike,
    pk_path: PathLike,
    srs_path: Optional[PathLike] = None,
    witness_path: Optional[PathLike] = None,
    disable_selector_compression: Optional[bool] = None,
) -> bool:
    """Generates the verifying and proving keys of a compiled model. EZKL's ``witness_path``
    and ``disable_selector_compression`` are accepted and ignored (zkonnx's keys need no
    witness; selectors are never compressed)."""
    return _native.setup(_path(model), _path(vk_path), _path(pk_path), _path(srs_path))


def gen_witness(
    data: PathLike,
    model: PathLike,
    output: Optional[PathLike] = None,
    vk_path: Optional[PathLike] = None,
    srs_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Runs the compiled model on an input file; writes the witness to ``output`` if given and
    returns it (``inputs``/``outputs`` quantized, ``output_floats`` dequantized). ``vk_path`` and
    ``srs_path`` are accepted and ignored (EZKL needs them for hashed visibilities)."""
    return json.loads(_native.gen_witness(_path(data), _path(model), _path(output)))


def hash(model: PathLike, data: Optional[PathLike] = None, witness: Optional[PathLike] = None) -> List[Dict[str, str]]:
    """The Poseidon commitments ``hashed`` visibility makes public, computed natively: the compiled
    model's params and, given an input file (with its optional ``input_salts``/``output_salts``) or a
    witness file, each input's and output's. Each is ``{"of": "params" | "input 0" | ...,
    "field": decimal, "word": 0x 32-byte big-endian}`` (what ``zkonnx hash --json`` prints)."""
    return json.loads(_native.hash_commitments(_path(model), _path(data), _path(witness)))


def prove(
    witness: PathLike,
    model: PathLike,
    pk_path: PathLike,
    proof_path: Optional[PathLike] = None,
    srs_path: Optional[PathLike] = None,
) -> Dict[str, Any]:
    """Proves a witness file; writes the proof to ``proof_path`` if given and returns it.
    EZKL's ``proof_type`` is not taken: every zkonnx proof is EVM-verifiable (Keccak transcript)."""
    return json.loads(_native.prove(_path(witness), _path(model), _path(pk_path), _path(proof_path), _path(srs_path)))


def verify(proof_path: PathLike, settings_path: PathLike, vk_path: PathLike,
           srs_path: Optional[PathLike] = None, reduced_srs: Optional[bool] = None) -> bool:
    """``True`` when the proof verifies; raises ``VerificationError`` naming why when it does not
    (EZKL raises too). ``reduced_srs`` is accepted and ignored: verification always uses the
    three SRS points it needs."""
    return _native.verify(_path(proof_path), _path(settings_path), _path(vk_path), _path(srs_path))


def create_evm_verifier(
    vk_path: PathLike,
    settings_path: PathLike,
    sol_code_path: PathLike = "verifier.sol",
    abi_path: PathLike = "verifier.json",
    srs_path: Optional[PathLike] = None,
    reusable: Optional[bool] = None,
    reference: bool = False,
    allow_insecure_srs: bool = False,
    verifier: str = "auto",
) -> bool:
    """Writes the Solidity verifier and, at ``abi_path``, zkonnx's ``verifier.json`` (its
    compiled bytecode) where EZKL writes an ABI: zkonnx's verifiers have one fallback entry point
    taking the calldata of ``encode_evm_calldata``. ``verifier``: ``"auto"`` (the compiled
    verifier, the key as straight-line EVM code and the least gas per proof, when it fits one
    contract; else ``"data"``), ``"compiled"``, ``"data"`` (one contract for every circuit, the
    key as data: any width) or ``"reference"`` (snark-verifier's unrolled verifier; also
    ``reference=True``). ``reusable`` is ignored and EZKL's ``create_evm_vka`` has no
    counterpart: the data verifier is always reusable. A verifier against the INSECURE
    development SRS (the default without ``srs_path``) is refused with ``BadInputError`` unless
    ``allow_insecure_srs=True`` (tests): anyone can forge proofs it would accept. EZKL has no
    such check."""
    return _native.create_evm_verifier(_path(vk_path), _path(settings_path), _path(sol_code_path),
                                       _path(abi_path), _path(srs_path), bool(reference), bool(allow_insecure_srs),
                                       verifier)


def encode_evm_calldata(proof: PathLike, calldata: Optional[PathLike] = None, addr_vk: Optional[str] = None) -> bytes:
    """The verifier's calldata for a proof file (public values as 32-byte words, then the
    proof); written to ``calldata`` when given. EZKL returns a list of ints; zkonnx ``bytes``.
    ``addr_vk`` (a separately deployed key) has no counterpart: zkonnx's verifier deploys and
    finds its key data itself."""
    if addr_vk is not None:
        raise BadInputError("addr_vk: zkonnx's verifier stores its key itself; encode without it")
    return _native.encode_evm_calldata(_path(proof), _path(calldata))


def verify_evm(
    addr_verifier: Optional[str] = None,
    proof_path: PathLike = "proof.json",
    rpc_url: Optional[str] = None,
    vka_path: Optional[str] = None,
    bytecode_path: Optional[PathLike] = None,
) -> bool:
    """Verifies a proof with a Solidity verifier deployed at ``addr_verifier`` on ``rpc_url``
    (``eth_call``), or, with ``bytecode_path`` (``verifier.json``) instead, in an in-process EVM
    (EZKL has no in-process verification). ``True``, or ``VerificationError``. ``vka_path`` has
    no counterpart (see ``create_evm_verifier``)."""
    if vka_path is not None:
        raise BadInputError("vka_path: zkonnx's verifier stores its key itself; verify without it")
    return _native.verify_evm(addr_verifier, rpc_url, _path(proof_path), _path(bytecode_path))


def deploy_evm(
    addr_path: PathLike,
    sol_code_path: Optional[PathLike] = None,
    rpc_url: Optional[str] = None,
    contract_type: Optional[str] = None,
    optimizer_runs: Optional[int] = None,
    private_key: Optional[str] = None,
    bytecode_path: Optional[PathLike] = None,
    allow_insecure_srs: bool = False,
) -> str:
    """Deploys the compiled verifier to the chain at ``rpc_url`` and writes its address to
    ``addr_path``; returns the address. zkonnx deploys ``verifier.json`` (``bytecode_path``, by
    default next to ``sol_code_path``) rather than compiling the source again, so
    ``contract_type`` and ``optimizer_runs`` are ignored. The key is ``private_key`` (hex) or
    ``$ZKONNX_PRIVATE_KEY``. A verifier made against the development SRS is refused unless
    ``allow_insecure_srs=True`` (a test chain)."""
    if rpc_url is None:
        raise BadInputError("deploy_evm: rpc_url is required")
    if bytecode_path is None:
        folder = os.path.dirname(os.fspath(sol_code_path)) if sol_code_path is not None else ""
        bytecode_path = os.path.join(folder, "verifier.json")
    return _native.deploy_evm(_path(addr_path), rpc_url, _path(bytecode_path), private_key, bool(allow_insecure_srs))


def gen_vk_from_pk_single(path_to_pk: PathLike, circuit_settings_path: PathLike, vk_output_path: PathLike) -> bool:
    """Writes the verifying key a proving key file holds."""
    return _native.gen_vk_from_pk_single(_path(path_to_pk), _path(circuit_settings_path), _path(vk_output_path))


#: BN254's scalar field modulus: public values are elements of this field.
FIELD_MODULUS = 0x30644E72E131A029B85045B68181585D2833E84879B9709143E1F593F0000001


def felt_to_int(felt: str) -> int:
    """A public value (``0x`` + 32-byte big-endian hex) as the signed integer it encodes
    (a value above half the modulus is negative). EZKL's felts are little-endian hex; zkonnx's
    public values are big-endian, as the EVM reads them."""
    v = int(felt, 16)
    if not 0 <= v < FIELD_MODULUS:
        raise BadInputError(f"{felt} is not a field element")
    return v - FIELD_MODULUS if v > FIELD_MODULUS // 2 else v


def felt_to_float(felt: str, scale: int) -> float:
    """A public value as the real number it encodes at ``scale`` fractional bits."""
    return felt_to_int(felt) / float(2 ** scale)


def float_to_felt(value: float, scale: int) -> str:
    """A real number quantized at ``scale`` bits as a public value (big-endian hex)."""
    q = int(round(value * 2 ** scale))
    return "0x" + (q % FIELD_MODULUS).to_bytes(32, "big").hex()


def felt_to_big_endian(felt: str) -> str:
    """A public value normalized to ``0x`` + 64 big-endian hex digits (zkonnx's are already)."""
    return "0x" + (int(felt, 16) % FIELD_MODULUS).to_bytes(32, "big").hex()


def run(
    model: PathLike,
    data: PathLike,
    output_dir: PathLike = "zkonnx-out",
    py_run_args: Any = None,
    srs_path: Optional[PathLike] = None,
    progress: Optional[ProgressCallback] = None,
) -> Dict[str, Any]:
    """Every step (``zkonnx run``): settings, compile, setup (keys reused when they belong),
    witness, prove, verify, with the artifacts in ``output_dir``. Returns the run report."""
    return json.loads(_native.run(_path(model), _path(data), _path(output_dir), _run_args(py_run_args),
                                  _path(srs_path), progress))


# --- models bigger than one circuit -----------------------------------------------------------------

from ._split import AggregatedProof, SplitModel, run_split, split  # noqa: E402

# --- objects ---------------------------------------------------------------------------------------


def _flat_inputs(inputs: Any, count: int) -> List[List[float]]:
    """Model inputs as flat float lists: ``{"input_data": ...}``, one array-like (a one-input
    model), or a sequence of ``count`` array-likes."""
    if isinstance(inputs, dict) and "input_data" in inputs:
        return [np.asarray(x, dtype=np.float64).ravel().astype(np.float32).tolist() for x in inputs["input_data"]]
    if count == 1 and not (isinstance(inputs, (list, tuple)) and inputs and all(isinstance(x, np.ndarray) for x in inputs) and len(inputs) == 1):
        items = [inputs]
    else:
        items = list(inputs)
    out = []
    for x in items:
        try:
            a = np.asarray(x)
        except Exception as e:  # ragged nested lists
            raise BadInputError(f"an input is not array-like: {e}") from e
        if a.dtype == object:
            raise BadInputError("an input is a ragged nested list; give a rectangular array")
        if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
            raise BadInputError(f"an input has dtype {a.dtype}; expected floats, integers or booleans")
        out.append(a.astype(np.float64).ravel().astype(np.float32).tolist())
    return out


class Proof:
    """A proof with the public values it proves."""

    def __init__(self, native: Any, output_shapes: Optional[List[List[int]]] = None):
        self._native = native
        self._shapes = output_shapes

    @classmethod
    def from_json(cls, text: str) -> "Proof":
        """Parses ``proof.json`` text (``zkonnx prove`` or ``to_json``)."""
        return cls(_native._Proof.from_json(text))

    @classmethod
    def read(cls, path: PathLike) -> "Proof":
        with open(path) as f:
            return cls.from_json(f.read())

    def to_json(self) -> str:
        """The ``proof.json`` text, as ``zkonnx verify`` reads it."""
        return self._native.to_json()

    def write(self, path: PathLike) -> None:
        tmp = f"{os.fspath(path)}.tmp"
        with open(tmp, "w") as f:
            f.write(self.to_json())
        os.replace(tmp, path)

    @property
    def outputs(self) -> List[np.ndarray]:
        """The public outputs, dequantized: numpy arrays in the model's output shapes (flat when
        the shapes are unknown, e.g. after ``from_json``); empty when outputs are private."""
        flat = self._native.outputs()
        if self._shapes and len(self._shapes) == len(flat):
            return [np.asarray(v, dtype=np.float64).reshape(s) for v, s in zip(flat, self._shapes)]
        return [np.asarray(v, dtype=np.float64) for v in flat]

    @property
    def public_values(self) -> List[str]:
        """Public values as ``0x`` + 32-byte big-endian hex: public inputs, then public outputs."""
        return self._native.public_values()

    @property
    def calldata(self) -> bytes:
        """What the EVM verifier takes: the public values as words, then the proof."""
        return self._native.calldata()

    @property
    def model_hash(self) -> str:
        return self._native.model_hash()


class Verifier:
    """Checks proofs of one circuit natively."""

    def __init__(self, native: Any):
        self._native = native

    @classmethod
    def from_artifacts(cls, output_dir: PathLike, srs_path: Optional[PathLike] = None) -> "Verifier":
        """From ``settings.json`` and ``vk.key`` in an artifacts folder."""
        return cls(_native._Verifier.from_artifacts(_path(output_dir), _path(srs_path)))

    def verify(self, proof: Proof) -> bool:
        """``True``, or ``VerificationError`` naming why not."""
        return self._native.verify(proof._native)


class Prover:
    """Proves inferences of one compiled model. Holds the circuit, proving key and SRS in
    memory: build it once, call ``prove`` many times (from several threads too)."""

    def __init__(self, native: Any):
        self._native = native
        settings = json.loads(native.settings_json())
        self.settings: Dict[str, Any] = settings
        self.input_shapes: List[List[int]] = settings["model"]["input_shapes"]
        self.output_shapes: List[List[int]] = settings["model"]["output_shapes"]

    @classmethod
    def from_artifacts(cls, output_dir: PathLike, srs_path: Optional[PathLike] = None) -> "Prover":
        """From ``model.compiled`` and ``pk.key`` in an artifacts folder (``zkonnx run --out``)."""
        return cls(_native._Prover.from_artifacts(_path(output_dir), _path(srs_path)))

    @property
    def estimated_peak_mb(self) -> float:
        return self._native.estimated_peak_mb()

    def outputs(self, inputs: Any) -> List[np.ndarray]:
        """Every output of the quantized model (public or not), without proving."""
        flat = self._native.outputs(_flat_inputs(inputs, len(self.input_shapes)))
        return [np.asarray(v, dtype=np.float64).reshape(s) for v, s in zip(flat, self.output_shapes)]

    def prove(self, inputs: Any, progress: Optional[ProgressCallback] = None) -> Proof:
        """Proves the model on ``inputs`` (see the module docstring for the accepted forms)."""
        native = self._native.prove(_flat_inputs(inputs, len(self.input_shapes)), progress)
        public = self.settings["run_args"].get("output_visibility") == "public"
        return Proof(native, self.output_shapes if public else None)

    def verifier(self) -> Verifier:
        return Verifier(self._native.verifier())


class Model:
    """An ONNX model: calibrate it, compile it, get a ``Prover``."""

    def __init__(self, model: Union[PathLike, bytes], dims: Optional[Dict[str, int]] = None):
        """``model`` is a path or the ONNX bytes; ``dims`` fixes symbolic dimensions (default 1)."""
        if isinstance(model, (bytes, bytearray)):
            self._native = _native._Model.from_bytes(bytes(model), "model", dims)
        else:
            self._native = _native._Model.load(_path(model), dims)

    @property
    def input_shapes(self) -> List[List[int]]:
        return self._native.input_shapes()

    @property
    def output_shapes(self) -> List[List[int]]:
        return self._native.output_shapes()

    def run_float(self, inputs: Any) -> List[np.ndarray]:
        """Float inference (tract), for comparison with the quantized outputs."""
        flat = self._native.run_float(_flat_inputs(inputs, len(self.input_shapes)))
        return [np.asarray(v, dtype=np.float64).reshape(s) for v, s in zip(flat, self.output_shapes)]

    def settings(self, samples: Sequence[Any], py_run_args: Any = None) -> Dict[str, Any]:
        """Settings calibrated on ``samples`` (each one model input, in any accepted form) unless
        ``py_run_args`` pins the scales; the layout optimizer picks what is left open."""
        n = len(self.input_shapes)
        flat = [_flat_inputs(s, n) for s in samples]
        return json.loads(self._native.settings(flat, _run_args(py_run_args)))

    def setup(
        self,
        output_dir: PathLike,
        samples: Optional[Sequence[Any]] = None,
        settings: Optional[Dict[str, Any]] = None,
        py_run_args: Any = None,
        srs_path: Optional[PathLike] = None,
        progress: Optional[ProgressCallback] = None,
    ) -> Prover:
        """Compiles (under ``settings``, else settings calibrated on ``samples``), writes the
        artifacts folder with the keys (reused when they belong), and returns a ``Prover``."""
        if settings is None:
            if samples is None:
                raise BadInputError("give samples to calibrate on, or settings")
            settings = self.settings(samples, py_run_args)
        native = self._native.setup(json.dumps(settings), _path(output_dir), _path(srs_path), progress)
        return Prover(native)
