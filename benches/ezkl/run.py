"""Runs EZKL's whole pipeline on one model in this process and prints one JSON line.

Usage: run.py MODEL.onnx INPUT.json OUT_DIR SRS_DIR

The line has the shape of `zkonnx run --json`: per-phase seconds (settings = gen_settings +
calibrate_settings with EZKL's default `resources` target, compile, setup, witness, prove,
verify), logrows, the dequantized outputs, the proof size and this process's peak RSS. The SRS
is generated once per logrows into SRS_DIR (EZKL's own `gen_srs`, offline) and not timed, as
zkonnx's cached SRS is not.
"""

import asyncio
import inspect
import json
import os
import resource
import sys
import time

import ezkl


def call(f, *args, **kwargs):
    r = f(*args, **kwargs)
    if inspect.isawaitable(r):
        r = asyncio.run(r)
    return r


def main():
    model, data, out, srs_dir = sys.argv[1:5]
    os.makedirs(out, exist_ok=True)
    os.makedirs(srs_dir, exist_ok=True)
    p = {n: os.path.join(out, n) for n in ["settings.json", "model.compiled", "vk.key", "pk.key", "witness.json", "proof.json"]}
    phases = {}

    t = time.perf_counter()
    call(ezkl.gen_settings, model, p["settings.json"])
    call(ezkl.calibrate_settings, data, model, p["settings.json"], "resources")
    phases["settings"] = time.perf_counter() - t

    t = time.perf_counter()
    call(ezkl.compile_circuit, model, p["model.compiled"], p["settings.json"])
    phases["compile"] = time.perf_counter() - t

    with open(p["settings.json"]) as f:
        logrows = json.load(f)["run_args"]["logrows"]
    srs = os.path.join(srs_dir, f"k{logrows}.srs")
    if not os.path.exists(srs):
        call(ezkl.gen_srs, srs + ".tmp", logrows)
        os.replace(srs + ".tmp", srs)

    t = time.perf_counter()
    call(ezkl.setup, p["model.compiled"], p["vk.key"], p["pk.key"], srs)
    phases["setup"] = time.perf_counter() - t

    t = time.perf_counter()
    call(ezkl.gen_witness, data, p["model.compiled"], p["witness.json"])
    phases["witness"] = time.perf_counter() - t

    t = time.perf_counter()
    call(ezkl.prove, p["witness.json"], p["model.compiled"], p["pk.key"], p["proof.json"], srs)
    phases["prove"] = time.perf_counter() - t

    t = time.perf_counter()
    ok = bool(call(ezkl.verify, p["proof.json"], p["settings.json"], p["vk.key"], srs))
    phases["verify"] = time.perf_counter() - t

    with open(p["witness.json"]) as f:
        witness = json.load(f)
    outputs = [[float(v) for v in o] for o in witness["pretty_elements"]["rescaled_outputs"]]
    with open(p["proof.json"]) as f:
        proof = json.load(f)
    proof_bytes = len(proof["proof"]) if isinstance(proof["proof"], list) else (len(proof["proof"]) - 2) // 2
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "ok": ok,
        "logrows": logrows,
        "phases": phases,
        "outputs": outputs,
        "proof_bytes": proof_bytes,
        "peak_rss_mb": peak_kib / 1024.0,
    }))


if __name__ == "__main__":
    main()
