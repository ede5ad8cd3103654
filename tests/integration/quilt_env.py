"""Shared setup of the quilt tests: a Client of the test user on the module's network."""

from __future__ import annotations

from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from tests.integration.network import Network
from tests.integration.test_sdk_store_read import publish_node_urls


def user_client(network: Network, artifacts: Artifacts) -> Client:
    publish_node_urls(network)
    return Client.connect(
        network.user,
        artifacts,
        network.env.staking.address,
        network.env.registry.address,
        node_timeout=5.0,
        node_retries=1,
    )
