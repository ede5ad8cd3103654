"""scripts/nft_metadata.py at a small scale: 20 tokens, every tokenURI and image served by
the aggregator with the right Content-Type."""

from __future__ import annotations

import json

from backend.api.app import create_app
from backend.chain.compiler import Artifacts
from backend.sdk.quilt import QuiltClient
from scripts.nft_metadata import store_collection
from tests.integration.network import Network
from tests.integration.quilt_env import user_client

AGGREGATOR = "http://aggregator.test"


def test_collection_of_20_tokens(network: Network, artifacts: Artifacts) -> None:
    client = user_client(network, artifacts)
    result = store_collection(QuiltClient(client), 20, AGGREGATOR)
    assert sorted(result["tokens"]) == list(range(20))
    assert len(result["quilts"]) == 2  # one quilt of images, one of metadata
    api = create_app(client).test_client()
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
