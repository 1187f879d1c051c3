"""zkonnx.ray on a local Ray runtime of three simulated nodes (``ray.cluster_utils.Cluster``),
shared by every test here: a split model's segments proved as tasks (a worker killed mid-task is
retried) and aggregated by a task fed by theirs into one proof that verifies natively and in the
EVM with the single-process outputs; many inputs proved in input order however they finish; a bad input
failing the call at once with the Rust message; artifacts shipped once per content, through the
object store or a shared folder; the CLI's ``--engine ray``; the KubeRay manifest's shape."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import zkonnx
from conftest import FIXTURES, ROOT, fixture_input

ray = pytest.importorskip("ray", reason="zkonnx.ray's tests need Ray (python/requirements-test.txt)")
zray = pytest.importorskip("zkonnx.ray")


@pytest.fixture(scope="module")
def cluster():
    """Three simulated nodes (one or two CPUs), one runtime for the module."""
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    c.add_node(num_cpus=1)
    # the one node with the memory an aggregation node asks for (Ray's resources are logical)
    c.add_node(num_cpus=2, memory=20 * 2**30)
    ray.init(address=c.address, log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def mlp_split(tmp_path_factory):
    """The MLP fixture split in two, with the segments' keys (the cargo tests' split, root at
    2^20 rows pinned to 18 advice columns included, so the aggregation's keys come from the
    shared cache)."""
    x = fixture_input("mlp")
    d = tmp_path_factory.mktemp("mlp-split") / "split"
    sm = zkonnx.split(FIXTURES / "mlp" / "model.onnx", [[x.ravel().tolist()]], d, segments=2,
                      aggregation_logrows=20, root_advice=18)
    return sm, x


def wait_for(path: Path, seconds: float) -> str:
    deadline = time.time() + seconds
    while not path.exists():
        if time.time() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)
    time.sleep(0.05)
    return path.read_text()


def test_a_split_model_proves_on_ray_through_a_killed_worker_and_verifies(cluster, mlp_split, tmp_path):
    sm, x = mlp_split
    pids = tmp_path / "pids"
    pids.mkdir()
    events = []
    hooks = {"pid_dir": str(pids), "hold_first": {"segment-1": 60}}
    result = {}
    # the aggregation's 3 GB proving key through a shared folder (linked: one file system here)
    store = zray.ArtifactStore(shared_dir=tmp_path / "shared")

    def prove():
        try:
            result["proof"] = zray.prove_split(split_dir=sm.split_dir, inputs=x, run_dir=tmp_path / "run",
                                               progress=lambda e, p, s: events.append((e, p)), _hooks=hooks,
                                               aggregate_on="cluster", aggregation_cpus=2, artifact_store=store)
        except Exception as e:  # surfaced by the assertion below
            result["error"] = e

    t = threading.Thread(target=prove)
    t.start()
    # segment 1's first attempt holds: kill its worker process, as a node failure would
    pid = int(wait_for(pids / "segment-1.0.pid", 60))
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=1800)
    assert "error" not in result, result.get("error")
    proof = result["proof"]
    assert (pids / "segment-1.1.pid").exists(), "segment 1 was retried"
    assert int((pids / "segment-1.1.pid").read_text()) != pid
    assert ("finished", "segment 0") in events and ("finished", "aggregate") in events
    assert (pids / "aggregate.0.pid").exists(), "the root was a task"
    assert store.shared_bytes > 2**30, "the node's proving key went through the shared folder"
    run = tmp_path / "run"
    assert zkonnx.AggregatedProof.read(run / "aggregated.json").to_json() == proof.to_json()
    # natively, and in the EVM with zkonnx's compiled verifier (the development SRS: tests only)
    assert sm.verify(proof)
    verifier = tmp_path / "verifier.json"
    sm.create_evm_verifier(tmp_path / "verifier.sol", verifier, allow_insecure_srs=True)
    assert zkonnx._split.verify_evm(verifier, proof) > 0
    # the outputs the single-process prover computes under the same settings
    whole = json.loads((Path(sm.split_dir) / "model.compiled").read_text())
    settings = {k: v for k, v in whole["settings"].items()}
    settings["format"], settings["version"] = "zkonnx-settings", 1
    prover = zkonnx.Model(FIXTURES / "mlp" / "model.onnx").setup(tmp_path / "single", settings=settings)
    assert np.array_equal(proof.outputs[0], prover.outputs(x)[0].ravel())
    # the jobs name what is wrong before any proving: a node given its children out of order,
    # the driver's aggregation given proofs out of order
    p0, p1 = (run / "proof-0.json").read_text(), (run / "proof-1.json").read_text()
    with pytest.raises(zkonnx.Error, match="a proof of segment 1, not of segment 0"):
        sm.prove_node(0, [p1, p0])
    with pytest.raises(zkonnx.Error, match="out of order"):
        sm.aggregate(tmp_path / "swapped", [p1, p0])


def test_many_inputs_come_back_in_input_order(cluster, tmp_path):
    model = zkonnx.Model(FIXTURES / "mlp" / "model.onnx")
    x = fixture_input("mlp").reshape(model.input_shapes[0])
    prover = model.setup(tmp_path / "mlp", samples=[x])
    inputs = [x * s for s in (1.0, 0.5, 0.25, 0.75, 0.1)]
    # the first inputs finish last; artifacts over a tiny inline limit go through a shared folder
    hooks = {"hold": {"input-0": 3.0, "input-1": 2.0, "input-2": 1.0}}
    store = zray.ArtifactStore(shared_dir=tmp_path / "shared", inline_limit=1024)
    proofs = zray.prove_many(tmp_path / "mlp", inputs, artifact_store=store, _hooks=hooks)
    assert store.shared_bytes > 0 and store.inline_bytes == 0
    verifier = prover.verifier()
    for given, proof in zip(inputs, proofs):
        assert np.array_equal(proof.outputs[0], prover.outputs(given)[0])
        assert verifier.verify(proof)


def test_a_bad_input_fails_the_call_at_once_with_the_rust_message(cluster, mlp_split, tmp_path):
    model = zkonnx.Model(FIXTURES / "mlp" / "model.onnx")
    x = fixture_input("mlp").reshape(model.input_shapes[0])
    model.setup(tmp_path / "mlp", samples=[x])
    start = time.time()
    with pytest.raises(zkonnx.BadInputError, match="needs 64 values"):
        zray.prove_many(tmp_path / "mlp", [x, x.ravel()[:10]], _hooks={"hold": {"input-0": 120}})
    assert time.time() - start < 60, "the call waited for the held task"
    # a split model's bad input fails on the driver, before any task
    sm, _ = mlp_split
    start = time.time()
    with pytest.raises(zkonnx.BadInputError, match="needs 64 values"):
        zray.prove_split(split_dir=sm.split_dir, inputs=np.zeros(10, dtype=np.float32))
    assert time.time() - start < 30


def test_artifacts_travel_once_per_content_and_are_cached_on_the_node(cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("ZKONNX_CACHE_DIR", str(tmp_path / "node-cache"))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 5000)
    b.write_bytes(b"x" * 5000)           # the same content under another name
    store = zray.ArtifactStore(shared_dir=tmp_path / "shared", inline_limit=4096)
    pa, pb = store.put(a), store.put(b)
    assert pa.sha256 == pb.sha256 and store.shared_bytes == 5000, "one copy for one content"
    first = zray._materialize(pa)
    os.remove(pa.shared)                  # later tasks on this node never go back to the source
    assert zray._materialize(pa) == first and Path(first).read_bytes() == b"x" * 5000
    small = tmp_path / "small.bin"
    small.write_bytes(b"y" * 100)
    s = store.put(small)
    assert s.ref and s.shared is None and store.inline_bytes == 100
    assert Path(zray._materialize(s)).read_bytes() == b"y" * 100
    # without a shared folder, a file over the limit is refused naming the fix
    with pytest.raises(zkonnx.ResourceError, match="shared_dir"):
        zray.ArtifactStore(inline_limit=10).put(a)


def test_the_cli_runs_the_same_code_with_engine_ray(cluster, cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"input_data": [[0.5] * 10]}))
    env = {**os.environ, "ZKONNX_PYTHON": sys.executable}
    exe = os.environ.get("ZKONNX_BIN", str(ROOT / "target" / "release" / "zkonnx"))
    r = subprocess.run([exe, "run", "-M", str(FIXTURES / "mlp" / "model.onnx"), "-D", str(bad), "--out",
                        str(tmp_path / "out"), "--split", "2", "--engine", "ray", "--ray-address",
                        cluster.address, "--aggregate-on", "cluster", "--ray-shared-dir", str(tmp_path / "shared")],
                       capture_output=True, text=True, env=env)
    assert r.returncode != 0 and "64" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "zkonnx.ray", "run", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--ray-address" in r.stdout and "--aggregate-on" in r.stdout


def test_the_kuberay_manifest_has_cpu_and_gpu_worker_groups():
    import yaml

    docs = list(yaml.safe_load_all((ROOT / "deploy" / "kuberay" / "raycluster.yaml").read_text()))
    cluster = next(d for d in docs if d and d.get("kind") == "RayCluster")
    spec = cluster["spec"]
    groups = {g["groupName"]: g for g in spec["workerGroupSpecs"]}
    assert set(groups) == {"cpu-workers", "gpu-workers"}
    gpu = groups["gpu-workers"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu.get("nvidia.com/gpu") == 1
    for pod in [spec["headGroupSpec"]] + list(groups.values()):
        container = pod["template"]["spec"]["containers"][0]
        assert container["image"].startswith("zkonnx/ray"), container["image"]
        mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
        assert "/artifacts" in mounts, "every node mounts the shared artifact folder"
