"""`walrus verify` as a user runs it: exit 0 only when the blob is available."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from tests.e2e.test_cli_store_read import one_line_error, run
from tests.integration.network import Network


@pytest.fixture(scope="module")
def verify_env(
    network: Network, artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The CLI pointed at the test network (node URLs are already published by
    start_network; the operators' nonces belong to the node processes now)."""
    deployment = Deployment(
        chain_id=network.user.chain_id,
        deploy_block=0,
        abi_hash=artifacts.abi_hash,
        contracts={
            "WAL": network.env.wal.address,
            "Staking": network.env.staking.address,
            "BlobRegistry": network.env.registry.address,
        },
    )
    deployment_file = tmp_path_factory.mktemp("verify-cli") / "deployment.json"
    deployment_file.write_text(json.dumps(deployment.to_json()))
    account = network.user.account
    assert account is not None
    return {
        **os.environ,
        "WALRUS_RPC_URL": network.user.rpc_url,
        "WALRUS_DEPLOYMENT": str(deployment_file),
        "WALRUS_PRIVATE_KEY": bytes(account.key).hex(),
    }


def test_verify_a_stored_blob_then_its_deletion(verify_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "verified.bin"
    source.write_bytes(os.urandom(2048))
    stored = run("store", str(source), "--deletable", "--json", env=verify_env)
    assert stored.returncode == 0, stored.stderr.decode()
    result = json.loads(stored.stdout)

    human = run("verify", "--deep", "--", result["blob_id"], env=verify_env)
    assert human.returncode == 0, human.stderr.decode()
    text = human.stdout.decode()
    assert "certificate verified locally" in text and text.strip().endswith("AVAILABLE")

    as_json = run("verify", str(result["token_id"]), "--json", env=verify_env)
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert report["available"] is True and report["blob_id"] == result["blob_id"]

    assert run("delete", str(result["token_id"]), env=verify_env).returncode == 0
    gone = run("verify", "--json", "--", result["blob_id"], env=verify_env)
    assert gone.returncode == 1
    assert json.loads(gone.stdout)["state"] == "deleted"


def test_verify_rejects_garbage_in_one_line(verify_env: dict[str, str]) -> None:
    assert "neither a token id" in one_line_error(run("verify", "garbage", env=verify_env))
