"""The indexer against a real anvil and a real Staking + BlobRegistry (BLS-certified made-up
blobs, no storage nodes needed), on SQLite and on a throwaway PostgreSQL cluster: the same
tests run on both. Queries go through the Flask app's `GET /v1/index/...`."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from web3.contract import Contract

from backend.api.app import create_app
from backend.api.indexer.database import open_database, sqlite_url
from backend.api.indexer.errors import IndexDatabaseMismatch, IndexDatabaseUnreachable
from backend.api.indexer.queries import dump
from backend.api.indexer.service import EXTENSION_KEY, IndexService
from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.chain.deployment import Deployment
from backend.core.blob_id import BlobId
from backend.sdk.client import Client
from tests.contracts.blob_registry_env import (
    RegistryEnv,
    fresh_client,
    funded_clients_fixture,
    registry_env_fixture,
    restore_chain_fixture,
)
from tests.integration.index_databases import database_url, postgres
from tests.postgres import free_port

__all__ = ["database_url", "postgres"]  # module fixtures, used here by name

pytestmark = pytest.mark.usefixtures("snapshot")

_users = itertools.count()


restore_chain = restore_chain_fixture()


operators = funded_clients_fixture(b"idx-op", 4)
env = registry_env_fixture([10**12] * 4, n_shards=8)


@pytest.fixture(scope="module")
def start_block(env: RegistryEnv) -> int:
    """First block to index: the module's deployment is before it, its blobs after."""
    return env.chain.block_number()


@pytest.fixture
def user(
    chain: ChainClient, wal: Contract, client_for: Callable[[bytes], ChainClient]
) -> Callable[[], ChainClient]:
    def make() -> ChainClient:
        return fresh_client(chain, wal, client_for, b"idx-user" + str(next(_users)).encode())

    return make


@pytest.fixture
def sdk_client(env: RegistryEnv) -> Client:
    return Client(env.chain, env.staking, env.registry, env.wal)


class Index:
    """One indexer database + its HTTP API (Flask test client)."""

    def __init__(self, url: str, env: RegistryEnv, start_block: int, sdk_client: Client) -> None:
        self.service = IndexService.open(
            url, env.registry, env.staking.current_epoch, start_block=start_block
        )
        app = create_app(sdk_client)
        app.extensions[EXTENSION_KEY] = self.service
        self.http: FlaskClient = app.test_client()

    def sync(self) -> None:
        self.service.follower.sync()

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, query_string=params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def blobs(self, **params: Any) -> list[dict[str, Any]]:
        blobs: list[dict[str, Any]] = self.get("/v1/index/blobs", **params)["blobs"]
        return blobs

    def tokens(self, **params: Any) -> list[int]:
        return [blob["tokenId"] for blob in self.blobs(**params)]

    def dump(self) -> dict[str, Any]:
        with Session(self.service.engine) as session:
            return dump(session)

    def close(self) -> None:
        self.service.stop()


@pytest.fixture
def open_index(
    database_url: Callable[[], str], env: RegistryEnv, start_block: int, sdk_client: Client
) -> Iterator[Callable[..., Index]]:
    opened: list[Index] = []

    def make(url: str | None = None) -> Index:
        index = Index(url or database_url(), env, start_block, sdk_client)
        opened.append(index)
        return index

    yield make
    for index in opened:
        index.close()


def test_owners_transfers_attributes_and_a_rebuild_from_an_empty_database(
    env: RegistryEnv, user: Callable[[], ChainClient], open_index: Callable[..., Index]
) -> None:
    alice, bob = user(), user()
    live = open_index()
    tokens = []
    for salt in (b"a", b"b", b"c"):
        registered = env.register(alice, salt=salt + alice.address.encode())
        env.certify(registered)
        tokens.append(registered.token_id)
        live.sync()  # the live index follows step by step
    first, second, third = tokens
    as_alice = env.as_user(alice)
    as_alice.set_attribute(first, "content-type", "image/png")
    as_alice.set_attribute(second, "content-type", "text/plain")
    as_alice.set_attribute(second, "collection", "cats")
    live.sync()
    as_alice.transfer(second, bob.address)
    as_alice.remove_attribute(first, "content-type")
    live.sync()

    assert live.tokens(owner=alice.address) == [first, third]
    assert live.tokens(owner=bob.address.lower()) == [second]
    [moved] = live.blobs(owner=bob.address)
    assert moved["attributes"] == {"collection": "cats", "content-type": "text/plain"}
    assert moved["status"] == "certified" and moved["owner"] == bob.address.lower()
    assert live.tokens(attribute="content-type") == [second]
    assert live.tokens(attribute="collection", value="cats") == [second]
    assert live.tokens(attribute="collection", value="dogs") == []

    rebuilt = open_index()  # empty database, from chain events alone, in one pass
    rebuilt.sync()
    assert rebuilt.dump() == live.dump()
    assert rebuilt.dump()["blobs"], "the dump compares real rows"


