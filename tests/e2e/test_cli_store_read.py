"""The `walrus` CLI as a user runs it (a subprocess) against real node processes."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from web3.contract import Contract

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.devnet import free_port
from backend.core.encoder import encode_blob
from tests.e2e.cli_harness import cli_env, one_line_error, run, wallet_env, write_deployment
from tests.integration.network import REPO_ROOT, Network
from tests.reliability.backend_process import BackendProcess

__all__ = ["cli_env"]  # the module fixture, used here by name


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

    to_stdout = run("read", "--", result["blob_id"], env=cli_env)
    assert to_stdout.returncode == 0, to_stdout.stderr.decode()
    assert to_stdout.stdout == source.read_bytes()

    target = tmp_path / "out.bin"
    to_file = run("read", "--out", str(target), "--", result["blob_id"], env=cli_env)
    assert to_file.returncode == 0, to_file.stderr.decode()
    assert target.read_bytes() == source.read_bytes()

    status = run("blob-status", "--json", "--", result["blob_id"], env=cli_env)
    assert json.loads(status.stdout)["state"] == "certified"


def _read_to_a_terminal(blob_id: str, env: dict[str, str]) -> tuple[int, bytes, str]:
    """`walrus read BLOB_ID` with its stdout on a pseudo-terminal, as typed in a shell:
    (exit code, what reached the terminal, stderr)."""
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "backend.cli.main", "read", "--", blob_id],
            cwd=REPO_ROOT,
            env=env,
            stdout=terminal,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        _, stderr = process.communicate(timeout=120)
    finally:
        os.close(controller)
    return process.returncode, shown, stderr.decode()


def test_read_refuses_binary_to_a_terminal_but_prints_text(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    binary = tmp_path / "photo.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00" + os.urandom(4000))
    text = tmp_path / "note.txt"
    text.write_text("caf\u00e9 notes\n\tindented line\n")
    ids = {}
    for source in (binary, text):
        stored = run("store", str(source), "--epochs", "1", "--json", env=cli_env)
        assert stored.returncode == 0, stored.stderr.decode()
        ids[source.name] = json.loads(stored.stdout)["blob_id"]

    code, shown, stderr = _read_to_a_terminal(ids["photo.bin"], cli_env)
    assert code == 1, stderr
    assert shown == b""
    assert "binary data, not written to the terminal" in stderr
    assert "--out" in stderr and len(stderr.strip().splitlines()) == 1

    code, shown, stderr = _read_to_a_terminal(ids["note.txt"], cli_env)
    assert code == 0, stderr
    assert shown.replace(b"\r\n", b"\n") == text.read_bytes()  # the tty maps \n to \r\n

    piped = run("read", "--", ids["photo.bin"], env=cli_env)  # not a terminal: written
    assert piped.returncode == 0 and piped.stdout == binary.read_bytes()


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

    attribute_set = run("set-blob-attribute", token, "k", "v", env=cli_env)
    assert attribute_set.stdout.decode().strip() == f"Token {token}: attribute 'k' set to 'v'."
    assert run("get-blob-attribute", token, "k", env=cli_env).stdout.decode().strip() == "v"
    removed = run("remove-blob-attribute", token, "k", env=cli_env)
    assert removed.stdout.decode().strip() == f"Token {token}: attribute 'k' removed."
    assert "no attribute" in one_line_error(run("get-blob-attribute", token, "k", env=cli_env))

    extended = json.loads(run("extend", token, "--epochs", "2", "--json", env=cli_env).stdout)
    assert extended["end_epoch"] == stored["end_epoch"] + 2

    facts = json.loads(run("info", "--json", env=cli_env).stdout)
    assert facts["n_shards"] == network.n_shards and len(facts["committee"]) == 4
    healthy = run("health", env=cli_env)
    assert healthy.returncode == 0 and healthy.stdout.decode().count(": ok") == 4

    deleted = json.loads(run("delete", token, "--json", env=cli_env).stdout)
    assert deleted["deleted"] and deleted["refund"] > 0
    assert "was deleted" in one_line_error(run("read", "--", stored["blob_id"], env=cli_env))
    status = run("blob-status", "--json", "--", stored["blob_id"], env=cli_env)
    assert json.loads(status.stdout)["state"] == "deleted"  # not "nonexistent"
    revert = one_line_error(run("delete", token, env=cli_env))
    assert "BlobRegistry" in revert

    other = json.loads(run("store", "-", "--deletable", "--json", env=cli_env, stdin=b"s").stdout)
    friend = network.env.operators[1].address
    assert run("share", str(other["token_id"]), friend, env=cli_env).returncode == 0
    mine = json.loads(run("list-blobs", "--json", env=cli_env).stdout)
    assert other["token_id"] not in [row["token_id"] for row in mine]


def test_a_new_users_mistakes_are_one_line(
    cli_env: dict[str, str], network: Network, tmp_path: Path
) -> None:
    """Mistakes seen in a fresh-clone walkthrough that used to end in a traceback or a
    misleading message."""
    source = tmp_path / "kept.txt"
    source.write_bytes(os.urandom(100))
    stored = json.loads(run("store", str(source), "--json", env=cli_env).stdout)
    blob_id = stored["blob_id"]

    nowhere = tmp_path / "no-such-dir" / "copy.txt"
    missing_dir = one_line_error(run("read", "--out", str(nowhere), "--", blob_id, env=cli_env))
    assert "no-such-dir does not exist" in missing_dir and not nowhere.parent.exists()

    assert "is a directory" in one_line_error(run("store", str(tmp_path), env=cli_env))
    owner = one_line_error(run("list-blobs", "--owner", "0xnope", env=cli_env))
    assert "'0xnope' is not an address" in owner
    no_backend = f"http://127.0.0.1:{free_port()}"
    index = one_line_error(run("list-blobs", "--backend", no_backend, env=cli_env))
    assert f"backend {no_backend} did not answer (ConnectionError)" in index

    plain = one_line_error(run("read-quilt", "--", blob_id, env=cli_env))
    assert "not a quilt patch id" in plain and "walrus read" in plain
    unknown = one_line_error(run("read-quilt", "--identifier", "a", "--", "A" * 43, env=cli_env))
    assert "does not exist on this network" in unknown

    committee = json.loads(run("info", "--json", env=cli_env).stdout)["committee"]
    node = str(committee[0]["node_id"])
    stake = one_line_error(run("stake", "--node", node, "--amount", str(10**40), env=cli_env))
    assert "not enough WAL: the stake costs" in stake

    penniless = {**cli_env, "WALRUS_PRIVATE_KEY": "5c" * 32}
    gas = one_line_error(run("delete", str(stored["token_id"]), env=penniless))
    assert "cannot pay the gas" in gas and "holds 0 ETH" in gas

    given = json.loads(run("store", "-", "--deletable", "--json", env=cli_env, stdin=b"g").stdout)
    token = str(given["token_id"])
    assert run("share", token, network.env.operators[1].address, env=cli_env).returncode == 0
    not_mine = one_line_error(run("delete", token, env=cli_env))
    assert f"may not change token {token}" in not_mine and "(BlobRegistryNotAuthorized)" in not_mine
    position = one_line_error(run("request-withdraw-stake", "--position", "999999", env=cli_env))
    assert "no stake position 999999" in position


def test_a_stalled_node_does_not_keep_store_open_after_the_blob_id(
    cli_env: dict[str, str], network: Network, tmp_path: Path
) -> None:
    """One node frozen (SIGSTOP: it accepts connections, never answers): the store certifies
    without it and the command exits after a short grace, not after the node's timeout and
    retries (3 x 30 s here) as it did."""
    source = tmp_path / "stalled.bin"
    source.write_bytes(os.urandom(3000))
    frozen = network.nodes[-1].pid
    assert frozen is not None
    os.kill(frozen, signal.SIGSTOP)
    try:
        started = time.monotonic()
        stored = run("store", str(source), "--node-timeout", "30", "--json", env=cli_env)
        elapsed = time.monotonic() - started
    finally:
        os.kill(frozen, signal.SIGCONT)
    assert stored.returncode == 0, stored.stderr.decode()
    assert "still receiving slivers" in stored.stderr.decode()
    assert elapsed < 60, elapsed  # it used to wait for the full 90 s of timeouts
    blob_id = json.loads(stored.stdout)["blob_id"]
    assert run("read", "--", blob_id, env=cli_env).stdout == source.read_bytes()


@pytest.fixture(scope="module")
def backend_url(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`walrus serve` as a subprocess on a free port, stopped by its pid."""
    serve_dir = tmp_path_factory.mktemp("serve")  # its index lives and dies with the test
    backend = BackendProcess(cli_env, serve_dir / "serve.log", serve_dir)
    backend.start()
    try:
        yield backend.url
    finally:
        backend.stop()


