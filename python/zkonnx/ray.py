"""zkonnx on a Ray cluster: segment proofs of a split model (or many inputs of one model) as Ray
tasks on the cluster a team already runs, one aggregated proof at the end.

``pip install zkonnx[ray]`` (Ray is an optional extra). Connect with ``ray.init(address=...)``
before calling, or pass ``address`` (``"auto"`` joins the cluster of ``ray start``; ``None``
starts a local runtime).

* :func:`prove_split` splits a model (or takes an existing split folder), computes every
  segment's witness on the driver (a bad input fails there, at once, with the Rust message),
  ships each segment's artifacts to the workers, proves every segment as a Ray task whose
  resource requests come from zkonnx's memory estimate, then aggregates and verifies on the
  driver, which needs the aggregation's memory (``SplitModel.summary["nodes"]``).
  With ``aggregate_on="cluster"`` the aggregation tree's nodes are tasks too, each started
  when its children's proofs exist (one level's nodes in parallel).
* :func:`prove_many` proves many inputs of one (unsplit) model as tasks; results come back in
  input order.

Artifacts move content-addressed: each file is hashed (SHA-256) and put once; a task receives
a reference and, on its node, looks in the node's cache (``$ZKONNX_CACHE_DIR/ray-artifacts``)
first, so a key crosses the network once per node, however many tasks use it. Files up to
``inline_limit`` (512 MiB by default) travel through Ray's object store (no setup, spilled to
disk by Ray when memory is short); larger ones (an aggregation-size proving key is gigabytes,
which would crowd the object store's memory on every node that reads it) go through a shared
folder the caller names (``ArtifactStore(shared_dir=...)``: NFS, a mounted S3 bucket, ...),
and are copied into the node cache from there.

Failures: a task whose worker process dies (killed, out of memory, node lost) is retried by
Ray up to ``max_retries`` times; a task that fails for a real reason (a ``zkonnx.Error``) is
not retried, the other tasks are cancelled, and the call raises that error. ``progress`` is
called as ``progress(event, phase, seconds)`` like everywhere in zkonnx, with phases
``"segment <j>"`` / ``"input <i>"`` and ``"aggregate"``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

try:  # the optional extra
    import ray
except ImportError:  # pragma: no cover - exercised only without the extra
    ray = None

from . import _native
from ._split import AggregatedProof, SplitModel
from ._split import split as _split

PathLike = Union[str, "os.PathLike[str]"]
ProgressCallback = Callable[[str, str, float], None]

#: Largest file sent through Ray's object store; larger ones need a shared folder.
INLINE_LIMIT = 512 * 2**20
#: Head room over zkonnx's memory estimate in a task's memory request.
MEMORY_MARGIN = 1.15


def _require_ray() -> Any:
    if ray is None:
        raise ImportError("zkonnx.ray needs Ray: pip install 'zkonnx[ray]' (or pip install ray)")
    return ray


def _connect(address: Optional[str]) -> None:
    r = _require_ray()
    if not r.is_initialized():
        r.init(address=address, include_dashboard=False, log_to_driver=False)


# --- artifacts -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Artifact:
    """A file as it travels: its content hash, name and size, and where to fetch it (an object
    reference, kept inside a list so that Ray does not fetch it before the task looks in its
    node's cache, or a path in the shared folder)."""

    sha256: str
    name: str
    size: int
    ref: List[Any] = field(default_factory=list, compare=False)
    shared: Optional[str] = None


def _hash_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class ArtifactStore:
    """Puts files where tasks can fetch them, each content once (see the module docstring)."""

    def __init__(self, shared_dir: Optional[PathLike] = None, inline_limit: int = INLINE_LIMIT):
        self.shared_dir = None if shared_dir is None else os.fspath(shared_dir)
        self.inline_limit = int(inline_limit)
        self._put: Dict[str, Artifact] = {}
        #: bytes put in the object store and copied to the shared folder by this store
        self.inline_bytes = 0
        self.shared_bytes = 0

    def put(self, path: PathLike, name: Optional[str] = None) -> Artifact:
        path = os.fspath(path)
        name = name or os.path.basename(path)
        sha = _hash_file(path)
        size = os.path.getsize(path)
        if sha in self._put:
            a = self._put[sha]
            return Artifact(sha, name, size, a.ref, a.shared)
        if size > self.inline_limit and self.shared_dir is not None:
            dest = os.path.join(self.shared_dir, sha)
            if not os.path.exists(dest):
                os.makedirs(self.shared_dir, exist_ok=True)
                tmp = f"{dest}.{os.getpid()}.tmp"
                _link_or_copy(path, tmp)
                os.replace(tmp, dest)
                self.shared_bytes += size
            artifact = Artifact(sha, name, size, [], dest)
        else:
            if size > self.inline_limit:
                raise _native.ResourceError(
                    f"{path} is {size >> 20} MiB, over the object store limit of {self.inline_limit >> 20} MiB: pass "
                    "artifact_store=ArtifactStore(shared_dir=...) with a folder every node mounts")
            with open(path, "rb") as f:
                data = f.read()
            artifact = Artifact(sha, name, size, [_require_ray().put(data)], None)
            self.inline_bytes += size
        self._put[sha] = artifact
        return artifact


def _link_or_copy(src: str, dest: str) -> None:
    """A hard link when both are on one file system (zkonnx replaces files, never rewrites them
    in place, so a link never changes under its reader), else a copy."""
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)