def test_deleted_and_invalidated_blobs_leave_the_live_list(
    env: RegistryEnv, user: Callable[[], ChainClient], open_index: Callable[..., Index]
) -> None:
    carol = user()
    index = open_index()
    kept = env.register(carol, salt=b"kept" + carol.address.encode())
    env.certify(kept)
    deleted = env.register(carol, salt=b"deleted" + carol.address.encode())
    env.certify(deleted)
    bad = env.register(carol, salt=b"bad" + carol.address.encode(), deletable=False)
    env.as_user(carol).delete_blob(deleted.token_id)
    bitmap, signature = env.invalidation(bad.blob_id, [0, 1])
    env.registry.invalidate_blob(bad.blob_id, bitmap, signature)
    index.sync()

    assert index.tokens(owner=carol.address) == [kept.token_id]
    assert index.tokens(owner=carol.address, status="deleted") == [deleted.token_id]
    [invalid] = index.blobs(owner=carol.address, status="invalidated")
    assert invalid["tokenId"] == bad.token_id
    assert invalid["invalidatedEpoch"] == env.epoch()
    assert invalid["blobId"] == BlobId(bad.blob_id).to_base64()
    everything = index.blobs(owner=carol.address, status="all")
    assert {blob["tokenId"]: blob["status"] for blob in everything} == {
        kept.token_id: "certified",
        deleted.token_id: "deleted",
        bad.token_id: "invalidated",
    }
    assert index.tokens(blob_id=BlobId(kept.blob_id).to_base64()) == [kept.token_id]


def test_expiring_within_n_epochs_follows_epoch_changes(
    env: RegistryEnv, user: Callable[[], ChainClient], open_index: Callable[..., Index]
) -> None:
    dave = user()
    index = open_index()
    by_epochs = {}
    for epochs in (1, 2, 4):
        registered = env.register(dave, epochs=epochs, salt=bytes([epochs]) + dave.address.encode())
        env.certify(registered)
        by_epochs[epochs] = registered.token_id
    uncertified = env.register(dave, epochs=1, salt=b"u" + dave.address.encode())
    index.sync()

    assert index.tokens(owner=dave.address, expiring_within=1) == [by_epochs[1]]
    assert index.tokens(owner=dave.address, expiring_within=2) == [by_epochs[1], by_epochs[2]]
    assert index.tokens(owner=dave.address, expiring_within=0) == []
    env.next_epoch()  # time warp + Staking.initiateEpochChange
    index.sync()
    assert index.tokens(owner=dave.address, expiring_within=1) == [by_epochs[2]]
    expired = index.tokens(owner=dave.address, status="expired")
    assert expired == [by_epochs[1], uncertified.token_id]
    assert index.tokens(owner=dave.address) == [by_epochs[2], by_epochs[4]]


def test_pages_by_cursor_and_by_offset_cover_every_blob_once(
    env: RegistryEnv, user: Callable[[], ChainClient], open_index: Callable[..., Index]
) -> None:
    erin = user()
    index = open_index()
    tokens = [
        env.register(erin, salt=bytes([i]) + erin.address.encode()).token_id for i in range(7)
    ]
    index.sync()

    by_cursor, cursor = [], None
    while True:
        params: dict[str, Any] = {"owner": erin.address, "limit": 3}
        if cursor is not None:
            params["cursor"] = cursor
        page = index.get("/v1/index/blobs", **params)
        by_cursor.append([blob["tokenId"] for blob in page["blobs"]])
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert by_cursor == [tokens[0:3], tokens[3:6], tokens[6:7]]
    by_offset = [index.tokens(owner=erin.address, limit=3, offset=o) for o in (0, 3, 6)]
    assert by_offset == by_cursor


