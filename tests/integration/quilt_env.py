"""Shared setup of the quilt tests: a Client of the test user on the module's network."""

from __future__ import annotations

from backend.chain.client import TransactionRejected
from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from tests.integration.network import Network
from tests.integration.test_sdk_store_read import publish_node_urls


def publish_urls(network: Network) -> None:
    """`publish_node_urls`, resynchronising the operators' nonces first: the node processes
    send transactions with the same operator keys."""
    for attempt in range(3):
        for operator in network.env.operators:
            operator.reset_nonces()
        try:
            publish_node_urls(network)
            return
        except TransactionRejected:
            if attempt == 2:
                raise


def user_client(network: Network, artifacts: Artifacts) -> Client:
    publish_urls(network)
    return Client.connect(
        network.user,
        artifacts,
        network.env.staking.address,
        network.env.registry.address,
        node_timeout=5.0,
        node_retries=1,
    )