def _node_cache() -> str:
    base = os.environ.get("ZKONNX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "zkonnx")
    return os.path.join(base, "ray-artifacts")


def _materialize(a: Artifact) -> str:
    """The artifact's file on this node: from the node's cache when another task brought it
    here already, else fetched (object store or shared folder) into the cache."""
    folder = os.path.join(_node_cache(), a.sha256)
    dest = os.path.join(folder, a.name)
    if os.path.exists(dest) and os.path.getsize(dest) == a.size:
        return dest
    os.makedirs(folder, exist_ok=True)
    tmp = f"{dest}.{os.getpid()}.tmp"
    if a.shared is not None:
        _link_or_copy(a.shared, tmp)
    else:
        data = _require_ray().get(a.ref[0])
        with open(tmp, "wb") as f:
            f.write(data)
    os.replace(tmp, dest)
    return dest


def _folder(files: Dict[str, Artifact], key: str) -> str:
    """A folder on this node holding ``files`` (relative paths) as links into the node cache,
    shared by every task with the same files (``key``)."""
    root = os.path.join(_node_cache(), "folders", key)
    for rel, a in files.items():
        dest = os.path.join(root, rel)
        if os.path.exists(dest):
            continue
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        src = _materialize(a)
        tmp = f"{dest}.{os.getpid()}.tmp"
        try:
            os.symlink(src, tmp)
        except OSError:
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    return root


def _files_key(files: Dict[str, Artifact]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}={files[rel].sha256};".encode())
    return h.hexdigest()[:32]


# --- tasks -------------------------------------------------------------------------------------


def _apply_hooks(hooks: Optional[Dict[str, Any]], label: str) -> None:
    """Test hooks (never set outside tests): each attempt of a task writes its process id to
    ``<pid_dir>/<label>.<attempt>.pid``; ``hold`` holds every attempt of a task for some seconds,
    ``hold_first`` its first attempt only, so that a test can kill a worker mid-task or make
    tasks finish out of order."""
    if not hooks:
        return
    attempt = 0
    pid_dir = hooks.get("pid_dir")
    if pid_dir:
        while os.path.exists(os.path.join(pid_dir, f"{label}.{attempt}.pid")):
            attempt += 1
        with open(os.path.join(pid_dir, f"{label}.{attempt}.pid"), "w") as f:
            f.write(str(os.getpid()))
    hold = float(hooks.get("hold", {}).get(label, 0.0))
    if attempt == 0:
        hold += float(hooks.get("hold_first", {}).get(label, 0.0))
    if hold:
        time.sleep(hold)


def _prove_segment_task(files: Dict[str, Artifact], segment: int, witness: str, srs: Optional[Artifact],
                        hooks: Optional[Dict[str, Any]]) -> str:
    _apply_hooks(hooks, f"segment-{segment}")
    folder = _folder(files, _files_key(files))
    srs_path = None if srs is None else _materialize(srs)
    out = os.path.join(tempfile.mkdtemp(prefix="zkonnx-segment-"), f"proof-{segment}.json")
    try:
        return _native.split_prove_segment(folder, segment, witness, out, srs_path)
    finally:
        shutil.rmtree(os.path.dirname(out), ignore_errors=True)


def _prove_node_task(files: Dict[str, Artifact], node: int, label: str, srs: Optional[Artifact],
                     hooks: Optional[Dict[str, Any]], *children: str) -> str:
    """One aggregation node over its children's proofs (Ray hands over their results once
    every child task has finished)."""
    _apply_hooks(hooks, label)
    folder = _folder(files, _files_key(files))
    srs_path = None if srs is None else _materialize(srs)
    return _native.split_prove_node(folder, node, list(children), srs_path)


#: Provers this worker process built, by their artifacts' hashes: a worker proving many inputs
#: of one model reads its proving key once.
_PROVERS: Dict[str, Any] = {}


def _prove_one_task(files: Dict[str, Artifact], index: int, inputs: List[List[float]], srs: Optional[Artifact],
                    hooks: Optional[Dict[str, Any]]) -> str:
    _apply_hooks(hooks, f"input-{index}")
    key = _files_key(files)
    prover = _PROVERS.get(key)
    if prover is None:
        folder = _folder(files, key)
        prover = _native._Prover.from_artifacts(folder, None if srs is None else _materialize(srs))
        _PROVERS[key] = prover
    return prover.prove(inputs, None).to_json()


_REMOTES: Dict[str, Any] = {}


def _remote(fn: Callable[..., str]) -> Any:
    r = _require_ray()
    if fn.__name__ not in _REMOTES:
        _REMOTES[fn.__name__] = r.remote(fn)
    return _REMOTES[fn.__name__]


def _options(memory_mb: float, cpus: int, max_retries: int, name: str) -> Dict[str, Any]:
    return {
        "num_cpus": cpus,
        "memory": int(max(memory_mb, 64.0) * MEMORY_MARGIN * 2**20),
        "max_retries": int(max_retries),
        "retry_exceptions": False,
        "name": name,
        # halo2 proves on rayon's pool: as many threads as CPUs requested
        "runtime_env": {"env_vars": {"RAYON_NUM_THREADS": str(cpus)}},
    }


def _gather(refs: List[Any], labels: List[str], progress: Optional[ProgressCallback]) -> List[str]:
    """Every task's result in submission order; on the first real failure the others are
    cancelled and that failure (the zkonnx error itself) is raised."""
    r = _require_ray()
    results: Dict[int, str] = {}
    index = {ref: i for i, ref in enumerate(refs)}
    started = time.time()
    pending = list(refs)
    while pending:
        ready, pending = r.wait(pending, num_returns=1)
        for ref in ready:
            i = index[ref]
            try:
                results[i] = r.get(ref)
            except Exception as e:  # a RayTaskError wraps the task's own exception
                for p in pending:
                    r.cancel(p, force=True)
                # a task whose input failed fails with that failure inside: unwrap to the cause
                cause = getattr(e, "cause", None)
                while cause is not None and not isinstance(cause, _native.Error):
                    cause = getattr(cause, "cause", None)
                if cause is not None:
                    raise cause from None
                raise
            if progress is not None:
                progress("finished", labels[i], time.time() - started)
    return [results[i] for i in range(len(refs))]


def _flat(inputs: Any, count: int) -> List[List[float]]:
    from . import _flat_inputs

    return _flat_inputs(inputs, count)


def _read_data(data: PathLike) -> List[List[float]]:
    with open(data) as f:
        return [list(map(float, x)) for x in json.load(f)["input_data"]]


# --- the two entry points ------------------------------------------------------------------------


def prove_split(
    model: Optional[PathLike] = None,
    data: Optional[PathLike] = None,
    split_dir: Optional[PathLike] = None,
    *,
    inputs: Optional[Any] = None,
    segments: Union[str, int] = "auto",
    max_memory_mb: Optional[float] = None,
    fan_in: Optional[int] = None,
    py_run_args: Optional[Dict[str, Any]] = None,
    srs_path: Optional[PathLike] = None,
    run_dir: Optional[PathLike] = None,
    address: Optional[str] = None,
    cpus_per_task: int = 1,
    max_retries: int = 3,
    artifact_store: Optional[ArtifactStore] = None,
    progress: Optional[ProgressCallback] = None,
    aggregate: bool = True,
    aggregate_on: str = "driver",
    aggregation_cpus: Optional[int] = None,
    _hooks: Optional[Dict[str, Any]] = None,
) -> Any:
    """Proves ``model`` on ``inputs`` (or the input file ``data``) as segments on the Ray
    cluster, aggregated into one proof, which is verified before it is returned.

    ``split_dir`` holds the split: an existing one (``split.json`` in it) is taken as it is;
    otherwise ``model`` is split there (``segments``: ``"auto"`` or a count; ``max_memory_mb``
    bounds each segment, by default most of the driver's memory; settings calibrated on the input
    unless ``py_run_args`` pins them) and the segments' keys are made on the driver. The proofs
    and ``aggregated.json`` go to ``run_dir`` (default: ``split_dir``). With ``aggregate=False``
    the segment proofs are written there and returned (JSON, in segment order), for a pipeline
    that aggregates elsewhere (``SplitModel.aggregate``).

    ``aggregate_on`` says where the aggregation tree is proved: ``"driver"`` (this process,
    node after node) or ``"cluster"``: every node a Ray task that starts as soon as its
    children's proofs exist, so the nodes of one level run in parallel and the tree takes its
    depth in node proofs, not its node count. Its keys are made (or taken from the key cache)
    on the driver while the segments prove; a node's proving key is gigabytes, so a cluster of
    several machines needs ``artifact_store=ArtifactStore(shared_dir=...)``. A node task asks
    for the node's estimated memory and ``aggregation_cpus`` cores (default ``cpus_per_task``)."""
    if aggregate_on not in ("driver", "cluster"):
        raise _native.BadInputError(f"prove_split: aggregate_on={aggregate_on!r}: 'driver' or 'cluster'")
    _connect(address)
    if split_dir is None:
        raise _native.BadInputError("prove_split: split_dir is required (where the split lives or goes)")
    split_dir = os.fspath(split_dir)
    if inputs is None:
        if data is None:
            raise _native.BadInputError("prove_split: give inputs or an input file (data)")
        flat_inputs = _read_data(data)
    else:
        flat_inputs = None
    if os.path.exists(os.path.join(split_dir, "split.json")):
        sm = SplitModel(split_dir)
    else:
        if model is None:
            raise _native.BadInputError(f"prove_split: {split_dir} holds no split; give the model to split")
        sample = flat_inputs if flat_inputs is not None else _flat(inputs, len(_native._Model.load(os.fspath(model), None).input_shapes()))
        sm = _split(model, [sample], split_dir, segments=segments, max_memory_mb=max_memory_mb, fan_in=fan_in,
                    py_run_args=None if py_run_args is None else json.dumps(py_run_args), srs_path=srs_path,
                    progress=progress)
    if flat_inputs is None:
        with open(os.path.join(split_dir, "model.compiled")) as f:
            count = len(json.load(f)["graph"]["inputs"])
        flat_inputs = _flat(inputs, count)
    # the witnesses on the driver: a bad input fails here, before any task, with the Rust message
    witnesses = sm.witnesses(flat_inputs)
    store = artifact_store or ArtifactStore()
    common = {"split.json": store.put(os.path.join(split_dir, "split.json"))}
    srs = None if srs_path is None else store.put(srs_path, "srs")
    refs, labels = [], []
    for j, seg in enumerate(sm.summary["segments"]):
        d = os.path.join(split_dir, seg["dir"])
        files = dict(common)
        for name in ("model.compiled", "pk.key"):
            files[f"{seg['dir']}/{name}"] = store.put(os.path.join(d, name))
        label = f"segment {j}"
        opts = _options(seg["prove_mb"], cpus_per_task, max_retries, f"zkonnx {label}")
        refs.append(_remote(_prove_segment_task).options(**opts).remote(files, j, witnesses[j], srs, _hooks))
        labels.append(label)
        if progress is not None:
            progress("started", label, 0.0)
    run_dir = split_dir if run_dir is None else os.fspath(run_dir)
    if aggregate and aggregate_on == "cluster":
        proof = _aggregate_on_cluster(sm, refs, labels, store, srs, srs_path, run_dir,
                                      aggregation_cpus or cpus_per_task, max_retries, progress, _hooks)
        sm.verify(proof, srs_path=srs_path)
        return proof
    proofs = _gather(refs, labels, progress)
    if not aggregate:
        _native.split_write_proofs(run_dir, proofs)
        return proofs
    if progress is not None:
        progress("started", "aggregate", 0.0)
    start = time.time()
    proof = sm.aggregate(run_dir, proofs, srs_path=srs_path, progress=progress)
    if progress is not None:
        progress("finished", "aggregate", time.time() - start)
    sm.verify(proof, srs_path=srs_path)
    return proof


def _aggregate_on_cluster(sm: SplitModel, segment_refs: List[Any], segment_labels: List[str], store: ArtifactStore,
                          srs: Optional[Artifact], srs_path: Optional[PathLike], run_dir: str, cpus: int,
                          max_retries: int, progress: Optional[ProgressCallback],
                          hooks: Optional[Dict[str, Any]]) -> AggregatedProof:
    """Every aggregation node a task fed by its children's tasks (segments already submitted);
    the proofs written to ``run_dir`` as a local aggregation would, the aggregated proof
    returned (not yet verified)."""
    # the nodes' keys on the driver (from the key cache when it has them), while the segments prove
    sm.setup_aggregation(srs_path=srs_path, progress=progress)
    plan, root = sm.summary["plan"], len(sm.summary["plan"]) - 1
    node_refs: List[Any] = []
    labels: List[str] = []
    for i, items in enumerate(plan):
        files = {rel: store.put(os.path.join(sm.split_dir, rel)) for rel in sm.summary["node_files"][i]}
        kids = [segment_refs[it["segment"]] if "segment" in it else node_refs[it["node"]] for it in items]
        label = "aggregate" if i == root else f"node {i}"
        opts = _options(sm.summary["nodes"][i]["prove_mb"], cpus, max_retries, f"zkonnx {label}")
        node_refs.append(_remote(_prove_node_task).options(**opts).remote(files, i, label.replace(" ", "-"), srs,
                                                                          hooks, *kids))
        labels.append(label)
        if progress is not None:
            progress("started", label, 0.0)
    results = _gather(segment_refs + node_refs, segment_labels + labels, progress)
    segments, nodes = results[:len(segment_refs)], results[len(segment_refs):]
    _native.split_write_proofs(run_dir, segments, nodes[:-1])
    proof = AggregatedProof(nodes[-1])
    proof.write(os.path.join(run_dir, "aggregated.json"))
    return proof


def prove_many(
    artifacts_dir: PathLike,
    inputs: Sequence[Any],
    *,
    srs_path: Optional[PathLike] = None,
    address: Optional[str] = None,
    cpus_per_task: int = 1,
    max_retries: int = 3,
    artifact_store: Optional[ArtifactStore] = None,
    progress: Optional[ProgressCallback] = None,
    _hooks: Optional[Dict[str, Any]] = None,
) -> List[Any]:
    """Proves each of ``inputs`` with the compiled model and keys in ``artifacts_dir`` (what
    ``zkonnx run`` or ``Model.setup`` writes), one Ray task each; returns the proofs
    (:class:`zkonnx.Proof`) in input order. A worker builds the prover once per model and proves
    every input it gets with it."""
    from . import Proof

    _connect(address)
    d = os.fspath(artifacts_dir)
    with open(os.path.join(d, "settings.json")) as f:
        settings = json.load(f)
    shapes = settings["model"]["input_shapes"]
    flat = [_flat(x, len(shapes)) for x in inputs]
    store = artifact_store or ArtifactStore()
    files = {name: store.put(os.path.join(d, name)) for name in ("model.compiled", "pk.key")}
    srs = None if srs_path is None else store.put(srs_path, "srs")
    layout = settings["model"].get("layout") or {}
    memory_mb = float(layout.get("predicted_prove_mib") or 256)
    refs, labels = [], []
    for i, x in enumerate(flat):
        label = f"input {i}"
        opts = _options(memory_mb, cpus_per_task, max_retries, f"zkonnx {label}")
        refs.append(_remote(_prove_one_task).options(**opts).remote(files, i, x, srs, _hooks))
        labels.append(label)
        if progress is not None:
            progress("started", label, 0.0)
    texts = _gather(refs, labels, progress)
    public = settings["run_args"].get("output_visibility") == "public"
    return [Proof(_native._Proof.from_json(t), settings["model"]["output_shapes"] if public else None) for t in texts]


# --- `python -m zkonnx.ray run` (what `zkonnx run --split ... --engine ray` calls) ----------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m zkonnx.ray", description="zkonnx on a Ray cluster")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="split, prove the segments on Ray, aggregate, verify")
    r.add_argument("-M", "--model", required=True)
    r.add_argument("-D", "--input", required=True)
    r.add_argument("--out", default="zkonnx-out")
    r.add_argument("--split", default="auto")
    r.add_argument("--max-memory", type=float, default=None)
    r.add_argument("--fan-in", type=int, default=None)
    r.add_argument("--srs", default=None)
    r.add_argument("--ray-address", default=None)
    r.add_argument("--cpus-per-task", type=int, default=1)
    r.add_argument("--aggregate-on", choices=["driver", "cluster"], default="driver",
                   help="prove the aggregation tree on the driver, or each node as a task")
    r.add_argument("--aggregation-cpus", type=int, default=None)
    r.add_argument("--shared-dir", default=None,
                   help="a folder every node mounts, for artifacts over the object store limit (512 MiB)")
    r.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    start = time.time()
    try:
        proof = prove_split(a.model, a.input, a.out, segments=a.split, max_memory_mb=a.max_memory, fan_in=a.fan_in,
                            srs_path=a.srs, address=a.ray_address, cpus_per_task=a.cpus_per_task,
                            aggregate_on=a.aggregate_on, aggregation_cpus=a.aggregation_cpus,
                            artifact_store=None if a.shared_dir is None else ArtifactStore(shared_dir=a.shared_dir))
    except _native.Error as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    report = {"ok": True, "engine": "ray", "segments": proof.segments, "seconds": time.time() - start,
              "outputs": [o.tolist() for o in proof.outputs], "public_values": proof.public_values,
              "proof": os.path.join(a.out, "aggregated.json")}
    if a.json:
        print(json.dumps(report))
    else:
        print(f"verified: one aggregated proof of {proof.segments} segments proved on Ray; {report['proof']}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