def test_a_restart_resumes_from_the_committed_cursor(
    env: RegistryEnv,
    user: Callable[[], ChainClient],
    open_index: Callable[..., Index],
    database_url: Callable[[], str],
) -> None:
    frank = user()
    url = database_url()
    first = open_index(url)
    early = env.register(frank, salt=b"early" + frank.address.encode())
    first.sync()
    stopped_at = first.service.follower.next_block()
    first.close()

    late = env.register(frank, salt=b"late" + frank.address.encode())
    env.as_user(frank).set_attribute(early.token_id, "k", "v")
    reopened = open_index(url)
    assert reopened.service.follower.next_block() == stopped_at
    reopened.sync()
    assert reopened.tokens(owner=frank.address) == [early.token_id, late.token_id]
    assert reopened.tokens(attribute="k", owner=frank.address) == [early.token_id]
    assert reopened.service.follower.next_block() == env.chain.block_number() + 1
    fresh = open_index()
    fresh.sync()
    assert fresh.dump() == reopened.dump()


def test_a_database_of_another_chain_or_registry_is_refused(
    env: RegistryEnv, database_url: Callable[[], str], start_block: int
) -> None:
    url = database_url()
    IndexService.open(url, env.registry, env.staking.current_epoch, start_block=start_block).stop()
    with pytest.raises(IndexDatabaseMismatch, match=r"on chain 31337, not .* on chain 5"):
        open_database(url, 5, env.registry.address, start_block)
    with pytest.raises(IndexDatabaseMismatch, match="indexes registry 0x"):
        open_database(url, 31337, "0x" + "11" * 20, start_block)


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://walrus@127.0.0.1:1/index",
        "sqlite:////nonexistent-directory/index.sqlite",
        "mysql+nosuchdriver://x@127.0.0.1/db",
    ],
)
def test_an_unusable_database_url_is_one_clear_error(url: str, env: RegistryEnv) -> None:
    with pytest.raises(IndexDatabaseUnreachable) as raised:
        IndexService.open(url, env.registry, env.staking.current_epoch, start_block=0)
    message = str(raised.value)
    assert "\n" not in message and "database" in message and "***" not in message
    assert ("127.0.0.1" in message) or ("nonexistent" in message) or ("nosuchdriver" in message)


@pytest.fixture
def sqlite_index(
    tmp_path: Path, env: RegistryEnv, start_block: int, sdk_client: Client
) -> Iterator[Index]:
    index = Index(f"sqlite:///{tmp_path}/index.sqlite", env, start_block, sdk_client)
    yield index
    index.close()


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"owner": "0x123"}, "owner must be a 0x-prefixed 20-byte address"),
        ({"limit": "0"}, "limit must be between 1 and 1000"),
        ({"limit": "1001"}, "limit must be between 1 and 1000"),
        ({"limit": "ten"}, "limit must be a non-negative integer"),
        ({"offset": "-1"}, "offset must be a non-negative integer"),
        ({"cursor": "abc"}, "cursor must be a nextCursor value"),
        ({"expiring_within": "1.5"}, "expiring_within must be a non-negative integer"),
        ({"status": "gone"}, "status must be one of live, certified"),
        ({"blob_id": "not-a-blob-id"}, "blob_id: a blob id is 43 characters"),
        ({"value": "cats"}, "value needs an attribute"),
        ({"attribute": "k" * 65}, "attribute must be a key of 1 to 64 bytes"),
        ({"ownr": "0x" + "00" * 20}, "unknown query parameter 'ownr'"),
    ],
)
def test_malformed_blob_queries_are_400_json(
    sqlite_index: Index, params: dict[str, str], complaint: str
) -> None:
    response = sqlite_index.http.get("/v1/index/blobs", query_string=params)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "InvalidIndexQuery"
    assert complaint in error["message"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    ("params", "complaint"),
    [
        ({"tag": "novalue"}, "tag must be key=value"),
        ({"identifier": ""}, "identifier must not be empty"),
        ({"quilt": "x"}, "quilt: a blob id is 43 characters"),
    ],
)
def test_malformed_patch_queries_are_400_json(
    sqlite_index: Index, params: dict[str, str], complaint: str
) -> None:
    response = sqlite_index.http.get("/v1/index/patches", query_string=params)
    assert response.status_code == 400
    assert complaint in response.get_json()["error"]["message"]


