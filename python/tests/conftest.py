"""Shared fixtures: one development-SRS cache for the session, the repository's fixtures, the CLI."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


#: The cargo tests' cache (target/tmp/cli-cache): the development SRS files and the aggregation
#: keys they made serve these tests too (an aggregation key takes minutes to make).
SHARED_CACHE = ROOT / "target" / "tmp" / "cli-cache"


@pytest.fixture(scope="session", autouse=True)
def srs_cache(tmp_path_factory):
    """Every test uses one cache of development SRS files and aggregation keys: the cargo tests'
    when they ran first (the README's test command runs them first), else a fresh one."""
    cache = SHARED_CACHE if SHARED_CACHE.is_dir() else tmp_path_factory.mktemp("zkonnx-cache")
    os.environ["ZKONNX_CACHE_DIR"] = str(cache)
    return cache


@pytest.fixture(scope="session")
def cli():
    """The `zkonnx` binary the cargo tests built (or $ZKONNX_BIN)."""
    exe = Path(os.environ.get("ZKONNX_BIN", ROOT / "target" / "release" / "zkonnx"))
    if not exe.is_file():
        pytest.fail(f"{exe} is missing: run `cargo build --release -p zkonnx-cli` first")

    def run(*args, cwd=None):
        return subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True)

    return run


def fixture_input(name: str) -> np.ndarray:
    """A fixture's first input as a float32 array."""
    return np.asarray(json.loads((FIXTURES / name / "input.json").read_text())["input_data"][0], dtype=np.float32)
