"""zkonnx from Python: scikit-learn and MLP models proved with numpy inputs, proofs crossing
between Python and the CLI, the EZKL-style file functions end to end (EVM included), every
error class, progress reports, and the GIL released while proving."""

import json
import os
import threading
import time

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import zkonnx
from conftest import FIXTURES, fixture_input


@pytest.fixture(scope="module")
def forest_onnx():
    """A scikit-learn random forest on iris, exported with skl2onnx (no ZipMap)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType

    iris = load_iris()
    x = iris.data.astype(np.float32)
    forest = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0).fit(x, iris.target)
    m = to_onnx(forest, initial_types=[("X", FloatTensorType([1, 4]))], options={"zipmap": False},
                target_opset={"": 17, "ai.onnx.ml": 3})
    return forest, x, m.SerializeToString()


def test_a_scikit_learn_forest_proves_and_verifies_from_numpy(forest_onnx, tmp_path):
    forest, x, model_bytes = forest_onnx
    model = zkonnx.Model(model_bytes)
    samples = [x[i:i + 1] for i in (0, 60, 120)]
    prover = model.setup(tmp_path / "forest", samples=samples)
    for row in (5, 70, 140):
        sample = x[row:row + 1].astype(np.float64)       # any float dtype
        proof = prover.prove(sample)
        label, probabilities = proof.outputs
        assert label.shape == (1,) and probabilities.shape == (1, 3)
        assert int(label[0]) == int(forest.predict(sample)[0])
        assert np.allclose(probabilities, forest.predict_proba(sample), atol=0.05)
        assert prover.verifier().verify(proof)


def test_an_mlp_takes_numpy_of_any_dtype_and_nested_lists(tmp_path):
    model = zkonnx.Model(FIXTURES / "mlp" / "model.onnx")
    x = fixture_input("mlp").reshape(model.input_shapes[0])
    prover = model.setup(tmp_path / "mlp", samples=[x])
    verifier = zkonnx.Verifier.from_artifacts(tmp_path / "mlp")
    float_out = model.run_float(x)[0]
    for given in (x, x.astype(np.float64), x.tolist(), {"input_data": [x.ravel().tolist()]}):
        proof = prover.prove(given)
        assert proof.outputs[0].shape == tuple(model.output_shapes[0])
        assert np.abs(proof.outputs[0] - float_out).max() < 0.5
        assert verifier.verify(proof)
    for other in ((x > 0.5), np.rint(x * 4).astype(np.int32)):   # bools and integers
        assert verifier.verify(prover.prove(other))
    # a proof survives JSON, and its calldata is the public values then the proof
    back = zkonnx.Proof.from_json(proof.to_json())
    assert verifier.verify(back)
    assert back.calldata[:32 * len(back.public_values)] == b"".join(bytes.fromhex(v[2:]) for v in back.public_values)


def test_a_python_proof_verifies_with_the_cli_and_a_cli_proof_in_python(tmp_path, cli):
    model, data = FIXTURES / "tiny" / "gemm.onnx", FIXTURES / "tiny" / "gemm.input.json"
    out = tmp_path / "gemm"
    r = cli("run", "-M", model, "-D", data, "--out", out, "--json")
    assert r.returncode == 0, r.stderr
    # the CLI's proof, in Python
    cli_proof = zkonnx.Proof.read(out / "proof.json")
    assert zkonnx.Verifier.from_artifacts(out).verify(cli_proof)
    assert zkonnx.verify(out / "proof.json", out / "settings.json", out / "vk.key")
    # a Python proof of the same artifacts, with the CLI
    prover = zkonnx.Prover.from_artifacts(out)
    proof = prover.prove(json.loads(data.read_text()))
    proof.write(tmp_path / "py-proof.json")
    r = cli("verify", "--proof", tmp_path / "py-proof.json", "--vk", out / "vk.key", "--settings", out / "settings.json")
    assert r.returncode == 0, r.stderr
    assert proof.public_values == cli_proof.public_values


def test_the_ezkl_style_functions_end_to_end_with_the_evm(tmp_path):
    model, data = FIXTURES / "tiny" / "gemm.onnx", FIXTURES / "tiny" / "gemm.input.json"
    p = lambda name: tmp_path / name  # noqa: E731
    assert zkonnx.gen_settings(model, p("settings.json"), py_run_args={"input_visibility": "public"})
    assert zkonnx.calibrate_settings(data, model, p("settings.json"), target="resources")
    settings = json.loads(p("settings.json").read_text())
    assert settings["run_args"]["input_visibility"] == "public", "calibration kept the visibility"
    assert zkonnx.compile_circuit(model, p("model.compiled"), p("settings.json"))
    logrows = json.loads(p("settings.json").read_text())["run_args"]["logrows"]
    zkonnx.gen_srs(p("dev.srs"), logrows)
    assert zkonnx.setup(p("model.compiled"), p("vk.key"), p("pk.key"), p("dev.srs"))  # EZKL's positional order
    witness = zkonnx.gen_witness(data, p("model.compiled"), p("witness.json"))
    assert len(witness["output_floats"][0]) == 3
    proof = zkonnx.prove(p("witness.json"), p("model.compiled"), p("pk.key"), p("proof.json"), srs_path=p("dev.srs"))
    assert proof["outputs"] == witness["output_floats"]
    assert zkonnx.verify(p("proof.json"), p("settings.json"), p("vk.key"), srs_path=p("dev.srs"))
    with pytest.raises(zkonnx.BadInputError, match="INSECURE development SRS"):   # even from a file
        zkonnx.create_evm_verifier(p("vk.key"), p("settings.json"), p("verifier.sol"), p("verifier.json"),
                                   srs_path=p("dev.srs"))
    assert zkonnx.create_evm_verifier(p("vk.key"), p("settings.json"), p("verifier.sol"), p("verifier.json"),
                                      srs_path=p("dev.srs"), allow_insecure_srs=True)
    assert "contract Halo2VerifierCompiled" in p("verifier.sol").read_text()
    with pytest.raises(zkonnx.BadInputError, match="expected"):
        zkonnx.create_evm_verifier(p("vk.key"), p("settings.json"), p("data.sol"), p("data.json"),
                                   srs_path=p("dev.srs"), allow_insecure_srs=True, verifier="fastest")
    assert zkonnx.create_evm_verifier(p("vk.key"), p("settings.json"), p("data.sol"), p("data.json"),
                                      srs_path=p("dev.srs"), allow_insecure_srs=True, verifier="data")
    assert "contract Halo2VerifierVk" in p("data.sol").read_text()
    assert zkonnx.verify_evm(proof_path=p("proof.json"), bytecode_path=p("data.json"))
    calldata = zkonnx.encode_evm_calldata(p("proof.json"), p("calldata.bin"))
    assert p("calldata.bin").read_bytes() == calldata and len(calldata) > 32 * (4 + 3)
    assert zkonnx.verify_evm(proof_path=p("proof.json"), bytecode_path=p("verifier.json"))
    # a wrong public output: the native and the EVM verifier both refuse
    proof["instances"][-1] = "0x" + "00" * 31 + "05"
    p("bad.json").write_text(json.dumps({**proof, "format": "zkonnx-proof", "version": 1}))
    with pytest.raises(zkonnx.VerificationError):
        zkonnx.verify(p("bad.json"), p("settings.json"), p("vk.key"), srs_path=p("dev.srs"))
    with pytest.raises(zkonnx.VerificationError):
        zkonnx.verify_evm(proof_path=p("bad.json"), bytecode_path=p("verifier.json"))


def test_run_reports_its_phases_to_a_callback(tmp_path):
    events = []
    report = zkonnx.run(FIXTURES / "tiny" / "relu.onnx", FIXTURES / "tiny" / "relu.input.json", tmp_path / "relu",
                        progress=lambda event, what, secs: events.append((event, what)))
    assert report["ok"] is True and report["srs"] == "dev"
    started = [w for e, w in events if e == "started"]
    for phase in ("settings", "compile", "setup", "witness", "prove", "verify"):
        assert phase in started, started
    assert any(e == "warning" and "INSECURE" in w for e, w in events), "the development SRS is labelled"


def test_hashed_params_and_salted_inputs_match_zkonnx_hash(tmp_path):
    data = json.loads((FIXTURES / "tiny" / "gemm.input.json").read_text())
    data["input_salts"] = ["0x" + "ab" * 16]
    (tmp_path / "input.json").write_text(json.dumps(data))
    out = tmp_path / "hashed"
    report = zkonnx.run(FIXTURES / "tiny" / "gemm.onnx", tmp_path / "input.json", out,
                        py_run_args={"param_visibility": "hashed", "input_visibility": "hashed"})
    assert report["ok"] is True
    assert [h["of"] for h in report["hashed_public_values"]] == ["input 0", "params"]
    words = {h["of"]: h["word"] for h in zkonnx.hash(out / "model.compiled", data=tmp_path / "input.json")}
    assert report["public_values"][0] == words["input 0"]
    assert report["public_values"][-1] == words["params"]
    # from the witness the run wrote (which keeps the salt), the same
    again = {h["of"]: h["word"] for h in zkonnx.hash(out / "model.compiled", witness=out / "witness.json")}
    assert again == words
    with pytest.raises(zkonnx.Error, match="input_salts"):
        data["input_salts"] = ["-1"]
        (tmp_path / "bad.json").write_text(json.dumps(data))
        zkonnx.gen_witness(tmp_path / "bad.json", out / "model.compiled", tmp_path / "w.json")
        zkonnx.hash(out / "model.compiled", witness=tmp_path / "w.json")


def unsupported_model() -> bytes:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [])
    g = helper.make_graph([helper.make_node("Det", ["x"], ["y"], name="the_det")], "det", [x], [y])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def test_each_error_class_is_raised_with_the_rust_message(tmp_path):
    model = zkonnx.Model(FIXTURES / "tiny" / "gemm.onnx")
    x = np.asarray(json.loads((FIXTURES / "tiny" / "gemm.input.json").read_text())["input_data"][0], np.float32)
    prover = model.setup(tmp_path / "gemm", samples=[x])

    with pytest.raises(zkonnx.BadInputError, match="needs 4 values"):
        prover.prove(np.zeros(3))
    with pytest.raises(zkonnx.BadInputError, match="outside the checked range"):
        prover.prove(np.full(4, 1e9))
    with pytest.raises(zkonnx.BadInputError, match="dtype"):
        prover.prove(np.array(["a", "b", "c", "d"]))
    with pytest.raises(zkonnx.UnsupportedError, match="the_det"):
        zkonnx.Model(unsupported_model()).settings([np.zeros((2, 2))])
    proof = prover.prove(x)
    tampered = json.loads(proof.to_json())
    tampered["proof"] = tampered["proof"][:-2] + ("00" if tampered["proof"][-2:] != "00" else "01")
    with pytest.raises(zkonnx.VerificationError, match="does not verify"):
        prover.verifier().verify(zkonnx.Proof.from_json(json.dumps(tampered)))
    with pytest.raises(zkonnx.FileError, match="missing.key"):
        zkonnx.verify(tmp_path / "gemm" / "proof.json", tmp_path / "gemm" / "settings.json", tmp_path / "missing.key")
    (tmp_path / "gemm" / "pk.key").write_bytes(b"ZKONNXPK garbage")
    with pytest.raises(zkonnx.FileError, match="pk.key"):
        zkonnx.Prover.from_artifacts(tmp_path / "gemm")
    with pytest.raises(zkonnx.ResourceError, match="estimated"):
        os.environ["ZKONNX_MAX_MEMORY_MB"] = "1"
        try:
            zkonnx.run(FIXTURES / "tiny" / "gemm.onnx", FIXTURES / "tiny" / "gemm.input.json", tmp_path / "tight")
        finally:
            del os.environ["ZKONNX_MAX_MEMORY_MB"]
    with pytest.raises(zkonnx.Error):       # every class is a zkonnx.Error
        zkonnx.Proof.from_json("{}")
    assert issubclass(zkonnx.VerificationError, zkonnx.Error) and issubclass(zkonnx.Error, Exception)


def test_the_gil_is_released_while_proving(tmp_path):
    model = zkonnx.Model(FIXTURES / "lenet" / "model.onnx")
    x = fixture_input("lenet").reshape(model.input_shapes[0])
    prover = model.setup(tmp_path / "lenet", samples=[x])
    ticks = 0
    done = threading.Event()

    def count():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    try:
        start = time.perf_counter()
        before = ticks
        prover.prove(x)
        during = ticks - before
        seconds = time.perf_counter() - start
    finally:
        done.set()
        t.join()
    # with the GIL held the counter could not move at all; released, it ticks every few ms
    assert seconds > 0.2 and during > seconds * 50, (during, seconds)


def test_the_example_runs(tmp_path, monkeypatch):
    import runpy

    monkeypatch.chdir(tmp_path)
    ns = runpy.run_path(str(FIXTURES.parent / "python" / "examples" / "sklearn_proof.py"), run_name="__main__")
    assert ns["verified"] is True
    assert (tmp_path / "artifacts" / "verifier.sol").is_file()


def test_felt_helpers_read_public_values(tmp_path):
    model = zkonnx.Model(FIXTURES / "tiny" / "gemm.onnx")
    x = np.asarray(json.loads((FIXTURES / "tiny" / "gemm.input.json").read_text())["input_data"][0], np.float32)
    prover = model.setup(tmp_path / "gemm", samples=[x])
    proof = prover.prove(x)
    scale = prover.settings["model"]["output_scales"][0]
    decoded = [zkonnx.felt_to_float(v, scale) for v in proof.public_values]
    assert np.allclose(decoded, proof.outputs[0].ravel())
    assert [zkonnx.float_to_felt(v, scale) for v in decoded] == proof.public_values
    assert zkonnx.felt_to_int(zkonnx.float_to_felt(-1.5, 2)) == -6
    with pytest.raises(zkonnx.BadInputError):
        zkonnx.felt_to_int("0x" + "ff" * 32)


def test_get_srs_checks_the_published_hash_and_keeps_nothing_else(tmp_path):
    """A mirror (a real HTTP server on loopback) serving a file that is not the ceremony's: the
    published BLAKE2b hash refuses it with a FileError naming the file, and nothing is written."""
    import functools
    import http.server

    served = tmp_path / "served"
    served.mkdir()
    (served / "powersOfTau28_hez_final_08.ptau").write_bytes(b"not the ceremony" * 1000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        mirror = f"http://127.0.0.1:{server.server_address[1]}/"
        with pytest.raises(zkonnx.FileError, match="published hash") as e:
            zkonnx.get_srs(tmp_path / "ppot.srs", logrows=4, mirror=mirror)
        assert "powersOfTau28_hez_final_08.ptau" in str(e.value)
        assert not (tmp_path / "ppot.srs").exists()
        with pytest.raises(zkonnx.BadInputError, match="logrows"):
            zkonnx.get_srs()
    finally:
        server.shutdown()


def test_the_gas_objective_reaches_the_layout_optimizer(tmp_path):
    """EZKL-style run args take zkonnx's ``optimize`` ("time" or "gas") and ``max_prove_secs``."""
    model = FIXTURES / "lenet" / "model.onnx"
    layouts = {}
    for optimize in ("time", "gas"):
        out = tmp_path / f"{optimize}.json"
        assert zkonnx.gen_settings(model, out, py_run_args={"optimize": optimize, "max_prove_secs": 600})
        layouts[optimize] = json.loads(out.read_text())["model"]["layout"]
    assert layouts["gas"]["optimized_for"] == "gas"
    assert 0 < layouts["gas"]["predicted_verify_gas"] <= layouts["time"]["predicted_verify_gas"]
    with pytest.raises(zkonnx.BadInputError, match="time or gas"):
        zkonnx.gen_settings(model, tmp_path / "bad.json", py_run_args={"optimize": "fast"})