def test_status_reports_progress_and_a_backend_without_index_answers_503(
    sqlite_index: Index, env: RegistryEnv, sdk_client: Client
) -> None:
    sqlite_index.sync()
    status = sqlite_index.get("/v1/index/status")
    answer = sqlite_index.http.get("/v1/index/blobs", query_string={"owner": "0x" + "00" * 20})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"  # a dApp on another origin
    assert status["nextBlock"] == env.chain.block_number() + 1
    assert status["registry"] == env.registry.address and status["lastError"] is None
    documented = sqlite_index.get("/v1/api")["paths"]
    assert {"/v1/index/status", "/v1/index/blobs", "/v1/index/patches"} <= set(documented)
    bare = create_app(sdk_client).test_client().get("/v1/index/blobs")
    assert bare.status_code == 503
    assert bare.get_json()["error"]["code"] == "IndexerDisabled"


@pytest.fixture(scope="module")
def serve_env(
    env: RegistryEnv,
    artifacts: Artifacts,
    start_block: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """Environment pointing `walrus serve` at the module's contracts."""
    deployment = Deployment(
        chain_id=env.chain.chain_id,
        deploy_block=start_block,
        abi_hash=artifacts.abi_hash,
        contracts={
            "WAL": env.wal.address,
            "Staking": env.staking.address,
            "BlobRegistry": env.registry.address,
        },
    )
    path = tmp_path_factory.mktemp("serve") / "deployment.json"
    path.write_text(json.dumps(deployment.to_json()))
    return {**os.environ, "WALRUS_RPC_URL": env.chain.rpc_url, "WALRUS_DEPLOYMENT": str(path)}


def walrus(*args: str) -> list[str]:
    return [sys.executable, "-m", "backend.cli.main", *args]


def test_walrus_serve_indexes_in_the_background_and_lists_my_blobs(
    env: RegistryEnv,
    user: Callable[[], ChainClient],
    serve_env: dict[str, str],
    tmp_path: Path,
) -> None:
    grace = user()
    port = free_port()
    # the default index of an earlier devnet run (same chain id and address, other blocks)
    prefix = f"index-31337-{env.registry.address[2:10].lower()}"
    earlier = tmp_path / f"{prefix}-eeeeeeee.sqlite"
    open_database(sqlite_url(earlier), 31337, env.registry.address, 0, "0x" + "ee" * 32).dispose()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        walrus("serve", "--port", str(port), "--data-dir", str(tmp_path)),
        env=serve_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        registered = env.register(grace, salt=b"served" + grace.address.encode())
        env.certify(registered)
        url = f"http://127.0.0.1:{port}/v1/index/blobs"
        deadline = time.monotonic() + 240
        found: list[int] = []
        while time.monotonic() < deadline and not found:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                answer = requests.get(url, params={"owner": grace.address}, timeout=5)
                found = [blob["tokenId"] for blob in answer.json()["blobs"]]
            except (requests.ConnectionError, KeyError):
                pass
            time.sleep(0.3)
        assert found == [registered.token_id]
        files = sorted(path.name for path in tmp_path.glob(f"{prefix}-*.sqlite"))
        assert len(files) == 2 and earlier.name in files, "each chain has its own index file"

        backend = f"http://127.0.0.1:{port}"
        listed = subprocess.run(
            walrus("list-blobs", "--backend", backend, "--owner", grace.address, "--json"),
            env=serve_env,
            capture_output=True,
            timeout=300,
        )
        assert listed.returncode == 0, listed.stderr.decode()
        [row] = json.loads(listed.stdout)
        assert (row["token_id"], row["certified"]) == (registered.token_id, True)
        assert row["blob_id"] == BlobId(registered.blob_id).to_base64()
        refused = subprocess.run(
            walrus("list-blobs", "--backend", backend, "--owner", "0x12"),
            env=serve_env,
            capture_output=True,
            timeout=300,
        )
        stderr = refused.stderr.decode()
        assert refused.returncode == 1 and len(stderr.strip().splitlines()) == 1, stderr
        assert "owner must be a 0x-prefixed 20-byte address" in stderr
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_walrus_serve_with_an_unreachable_database_is_one_line(
    serve_env: dict[str, str],
) -> None:
    result = subprocess.run(
        walrus(
            "serve",
            "--port",
            str(free_port()),
            "--database-url",
            "postgresql://walrus:secret@127.0.0.1:1/index",
        ),
        env=serve_env,
        capture_output=True,
        timeout=300,  # a loaded 2-core machine imports web3 + SQLAlchemy slowly
    )
    stderr = result.stderr.decode()
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "cannot open index database postgresql://walrus:***@127.0.0.1:1/index" in stderr
    assert "secret" not in stderr