@pytest.mark.parametrize("size", [0, 1 << 20], ids=["empty", "1MiB"])
def test_http_store_then_read_with_ranges_and_caching(backend_url: str, size: int) -> None:
    data = os.urandom(size)
    stored = requests.put(f"{backend_url}/v1/blobs?epochs=2", data=data, timeout=60)
    assert stored.status_code == 200, stored.text
    answer = stored.json()
    if size == 0 and "alreadyCertified" in answer:  # the empty blob is stored by earlier tests
        created = None
        blob_id = answer["alreadyCertified"]["blobId"]
    else:
        created = answer["newlyCreated"]["blobObject"]
        blob_id = created["blobId"]

    read = requests.get(f"{backend_url}/v1/blobs/{blob_id}", timeout=60)
    assert read.status_code == 200 and read.content == data
    assert read.headers["Content-Length"] == str(size)
    assert "immutable" in read.headers["Cache-Control"]
    assert blob_id in read.headers["ETag"]

    if created is not None:
        token = created["id"]
        by_token = requests.get(f"{backend_url}/v1/blobs/by-object-id/{token}", timeout=60)
        assert by_token.content == data

    again = requests.put(f"{backend_url}/v1/blobs?epochs=1", data=data, timeout=60)
    assert again.json()["alreadyCertified"]["blobId"] == blob_id

    if size:
        part = requests.get(
            f"{backend_url}/v1/blobs/{blob_id}", headers={"Range": "bytes=100-199"}, timeout=60
        )
        assert part.status_code == 206 and part.content == data[100:200]
        assert part.headers["Content-Range"] == f"bytes 100-199/{size}"


