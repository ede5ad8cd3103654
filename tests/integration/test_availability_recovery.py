"""Self-healing: a node that lost its disk rebuilds every sliver it must hold from its peers'
recovery symbols, downloading O(|blob| / n) per sliver (4 nodes, 8 shards, 2 per node).

The peers' on-chain URLs point at a byte-counting proxy, so what the real node process
downloads is measured, not estimated."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
import requests

from backend.chain.compiler import Artifacts
from backend.core import routes
from backend.sdk.client import Client, StoreResult
from tests.integration.counting_proxy import CountingProxy
from tests.integration.network import Network, wait_until
from tests.integration.user_client import network_client

BLOB_SIZES = (150_000, 400_000, 1_000_000)


@pytest.fixture(scope="module")
def client(network: Network, artifacts: Artifacts) -> Client:
    return network_client(network, artifacts)


@pytest.fixture
def stored(client: Client) -> list[StoreResult]:
    return [client.store(os.urandom(size), epochs=2) for size in BLOB_SIZES]


@pytest.fixture
def proxy(network: Network, stored: list[StoreResult]) -> Iterator[CountingProxy]:
    """After storing: every node's published URL goes through the proxy; restored afterwards."""
    counting = CountingProxy([node.url for node in network.nodes])

    def publish(url_of: dict[int, str]) -> None:
        for node in network.nodes:
            operator = network.env.operators[node.index]
            operator.nonces.forget(operator.address)  # the node process sends with it too
            staking = network.env.staking.as_account(operator)
            staking.set_node_metadata(node.node_id, f"node-{node.index}", url_of[node.index])

    publish({node.index: counting.url_for(node.index) for node in network.nodes})
    try:
        yield counting
    finally:
        publish({node.index: node.url for node in network.nodes})
        counting.close()


def pairs_stored(url: str, stored: StoreResult) -> list[int]:
    answer = requests.get(url + routes.status_path(stored.blob_id), timeout=10).json()
    return list(answer["pairs_stored"])


def test_a_wiped_node_recovers_everything_with_little_traffic(
    network: Network, stored: list[StoreResult], proxy: CountingProxy
) -> None:
    wiped = network.nodes[1]
    pairs_per_blob = len(network.env.staking.shards_of_node(wiped.node_id))
    for blob in stored:
        assert len(pairs_stored(wiped.url, blob)) == pairs_per_blob

    wiped.stop()
    shutil.rmtree(wiped.data_dir)
    proxy.reset()
    wiped.start()
    wiped.wait_ready()
    wait_until(
        lambda: all(len(pairs_stored(wiped.url, blob)) == pairs_per_blob for blob in stored),
        timeout=90,
        what="the wiped node to recover every sliver pair of its shards",
    )
    for blob in stored:  # and what it recovered is the real data: reads need no other node
        assert pairs_stored(wiped.url, blob)

    n = network.n_shards
    slivers_per_blob = 2 * pairs_per_blob
    bound = sum(3 * (blob.size / n) * slivers_per_blob for blob in stored)
    fetched = proxy.total
    assert proxy.bytes_served[wiped.index] == 0  # it asked its peers, not itself
    assert 0 < fetched <= bound, f"fetched {fetched} bytes, bound {bound:.0f}"
    whole_blobs = sum(blob.size for blob in stored)
    print(
        f"recovery fetched {fetched} bytes for {slivers_per_blob * len(stored)} slivers "
        f"(bound {bound:.0f}; re-downloading the blobs: {whole_blobs})"
    )
