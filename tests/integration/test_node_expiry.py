"""Expired blobs: after the blob's end epoch the nodes drop its data and say it expired.

Advances epochs on anvil (evm_increaseTime + initiateEpochChange), so it runs on its own
module-scoped network."""

from __future__ import annotations

import os

import requests

from backend.core import routes
from backend.core.sliver_kind import SliverKind
from tests.integration.network import Network, wait_until


def test_expired_blob_is_collected_and_reported_as_expired(network: Network) -> None:
    encoded, registered = network.register(os.urandom(3000), epochs=1)
    lasting, lasting_registered = network.register(os.urandom(2000), epochs=3)
    for blob, registration in ((encoded, registered), (lasting, lasting_registered)):
        network.upload(blob)
        network.certify(blob, registration)
    start_epoch = network.env.epoch()
    assert registered.end_epoch == start_epoch + 1
    node = network.owner_of_pair(encoded, 0)
    sliver_url = node.url + routes.sliver_path(encoded.blob_id, 0, SliverKind.PRIMARY)
    assert requests.get(sliver_url).status_code == 200

    network.env.next_epoch()  # the blob's end epoch: its storage is over

    def collected_everywhere() -> bool:
        return all(
            requests.get(n.url + routes.metadata_path(encoded.blob_id)).status_code == 410
            for n in network.nodes
        )

    wait_until(collected_everywhere, timeout=60, what="expired blob collected on every node")
    response = requests.get(sliver_url)
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "BlobExpired"
    status = requests.get(node.url + routes.status_path(encoded.blob_id)).json()
    assert status["expired"] is True
    assert status["live"] is False
    assert status["metadata"] is False
    refused = requests.put(
        node.url + routes.metadata_path(encoded.blob_id), data=encoded.metadata.to_bytes()
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "BlobExpired"
    # the blob still within its period is untouched
    for pair in range(network.n_shards):
        owner = network.owner_of_pair(lasting, pair)
        for sliver in lasting.sliver_pair(pair):
            path = routes.sliver_path(lasting.blob_id, pair, sliver.kind)
            assert requests.get(owner.url + path).content == sliver.to_bytes()
