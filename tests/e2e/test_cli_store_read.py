"""The `walrus` CLI as a user runs it (a subprocess) against real node processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.chain.devnet import free_port
from backend.core.encoder import encode_blob
from tests.contracts.blob_registry_env import restore_chain_after
from tests.integration.network import REPO_ROOT, Network, start_network
from tests.integration.test_sdk_store_read import publish_node_urls


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


@pytest.fixture(scope="module")
def network(
    chain: ChainClient,
    artifacts: Artifacts,
    wal: Contract,
    client_for: Callable[[bytes], ChainClient],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Network]:
    """4 node processes over 8 shards (tests/integration/network.py); chain restored after."""
    restore = restore_chain_after(chain)
    next(restore)
    running = start_network(chain, artifacts, wal, client_for, tmp_path_factory.mktemp("net"))
    try:
        yield running
    finally:
        running.stop()
        next(restore, None)


@pytest.fixture(scope="module")
def cli_env(
    network: Network, artifacts: Artifacts, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Environment pointing the CLI at the test network with the test user's wallet."""
    publish_node_urls(network)
    directory = tmp_path_factory.mktemp("cli")
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
    deployment_file = directory / "deployment.json"
    deployment_file.write_text(json.dumps(deployment.to_json()))
    account = network.user.account
    assert account is not None
    return {
        **os.environ,
        "WALRUS_RPC_URL": network.user.rpc_url,
        "WALRUS_DEPLOYMENT": str(deployment_file),
        "WALRUS_PRIVATE_KEY": bytes(account.key).hex(),
    }


def one_line_error(result: subprocess.CompletedProcess[bytes]) -> str:
    """The CLI failed the way a user expects: exit 1, one line on stderr, no traceback."""
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    return stderr


@pytest.mark.parametrize("size", [0, 7, 1 << 20], ids=["empty", "tiny", "1MiB"])
def test_store_then_read_back_is_byte_identical(
    cli_env: dict[str, str],
    network: Network,
    tmp_path: Path,
    size: int,
) -> None:
    source = tmp_path / "input.bin"
    source.write_bytes(os.urandom(size))
    stored = run("store", str(source), "--epochs", "2", "--json", env=cli_env)
    assert stored.returncode == 0, stored.stderr.decode()
    result = json.loads(stored.stdout)
    assert result["status"] == "newlyCreated"
    expected = encode_blob(source.read_bytes(), network.n_shards).blob_id
    assert result["blob_id"] == str(expected)

    computed = run("blob-id", str(source), env=cli_env)
    assert computed.stdout.decode().strip() == str(expected)

    to_stdout = run("read", result["blob_id"], env=cli_env)
    assert to_stdout.returncode == 0, to_stdout.stderr.decode()
    assert to_stdout.stdout == source.read_bytes()

    target = tmp_path / "out.bin"
    to_file = run("read", result["blob_id"], "--out", str(target), env=cli_env)
    assert to_file.returncode == 0, to_file.stderr.decode()
    assert target.read_bytes() == source.read_bytes()

    status = run("blob-status", result["blob_id"], "--json", env=cli_env)
    assert json.loads(status.stdout)["state"] == "certified"


def test_storing_again_answers_already_certified(cli_env: dict[str, str], tmp_path: Path) -> None:
    source = tmp_path / "twice.txt"
    source.write_bytes(b"stored twice through the CLI")
    first = run("store", str(source), "--epochs", "3", env=cli_env)
    assert first.returncode == 0 and b"Blob id:" in first.stdout, first.stderr.decode()
    second = run("store", str(source), "--epochs", "1", "--json", env=cli_env)
    answer = json.loads(second.stdout)
    assert (answer["status"], answer["cost"]) == ("alreadyCertified", 0)


def test_bad_input_is_one_line_and_exit_1(cli_env: dict[str, str], tmp_path: Path) -> None:
    malformed = one_line_error(run("read", "not-a-blob-id", env=cli_env))
    assert "blob id" in malformed.lower()
    unknown = one_line_error(run("read", "A" * 43, env=cli_env))
    assert "does not exist" in unknown
    missing = one_line_error(run("store", str(tmp_path / "nope.bin"), env=cli_env))
    assert "file not found" in missing
    existing = tmp_path / "x.bin"
    existing.write_bytes(b"x")
    epochs = one_line_error(run("store", str(existing), "--epochs", "0", env=cli_env))
    assert "epochs must be between 1 and" in epochs
    offline = {**cli_env, "WALRUS_RPC_URL": f"http://127.0.0.1:{free_port()}"}
    unreachable = one_line_error(run("blob-status", "A" * 43, env=offline))
    assert "127.0.0.1" in unreachable


def test_owner_verbs_through_the_cli(
    cli_env: dict[str, str], network: Network, tmp_path: Path
) -> None:
    source = tmp_path / "owned.bin"
    source.write_bytes(os.urandom(5000))
    stored = json.loads(run("store", str(source), "--deletable", "--json", env=cli_env).stdout)
    token = str(stored["token_id"])

    listed = json.loads(run("list-blobs", "--json", env=cli_env).stdout)
    assert {"token_id": int(token), "blob_id": stored["blob_id"]}.items() <= next(
        row for row in listed if row["token_id"] == int(token)
    ).items()

    assert run("set-blob-attribute", token, "k", "v", env=cli_env).returncode == 0
    assert run("get-blob-attribute", token, "k", env=cli_env).stdout.decode().strip() == "v"
    assert run("remove-blob-attribute", token, "k", env=cli_env).returncode == 0
    assert "no attribute" in one_line_error(run("get-blob-attribute", token, "k", env=cli_env))

    extended = json.loads(run("extend", token, "--epochs", "2", "--json", env=cli_env).stdout)
    assert extended["end_epoch"] == stored["end_epoch"] + 2

    facts = json.loads(run("info", "--json", env=cli_env).stdout)
    assert facts["n_shards"] == network.n_shards and len(facts["committee"]) == 4
    healthy = run("health", env=cli_env)
    assert healthy.returncode == 0 and healthy.stdout.decode().count(": ok") == 4

    deleted = json.loads(run("delete", token, "--json", env=cli_env).stdout)
    assert deleted["deleted"] and deleted["refund"] > 0
    assert "was deleted" in one_line_error(run("read", stored["blob_id"], env=cli_env))
    revert = one_line_error(run("delete", token, env=cli_env))
    assert "BlobRegistry" in revert

    other = json.loads(run("store", "-", "--deletable", "--json", env=cli_env, stdin=b"s").stdout)
    friend = network.env.operators[1].address
    assert run("share", str(other["token_id"]), friend, env=cli_env).returncode == 0
    mine = json.loads(run("list-blobs", "--json", env=cli_env).stdout)
    assert other["token_id"] not in [row["token_id"] for row in mine]
