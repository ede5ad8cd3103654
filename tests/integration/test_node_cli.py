"""`walrus node init|register|run` and the node's start-up checks, on a real chain."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import requests
from click.testing import CliRunner
from eth_account import Account

from backend.chain.compiler import Artifacts
from backend.chain.devnet import free_port
from backend.cli.main import cli
from backend.core import routes
from backend.core.bls import BlsSecretKey
from tests.e2e.cli_harness import write_deployment
from tests.integration.network import REPO_ROOT, Network, NodeProcess


def _run_node(config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nodes", "run", "--config", str(config)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_missing_config_is_one_clear_line(tmp_path: Path) -> None:
    result = _run_node(tmp_path / "nope.json")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"walrus node: config file {tmp_path / 'nope.json'} does not exist"
    ]


def test_init_register_run(network: Network, artifacts: Artifacts, tmp_path: Path) -> None:
    runner = CliRunner()
    directory = tmp_path / "node"
    port = free_port()
    args = ["node", "init", "--dir", str(directory), "--rpc-url", network.env.chain.rpc_url]
    args += ["--staking", network.env.staking.address, "--registry", network.env.registry.address]
    result = runner.invoke(cli, [*args, "--port", str(port)])
    assert result.exit_code == 0, result.output
    config_path = directory / "config.json"
    for key_file in ("bls.key", "operator.key"):
        assert stat.S_IMODE((directory / key_file).stat().st_mode) == 0o600

    unregistered = _run_node(config_path)
    assert unregistered.returncode == 2
    assert unregistered.stderr.strip() == "walrus node: node 0 is not registered in Staking"

    operator = Account.from_key((directory / "operator.key").read_text().strip())
    register = ["node", "register", "--config", str(config_path), "--name", "cli-node"]
    register += ["--stake", str(10**12)]
    unfunded = runner.invoke(cli, register)  # docs/node.md: fund the operator first
    assert unfunded.exit_code == 1 and "cannot pay the gas" in unfunded.output, unfunded.output
    assert unfunded.output.count("\n") == 1 and operator.address in unfunded.output

    chain = network.env.chain
    assert chain.account is not None
    funder = {
        "WALRUS_RPC_URL": chain.rpc_url,
        "WALRUS_DEPLOYMENT": str(write_deployment(network, artifacts, tmp_path)),
        "WALRUS_PRIVATE_KEY": bytes(chain.account.key).hex(),
    }
    funded = runner.invoke(
        cli, ["devnet", "fund", operator.address, "--frost", str(10**12)], env=funder
    )
    assert funded.exit_code == 0, funded.output
    assert chain.balance(operator.address) == 10 * 10**18
    assert network.env.wal.functions.balanceOf(operator.address).call() == 10**12
    refused = runner.invoke(cli, ["devnet", "fund", "0xnope"], env=funder)
    assert refused.exit_code == 1 and "is not an address" in refused.output

    result = runner.invoke(cli, register)
    assert result.exit_code == 0, result.output
    node_id = json.loads(config_path.read_text())["node_id"]
    info = network.env.staking.node(node_id)
    bls_key = BlsSecretKey.from_bytes((directory / "bls.key").read_bytes())
    assert info.public_key == bls_key.public_key().to_eip2537()
    assert info.http_url == f"http://127.0.0.1:{port}"

    process = NodeProcess(99, node_id, config_path, directory / "data", port, tmp_path / "log")
    process.start()
    try:
        process.wait_ready()
        health = requests.get(process.url + routes.HEALTH).json()
        assert health["node_id"] == node_id
        assert health["shards"] == []  # joins a committee only at the next epoch change
    finally:
        assert process.stop() == 0
