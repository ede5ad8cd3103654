"""Publisher and aggregator quilt routes (Flask app over the real 4-node network), and
scripts/nft_metadata.py at a small scale through them (one network for both)."""

from __future__ import annotations

import io
import json

import pytest
from flask.testing import FlaskClient

from backend.api.app import create_app
from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from backend.sdk.quilt import QuiltClient
from scripts.nft_metadata import store_collection
from tests.integration.network import Network
from tests.integration.user_client import user_client


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return user_client(network, artifacts)


@pytest.fixture(scope="module")
def api(client: Client) -> FlaskClient:
    return create_app(client).test_client()


def test_put_quilt_then_read_patches_with_their_content_type(api: FlaskClient) -> None:
    metadata = [{"identifier": "1.json", "tags": {"token": "1"}}]
    response = api.put(
        "/v1/quilts?epochs=2",
        data={
            "1.json": (io.BytesIO(b'{"name": "one"}'), "1.json", "application/json"),
            "1.png": (io.BytesIO(b"\x89PNG fake image"), "1.png"),
            "notes": (io.BytesIO(b"plain"), "notes", "text/plain"),
            "_metadata": json.dumps(metadata),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_json()
    (quilt,) = response.get_json()["storedQuiltBlobs"]
    patch_ids = {p["identifier"]: p["quiltPatchId"] for p in quilt["patches"]}
    assert sorted(patch_ids) == ["1.json", "1.png", "notes"]

    by_id = api.get(f"/v1/blobs/by-quilt-patch-id/{patch_ids['1.json']}")
    assert by_id.status_code == 200
    assert by_id.data == b'{"name": "one"}'
    assert by_id.headers["Content-Type"] == "application/json"

    image = api.get(f"/v1/blobs/by-quilt-id/{quilt['quiltId']}/1.png")
    assert image.data == b"\x89PNG fake image"
    assert image.headers["Content-Type"] == "image/png"  # guessed from the identifier
    notes = api.get(f"/v1/blobs/by-quilt-patch-id/{patch_ids['notes']}")
    assert notes.headers["Content-Type"].startswith("text/plain")

    listed = api.get(f"/v1/quilts/{quilt['quiltId']}/patches").get_json()["patches"]
    assert {p["identifier"]: p["tags"] for p in listed}["1.json"] == {
        "content-type": "application/json",
        "token": "1",
    }
    assert "/v1/quilts" in api.get("/v1/api").get_json()["paths"]


def test_bad_requests_are_json_4xx(api: FlaskClient) -> None:
    duplicate = api.put(
        "/v1/quilts",
        data={"a": [(io.BytesIO(b"1"), "a"), (io.BytesIO(b"2"), "a")]},
        content_type="multipart/form-data",
    )
    assert duplicate.status_code == 400
    assert duplicate.get_json()["error"]["code"] == "DuplicateIdentifier"
    empty = api.put("/v1/quilts", data=b"raw", content_type="application/octet-stream")
    assert empty.status_code == 400 and "multipart" in empty.get_json()["error"]["message"]
    malformed = api.get("/v1/blobs/by-quilt-patch-id/short")
    assert malformed.status_code == 400
    assert malformed.get_json()["error"]["code"] == "InvalidQuiltPatchId"
    bad_quilt = api.get("/v1/blobs/by-quilt-id/not-a-blob-id/x")
    assert bad_quilt.status_code == 400
    stored = api.put(
        "/v1/quilts",
        data={"only": (io.BytesIO(b"x"), "only")},
        content_type="multipart/form-data",
    ).get_json()["storedQuiltBlobs"][0]
    missing = api.get(f"/v1/blobs/by-quilt-id/{stored['quiltId']}/other")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "PatchNotFound"


AGGREGATOR = "http://aggregator.test"


def test_nft_collection_of_20_tokens(client: Client, api: FlaskClient) -> None:
    """Every tokenURI and image is served by the aggregator with its Content-Type."""
    result = store_collection(QuiltClient(client), 20, AGGREGATOR)
    assert sorted(result["tokens"]) == list(range(20))
    assert len(result["quilts"]) == 2  # one quilt of images, one of metadata
    for token, urls in result["tokens"].items():
        metadata = api.get(urls["tokenURI"].removeprefix(AGGREGATOR))
        assert metadata.status_code == 200
        assert metadata.headers["Content-Type"] == "application/json"
        document = json.loads(metadata.data)
        assert document["name"] == f"Walrus #{token}"
        assert document["image"] == urls["image"]
        image = api.get(document["image"].removeprefix(AGGREGATOR))
        assert image.headers["Content-Type"] == "image/png"
        assert image.data.startswith(b"\x89PNG\r\n\x1a\n")
