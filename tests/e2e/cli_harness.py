"""The `walrus` CLI as a user runs it (a subprocess) against a test network: its environment
(a deployment file naming the network's contracts, the RPC URL, a wallet key), a runner and
the check that a failure is one plain line.

``cli_env`` is a module fixture (the network user's wallet); a test module imports it by
name (``from tests.e2e.cli_harness import cli_env  # noqa: F401``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from tests.integration.network import REPO_ROOT, Network
from tests.integration.user_client import publish_node_urls


def run(
    *args: str, env: dict[str, str], stdin: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli.main", *args],
        cwd=REPO_ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        timeout=120,
    )


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The CLI failed the way a user expects: exit 1, one line on stderr, no traceback."""
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    return stderr


def write_deployment(network: Network, artifacts: Artifacts, directory: Path, **extra: str) -> Path:
    """deployment.json in `directory` naming the network's WAL, Staking and BlobRegistry
    (and `extra`, contract name -> address)."""
    deployment = Deployment(
        chain_id=network.user.chain_id,
        deploy_block=0,
        abi_hash=artifacts.abi_hash,
        contracts={
            "WAL": network.env.wal.address,
            "Staking": network.env.staking.address,
            "BlobRegistry": network.env.registry.address,
            **{name: Web3.to_checksum_address(address) for name, address in extra.items()},
        },
    )
    path = directory / "deployment.json"
    path.write_text(json.dumps(deployment.to_json()))
    return path


def wallet_env(network: Network, deployment_file: Path, key: bytes | None = None) -> dict[str, str]:
    """This process's environment plus the CLI's: the network's RPC URL, `deployment_file`
    and the wallet `key` (default: the network user's)."""
    if key is None:
        account = network.user.account
        assert account is not None
        key = bytes(account.key)
    return {
        **os.environ,
        "WALRUS_RPC_URL": network.user.rpc_url,
        "WALRUS_DEPLOYMENT": str(deployment_file),
        "WALRUS_PRIVATE_KEY": key.hex(),
    }


def network_cli_env(
    network: Network, artifacts: Artifacts, directory: Path, **extra_contracts: str
) -> dict[str, str]:
    """The CLI pointed at the network's contracts (plus `extra_contracts`) with the network
    user's wallet."""
    return wallet_env(network, write_deployment(network, artifacts, directory, **extra_contracts))


@pytest.fixture(scope="module")
def cli_env(
    network: Network, artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment pointing the CLI at the test network with the test user's wallet."""
    publish_node_urls(network)
    return network_cli_env(network, artifacts, tmp_path_factory.mktemp("cli"))
