"""A verifier deployed from Python on a local hardhat node (the npm package `npm ci` installs),
and proofs checked on that chain: the honest one accepted, a wrong output refused."""

import json
import socket
import subprocess
import time
import urllib.request

import pytest

import zkonnx
from conftest import FIXTURES, ROOT

DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # hardhat's public account #0


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    cli = ROOT / "node_modules" / "hardhat" / "internal" / "cli" / "bootstrap.js"
    if not cli.is_file():
        pytest.fail(f"{cli} is missing: run `npm ci` at the repository root")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path_factory.mktemp("hardhat") / "hardhat.log", "w")
    config = ROOT / "verifier-contracts" / "hardhat" / "hardhat.config.js"
    node = subprocess.Popen(["node", str(cli), "--config", str(config), "node", "--hostname", "127.0.0.1", "--port",
                             str(port)], cwd=config.parent, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                            env={**__import__("os").environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            req = urllib.request.Request(url, data=b'{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}',
                                         headers={"content-type": "application/json"})
            urllib.request.urlopen(req, timeout=2).read()
            break
        except OSError:
            if time.time() > deadline or node.poll() is not None:
                node.kill()
                pytest.fail("hardhat did not start")
            time.sleep(0.2)
    yield url
    node.kill()
    node.wait()


def test_deploy_and_verify_on_a_local_chain(chain, tmp_path):
    out = tmp_path / "gemm"
    report = zkonnx.run(FIXTURES / "tiny" / "gemm.onnx", FIXTURES / "tiny" / "gemm.input.json", out)
    assert report["ok"]
    assert zkonnx.create_evm_verifier(out / "vk.key", out / "settings.json", out / "verifier.sol", out / "verifier.json",
                                      allow_insecure_srs=True)
    with pytest.raises(zkonnx.BadInputError, match="INSECURE"):
        zkonnx.deploy_evm(tmp_path / "addr.txt", out / "verifier.sol", chain, private_key=DEV_KEY)
    addr = zkonnx.deploy_evm(tmp_path / "addr.txt", out / "verifier.sol", chain, private_key=DEV_KEY,
                             allow_insecure_srs=True)
    assert (tmp_path / "addr.txt").read_text().strip() == addr
    assert zkonnx.verify_evm(addr, out / "proof.json", chain)
    bad = json.loads((out / "proof.json").read_text())
    last = bad["instances"][-1]
    bad["instances"][-1] = last[:-1] + ("1" if last[-1] == "0" else "0")
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(zkonnx.VerificationError):
        zkonnx.verify_evm(addr, tmp_path / "bad.json", chain)
    # the verifying key, again from the proving key
    assert zkonnx.gen_vk_from_pk_single(out / "pk.key", out / "settings.json", tmp_path / "vk2.key")
    assert zkonnx.verify(out / "proof.json", out / "settings.json", tmp_path / "vk2.key")
