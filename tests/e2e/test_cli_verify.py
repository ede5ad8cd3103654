"""`walrus verify` as a user runs it: exit 0 only when the blob is available."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from backend.chain.compiler import Artifacts
from tests.e2e.cli_harness import network_cli_env, one_line_error, run
from tests.integration.network import Network


@pytest.fixture(scope="module")
def verify_env(
    network: Network, artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """The CLI pointed at the test network (node URLs are already published by
    start_network; the operators' nonces belong to the node processes now)."""
    return network_cli_env(network, artifacts, tmp_path_factory.mktemp("verify-cli"))


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
