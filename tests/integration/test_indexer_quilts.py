"""Quilt patch lookup in the index, on 4 real node processes: the indexer reads each
certified blob's quilt index through the SDK's QuiltClient (the way `walrus serve` wires
it) and answers `GET /v1/index/patches` by identifier, tag and quilt, on SQLite and on a
throwaway PostgreSQL cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from backend.api.app import create_app
from backend.api.indexer.queries import dump
from backend.api.indexer.schema import QuiltChecked
from backend.api.indexer.service import EXTENSION_KEY, IndexService
from backend.chain.compiler import Artifacts
from backend.core.quilt import QuiltFile
from backend.sdk.client import Client
from backend.sdk.quilt import QuiltClient, QuiltStoreResult
from tests.integration.index_databases import database_url, postgres
from tests.integration.network import Network
from tests.integration.user_client import user_client

__all__ = ["database_url", "postgres"]  # module fixtures, used here by name


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return user_client(network, artifacts)


@pytest.fixture(scope="module")
def stored(client: Client) -> tuple[QuiltStoreResult, str]:
    """One quilt of three tagged files, and one plain blob (not a quilt)."""
    files = [
        QuiltFile("alice.json", b'{"name": "alice"}', {"kind": "credential", "year": "2026"}),
        QuiltFile("bob.json", b'{"name": "bob"}', {"kind": "credential", "year": "2025"}),
        QuiltFile("logo.png", b"\x89PNG" + bytes(300), {"kind": "image"}),
    ]
    quilt = QuiltClient(client).store_quilt(files, epochs=2)
    plain = client.store(b"just bytes, no quilt index" * 10, epochs=2)
    return quilt, plain.blob_id.to_base64()


@pytest.fixture
def open_index(
    database_url: Callable[[], str], client: Client
) -> Iterator[Callable[[], IndexService]]:
    opened: list[IndexService] = []

    def make() -> IndexService:
        service = IndexService.open(
            database_url(),
            client.registry,
            client.staking.current_epoch,
            start_block=client.events_from_block,
            quilt_source=QuiltClient(client).list_patches,  # fresh: nothing cached
        )
        opened.append(service)
        return service

    yield make
    for service in opened:
        service.stop()


def test_patches_by_identifier_tag_and_quilt_and_a_rebuild_matches(
    client: Client,
    stored: tuple[QuiltStoreResult, str],
    open_index: Callable[[], IndexService],
) -> None:
    quilt, plain_blob_id = stored
    quilt_id = quilt.blob.blob_id.to_base64()
    patch_ids = {patch.identifier: str(patch.patch_id) for patch in quilt.patches}
    service = open_index()
    service.follower.sync()
    app = create_app(client)
    app.extensions[EXTENSION_KEY] = service
    http = app.test_client()

    def patches(**params: Any) -> list[dict[str, Any]]:
        response = http.get("/v1/index/patches", query_string=params)
        assert response.status_code == 200, response.get_json()
        found: list[dict[str, Any]] = response.get_json()["patches"]
        return found

    [bob] = patches(identifier="bob.json")
    assert bob == {
        "quiltBlobId": quilt_id,
        "identifier": "bob.json",
        "patchId": patch_ids["bob.json"],
        "tags": {"kind": "credential", "year": "2025"},
    }
    credentials = patches(tag="kind=credential")
    assert [p["identifier"] for p in credentials] == ["alice.json", "bob.json"]
    assert [p["identifier"] for p in patches(tag="year=2026")] == ["alice.json"]
    assert [p["patchId"] for p in patches(quilt=quilt_id)] == [
        patch_ids[name] for name in ("alice.json", "bob.json", "logo.png")
    ]
    assert patches(identifier="carol.json") == []
    assert [p["identifier"] for p in patches(quilt=quilt_id, limit=2, offset=2)] == ["logo.png"]
    with Session(service.engine) as session:
        assert session.get_one(QuiltChecked, plain_blob_id).is_quilt is False
        assert session.get_one(QuiltChecked, quilt_id).is_quilt is True

    rebuilt = open_index()
    rebuilt.follower.sync()
    with Session(service.engine) as live, Session(rebuilt.engine) as again:
        assert dump(again) == dump(live)