def test_http_send_object_to_and_errors(backend_url: str, network: Network) -> None:
    friend = network.env.operators[2].address
    sent = requests.put(
        f"{backend_url}/v1/blobs?deletable=true&send_object_to={friend}", data=b"gift", timeout=60
    )
    assert sent.json()["newlyCreated"]["blobObject"]["owner"] == friend
    assert network.env.registry.owner_of(sent.json()["newlyCreated"]["blobObject"]["id"]) == friend

    gift = os.urandom(64)
    to_nobody = requests.put(f"{backend_url}/v1/blobs?send_object_to=0xnope", data=gift, timeout=60)
    assert to_nobody.status_code == 400, to_nobody.text
    assert to_nobody.json()["error"]["code"] == "InvalidAddress"
    unpaid = network.env.registry.blob_id_status(encode_blob(gift, network.n_shards).blob_id.raw)
    assert unpaid.registrations == 0  # refused before anything was registered or paid

    malformed = requests.get(f"{backend_url}/v1/blobs/not-a-blob-id", timeout=10)
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "InvalidBlobId"
    unknown = requests.get(f"{backend_url}/v1/blobs/{'A' * 43}", timeout=10)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "BlobNotFound"
    no_token = requests.get(f"{backend_url}/v1/blobs/by-object-id/999999", timeout=10)
    assert no_token.status_code == 404
    bad_epochs = requests.put(f"{backend_url}/v1/blobs?epochs=x", data=b"1", timeout=10)
    assert bad_epochs.status_code == 400 and "epochs" in bad_epochs.json()["error"]["message"]
    zero_epochs = requests.put(f"{backend_url}/v1/blobs?epochs=0", data=b"1", timeout=10)
    assert zero_epochs.status_code == 400 and zero_epochs.json()["error"]["code"] == "InvalidEpochs"

    assert "/v1/blobs/{blobId}" in requests.get(f"{backend_url}/v1/api", timeout=10).json()["paths"]
    assert requests.get(f"{backend_url}/v1/health", timeout=10).json()["nodes_up"] == 4
    metrics = requests.get(f"{backend_url}/metrics", timeout=10).text
    assert 'route="/v1/blobs/<blob_id>",status="404"' in metrics


def test_funding_an_expired_shared_blob_is_refused_before_paying(
    network: Network,
    artifacts: Artifacts,
    chain: ChainClient,
    wal: Contract,
    tmp_path: Path,
) -> None:
    """SharedBlob.fund takes WAL for an expired blob, which can never be extended: the CLI
    refuses instead of locking the user's WAL in the contract."""
    shared, _ = chain.deploy(
        artifacts.abi("SharedBlob"),
        artifacts.bytecode("SharedBlob"),
        network.env.registry.address,
        wal.address,
    )
    deployment = write_deployment(network, artifacts, tmp_path, SharedBlob=shared.address)
    env = wallet_env(network, deployment)
    stored = json.loads(run("store", "-", "--epochs", "1", "--json", env=env, stdin=b"e").stdout)
    token = str(stored["token_id"])
    assert run("share-blob", token, env=env).returncode == 0
    network.env.next_epoch()  # the blob's only epoch is over
    payer = network.user.address
    before = wal.functions.balanceOf(payer).call()
    refused = one_line_error(run("fund-shared-blob", token, "--amount", "1000", env=env))
    assert f"shared blob {token} expired at epoch {stored['end_epoch']}" in refused
    assert wal.functions.balanceOf(payer).call() == before
    assert shared.functions.funds(int(token)).call() == 0
