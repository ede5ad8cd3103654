"""The SDK client of the test network's user as the reliability tests connect it: 3 s node
timeouts and one retry, so a dead, hanging or lying node costs a test little time."""

from __future__ import annotations

from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from tests.integration.network import Network


def reliability_client(network: Network, artifacts: Artifacts) -> Client:
    """A client of `network.user` (it caches the node URLs published at this moment)."""
    return Client.connect(
        network.user,
        artifacts,
        network.env.staking.address,
        network.env.registry.address,
        node_timeout=3.0,
        node_retries=1,
    )
