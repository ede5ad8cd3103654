"""The SDK client a test connects for a test network's user (or any other chain account),
and the on-chain node URLs it finds the nodes by."""

from __future__ import annotations

from backend.chain.client import ChainClient
from backend.chain.compiler import Artifacts
from backend.sdk.client import Client
from tests.integration.network import Network

TEST_NODE_TIMEOUT = 5.0
"""Seconds per node request: a stopped or hanging node costs a test little time."""
TEST_NODE_RETRIES = 1
FAULT_NODE_TIMEOUT = 3.0
"""The reliability suite's: its tests kill, hang and proxy nodes on purpose."""


def publish_node_urls(network: Network) -> None:
    """Point each node's on-chain URL at the port its process really listens on, where it
    does not already (start_network registers the real URLs). Sending nothing when nothing
    changes matters: the node processes send transactions from their operator accounts."""
    for index, node in enumerate(network.nodes):
        if network.env.staking.node(node.node_id).http_url == node.url:
            continue
        operator = network.env.operators[index]
        operator.reset_nonces()
        staking = network.env.staking.as_account(operator)
        staking.set_node_metadata(node.node_id, f"node-{index}", node.url)


def network_client(
    network: Network,
    artifacts: Artifacts,
    *,
    chain: ChainClient | None = None,
    node_timeout: float = TEST_NODE_TIMEOUT,
    node_retries: int = TEST_NODE_RETRIES,
) -> Client:
    """A client of `network`'s contracts signing as `chain` (default: the network's user).
    It caches the node URLs published at the moment it first asks a node."""
    return Client.connect(
        network.user if chain is None else chain,
        artifacts,
        network.env.staking.address,
        network.env.registry.address,
        node_timeout=node_timeout,
        node_retries=node_retries,
    )


def user_client(network: Network, artifacts: Artifacts) -> Client:
    """The network user's client after the node URLs are published."""
    publish_node_urls(network)
    return network_client(network, artifacts)
